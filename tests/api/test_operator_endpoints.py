"""The operator app over a seeded ledger, on SQLite and PostgreSQL: live positions, exposure, risk,
orders, alerts, metrics, and the kill switch recorded as events."""

from __future__ import annotations

from decimal import Decimal

from domain.events import KillSwitchEngaged, TradingResumed
from domain.risk.state import OPERATOR_STREAM
from milkbot.bootstrap import bootstrap
from milkbot.metrics import HandlerMetrics
from tests.api.conftest import Served, catch_up
from tests.api.scenario import (
    ALERT_MESSAGE,
    CHICAGO,
    CLOCK,
    SECRET_ORDER_IDS,
    TODAY,
)


def test_positions_are_live_and_exact(served: Served) -> None:
    with served.operator() as client:
        answer = client.get("/api/operator/positions")
    assert answer.status_code == 200 and answer.headers["cache-control"] == "no-store"
    body = answer.json()
    assert body["as_of"] == CLOCK.isoformat()
    positions = {p["ticker"]: p for p in body["positions"]}
    # The operator sees the 30-minute-old Chicago fill the public does not.
    assert set(positions) == {f"{TODAY}-B81.5", f"{CHICAGO}-B81.5"}
    assert positions[f"{TODAY}-B81.5"]["position"] == 5
    assert positions[f"{TODAY}-B81.5"]["mark"] == "0.4350"
    assert positions[f"{CHICAGO}-B81.5"]["city"] == "CHI"
    assert Decimal(body["pnl"]["portfolio"]["realized"]) == Decimal("5.7")


def test_exposure_by_market_city_and_cluster(served: Served) -> None:
    with served.operator() as client:
        body = client.get("/api/operator/exposure").json()
    cities = {c["city"]: c for c in body["cities"]}
    clusters = {c["cluster"]: c for c in body["clusters"]}
    # NYC: 5 YES at 0.36 ($1.80 if NO pays) and a resting buy of 10 YES at 0.20 ($2.00).
    assert Decimal(cities["NYC"]["loss"]) == Decimal("3.8")
    assert cities["NYC"]["cluster"] == "northeast" and cities["NYC"]["limit"] == "250"
    assert Decimal(cities["CHI"]["loss"]) == Decimal("1.23")  # 3 YES at 0.41
    assert Decimal(clusters["midwest"]["loss"]) == Decimal("1.23")
    assert Decimal(body["total"]) == Decimal("5.03")
    assert cities["NYC"]["usage"] == 3.8 / 250


def test_risk_state_limits_and_usage(served: Served) -> None:
    with served.operator() as client:
        body = client.get("/api/operator/risk").json()
    assert body["trading"]["state"] == "active"
    assert body["trading"]["cities"]["CHI"]["state"] == "reducing"
    assert "market:daily_high" in body["trading"]["cities"]["CHI"]["why"]
    assert body["trading"]["cities"]["CHI"]["own"] == body["trading"]["cities"]["CHI"]["why"]
    assert body["trading"]["why"] == "" and body["trading"]["cities"]["NYC"]["own"] == ""
    assert body["trading"]["breakers"] == [{"city": "CHI", "feed": "market:daily_high",
                                            "reason": "stale"}]
    assert body["limits"]["max_open_orders"] == 50
    assert body["usage"]["open_orders"] == {"value": 1, "limit": 50, "usage": 1 / 50}
    assert body["balance"]["dollars"] == "987654.321"
    assert body["usage"]["portfolio_loss"]["equity"] is not None
    assert body["usage"]["portfolio_loss"]["usage"] is not None


def test_open_orders_and_alerts(served: Served) -> None:
    with served.operator() as client:
        orders = client.get("/api/operator/orders").json()["orders"]
        alerts = client.get("/api/operator/alerts", params={"limit": 5}).json()["alerts"]
        assert client.get("/api/operator/alerts", params={"limit": 0}).status_code == 400
    assert [o["client_order_id"] for o in orders] == [SECRET_ORDER_IDS[2]]
    assert orders[0]["venue_order_id"] == f"v-{SECRET_ORDER_IDS[2]}"
    assert orders[0]["status"] == "accepted" and orders[0]["remaining"] == 10
    assert [a["message"] for a in alerts] == [ALERT_MESSAGE]


def test_kill_and_resume_are_recorded_as_the_operator_api(served: Served) -> None:
    with served.operator() as client:
        killed = client.post("/api/operator/kill", json={"reason": "storm of rejections"})
        assert killed.status_code == 200
        assert [e["event"] for e in killed.json()["recorded"]] == ["KillSwitchEngaged",
                                                                   "TradingStateChanged"]
        catch_up(served.settings)
        trading = client.get("/api/operator/risk").json()["trading"]
        assert trading["state"] == "halted" and "storm of rejections" in trading["why"]
        # Each city's why holds the book's reasons; its own holds only its own.
        assert "storm of rejections" in trading["cities"]["NYC"]["why"]
        assert "storm of rejections" not in trading["cities"]["NYC"]["own"]
        assert client.post("/api/operator/resume", json={"reason": "calm", "city": "NYC"}
                           ).status_code == 409  # NYC's own state was never halted
        resumed = client.post("/api/operator/resume", json={"reason": "venue is fine again"})
        assert resumed.status_code == 200 and resumed.json()["scope"] == "all"
        again = client.post("/api/operator/resume", json={"reason": "twice"})
        assert again.status_code == 409 and "cannot resume all" in again.json()["error"]
        for body in ({}, {"reason": ""}, {"reason": "x", "extra": 1}, {"reason": "x", "city": "XX"},
                     [1, 2]):
            assert client.post("/api/operator/resume", json=body).status_code == 400, body
        assert client.post("/api/operator/kill", content=b"{not json").status_code == 400
        assert client.get("/api/operator/kill").status_code == 405
    with bootstrap(served.settings) as app:
        recorded = app.ledger.store.read_stream(OPERATOR_STREAM)
    engaged = [e for e in recorded if isinstance(e, KillSwitchEngaged)]
    resumed_events = [e for e in recorded if isinstance(e, TradingResumed)]
    assert [(e.operator, e.reason) for e in engaged] == [("operator-api", "storm of rejections")]
    assert [(e.operator, e.reason) for e in resumed_events] == [("operator-api",
                                                                 "venue is fine again")]


def test_metrics_serve_the_handlers_file_or_nothing(served: Served) -> None:
    with served.operator() as client:
        empty = client.get("/metrics")
        assert empty.status_code == 200 and empty.text == ""
        metrics = HandlerMetrics(process=False)
        metrics.fill("NYC", "taker", 500)
        metrics.write(served.metrics_file)
        written = client.get("/metrics")
        healthz = client.get("/healthz")
    assert written.headers["content-type"].startswith("text/plain; version=0.0.4")
    assert 'milkbot_fills_total{city="NYC",strategy="taker"} 1.0' in written.text
    assert healthz.status_code == 200 and healthz.json()["ledger"]["reachable"] is True
