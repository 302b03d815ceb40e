"""The operator app answers nothing without its token, and will not start without one; the public
app gives away no operator data, no order or fill ids, no secrets, whatever it is asked."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from api.auth import OperatorTokenMissing
from api.operator_app import create_operator_app
from api.public_app import create_public_app
from api.public_queries import Cursor
from api.read_model import BackendReadModel
from api.serve import serve_apps
from milkbot import cli
from milkbot.bootstrap import bootstrap
from milkbot.metrics import TextfileMetrics
from milkbot.settings import load_config
from projections.public_feed import DelayTooShort
from tests.api.conftest import SECRETS, TOKEN, Served, catch_up, secret_settings
from tests.api.scenario import (
    ALERT_MESSAGE,
    BALANCE_MICROS,
    CLOCK,
    SECRET_FILL_IDS,
    SECRET_ORDER_IDS,
)
from tests.builders import at

OPERATOR_ROUTES = [
    ("GET", "/api/operator/positions"), ("GET", "/api/operator/exposure"),
    ("GET", "/api/operator/risk"), ("GET", "/api/operator/orders"),
    ("GET", "/api/operator/alerts"), ("POST", "/api/operator/kill"),
    ("POST", "/api/operator/resume"), ("GET", "/metrics"), ("GET", "/healthz"),
    # GET / is the operator page, open like its three files (tests.api.test_operator_page);
    # anything else sent to it, and every other file, is not.
    ("POST", "/"), ("GET", "/static/index.html"), ("GET", "/api/operator/unknown"),
]
KILL_REASON = "KILL-SECRET reason only the operator may read"


def test_every_operator_route_needs_the_token(served: Served) -> None:
    wrong = [None, "not-the-token", TOKEN[:-1], TOKEN + "x", f"{TOKEN} {TOKEN}"]
    for method, path in OPERATOR_ROUTES:
        for token in wrong:
            with served.operator(token) as client:
                answer = client.request(method, path, json={"reason": "should never be recorded"})
            assert answer.status_code == 401, (method, path, token)
            assert answer.headers["www-authenticate"].startswith("Bearer")
            assert TOKEN not in answer.text
        with httpx.Client(base_url=served.urls.operator_url) as client:
            for header in ("Bearer", f"Basic {TOKEN}", TOKEN, f"Token {TOKEN}", f"bearer{TOKEN}"):
                answer = client.request(method, path, headers={"Authorization": header})
                assert answer.status_code == 401, (method, path, header)
    with served.operator() as client:
        assert client.get("/api/operator/positions").status_code == 200
        assert client.get("/api/operator/unknown").status_code == 404
    # Nothing was recorded by the refused kills and resumes.
    with served.operator() as client:
        assert client.get("/api/operator/risk").json()["trading"]["state"] == "active"


def test_the_operator_app_refuses_to_start_without_a_token(tmp_path: Path) -> None:
    settings = secret_settings(f"sqlite:///{tmp_path / 'ledger.sqlite'}", tmp_path,
                               operator_token=None)
    config, _ = load_config(settings)
    with bootstrap(settings) as app:
        for token in (None, "", "   "):
            with pytest.raises(OperatorTokenMissing, match="MILKBOT_OPERATOR_TOKEN"):
                create_operator_app(app.ledger.store, BackendReadModel(app.ledger.backend),
                                    config=config, token=token,
                                    metrics=TextfileMetrics(tmp_path / "m"),
                                    ledger_position=app.ledger.store.max_position)
    with pytest.raises(OperatorTokenMissing), serve_apps(settings, 0, 0):
        pass


def test_milkbot_serve_without_a_token_exits_with_the_reason(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.delenv("MILKBOT_OPERATOR_TOKEN", raising=False)
    monkeypatch.setenv("MILKBOT_DATABASE_URL", f"sqlite:///{tmp_path / 'ledger.sqlite'}")
    assert cli.main(["serve", "--public-port", "0", "--operator-port", "0"]) == cli.EXIT_ERROR
    assert "MILKBOT_OPERATOR_TOKEN is not set" in capsys.readouterr().err


def public_answers(client: httpx.Client) -> list[httpx.Response]:
    """Every public endpoint, with the parameters that could coax more out of it."""
    future = Cursor(CLOCK.replace(year=2100), 0).encode()
    answers = [client.get(path) for path in (
        "/", "/healthz", "/api/public/openapi.json", "/api/public/summary", "/api/public/cities",
        "/api/public/equity", "/api/public/calibration", "/api/public/execution")]
    for params in ({}, {"limit": 500}, {"cursor": future}, {"city": "CHI"}, {"city": "NYC"},
                   {"since": at(-5000).isoformat(), "until": CLOCK.replace(year=2100).isoformat()}):
        answers.append(client.get("/api/public/trades", params=params))
    answers.append(client.get("/api/public/equity", params={"until": "2100-01-01T00:00:00+00:00"}))
    return answers


def test_public_answers_hold_no_operator_data_ids_or_secrets(served: Served) -> None:
    with served.operator() as operator:
        assert operator.post("/api/operator/kill", json={"reason": KILL_REASON}).status_code == 200
    catch_up(served.settings)
    forbidden = [*SECRETS, *SECRET_ORDER_IDS, *SECRET_FILL_IDS, "v-mb-", ALERT_MESSAGE,
                 "ALERT-SECRET", KILL_REASON, "KILL-SECRET", "operator-api",
                 str(BALANCE_MICROS // 1_000_000), "SECRET"]
    password = urlsplit(served.settings.database_url).password
    if password:
        forbidden.append(password)
    with served.public() as client:
        answers = public_answers(client)
        # The operator's routes are not there at all.
        for path in ("/api/operator/positions", "/api/operator/orders", "/metrics"):
            assert client.get(path).status_code == 404
        assert client.post("/api/operator/kill", json={"reason": "x"}).status_code == 404
    for answer in answers:
        assert answer.status_code == 200, answer.request.url
        seen = answer.text + "".join(f"{k}: {v}\n" for k, v in answer.headers.items())
        for secret in forbidden:
            assert secret not in seen, (answer.request.url, secret)
    # The kill is public as a state, without who pulled it or why.
    health = next(a for a in answers if a.request.url.path == "/healthz").json()
    assert health["trading"]["state"] == "halted"


def test_the_public_app_is_given_no_settings() -> None:
    import inspect

    parameters = inspect.signature(create_public_app).parameters
    assert set(parameters) == {"read_model", "config", "delay_minutes", "ledger_position",
                               "chain_head", "started_at"}


def test_a_public_delay_under_an_hour_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    settings = secret_settings(f"sqlite:///{tmp_path / 'ledger.sqlite'}", tmp_path)
    config, _ = load_config(settings)
    with bootstrap(settings) as app, pytest.raises(DelayTooShort, match="=59 is refused"):
        create_public_app(BackendReadModel(app.ledger.backend), config=config, delay_minutes=59,
                          ledger_position=app.ledger.store.max_position)
    monkeypatch.setenv("MILKBOT_OPERATOR_TOKEN", TOKEN)
    monkeypatch.setenv("MILKBOT_DATABASE_URL", f"sqlite:///{tmp_path / 'ledger.sqlite'}")
    monkeypatch.setenv("MILKBOT_PUBLIC_DELAY_MINUTES", "59")
    assert cli.main(["serve", "--public-port", "0", "--operator-port", "0"]) == cli.EXIT_ERROR
    assert "MILKBOT_PUBLIC_DELAY_MINUTES" in capsys.readouterr().err
