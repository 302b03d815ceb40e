"""The public app over a seeded ledger, on SQLite and PostgreSQL: what each endpoint answers."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

from api.public_queries import MAX_SKIP, Cursor, public_id
from milkbot.bootstrap import bootstrap
from projections.timefmt import to_text
from tests.api.conftest import Served
from tests.api.scenario import CHICAGO, CLOCK, CUTOFF, PAYING, SECRET_FILL_IDS, TODAY
from tests.builders import a_market_snapshot, at
from tests.openapi import OpenApiSpec

DELAY = timedelta(minutes=60)
OLD_FILL, FILL_1, YOUNG_FILL = SECRET_FILL_IDS


def spec_of(served: Served, tmp_path: Path) -> OpenApiSpec:
    with served.public() as client:
        document = client.get("/api/public/openapi.json").text
    path = tmp_path / "public-openapi.json"
    path.write_text(document)
    return OpenApiSpec(path)


def conforms(spec: OpenApiSpec, path: str, body: object) -> None:
    schema = spec.response_schema(path, 200)
    assert schema is not None
    assert spec.problems(body, schema) == []


def test_every_answer_carries_the_ledger_clock_and_may_be_cached_briefly(
    served: Served, tmp_path: Path,
) -> None:
    spec = spec_of(served, tmp_path)
    with served.public() as client:
        for path in ("/api/public/summary", "/api/public/cities", "/api/public/trades",
                     "/api/public/equity", "/api/public/calibration", "/api/public/execution"):
            answer = client.get(path)
            assert answer.status_code == 200, path
            assert answer.headers["cache-control"] == "public, max-age=5"
            assert answer.headers["content-type"] == "application/json"
            body = answer.json()
            assert datetime.fromisoformat(body["as_of"]) == CLOCK
            assert body["as_of"].endswith("+00:00")
            assert body["delay_minutes"] == 60
            conforms(spec, path, body)


def test_the_summary_counts_only_what_is_an_hour_old(served: Served) -> None:
    with served.public() as client:
        summary = client.get("/api/public/summary").json()
    # Yesterday's fill (settled YES: +$5.70) and this morning's; the 30-minute-old Chicago fill
    # is not there yet.
    assert summary["trades"] == 2
    assert summary["realized"] == "5.70"
    assert summary["fees"] == "0.27"
    assert (summary["settled_markets"], summary["winning_markets"], summary["win_rate"]) == (1, 1, 1.0)
    assert summary["open_positions"] == 1 and summary["open_contracts"] == "5.00"
    # 5 YES bought at 0.36, marked at the 0.42/0.45 mid (0.435): +$0.375 unrealized.
    assert summary["unrealized"] == "0.38"
    assert Decimal(summary["equity"]) == Decimal("5.80")
    assert summary["day_start"] == "2026-08-28T00:00:00+00:00"
    execution = summary["execution"]
    # Two orders are an hour old (the third is 10 minutes old); of their 8 contracts, the 5
    # whose fill is public count as filled.
    assert execution["orders"] == 2
    assert (execution["contracts_ordered"], execution["contracts_filled"]) == ("8.00", "5.00")
    assert execution["fill_rate"] == 0.625
    assert execution["mean_slippage"] == "0.0100"  # bought at 0.36, decided at 0.35
    assert execution["mean_seconds_to_first_fill"] == 60.0


def test_trades_are_delayed_paged_and_filtered(served: Served) -> None:
    with served.public() as client:
        everything = client.get("/api/public/trades").json()
        assert [t["id"] for t in everything["trades"]] == [public_id(FILL_1), public_id(OLD_FILL)]
        assert everything["next_cursor"] is None
        newest = everything["trades"][0]
        assert newest == {"id": public_id(FILL_1), "ts": to_text(at(11)), "city": "NYC",
                          "ticker": f"{TODAY}-B81.5", "strike_type": "between",
                          "floor_strike": "81", "cap_strike": "82", "side": "yes",
                          "action": "buy", "price": "0.3600", "count": "5.00", "fee": "0.09"}
        # Yesterday's ladder left the board long ago; its terms did not.
        oldest = everything["trades"][1]
        assert (oldest["ticker"], oldest["strike_type"], oldest["floor_strike"],
                oldest["cap_strike"]) == (PAYING, "between", "83", "84")
        for trade in everything["trades"]:
            assert datetime.fromisoformat(trade["ts"]) + DELAY <= CLOCK

        first = client.get("/api/public/trades", params={"limit": 1}).json()
        assert [t["id"] for t in first["trades"]] == [public_id(FILL_1)]
        second = client.get("/api/public/trades",
                            params={"limit": 1, "cursor": first["next_cursor"]}).json()
        assert [t["id"] for t in second["trades"]] == [public_id(OLD_FILL)]
        assert second["next_cursor"] is None

        def ids(**params: str) -> list[str]:
            return [t["id"] for t in client.get("/api/public/trades", params=params).json()["trades"]]

        assert ids(since=to_text(at(0))) == [public_id(FILL_1)]
        assert ids(until=to_text(at(0))) == [public_id(OLD_FILL)]
        assert ids(city="CHI") == []  # its fill is 30 minutes old
        # Asking for the future, or for everything up to now, never reaches past the cutoff.
        assert ids(since=to_text(CUTOFF)) == []
        assert ids(until=to_text(CLOCK + timedelta(days=1))) == ids()
        assert ids(since=to_text(at(140)), until=to_text(at(200))) == []


def test_bad_parameters_are_refused_with_a_reason(served: Served) -> None:
    with served.public() as client:
        for path, params in [
            ("/api/public/trades", {"limit": "0"}), ("/api/public/trades", {"limit": "501"}),
            ("/api/public/trades", {"limit": "ten"}), ("/api/public/trades", {"cursor": "%%%"}),
            ("/api/public/trades", {"since": "yesterday"}),
            ("/api/public/trades", {"until": "2026-08-28T14:00:00"}),  # no offset
            ("/api/public/trades", {"city": "ATLANTIS"}), ("/api/public/equity", {"limit": "-1"}),
            ("/api/public/calibration", {"kind": "hail"}),
            ("/api/public/trades", {"since": "0001-01-01T00:00:00+05:00"}),  # before year 1 in UTC
            ("/api/public/trades", {"cursor": Cursor(at(0), MAX_SKIP + 1).encode()}),
        ]:
            answer = client.get(path, params=params)
            assert answer.status_code == 400, (path, params)
            assert answer.json()["error"]
            assert answer.headers["cache-control"] == "no-store"
        assert client.get("/api/public/nothing").status_code == 404
        assert client.post("/api/public/summary").status_code == 405


def test_cities_show_markets_positions_and_settlements(served: Served) -> None:
    with served.public() as client:
        cities = {c["code"]: c for c in client.get("/api/public/cities").json()["cities"]}
    assert len(cities) == 10
    nyc, chi = cities["NYC"], cities["CHI"]
    assert nyc["name"] == "New York" and nyc["trades"] == 2 and nyc["open_positions"] == 1
    assert chi["trades"] == 0 and chi["open_positions"] == 0
    [ladder] = nyc["ladders"]
    assert ladder["event_ticker"] == TODAY and ladder["kind"] == "daily_high"
    assert ladder["seen_at"] == to_text(CLOCK)
    market = next(m for m in ladder["markets"] if m["ticker"] == f"{TODAY}-B81.5")
    assert (market["yes_bid"], market["yes_ask"], market["mark"]) == ("0.4200", "0.4500", "0.4350")
    assert [ladder["event_ticker"] for ladder in chi["ladders"]] == ["KXHIGHCHI-26AUG28"]
    # Yesterday's ladder closed before the clock: it is off the board, its settlement is not.
    assert nyc["recent_settlements"] == [{
        "ticker": PAYING, "strike_type": "between", "floor_strike": "83", "cap_strike": "84",
        "result": "yes", "settled_at": to_text(at(-300)),
        "position": {"side": "yes", "count": "10.00"}, "pnl": "5.52"}]


def test_ladders_mark_the_markets_we_hold_an_hour_later(served: Served) -> None:
    with served.public() as client:
        cities = {c["code"]: c for c in client.get("/api/public/cities").json()["cities"]}
    held = {m["ticker"]: m["position"] for c in cities.values() for ladder in c["ladders"]
            for m in ladder["markets"] if m["position"] is not None}
    # The 5 YES bought at 0.36 this morning, marked at 0.435. Chicago's fill is 30 minutes old:
    # its market shows no position yet, nor does the order resting in New York.
    assert held == {f"{TODAY}-B81.5": {"side": "yes", "count": "5.00", "average_price": "0.3600",
                                       "unrealized": "0.38"}}
    assert cities["NYC"]["open_positions"] == len(held)


def test_the_equity_curve_is_hourly_delayed_and_ranged(served: Served) -> None:
    with served.public() as client:
        curve = client.get("/api/public/equity").json()
        points = curve["points"]
        hours = [datetime.fromisoformat(p["ts"]) for p in points]
        # Every point is older than the clock (its hour's point is written once the clock passed).
        assert hours == sorted(hours) and all(h < CLOCK and h.minute == 0 for h in hours)
        assert curve["current"]["ts"] == to_text(CLOCK) and curve["current"]["trades"] == 2
        # Yesterday's settled win is on the curve before today began.
        assert any(p["realized"] == "5.70" for p in points)
        latest = client.get("/api/public/equity", params={"limit": 1}).json()["points"]
        assert latest == points[-1:]
        since = client.get("/api/public/equity", params={"since": to_text(at(0))}).json()["points"]
        assert since == [p for p in points if datetime.fromisoformat(p["ts"]) >= at(0)]


def test_the_point_at_an_hour_is_what_current_said_at_that_hour(served: Served) -> None:
    # The clock stands on 17:00, where a snapshot moved the marks: `current` counts it, and no
    # point has that time yet, so none can disagree with it.
    assert CLOCK.minute == 0
    with served.public() as client:
        before = client.get("/api/public/equity").json()
        summary = client.get("/api/public/summary").json()
    current = before["current"]
    assert current["ts"] == to_text(CLOCK) and current["equity"] == summary["equity"]
    assert current["unrealized"] == summary["unrealized"] == "0.38"  # at 17:00's mark
    assert all(datetime.fromisoformat(p["ts"]) < CLOCK for p in before["points"])

    # The clock moves on to 17:30: the 17:00 point is written, and it is what `current` said.
    with bootstrap(served.settings) as app:
        app.ledger.store.append([a_market_snapshot(CHICAGO, version=2, city="CHI",
                                                   recorded_at=at(210))])
        app.runner().catch_up()
    with served.public() as client:
        after = client.get("/api/public/equity").json()
    assert after["points"] == [*before["points"], current]
    assert after["current"]["ts"] == to_text(at(210))
    # Chicago's fill came due at 17:30 (an hour after it was executed): now it counts.
    assert after["current"]["trades"] == current["trades"] + 1


def test_calibration_gives_reliability_and_brier_by_city(served: Served) -> None:
    with served.public() as client:
        answer = client.get("/api/public/calibration").json()
        nyc_only = client.get("/api/public/calibration", params={"city": "NYC"}).json()
        snow = client.get("/api/public/calibration", params={"kind": "monthly_snow"}).json()
    nyc = next(c for c in answer["cities"] if c["code"] == "NYC")
    assert nyc["scored_ladders"] == 2  # leads 1 and 0 of yesterday's ladder
    assert 0 < nyc["brier"] < 2 and nyc["climatology_brier"] is not None
    assert sum(b["count"] for b in nyc["reliability"]) == 12  # six markets at two leads
    for bucket in nyc["reliability"]:
        assert bucket["lower"] <= bucket["mean_forecast"] <= bucket["upper"]
    assert answer["overall"]["scored_ladders"] == 2
    assert [c["code"] for c in nyc_only["cities"]] == ["NYC"]
    assert snow["overall"]["scored_ladders"] == 0


def test_execution_quality_by_city(served: Served) -> None:
    with served.public() as client:
        answer = client.get("/api/public/execution").json()
    cities = {c["code"]: c for c in answer["cities"]}
    assert answer["all"]["orders"] == 2
    assert cities["NYC"]["orders"] == 1 and cities["NYC"]["fill_rate"] == 1.0
    # The Chicago order is public (100 minutes old), its fill (30 minutes old) is not.
    assert cities["CHI"]["orders"] == 1 and cities["CHI"]["contracts_filled"] == "0.00"


def test_health_says_what_trades_and_what_is_stale(served: Served) -> None:
    with served.public() as client:
        answer = client.get("/healthz")
    assert answer.status_code == 200 and answer.headers["cache-control"] == "no-store"
    body = answer.json()
    assert body["status"] == "degraded"  # most feeds never had a snapshot in this ledger
    assert body["trading"]["cities"]["CHI"] == "reducing"  # its breaker tripped
    assert body["feeds"]["NYC"]["market:daily_high"]["age_seconds"] == 0.0
    assert body["ledger"]["clock"] == CLOCK.isoformat()
    assert body["ledger"]["projections"]["public_portfolio"] == {"behind": 0}
    # No count of events: it would tick with every order we record, delay or not.
    assert "position" not in body["ledger"]


def test_the_page_is_local_only(served: Served) -> None:
    with served.public() as client:
        page = client.get("/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "default-src 'self'" in page.headers["content-security-policy"]
    assert "http://" not in page.text and "https://" not in page.text
