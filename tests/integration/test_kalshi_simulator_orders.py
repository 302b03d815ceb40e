"""The exchange simulator's order management, collateral, settlements, archive and faults over real
HTTP on loopback: amend, decrease, batch create and cancel, queue positions, resting-order holds,
``/portfolio/settlements``, ``/historical/*`` and the latency / timeout / fill faults.

Every answer of a new endpoint is checked against the Kalshi OpenAPI spec with ``conforms``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

from adapters.kalshi.simulator import PREFIX, create_app
from adapters.kalshi.simulator.app import STARTING_BALANCE
from adapters.nws.simulator.weather import WeatherGenerator
from domain.money import MONEY_SCALE
from tests import servers
from tests.integration.test_kalshi_simulator import (
    NOW,
    SEED,
    Sim,
    an_order,
    best_ask,
    config,
    conforms,
    keys,
    nyc_today,
)

CREATE = "/portfolio/events/orders"
BATCH = "/portfolio/events/orders/batched"
ONE = "/portfolio/events/orders/{order_id}"
AMEND = "/portfolio/events/orders/{order_id}/amend"
DECREASE = "/portfolio/events/orders/{order_id}/decrease"
QUEUE = "/portfolio/orders/{order_id}/queue_position"
SETTLED = datetime(2026, 1, 21, 15, 0, tzinfo=UTC)  # today's NYC high settled at 14:00Z
ARCHIVED = datetime(2026, 2, 22, 15, 0, tzinfo=UTC)  # cutoff 2026-01-23T00:00Z: that event is history


@contextmanager
def serving(state_dir: Path, clock: list[datetime],
            balance: int = STARTING_BALANCE) -> Iterator[Sim]:
    app = create_app(config(), seed=SEED, clock=lambda: clock[0], public_key=keys()[1],
                     weather=WeatherGenerator(config().cities, seed=SEED), state_dir=state_dir,
                     starting_balance=balance, auth_clock_ms=lambda: int(clock[0].timestamp() * 1000))
    with servers.serving(app, name="kalshi-sim") as url:
        yield Sim(url, app, clock)


@pytest.fixture
def sim(tmp_path: Path) -> Iterator[Sim]:
    with serving(tmp_path / "state", [NOW]) as running:
        yield running


# --- helpers -------------------------------------------------------------------------------------

def call(sim: Sim, method: str, path: str, *, timeout: float = 10, **kw: Any) -> httpx.Response:
    """``Sim.call`` with a timeout of our choosing (and a body for DELETE)."""
    url = sim.url + PREFIX + path
    headers = keys()[0].headers(method, url, int(sim.clock[0].timestamp() * 1000))
    return httpx.request(method, url, headers=headers, timeout=timeout, **kw)


def expect(response: httpx.Response, status: int, path: str, method: str = "get") -> dict[str, Any]:
    assert response.status_code == status, response.text
    return conforms(response, path, method)


def place(sim: Sim, ticker: str, side: str, price: str, count: str, **extra: Any) -> dict[str, Any]:
    return expect(sim.call("POST", CREATE, json=an_order(ticker, side, price, count, **extra)), 201,
                  CREATE, "post")


def amend(sim: Sim, order_id: str, ticker: str, side: str, price: str, count: str,
          **extra: Any) -> httpx.Response:
    return sim.call("POST", f"/portfolio/events/orders/{order_id}/amend",
                    json={"ticker": ticker, "side": side, "price": price, "count": count, **extra})


def decrease(sim: Sim, order_id: str, **body: Any) -> httpx.Response:
    return sim.call("POST", f"/portfolio/events/orders/{order_id}/decrease", json=body)


def queue(sim: Sim, order_id: str) -> Decimal:
    body = expect(sim.call("GET", f"/portfolio/orders/{order_id}/queue_position"), 200, QUEUE)
    return Decimal(body["queue_position_fp"])


def resting_at(sim: Sim, ticker: str, price: str) -> Decimal:
    """The YES-bid volume at ``price`` (the simulated market makers' own, before ours)."""
    book = conforms(sim.call("GET", f"/markets/{ticker}/orderbook"), "/markets/{ticker}/orderbook")
    return Decimal(dict(book["orderbook_fp"]["yes_dollars"]).get(price, "0"))


def available(sim: Sim) -> int:
    """The available balance in cents."""
    body = expect(sim.call("GET", "/portfolio/balance"), 200, "/portfolio/balance")
    assert Decimal(body["balance_dollars"]) * 100 == body["balance"]
    return int(body["balance"])


def order(sim: Sim, order_id: str) -> dict[str, Any]:
    body = expect(sim.call("GET", f"/portfolio/orders/{order_id}"), 200, "/portfolio/orders/{order_id}")
    return dict(body["order"])


def set_faults(sim: Sim, **faults: Any) -> dict[str, Any]:
    response = httpx.post(sim.url + "/_sim/faults", json=faults, timeout=10)
    assert response.status_code == 200, response.text
    return dict(response.json())


def fills(sim: Sim, **params: Any) -> list[dict[str, Any]]:
    body = expect(sim.call("GET", "/portfolio/fills", params=params), 200, "/portfolio/fills")
    return list(body["fills"])


# --- amend ---------------------------------------------------------------------------------------

def test_amend_keeps_the_queue_place_only_when_it_shrinks_at_the_same_price(sim: Sim) -> None:
    ticker = nyc_today(sim)["markets"][3]["ticker"]
    makers = resting_at(sim, ticker, "0.0200")
    a = place(sim, ticker, "bid", "0.0200", "3.00", client_order_id="q-a")["order_id"]
    b = place(sim, ticker, "bid", "0.0200", "1.00", client_order_id="q-b")["order_id"]
    assert (queue(sim, a), queue(sim, b)) == (makers, makers + 3)

    shrunk = expect(amend(sim, a, ticker, "bid", "0.0200", "2.00"), 200, AMEND, "post")
    assert (shrunk["remaining_count"], shrunk["fill_count"]) == ("2.00", "0.00")
    assert (queue(sim, a), queue(sim, b)) == (makers, makers + 2)  # still first

    grown = expect(amend(sim, a, ticker, "bid", "0.0200", "4.00"), 200, AMEND, "post")
    assert grown["remaining_count"] == "4.00"
    assert (queue(sim, a), queue(sim, b)) == (makers + 1, makers)  # now behind b

    expect(amend(sim, b, ticker, "bid", "0.0300", "1.00"), 200, AMEND, "post")
    repriced = expect(amend(sim, b, ticker, "bid", "0.0200", "1.00"), 200, AMEND, "post")
    assert "remaining_count" not in repriced and "fill_count" not in repriced  # size unchanged
    assert (queue(sim, a), queue(sim, b)) == (makers, makers + 4)  # a price change lost b's place
    assert order(sim, a)["initial_count_fp"] == "4.00"


def test_an_amend_that_crosses_the_book_trades_as_the_taker(sim: Sim) -> None:
    ticker = nyc_today(sim)["markets"][2]["ticker"]
    ask = best_ask(sim, ticker)
    placed = place(sim, ticker, "bid", "0.0100", "2.00", client_order_id="cross-late")

    body = expect(amend(sim, placed["order_id"], ticker, "bid", ask, "2.00"), 200, AMEND, "post")

    assert (body["fill_count"], body["remaining_count"], body["average_fill_price"]) == (
        "2.00", "0.00", ask)
    assert Decimal(body["average_fee_paid"]) > 0
    after = order(sim, placed["order_id"])
    assert (after["status"], after["yes_price_dollars"]) == ("executed", ask)
    assert [(f["count_fp"], f["is_taker"]) for f in fills(sim, order_id=placed["order_id"])] == [
        ("2.00", True)]


def test_amend_renames_and_refuses_what_it_cannot_do(sim: Sim) -> None:
    ticker = nyc_today(sim)["markets"][1]["ticker"]
    a = place(sim, ticker, "bid", "0.0100", "1.00", client_order_id="name-a")["order_id"]
    place(sim, ticker, "bid", "0.0100", "1.00", client_order_id="name-b")

    renamed = expect(amend(sim, a, ticker, "bid", "0.0200", "1.00", client_order_id="name-a",
                           updated_client_order_id="name-a2"), 200, AMEND, "post")
    assert renamed["client_order_id"] == "name-a2" == order(sim, a)["client_order_id"]
    reused = sim.call("POST", CREATE, json=an_order(ticker, "bid", "0.0100", "1.00",
                                                     client_order_id="name-a"))
    assert reused.status_code == 409  # the old name stays used

    taken = expect(amend(sim, a, ticker, "bid", "0.0200", "1.00", updated_client_order_id="name-b"),
                   400, AMEND, "post")
    assert taken["code"] == "order_already_exists"
    for response, status, code in (
            (amend(sim, a, ticker, "ask", "0.0200", "1.00"), 400, "invalid_parameters"),
            (amend(sim, a, ticker, "bid", "0.0200", "1.00", client_order_id="name-b"), 400,
             "invalid_parameters"),
            (amend(sim, a, "KXHIGHNY-26JAN20-NOPE", "bid", "0.0200", "1.00"), 400, "invalid_parameters"),
            (amend(sim, a, ticker, "bid", "0.0250", "1.00"), 400, "invalid_parameters"),
            (amend(sim, "no-such-order", ticker, "bid", "0.0200", "1.00"), 404, "not_found")):
        assert expect(response, status, AMEND, "post")["code"] == code
    sim.call("DELETE", f"/portfolio/events/orders/{a}")
    assert expect(amend(sim, a, ticker, "bid", "0.0200", "1.00"), 404, AMEND, "post")["code"] == "not_found"


# --- decrease ------------------------------------------------------------------------------------

def test_decrease_keeps_the_queue_place_and_down_to_zero_cancels(sim: Sim) -> None:
    ticker = nyc_today(sim)["markets"][4]["ticker"]
    makers = resting_at(sim, ticker, "0.0100")
    a = place(sim, ticker, "bid", "0.0100", "5.00")["order_id"]
    b = place(sim, ticker, "bid", "0.0100", "1.00")["order_id"]

    by = expect(decrease(sim, a, reduce_by="1.50", market_ticker=ticker), 200, DECREASE, "post")
    assert (by["order_id"], by["remaining_count"]) == (a, "3.50")
    assert (queue(sim, a), queue(sim, b)) == (makers, makers + Decimal("3.5"))
    to = expect(decrease(sim, a, reduce_to="1.00"), 200, DECREASE, "post")
    assert to["remaining_count"] == "1.00" == order(sim, a)["remaining_count_fp"]
    assert resting_at(sim, ticker, "0.0100") == makers + 2

    for body, status in (({"reduce_by": "0.50", "reduce_to": "0.50"}, 400), ({}, 400),
                         ({"reduce_by": "2.00"}, 400), ({"reduce_to": "1.00"}, 400),
                         ({"reduce_by": "0.50", "market_ticker": "KXHIGHNY-26JAN20-T1"}, 404)):
        expect(decrease(sim, a, **body), status, DECREASE, "post")
    assert order(sim, a)["remaining_count_fp"] == "1.00"  # the refusals changed nothing

    zero = expect(decrease(sim, a, reduce_to="0"), 200, DECREASE, "post")
    assert zero["remaining_count"] == "0.00" and order(sim, a)["status"] == "canceled"
    expect(decrease(sim, a, reduce_by="1.00"), 404, DECREASE, "post")


# --- batches -------------------------------------------------------------------------------------

def test_a_batch_answers_each_order_and_a_duplicate_inside_it_fails_alone(sim: Sim) -> None:
    ticker = nyc_today(sim)["markets"][1]["ticker"]
    batch = {"orders": [an_order(ticker, "bid", "0.0100", "1.00", client_order_id="b-1"),
                        an_order(ticker, "ask", "0.9900", "1.00", client_order_id="b-2"),
                        an_order(ticker, "bid", "0.0200", "1.00", client_order_id="b-1"),
                        an_order("KXHIGHNY-26JAN20-B999.5", "bid", "0.0100", "1.00",
                                 client_order_id="b-4")]}

    items = expect(sim.call("POST", BATCH, json=batch), 201, BATCH, "post")["orders"]

    assert [i.get("error", {}) and i["error"]["code"] for i in items] == [
        {}, {}, "order_already_exists", "market_not_found"]
    assert [i["client_order_id"] for i in items] == ["b-1", "b-2", "b-1", "b-4"]
    assert (items[0]["fill_count"], items[0]["remaining_count"]) == ("0.00", "1.00")
    assert "average_fill_price" not in items[0]
    assert items[2]["ts_ms"] is None and "order_id" not in items[2]
    listed = sim.call("GET", "/portfolio/orders", params={"ticker": ticker}).json()["orders"]
    assert sorted((o["client_order_id"], o["yes_price_dollars"]) for o in listed) == [
        ("b-1", "0.0100"), ("b-2", "0.9900")]

    malformed = {"orders": [an_order(ticker, "bid", "0.0100", "1.00", client_order_id="b-5"),
                            {"ticker": ticker, "side": "bid", "count": "1.00"}]}
    refused = expect(sim.call("POST", BATCH, json=malformed), 400, BATCH, "post")
    assert "orders[1]" in refused["message"]
    expect(sim.call("POST", BATCH, json={"orders": []}), 400, BATCH, "post")
    assert len(sim.call("GET", "/portfolio/orders", params={"ticker": ticker}).json()["orders"]) == 2


def test_a_batch_cancel_answers_each_order(sim: Sim) -> None:
    ticker = nyc_today(sim)["markets"][0]["ticker"]
    a = place(sim, ticker, "bid", "0.0100", "2.00", client_order_id="bc-a")["order_id"]
    b = place(sim, ticker, "bid", "0.0100", "1.25", client_order_id="bc-b")["order_id"]

    body = {"orders": [{"order_id": a, "market_ticker": ticker}, {"order_id": "nope"},
                       {"order_id": b, "market_ticker": "KXHIGHNY-26JAN20-T1"}, {"order_id": b}]}
    items = expect(call(sim, "DELETE", BATCH, json=body), 200, BATCH, "delete")["orders"]

    assert [(i["order_id"], i["reduced_by"], (i.get("error") or {}).get("code")) for i in items] == [
        (a, "2.00", None), ("nope", "0.00", "not_found"), (b, "0.00", "not_found"), (b, "1.25", None)]
    assert items[0]["client_order_id"] == "bc-a" and items[1]["ts_ms"] is None
    assert {order(sim, a)["status"], order(sim, b)["status"]} == {"canceled"}
    expect(call(sim, "DELETE", BATCH, json={"orders": [{"market_ticker": ticker}]}), 400, BATCH, "delete")


# --- collateral ----------------------------------------------------------------------------------

def test_resting_orders_hold_their_cost_and_an_order_beyond_what_is_free_is_refused(
        tmp_path: Path) -> None:
    with serving(tmp_path, [NOW], balance=10 * MONEY_SCALE) as sim:
        ticker = nyc_today(sim)["markets"][3]["ticker"]
        assert available(sim) == 1_000
        big = place(sim, ticker, "bid", "0.0200", "400.00")["order_id"]
        assert available(sim) == 1_000 - 800

        refused = sim.call("POST", CREATE, json=an_order(ticker, "bid", "0.0200", "150.00"))
        assert expect(refused, 400, CREATE, "post")["code"] == "insufficient_balance"  # cash would do

        expect(decrease(sim, big, reduce_to="100.00"), 200, DECREASE, "post")
        assert available(sim) == 1_000 - 200
        expect(amend(sim, big, ticker, "bid", "0.0300", "100.00"), 200, AMEND, "post")
        assert available(sim) == 1_000 - 300
        expect(sim.call("DELETE", f"/portfolio/events/orders/{big}"), 200, ONE, "delete")
        assert available(sim) == 1_000
        place(sim, ticker, "bid", "0.0200", "150.00")
        assert available(sim) == 1_000 - 300
        place(sim, ticker, "ask", "0.9700", "10.00")  # an ask holds the NO side's cost, 1 - p
        assert available(sim) == 1_000 - 300 - 30


def test_closing_a_position_holds_nothing_and_a_fill_spends_the_hold(sim: Sim) -> None:
    ticker = nyc_today(sim)["markets"][2]["ticker"]
    ask = best_ask(sim, ticker)
    start = available(sim)
    bought = place(sim, ticker, "bid", ask, "2.00", time_in_force="immediate_or_cancel")
    spent = start - available(sim)
    assert spent == round(Decimal(ask) * 200) + round(Decimal(bought["average_fee_paid"]) * 200)
    balance = expect(sim.call("GET", "/portfolio/balance"), 200, "/portfolio/balance")
    assert balance["portfolio_value"] == round(Decimal(ask) * 200)  # the position, at cost

    place(sim, ticker, "ask", "0.9900", "2.00")  # sells the two YES: nothing to hold
    assert available(sim) == start - spent
    place(sim, ticker, "ask", "0.9900", "2.00")  # the position is spoken for: this buys NO
    assert available(sim) == start - spent - 2

    other = nyc_today(sim)["markets"][4]["ticker"]
    before = available(sim)
    resting = place(sim, other, "bid", "0.0100", "3.00")["order_id"]
    assert available(sim) == before - 3
    price = best_ask(sim, other)
    expect(amend(sim, resting, other, "bid", price, "3.00"), 200, AMEND, "post")
    (fill,) = fills(sim, order_id=resting)
    cost = round(Decimal(fill["yes_price_dollars"]) * 300 + Decimal(fill["fee_cost"]) * 100)
    assert available(sim) == before - cost  # the hold became the fill's cost, nothing held twice


# --- settlements ---------------------------------------------------------------------------------

def test_settlements_report_each_settled_market_and_survive_a_restart(tmp_path: Path) -> None:
    clock = [NOW]
    with serving(tmp_path, clock) as sim:
        markets = [m["ticker"] for m in nyc_today(sim)["markets"]]
        for ticker in markets[:5]:
            place(sim, ticker, "bid", best_ask(sim, ticker), "1.00", time_in_force="immediate_or_cancel")
        book = sim.call("GET", f"/markets/{markets[5]}/orderbook").json()["orderbook_fp"]
        best_bid = book["yes_dollars"][-1][0]
        place(sim, markets[5], "ask", best_bid, "2.00", time_in_force="immediate_or_cancel")  # 2 NO
        paid = {f["ticker"]: f for f in fills(sim)}
        assert set(paid) == set(markets)
        before = available(sim)
        assert expect(sim.call("GET", "/portfolio/settlements"), 200,
                      "/portfolio/settlements")["settlements"] == []

        clock[0] = SETTLED
        body = expect(sim.call("GET", "/portfolio/settlements"), 200, "/portfolio/settlements")
        settled = {s["ticker"]: s for s in body["settlements"]}
        assert set(settled) == set(markets)
        event = sim.call("GET", "/events/KXHIGHNY-26JAN20").json()
        results = {m["ticker"]: m["result"] for m in event["markets"]}
        for ticker, s in settled.items():
            fill = paid[ticker]
            won = s["market_result"] == ("yes" if ticker != markets[5] else "no")
            assert s["market_result"] == results[ticker]
            assert s["settled_time"] == "2026-01-21T14:00:00Z"
            assert s["value"] == (100 if s["market_result"] == "yes" else 0)
            assert Decimal(s["fee_cost"]) == Decimal(fill["fee_cost"])
            if ticker == markets[5]:
                assert (s["yes_count_fp"], s["no_count_fp"]) == ("0.00", "2.00")
                assert Decimal(s["no_total_cost_dollars"]) == 2 * Decimal(fill["no_price_dollars"])
                assert s["revenue"] == (200 if won else 0)
            else:
                assert (s["yes_count_fp"], s["no_count_fp"]) == ("1.00", "0.00")
                assert Decimal(s["yes_total_cost_dollars"]) == Decimal(fill["yes_price_dollars"])
                assert s["revenue"] == (100 if won else 0)
        assert available(sim) == before + sum(s["revenue"] for s in settled.values())

        one = sim.call("GET", "/portfolio/settlements", params={"ticker": markets[2]}).json()
        assert [s["ticker"] for s in one["settlements"]] == [markets[2]]
        later = int(SETTLED.timestamp())
        assert sim.call("GET", "/portfolio/settlements", params={"min_ts": later}).json()["settlements"] == []
        paged = sim.call("GET", "/portfolio/settlements", params={"limit": 4}).json()
        assert len(paged["settlements"]) == 4 and paged["cursor"]
    with serving(tmp_path, clock) as again:
        assert again.call("GET", "/portfolio/settlements").json() == body


# --- the archive ---------------------------------------------------------------------------------

def test_what_settled_before_the_cutoff_moves_to_the_historical_endpoints(tmp_path: Path) -> None:
    clock = [NOW]
    with serving(tmp_path, clock) as sim:
        markets = [m["ticker"] for m in nyc_today(sim)["markets"]]
        traded = markets[2]
        bought = place(sim, traded, "bid", best_ask(sim, traded), "1.00", client_order_id="old-1",
                       time_in_force="immediate_or_cancel")
        rested = place(sim, markets[0], "bid", "0.0100", "1.00", client_order_id="old-2")
        cutoff = expect(sim.call("GET", "/historical/cutoff"), 200, "/historical/cutoff")
        assert set(cutoff.values()) == {"2025-12-21T00:00:00Z"}  # 30 days before today, midnight
        expect(sim.call("GET", f"/historical/markets/{traded}"), 404, "/historical/markets/{ticker}")
        fills_then = fills(sim)

        clock[0] = SETTLED  # settled, not yet history
        assert fills(sim) == fills_then
        assert sim.call("GET", "/historical/fills").json()["fills"] == []
        live = sim.call("GET", "/portfolio/positions", params={"count_filter": "total_traded"}).json()
        assert [p["ticker"] for p in live["market_positions"]] == [traded]

        clock[0] = ARCHIVED
        cutoff = expect(sim.call("GET", "/historical/cutoff"), 200, "/historical/cutoff")
        assert cutoff["market_settled_ts"] == cutoff["trades_created_ts"] == "2026-01-23T00:00:00Z"

        expect(sim.call("GET", f"/markets/{traded}"), 404, "/markets/{ticker}")
        assert sim.call("GET", "/markets", params={"tickers": traded}).json()["markets"] == []
        market = expect(sim.call("GET", f"/historical/markets/{traded}"), 200,
                        "/historical/markets/{ticker}")["market"]
        assert market["status"] == "finalized" and market["result"] in ("yes", "no")
        by_event = expect(sim.call("GET", "/historical/markets",
                                   params={"event_ticker": "KXHIGHNY-26JAN20"}), 200, "/historical/markets")
        assert [m["ticker"] for m in by_event["markets"]] == markets
        listed = expect(sim.call("GET", "/historical/markets",
                                 params={"series_ticker": "KXHIGHNY", "limit": 1000}),
                        200, "/historical/markets")["markets"]
        assert traded in {m["ticker"] for m in listed}
        assert {m["event_ticker"].split("-")[0] for m in listed} == {"KXHIGHNY"}
        assert all(m["status"] == "finalized" for m in listed)
        expect(sim.call("GET", "/historical/markets",
                        params={"series_ticker": "KXHIGHNY", "event_ticker": "KXHIGHNY-26JAN20"}),
               400, "/historical/markets")

        assert fills(sim) == []
        old_fills = expect(sim.call("GET", "/historical/fills", params={"ticker": traded}), 200,
                           "/historical/fills")["fills"]
        assert old_fills == fills_then
        assert sim.call("GET", "/portfolio/orders").json()["orders"] == []
        old_orders = expect(sim.call("GET", "/historical/orders"), 200, "/historical/orders")["orders"]
        assert sorted(o["client_order_id"] for o in old_orders) == ["old-1", "old-2"]
        expect(sim.call("GET", f"/portfolio/orders/{rested['order_id']}"), 404,
               "/portfolio/orders/{order_id}")
        assert sim.call("GET", "/portfolio/positions",
                        params={"count_filter": "total_traded"}).json()["market_positions"] == []
        positions = expect(sim.call("GET", "/historical/positions"), 200, "/historical/positions")
        assert [(p["ticker"], p["position_fp"]) for p in positions["market_positions"]] == [(traded, "0.00")]
        assert [e["event_ticker"] for e in positions["event_positions"]] == ["KXHIGHNY-26JAN20"]
        assert [s["ticker"] for s in sim.call("GET", "/portfolio/settlements").json()["settlements"]] == [
            traded]  # settlements have no archive

        today = nyc_today_at(sim, "KXHIGHNY-26FEB22")
        fresh = place(sim, today, "bid", "0.0100", "1.00", client_order_id="new-1")
        assert [o["order_id"] for o in sim.call("GET", "/portfolio/orders").json()["orders"]] == [
            fresh["order_id"]]
        assert bought["order_id"] in {o["order_id"] for o in old_orders}


def nyc_today_at(sim: Sim, event_ticker: str) -> str:
    event = conforms(sim.call("GET", f"/events/{event_ticker}"), "/events/{event_ticker}")
    return str(event["markets"][0]["ticker"])


def test_a_state_file_from_before_these_fields_still_loads(tmp_path: Path) -> None:
    clock = [NOW]
    with serving(tmp_path, clock) as sim:
        ticker = nyc_today(sim)["markets"][1]["ticker"]
        placed = place(sim, ticker, "bid", "0.0100", "2.00", client_order_id="legacy-1")
        hold = available(sim)
    path = tmp_path / "exchange.json"
    document = json.loads(path.read_text())
    document["exchange"].pop("settlements")
    for raw in document["exchange"]["orders"]:
        raw.pop("post_only")
        raw.pop("priority")
    path.write_text(json.dumps(document))
    with serving(tmp_path, clock) as sim:
        assert available(sim) == hold
        assert queue(sim, placed["order_id"]) == resting_at(sim, ticker, "0.0100") - 2
        expect(decrease(sim, placed["order_id"], reduce_by="1.00"), 200, DECREASE, "post")
        clock[0] = SETTLED
        assert sim.call("GET", "/portfolio/settlements").json()["settlements"] == []
        assert order(sim, placed["order_id"])["status"] == "canceled"


# --- faults --------------------------------------------------------------------------------------

def test_timeout_next_carries_the_request_out_and_never_answers(sim: Sim) -> None:
    ticker = nyc_today(sim)["markets"][1]["ticker"]
    assert set_faults(sim, timeout_next=1)["timeout_next"] == 1

    with pytest.raises(httpx.ReadTimeout):
        call(sim, "POST", CREATE, timeout=0.2,
             json=an_order(ticker, "bid", "0.0100", "1.00", client_order_id="held-1"))

    assert httpx.get(sim.url + "/_sim/faults", timeout=10).json()["timeout_next"] == 0
    listed = sim.call("GET", "/portfolio/orders", params={"ticker": ticker}).json()["orders"]
    assert [o["client_order_id"] for o in listed] == ["held-1"]  # placed, though never answered


def test_latency_beyond_the_client_timeout_times_it_out_until_cleared(sim: Sim) -> None:
    set_faults(sim, latency_ms=30_000)
    with pytest.raises(httpx.ReadTimeout):
        call(sim, "GET", "/portfolio/balance", timeout=0.2)
    with pytest.raises(httpx.ReadTimeout):
        httpx.get(sim.url + PREFIX + "/exchange/status", timeout=0.2)  # public reads too
    set_faults(sim, latency_ms=1)
    expect(sim.call("GET", "/portfolio/balance"), 200, "/portfolio/balance")
    set_faults(sim)
    expect(sim.call("GET", "/exchange/status"), 200, "/exchange/status")


def test_fill_faults_repeat_and_reorder_the_fills_list(sim: Sim) -> None:
    markets = nyc_today(sim)["markets"]
    for market in markets[1:4]:
        ticker = market["ticker"]
        place(sim, ticker, "bid", best_ask(sim, ticker), "1.00", time_in_force="immediate_or_cancel")
    newest_first = [f["fill_id"] for f in fills(sim)]
    assert len(newest_first) == len(set(newest_first)) == 3

    set_faults(sim, duplicate_fills=True)
    assert [f["fill_id"] for f in fills(sim)] == [i for i in newest_first for _ in (1, 2)]
    set_faults(sim, out_of_order_fills=True)
    assert [f["fill_id"] for f in fills(sim)] == newest_first[::-1]
    set_faults(sim, duplicate_fills=True, out_of_order_fills=True)
    both = fills(sim, limit=4)
    assert [f["fill_id"] for f in both] == [newest_first[2]] * 2 + [newest_first[1]] * 2
    set_faults(sim)
    assert [f["fill_id"] for f in fills(sim)] == newest_first
