"""The WebSocket URL goes with MILKBOT_KALSHI_BASE_URL unless MILKBOT_KALSHI_WS_URL names one.

The dedicated REST hosts' sockets live on ``external-api-ws`` hosts (Kalshi's "API Environments and
Endpoints"); the shared hosts and a local simulator serve both on one host and port."""

from __future__ import annotations

import pytest

from adapters.kalshi.websocket import DEMO_WS_URL, PRODUCTION_WS_URL, websocket_url
from milkbot.settings import load_settings


@pytest.mark.parametrize(("base_url", "expected"), [
    ("https://external-api.kalshi.com/trade-api/v2", PRODUCTION_WS_URL),
    ("https://external-api.demo.kalshi.co/trade-api/v2/", DEMO_WS_URL),
    ("https://api.elections.kalshi.com/trade-api/v2", "wss://api.elections.kalshi.com/trade-api/ws/v2"),
    ("https://demo-api.kalshi.co/trade-api/v2", "wss://demo-api.kalshi.co/trade-api/ws/v2"),
    ("http://127.0.0.1:8765/trade-api/v2", "ws://127.0.0.1:8765/trade-api/ws/v2"),
    ("http://localhost:9000/proxy/trade-api/v2", "ws://localhost:9000/proxy/trade-api/ws/v2"),
])
def test_the_socket_is_derived_from_the_rest_base_url(base_url: str, expected: str) -> None:
    assert websocket_url(base_url) == expected


def test_the_documented_hosts() -> None:
    assert PRODUCTION_WS_URL == "wss://external-api-ws.kalshi.com/trade-api/ws/v2"
    assert DEMO_WS_URL == "wss://external-api-ws.demo.kalshi.co/trade-api/ws/v2"


def test_an_explicit_socket_url_wins() -> None:
    assert websocket_url("https://external-api.kalshi.com/trade-api/v2",
                         "wss://api.elections.kalshi.com/trade-api/ws/v2") == (
        "wss://api.elections.kalshi.com/trade-api/ws/v2")
    assert websocket_url("http://127.0.0.1:1/trade-api/v2", "") == "ws://127.0.0.1:1/trade-api/ws/v2"


@pytest.mark.parametrize(("base_url", "override", "variable"), [
    ("ftp://external-api.kalshi.com/trade-api/v2", None, "MILKBOT_KALSHI_BASE_URL"),
    ("https://external-api.kalshi.com/trade-api/v1", None, "MILKBOT_KALSHI_BASE_URL"),
    ("https:///trade-api/v2", None, "MILKBOT_KALSHI_BASE_URL"),
    ("https://external-api.kalshi.com/trade-api/v2", "https://external-api.kalshi.com/x",
     "MILKBOT_KALSHI_WS_URL"),
])
def test_a_url_that_cannot_be_a_socket_is_refused_by_name(base_url: str, override: str | None,
                                                          variable: str) -> None:
    with pytest.raises(ValueError, match=variable):
        websocket_url(base_url, override)


def test_settings_carry_the_override_or_leave_it_to_the_derivation(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MILKBOT_KALSHI_BASE_URL", "http://127.0.0.1:8123/trade-api/v2")
    monkeypatch.delenv("MILKBOT_KALSHI_WS_URL", raising=False)
    settings = load_settings()
    assert settings.kalshi_ws_url is None
    assert websocket_url(settings.kalshi_base_url, settings.kalshi_ws_url) == (
        "ws://127.0.0.1:8123/trade-api/ws/v2")

    monkeypatch.setenv("MILKBOT_KALSHI_WS_URL", "ws://127.0.0.1:9999/trade-api/ws/v2")
    settings = load_settings()
    assert websocket_url(settings.kalshi_base_url, settings.kalshi_ws_url) == (
        "ws://127.0.0.1:9999/trade-api/ws/v2")
