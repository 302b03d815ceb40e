"""The Kalshi exchange simulator over real HTTP on loopback, with requests signed as a client signs.

Every answer is checked against the Kalshi OpenAPI spec (``shared/specs/kalshi-openapi.yaml``,
read with PyYAML) by the small validator below (``$ref``, ``allOf``, ``type``, ``nullable``,
``enum``, ``required``, ``properties``, ``items``, ``minItems``/``maxItems``), because openapi-core
and jsonschema are not installed.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

import httpx
import pytest

from adapters.kalshi.signing import Credentials, load_private_key, load_public_key, new_rsa_key_pair
from adapters.kalshi.simulator import PREFIX, create_app
from adapters.nws.simulator.weather import WeatherGenerator
from domain.config import MilkbotConfig, parse_config
from tests import paths, servers
from tests.openapi import OpenApiSpec

ROOT = Path(__file__).resolve().parents[2]
NOW = datetime(2026, 1, 20, 15, 0, tzinfo=UTC)  # 10:00 EST: today's NYC high event is open
SEED = 7


@cache
def config() -> MilkbotConfig:
    return parse_config((ROOT / "config" / "milkbot.toml").read_text())[0]


@cache
def keys() -> tuple[Credentials, Any]:
    private, public = new_rsa_key_pair()
    return Credentials("sim-key", load_private_key(private)), load_public_key(public)


@dataclass
class Sim:
    url: str
    app: Any
    clock: list[datetime]

    def call(self, method: str, path: str, *, json: Any = None, params: dict[str, Any] | None = None,
             creds: Credentials | None = None, skew_ms: int = 0) -> httpx.Response:
        url = self.url + PREFIX + path
        stamp = int(self.clock[0].timestamp() * 1000) + skew_ms
        headers = (creds or keys()[0]).headers(method, url, stamp)
        return httpx.request(method, url, headers=headers, json=json, params=params, timeout=10)


@contextmanager
def serving(state_dir: Path, clock: list[datetime]) -> Iterator[Sim]:
    # Signatures are checked against the test's clock here; the default (the real clock) is what
    # tests/e2e/test_sim_exchange.py exercises.
    app = create_app(config(), seed=SEED, clock=lambda: clock[0], public_key=keys()[1],
                     weather=WeatherGenerator(config().cities, seed=SEED), state_dir=state_dir,
                     auth_clock_ms=lambda: int(clock[0].timestamp() * 1000))
    with servers.serving(app, name="kalshi-sim") as url:
        yield Sim(url, app, clock)


@pytest.fixture
def sim(tmp_path: Path) -> Iterator[Sim]:
    with serving(tmp_path / "state", [NOW]) as running:
        yield running


# --- the spec ------------------------------------------------------------------------------------

SPEC = OpenApiSpec(paths.SPECS / "kalshi-openapi.yaml")


def conforms(response: httpx.Response, path: str, method: str = "get") -> dict[str, Any]:
    body: dict[str, Any] = response.json()
    # Some error answers carry no schema in the spec; Kalshi sends an ErrorResponse for them.
    schema = SPEC.response_schema(path, response.status_code, method=method) or SPEC.schema(
        "ErrorResponse")
    assert SPEC.problems(body, schema) == [], (path, response.text)
    return body


# --- helpers -------------------------------------------------------------------------------------

def nyc_today(sim: Sim) -> dict[str, Any]:
    body = conforms(sim.call("GET", "/events/KXHIGHNY-26JAN20", params={"with_nested_markets": "true"}),
                    "/events/{event_ticker}")
    return body


def an_order(ticker: str, side: str, price: str, count: str, **extra: Any) -> dict[str, Any]:
    return {"ticker": ticker, "side": side, "price": price, "count": count,
            "time_in_force": "good_till_canceled", "self_trade_prevention_type": "taker_at_cross",
            **extra}


def best_ask(sim: Sim, ticker: str) -> str:
    book = conforms(sim.call("GET", f"/markets/{ticker}/orderbook"), "/markets/{ticker}/orderbook")
    best_no_bid = book["orderbook_fp"]["no_dollars"][-1][0]
    return f"{1 - float(best_no_bid):.4f}"


# --- tests ---------------------------------------------------------------------------------------

def test_discovery_by_series_ticker_and_the_six_market_daily_ladder(sim: Sim) -> None:
    conforms(sim.call("GET", "/exchange/status"), "/exchange/status")
    listed = conforms(sim.call("GET", "/series"), "/series")
    tickers = {s["ticker"] for s in listed["series"]}
    assert {"KXHIGHNY", "KXRAINNYCM", "KXNYCSNOWM", "KXHIGHTDC"} <= tickers
    conforms(sim.call("GET", "/series/KXHIGHNY"), "/series/{series_ticker}")
    events = conforms(sim.call("GET", "/events", params={"series_ticker": "KXHIGHNY",
                                                          "with_nested_markets": "true"}), "/events")
    assert {e["series_ticker"] for e in events["events"]} == {"KXHIGHNY"}
    today = next(e for e in events["events"] if e["event_ticker"] == "KXHIGHNY-26JAN20")
    markets = today["markets"]
    assert [m["strike_type"] for m in markets] == ["less", "between", "between", "between", "between",
                                                   "greater"]
    low = markets[0]["cap_strike"]
    assert [(m.get("floor_strike"), m.get("cap_strike")) for m in markets[1:5]] == [
        (low + 2 * i, low + 2 * i + 1) for i in range(4)]
    assert markets[5]["floor_strike"] == low + 7
    assert all(m["status"] == "active" for m in markets)
    assert markets[1]["ticker"] == f"KXHIGHNY-26JAN20-B{low + 0.5:g}"
    forecast = WeatherGenerator(config().cities, seed=SEED).day("NYC", NOW.date()).max_f
    assert low - 6 <= forecast <= low + 13  # centred near the forecast

    rain = conforms(sim.call("GET", "/markets", params={"event_ticker": "KXRAINNYCM-26JAN"}), "/markets")
    assert rain["markets"] and all(m["strike_type"] == "greater" for m in rain["markets"])
    one = conforms(sim.call("GET", f"/markets/{markets[2]['ticker']}"), "/markets/{ticker}")
    assert one["market"]["ticker"] == markets[2]["ticker"]
    assert sim.call("GET", "/markets/KXHIGHNY-26JAN20-B999.5").status_code == 404


def test_markets_paginate_with_a_cursor(sim: Sim) -> None:
    seen: list[str] = []
    cursor = ""
    for _ in range(50):
        page = conforms(sim.call("GET", "/markets", params={"series_ticker": "KXHIGHNY", "limit": 5,
                                                            "cursor": cursor}), "/markets")
        seen += [m["ticker"] for m in page["markets"]]
        cursor = page["cursor"]
        if not cursor:
            break
    assert len(seen) == len(set(seen)) == 24  # four climate days of six markets
    assert sim.call("GET", "/markets", params={"cursor": "garbage!"}).status_code == 400


def test_a_crossing_order_fills_and_shows_in_orders_fills_positions_and_balance(sim: Sim) -> None:
    ticker = nyc_today(sim)["markets"][2]["ticker"]
    price = best_ask(sim, ticker)
    created = sim.call("POST", "/portfolio/events/orders",
                       json=an_order(ticker, "bid", price, "2.50", client_order_id="cross-1"))
    assert created.status_code == 201, created.text
    body = conforms(created, "/portfolio/events/orders", "post")
    assert body["fill_count"] == "2.50" and body["remaining_count"] == "0.00"
    assert body["average_fill_price"] == price

    order = conforms(sim.call("GET", f"/portfolio/orders/{body['order_id']}"), "/portfolio/orders/{order_id}")
    assert order["order"]["status"] == "executed" and order["order"]["book_side"] == "bid"
    fills = conforms(sim.call("GET", "/portfolio/fills", params={"ticker": ticker}), "/portfolio/fills")
    assert [(f["count_fp"], f["is_taker"], f["yes_price_dollars"]) for f in fills["fills"]] == [
        ("2.50", True, price)]
    assert fills["fills"][0]["fee_cost"] != "0.0000"
    positions = conforms(sim.call("GET", "/portfolio/positions"), "/portfolio/positions")
    assert [(p["ticker"], p["position_fp"]) for p in positions["market_positions"]] == [(ticker, "2.50")]
    balance = conforms(sim.call("GET", "/portfolio/balance"), "/portfolio/balance")
    assert balance["balance"] < 100_000


def test_rest_an_order_then_cancel_it(sim: Sim) -> None:
    ticker = nyc_today(sim)["markets"][3]["ticker"]

    def at_one_cent() -> float:
        levels = dict(sim.call("GET", f"/markets/{ticker}/orderbook").json()["orderbook_fp"]["yes_dollars"])
        return float(levels.get("0.0100", "0"))

    before = at_one_cent()
    created = conforms(sim.call("POST", "/portfolio/events/orders",
                                json=an_order(ticker, "bid", "0.0100", "3.00", client_order_id="rest-1")),
                       "/portfolio/events/orders", "post")
    assert created["remaining_count"] == "3.00"
    assert at_one_cent() == before + 3
    resting = conforms(sim.call("GET", "/portfolio/orders", params={"status": "resting"}),
                       "/portfolio/orders")
    assert [o["client_order_id"] for o in resting["orders"]] == ["rest-1"]
    canceled = sim.call("DELETE", f"/portfolio/events/orders/{created['order_id']}")
    body = conforms(canceled, "/portfolio/events/orders/{order_id}", "delete")
    assert body["reduced_by"] == "3.00"
    again = sim.call("DELETE", f"/portfolio/events/orders/{created['order_id']}")
    conforms(again, "/portfolio/events/orders/{order_id}", "delete")
    assert again.status_code == 404
    assert at_one_cent() == before


def test_duplicate_client_order_id_answers_409(sim: Sim) -> None:
    ticker = nyc_today(sim)["markets"][0]["ticker"]
    order = an_order(ticker, "bid", "0.0100", "1.00", client_order_id="dup-1")
    assert sim.call("POST", "/portfolio/events/orders", json=order).status_code == 201
    duplicate = sim.call("POST", "/portfolio/events/orders", json=order)
    assert duplicate.status_code == 409
    conforms(duplicate, "/portfolio/events/orders", "post")


def test_bad_or_stale_signatures_answer_401_and_v1_create_410(sim: Sim) -> None:
    other = Credentials("other", load_private_key(new_rsa_key_pair()[0]))
    for response in (sim.call("GET", "/portfolio/balance", creds=other),
                     sim.call("GET", "/portfolio/balance", skew_ms=-6_000),
                     sim.call("GET", "/portfolio/balance", skew_ms=6_000),
                     httpx.get(sim.url + PREFIX + "/portfolio/balance", timeout=10)):
        assert response.status_code == 401
        conforms(response, "/portfolio/balance")
    assert sim.call("GET", "/portfolio/balance", skew_ms=4_000).status_code == 200
    assert httpx.get(sim.url + PREFIX + "/markets", timeout=10).status_code == 200  # public: unsigned ok
    v1 = sim.call("POST", "/portfolio/orders", json={"ticker": "X"})
    assert v1.status_code == 410 and set(v1.json()) >= {"code", "message"}


def test_state_survives_a_restart_and_settlement_pays_after_the_climate_day(tmp_path: Path) -> None:
    clock = [NOW]
    with serving(tmp_path, clock) as first:
        markets = nyc_today(first)["markets"]
        filled = {}
        for market in markets:  # one contract of every bin: exactly one settles YES
            price = best_ask(first, market["ticker"])
            created = first.call("POST", "/portfolio/events/orders",
                                 json=an_order(market["ticker"], "bid", price, "1.00"))
            assert created.status_code == 201
            filled[market["ticker"]] = price
        resting = first.call("POST", "/portfolio/events/orders",
                             json=an_order(markets[0]["ticker"], "bid", "0.0100", "1.00",
                                           client_order_id="keep-me")).json()
        before = first.call("GET", "/portfolio/balance").json()
        fills_before = first.call("GET", "/portfolio/fills").json()["fills"]
    with serving(tmp_path, clock) as second:
        assert second.call("GET", "/portfolio/balance").json()["balance"] == before["balance"]
        assert second.call("GET", "/portfolio/fills").json()["fills"] == fills_before
        order = second.call("GET", f"/portfolio/orders/{resting['order_id']}").json()["order"]
        assert order["status"] == "resting"
        positions = second.call("GET", "/portfolio/positions").json()["market_positions"]
        assert len(positions) == 6
        assert second.call("POST", "/portfolio/events/orders",
                           json=an_order(markets[0]["ticker"], "bid", "0.0100", "1.00",
                                         client_order_id="keep-me")).status_code == 409

        clock[0] = datetime(2026, 1, 21, 15, 0, tzinfo=UTC)  # the climate day is over and settled
        after = conforms(second.call("GET", "/portfolio/balance"), "/portfolio/balance")
        # One winning contract pays $1.00, and the cent the resting "keep-me" bid held comes back
        # when it is canceled at the close (balance is what is available for trading).
        assert after["balance"] == before["balance"] + 101
        assert second.call("GET", "/portfolio/positions").json()["market_positions"] == []
        order = second.call("GET", f"/portfolio/orders/{resting['order_id']}").json()["order"]
        assert order["status"] == "canceled"
        event = conforms(second.call("GET", "/events/KXHIGHNY-26JAN20"), "/events/{event_ticker}")
        results = [m["result"] for m in event["markets"]]
        assert sorted(results) == ["no"] * 5 + ["yes"] and {m["status"] for m in event["markets"]} == {
            "finalized"}
        truth = WeatherGenerator(config().cities, seed=SEED).day("NYC", NOW.date()).max_f
        winner = event["markets"][results.index("yes")]
        assert {"less": lambda m: truth < m["cap_strike"],
                "between": lambda m: m["floor_strike"] <= truth <= m["cap_strike"],
                "greater": lambda m: truth > m["floor_strike"]}[winner["strike_type"]](winner)


def test_faults_429_5xx_and_a_lost_create_answer(sim: Sim) -> None:
    def set_faults(**faults: Any) -> None:
        assert httpx.post(sim.url + "/_sim/faults", json=faults, timeout=10).status_code == 200

    set_faults(rate_limit_next=2, server_error_next=1)
    assert [sim.call("GET", "/portfolio/balance").status_code for _ in range(4)] == [429, 429, 500, 200]
    ticker = nyc_today(sim)["markets"][1]["ticker"]
    set_faults(lose_create_answer_next=1)
    lost = sim.call("POST", "/portfolio/events/orders",
                    json=an_order(ticker, "bid", "0.0100", "1.00", client_order_id="lost-1"))
    assert lost.status_code == 504
    orders = sim.call("GET", "/portfolio/orders", params={"ticker": ticker}).json()["orders"]
    assert [o["client_order_id"] for o in orders] == ["lost-1"]  # it was placed after all
    assert httpx.post(sim.url + "/_sim/faults", json={"nope": 1}, timeout=10).status_code == 400
    set_faults()


def test_the_stale_window_follows_the_authentication_clock(sim: Sim) -> None:
    sim.clock[0] = NOW + timedelta(hours=1)
    assert sim.call("GET", "/portfolio/balance").status_code == 200  # signed at the sim's time
