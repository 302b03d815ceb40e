from __future__ import annotations

import asyncio
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import orjson
import pytest
from starlette.applications import Starlette
from starlette.routing import Route

from domain.events.risk import TradingState
from milkbot.health import (
    DEFAULT_MAX_PROJECTION_LAG,
    FeedFreshness,
    LedgerHealth,
    health,
    health_endpoint,
    http_status,
    metrics_endpoint,
)
from milkbot.metrics import HandlerMetrics

NOW = datetime(2026, 8, 28, 15, 0, tzinfo=UTC)
STARTED = NOW - timedelta(hours=2)


def a_ledger(*, position: int = 500, behind: int = 0) -> LedgerHealth:
    return LedgerHealth(reachable=True, position=position,
                        projections={"portfolio": position - behind, "public_feed": position},
                        clock=NOW - timedelta(seconds=3))


def a_feed(city: str = "NYC", feed: str = "weather:daily_high", *, age: float | None = 60.0,
           limit: float = 900.0) -> FeedFreshness:
    return FeedFreshness(city, feed, age, limit)


def a_health(**overrides: Any) -> dict[str, Any]:
    given: dict[str, Any] = {
        "ledger": a_ledger(), "feeds": [a_feed(), a_feed("CHI")], "book": TradingState.ACTIVE,
        "cities": {"NYC": TradingState.ACTIVE, "CHI": TradingState.ACTIVE},
        "started_at": STARTED, "now": NOW}
    return health(**{**given, **overrides})


def test_all_fresh_and_active_is_ok() -> None:
    body = a_health()
    assert body["status"] == "ok" and body["problems"] == []
    assert http_status(body) == 200
    assert body["as_of"] == "2026-08-28T15:00:00+00:00"
    assert body["uptime_seconds"] == 7200
    assert body["ledger"] == {"reachable": True, "position": 500, "clock": "2026-08-28T14:59:57+00:00",
                              "projections": {"portfolio": {"position": 500, "behind": 0},
                                              "public_feed": {"position": 500, "behind": 0}}}
    assert body["trading"] == {"state": "active", "cities": {"CHI": "active", "NYC": "active"}}
    assert body["feeds"]["NYC"]["weather:daily_high"] == {"age_seconds": 60.0, "limit_seconds": 900.0,
                                                          "stale": False}


def test_an_unreachable_ledger_is_down_and_503() -> None:
    body = a_health(ledger=LedgerHealth(reachable=False))
    assert body["status"] == "down"
    assert body["problems"][0] == "the ledger is unreachable"
    assert http_status(body) == 503
    assert body["ledger"] == {"reachable": False, "position": None, "clock": None, "projections": {}}


def test_down_outranks_degraded() -> None:
    body = a_health(ledger=LedgerHealth(reachable=False), book=TradingState.HALTED,
                    feeds=[a_feed(age=None)])
    assert body["status"] == "down"
    assert len(body["problems"]) == 3


@pytest.mark.parametrize("feed", [a_feed(age=901.0), a_feed(age=None)], ids=["too old", "never seen"])
def test_a_stale_feed_is_degraded_but_200(feed: FeedFreshness) -> None:
    body = a_health(feeds=[feed, a_feed("CHI")])
    assert body["status"] == "degraded"
    assert http_status(body) == 200
    assert body["feeds"]["NYC"]["weather:daily_high"]["stale"] is True
    assert body["feeds"]["CHI"]["weather:daily_high"]["stale"] is False
    assert body["problems"] == [f"NYC weather:daily_high is stale: "
                                f"{'901s old' if feed.age_seconds else 'no snapshot yet'}, limit 900s"]


def test_a_feed_exactly_at_its_limit_is_still_fresh() -> None:
    # The breakers' rule: stale once the age is *past* the limit.
    assert a_health(feeds=[a_feed(age=900.0)])["status"] == "ok"


def test_a_halted_city_or_book_is_degraded() -> None:
    city = a_health(cities={"NYC": TradingState.HALTED, "CHI": TradingState.ACTIVE})
    assert city["status"] == "degraded" and city["problems"] == ["NYC is halted"]
    book = a_health(book="halted", cities={"NYC": "halted", "CHI": "halted"})
    assert book["status"] == "degraded"
    assert book["problems"] == ["all trading is halted"]  # not once more per city
    assert book["trading"] == {"state": "halted", "cities": {"CHI": "halted", "NYC": "halted"}}


def test_reducing_alone_is_ok() -> None:
    body = a_health(book=TradingState.REDUCING, cities={"NYC": "reducing", "CHI": "reducing"})
    assert body["status"] == "ok"
    assert body["trading"]["state"] == "reducing"


def test_a_projection_far_behind_is_degraded() -> None:
    assert a_health(ledger=a_ledger(behind=DEFAULT_MAX_PROJECTION_LAG))["status"] == "ok"
    body = a_health(ledger=a_ledger(behind=DEFAULT_MAX_PROJECTION_LAG + 1))
    assert body["status"] == "degraded"
    assert body["problems"] == [f"projection portfolio is {DEFAULT_MAX_PROJECTION_LAG + 1} events behind"]
    assert a_health(ledger=a_ledger(behind=5), max_projection_lag=4)["status"] == "degraded"


def test_naive_times_are_refused() -> None:
    with pytest.raises(ValueError, match="now"):
        a_health(now=NOW.replace(tzinfo=None))


def test_the_body_round_trips_through_json() -> None:
    body = a_health(book="halted")
    assert orjson.loads(orjson.dumps(body)) == body


def get(endpoint: Any, path: str) -> httpx.Response:
    """GET ``path`` from an app with ``endpoint`` mounted there, in process (no socket)."""
    app = Starlette(routes=[Route(path, endpoint)])

    async def fetch() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
            return await c.get(path)

    return asyncio.run(fetch())


def test_health_endpoint_serves_the_body_with_its_status() -> None:
    down = a_health(ledger=LedgerHealth(reachable=False))
    answer = get(health_endpoint(lambda: down), "/healthz")
    assert answer.status_code == 503
    assert answer.json() == down
    assert answer.headers["content-type"] == "application/json"
    assert answer.headers["cache-control"] == "no-store"


def test_health_endpoint_awaits_a_coroutine_provider() -> None:
    async def provider() -> Mapping[str, Any]:
        return a_health()

    answer = get(health_endpoint(provider), "/healthz")
    assert answer.status_code == 200 and answer.json()["status"] == "ok"


def test_a_failing_provider_answers_down_without_its_message(caplog: pytest.LogCaptureFixture) -> None:
    def provider() -> Mapping[str, Any]:
        raise ConnectionError("postgresql://milkbot:hunter2@db/milkbot refused")

    answer = get(health_endpoint(provider, clock=lambda: NOW), "/healthz")
    assert answer.status_code == 503
    assert answer.json() == {"status": "down", "problems": ["the health check failed"],
                             "as_of": "2026-08-28T15:00:00+00:00"}
    assert "hunter2" not in answer.text and "hunter2" not in caplog.text
    assert "ConnectionError" in caplog.text


def test_metrics_endpoint_serves_the_exposition() -> None:
    metrics = HandlerMetrics(process=False)
    metrics.order_placed("NYC", "taker")
    answer = get(metrics_endpoint(metrics), "/metrics")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/plain; version=0.0.4")
    assert 'milkbot_orders_placed_total{city="NYC",strategy="taker"} 1.0' in answer.text
