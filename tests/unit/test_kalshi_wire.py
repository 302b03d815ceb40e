"""Kalshi wire parsers: exact fixed-point reading, required fields, and mutated payloads.

The ``a_*`` builders return spec-shaped payloads (validated against the OpenAPI spec by the
client's integration tests, which reuse them for the fake exchange).
"""

from __future__ import annotations

import contextlib
import copy
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters.kalshi.errors import KalshiError, MalformedResponse
from adapters.kalshi.wire import json_fields as f
from adapters.kalshi.wire import markets as wm
from adapters.kalshi.wire import orders as wo
from adapters.kalshi.wire import portfolio as wp
from domain.events.base import Action, Side
from domain.events.trading import OrderFilled
from tests.builders import envelope

TS = "2026-08-28T14:00:00Z"


def a_market(ticker: str = "KXHIGHNY-26AUG28-B80.5", **over: Any) -> dict[str, Any]:
    m: dict[str, Any] = {
        "ticker": ticker, "event_ticker": ticker.rsplit("-", 1)[0], "market_type": "binary",
        "yes_sub_title": "80° to 81°", "no_sub_title": "80° to 81°", "created_time": TS, "updated_time": TS,
        "open_time": TS, "close_time": "2026-08-29T04:59:00Z", "latest_expiration_time": TS,
        "settlement_timer_seconds": 3600, "status": "active", "notional_value_dollars": "1.0000",
        "yes_bid_dollars": "0.4200", "yes_ask_dollars": "0.4500", "no_bid_dollars": "0.5500",
        "no_ask_dollars": "0.5800", "yes_bid_size_fp": "10.00", "yes_ask_size_fp": "3.50",
        "last_price_dollars": "0.4300", "previous_yes_bid_dollars": "0.4000",
        "previous_yes_ask_dollars": "0.4600", "previous_price_dollars": "0.4100", "volume_fp": "1250.50",
        "volume_24h_fp": "100.00", "open_interest_fp": "800.00", "result": "", "can_close_early": True,
        "expiration_value": "", "rules_primary": "If the high is between 80 and 81...",
        "rules_secondary": "", "price_level_structure": "linear_cent", "price_ranges": [],
        "settlement_bounds_type": "default", "strike_type": "between", "floor_strike": 80,
        "cap_strike": 81,
    }
    m.update(over)
    return m


def an_event(event_ticker: str = "KXHIGHNY-26AUG28", markets: list[dict[str, Any]] | None = None,
             **over: Any) -> dict[str, Any]:
    e: dict[str, Any] = {
        "event_ticker": event_ticker, "series_ticker": event_ticker.split("-")[0],
        "sub_title": "On Aug 28, 2026", "title": "Highest temperature in NYC on Aug 28, 2026?",
        "collateral_return_type": "MECNET", "mutually_exclusive": True, "settlement_sources": [],
        "strike_date": "2026-08-29T03:59:00Z",
        "markets": markets if markets is not None else [a_market(f"{event_ticker}-B80.5")],
    }
    e.update(over)
    return e


def a_series(ticker: str = "KXHIGHNY", **over: Any) -> dict[str, Any]:
    s: dict[str, Any] = {
        "ticker": ticker, "frequency": "daily", "title": "Highest temperature in NYC",
        "category": "Climate and Weather", "categories": ["Climate and Weather"], "tags": ["Weather"],
        "settlement_sources": [{"name": "National Weather Service", "url": "https://www.weather.gov/"}],
        "contract_url": "https://kalshi.com/c.pdf", "contract_terms_url": "https://kalshi.com/t.pdf",
        "fee_type": "quadratic", "fee_multiplier": 1, "additional_prohibitions": [],
    }
    s.update(over)
    return s


def an_orderbook(yes: list[list[str]] | None = None, no: list[list[str]] | None = None) -> dict[str, Any]:
    return {"orderbook_fp": {
        "yes_dollars": yes if yes is not None else [["0.4100", "5.00"], ["0.4200", "10.00"]],
        "no_dollars": no if no is not None else [["0.5500", "2.50"]]}}


def an_order(order_id: str = "o-1", client_order_id: str = "c-1", **over: Any) -> dict[str, Any]:
    o: dict[str, Any] = {
        "order_id": order_id, "user_id": "u-1", "client_order_id": client_order_id,
        "ticker": "KXHIGHNY-26AUG28-B80.5", "outcome_side": "no", "book_side": "ask", "side": "no",
        "action": "buy", "type": "limit", "status": "resting", "yes_price_dollars": "0.5700",
        "no_price_dollars": "0.4300", "fill_count_fp": "2.50", "remaining_count_fp": "7.50",
        "initial_count_fp": "10.00", "taker_fees_dollars": "0.0200", "maker_fees_dollars": "0.0000",
        "taker_fill_cost_dollars": "1.0750", "maker_fill_cost_dollars": "0.0000",
        "created_time": TS, "last_update_time": TS,
    }
    o.update(over)
    return o


def a_fill(fill_id: str = "f-1", **over: Any) -> dict[str, Any]:
    x: dict[str, Any] = {
        "fill_id": fill_id, "trade_id": fill_id, "exchange_index": 0, "order_id": "o-1",
        "ticker": "KXHIGHNY-26AUG28-B80.5",
        "market_ticker": "KXHIGHNY-26AUG28-B80.5", "side": "no", "action": "buy", "outcome_side": "no",
        "book_side": "ask", "count_fp": "2.50", "yes_price_dollars": "0.5700", "no_price_dollars": "0.4300",
        "is_taker": True, "fee_cost": "0.0200", "created_time": TS, "ts": 1788000000,
    }
    x.update(over)
    return x


def a_market_position(**over: Any) -> dict[str, Any]:
    p: dict[str, Any] = {
        "ticker": "KXHIGHNY-26AUG28-B80.5", "exchange_index": 0, "total_traded_dollars": "1.0750",
        "position_fp": "-2.50", "market_exposure_dollars": "1.0750", "realized_pnl_dollars": "0.0000",
        "fees_paid_dollars": "0.0200", "last_updated_ts": TS,
    }
    p.update(over)
    return p


def an_event_position(**over: Any) -> dict[str, Any]:
    p: dict[str, Any] = {
        "event_ticker": "KXHIGHNY-26AUG28", "total_cost_dollars": "1.0750", "total_cost_shares_fp": "2.50",
        "event_exposure_dollars": "1.0750", "realized_pnl_dollars": "0.0000", "fees_paid_dollars": "0.0200",
    }
    p.update(over)
    return p


def a_settlement(**over: Any) -> dict[str, Any]:
    s: dict[str, Any] = {
        "ticker": "KXHIGHNY-26AUG28-B80.5", "exchange_index": 0, "event_ticker": "KXHIGHNY-26AUG28",
        "market_result": "no", "yes_count_fp": "0.00", "yes_total_cost_dollars": "0.0000",
        "no_count_fp": "2.50", "no_total_cost_dollars": "1.0750", "revenue": 250, "settled_time": TS,
        "fee_cost": "0.0200", "value": 0,
    }
    s.update(over)
    return s


def a_balance(**over: Any) -> dict[str, Any]:
    b: dict[str, Any] = {"balance": 100_050, "balance_dollars": "1000.5000", "portfolio_value": 1075,
                         "updated_ts": 1788000000}
    b.update(over)
    return b


# ---- markets ----------------------------------------------------------------------------------

def test_a_market_reads_exactly() -> None:
    m = wm.market(f.parse_json(b'{"ticker": "T-1", "floor_strike": 80.5}', "t") | a_market(
        "T-1", floor_strike=Decimal("80.5"), cap_strike=None, strike_type="greater"))
    assert (m.yes_bid, m.yes_ask, m.last_price, m.volume) == (4200, 4500, 4300, 125050)
    assert m.floor_strike == Decimal("80.5") and m.cap_strike is None
    assert m.close_time == datetime(2026, 8, 29, 4, 59, tzinfo=UTC)


def test_strikes_come_through_json_as_exact_decimals() -> None:
    payload = f.parse_json(b'{"floor_strike": 80.1, "cap_strike": 81}', "t")
    assert payload["floor_strike"] == Decimal("80.1")
    m = wm.market(a_market(**payload))
    assert (m.floor_strike, m.cap_strike) == (Decimal("80.1"), Decimal(81))


def test_an_event_nests_its_markets() -> None:
    e = wm.event(an_event(markets=[a_market("KXHIGHNY-26AUG28-T79"), a_market("KXHIGHNY-26AUG28-B80.5")]))
    assert e.series_ticker == "KXHIGHNY" and e.mutually_exclusive
    assert [m.ticker for m in e.markets] == ["KXHIGHNY-26AUG28-T79", "KXHIGHNY-26AUG28-B80.5"]


def test_the_orderbook_becomes_a_quote_with_bids_best_first() -> None:
    book = wm.orderbook(an_orderbook())
    assert book.yes_bids == ((4200, 1000), (4100, 500))
    assert book.no_bids == ((5500, 250),)
    quote = wm.market_quote(wm.market(a_market()), book)
    assert quote.yes_bids[0] == (4200, 1000)
    assert quote.floor_strike == Decimal(80) and quote.status == "active"


@pytest.mark.parametrize("level", [["0.42", "1.005"], ["0.42001", "1.00"], ["1.01", "1"], ["x", "1"],
                                   ["0.42"], [0.42, "1.00"], "0.42"])
def test_bad_book_levels_are_malformed(level: Any) -> None:
    with pytest.raises(MalformedResponse):
        wm.orderbook(an_orderbook(yes=[level]))


def test_a_price_listed_twice_is_malformed() -> None:
    with pytest.raises(MalformedResponse, match="twice"):
        wm.orderbook(an_orderbook(no=[["0.5", "1"], ["0.5000", "2"]]))


def test_series_and_status_and_cutoff() -> None:
    assert wm.series(a_series()).fee_type == "quadratic"
    status = wm.exchange_status({"exchange_active": True, "trading_active": False})
    assert status.exchange_active and not status.trading_active
    cutoff = wm.historical_cutoff({"market_settled_ts": TS, "trades_created_ts": TS, "orders_updated_ts": TS})
    assert cutoff.orders_updated_ts.tzinfo is not None


# ---- exact fixed point ------------------------------------------------------------------------

@pytest.mark.parametrize(("field", "value"), [
    ("yes_bid_dollars", "0.42001"), ("last_price_dollars", "1.0001"), ("volume_fp", "1.001"),
    ("volume_fp", "-1.00"), ("yes_ask_dollars", "NaN"), ("yes_ask_dollars", 0.45), ("status", "open"),
    ("close_time", "2026-08-29T04:59:00"), ("close_time", "yesterday"), ("floor_strike", "80"),
    ("ticker", None), ("open_interest_fp", True),
])
def test_a_market_with_a_bad_field_is_malformed(field: str, value: Any) -> None:
    payload = a_market()
    payload[field] = value
    with pytest.raises(MalformedResponse, match=field):
        wm.market(payload)


@pytest.mark.parametrize("field", ["ticker", "status", "yes_bid_dollars", "volume_fp", "close_time"])
def test_a_market_without_a_required_field_is_malformed(field: str) -> None:
    payload = a_market()
    del payload[field]
    with pytest.raises(MalformedResponse, match="required field"):
        wm.market(payload)


def test_invalid_json_is_malformed() -> None:
    with pytest.raises(MalformedResponse, match="not JSON"):
        f.parse_json(b"<html>502</html>", "/markets")
    with pytest.raises(MalformedResponse):
        f.parse_json(b'{"a": 1', "/markets")


# ---- orders and fills -------------------------------------------------------------------------

def test_an_order_reads_with_its_legacy_direction() -> None:
    o = wo.order(an_order())
    assert (o.side, o.action, o.price, o.yes_price, o.book_side) == (Side.NO, Action.BUY, 4300, 5700, "ask")
    assert (o.fill_count, o.remaining_count, o.initial_count) == (250, 750, 1000)
    assert (o.taker_fees, o.taker_fill_cost) == (20_000, 1_075_000)


def test_an_order_without_legacy_fields_reads_on_the_yes_book() -> None:
    payload = an_order()
    del payload["side"], payload["action"]
    o = wo.order(payload)
    assert (o.side, o.action, o.price) == (Side.YES, Action.SELL, 5700)


def test_contradicting_directions_and_prices_are_malformed() -> None:
    with pytest.raises(MalformedResponse, match="not a ask"):
        wo.order(an_order(action="sell"))
    with pytest.raises(MalformedResponse, match="add up"):
        wo.order(an_order(no_price_dollars="0.4200"))
    with pytest.raises(MalformedResponse, match="contradicts"):
        wp.fill(a_fill(outcome_side="yes"))


def test_a_fractional_fill_becomes_an_order_filled() -> None:
    fill = wp.fill(a_fill(count_fp="0.37", fee_cost="0.000350"))
    assert (fill.count, fill.fee, fill.price, fill.side, fill.action) == (37, 350, 4300, Side.NO, Action.BUY)
    event = OrderFilled(**envelope("fill:f-1"), venue_time=fill.created_time,
                        **fill.event_fields(client_order_id="c-1", city="New York"))
    assert event.count == 37 and event.venue_order_id == "o-1"


def test_placements_changes_and_batches() -> None:
    p = wo.placement({"order_id": "o-1", "client_order_id": "c-1", "fill_count": "0.50",
                      "remaining_count": "9.50", "average_fill_price": "0.430000", "ts_ms": 1})
    assert (p.fill_count, p.remaining_count, p.average_fill_price) == (50, 950, 430_000)
    assert not p.already_placed
    assert wo.order_change({"order_id": "o", "reduced_by": "9.50", "ts_ms": 1}, "cancel").reduced_by == 950
    decreased = wo.order_change({"order_id": "o", "remaining_count": "1.00", "ts_ms": 1}, "decrease")
    assert decreased.remaining_count == 100
    with pytest.raises(MalformedResponse):
        wo.order_change({"order_id": "o", "ts_ms": 1}, "decrease")
    results = wo.batch_results({"orders": [
        {"order_id": "o-1", "client_order_id": "c-1", "fill_count": "0.00", "remaining_count": "1.00",
         "ts_ms": 1},
        {"client_order_id": "c-2", "error": {"code": "insufficient_balance", "message": "no money"}}]})
    assert isinstance(results[0], wo.Placement) and isinstance(results[1], wo.BatchItemError)
    assert results[1].code == "insufficient_balance"


def test_decrease_needs_exactly_one_of_by_and_to() -> None:
    assert wo.decrease_body("T", reduce_by=150) == {"market_ticker": "T", "reduce_by": "1.50"}
    with pytest.raises(ValueError):
        wo.decrease_body("T")
    with pytest.raises(ValueError):
        wo.decrease_body("T", reduce_by=1, reduce_to=1)


# ---- portfolio --------------------------------------------------------------------------------

def test_positions_balance_and_settlements_read_exactly() -> None:
    pos = wp.market_position(a_market_position())
    assert (pos.position, pos.market_exposure, pos.fees_paid) == (-250, 1_075_000, 20_000)
    assert wp.event_position(an_event_position()).total_cost_shares == 250
    bal = wp.balance(a_balance())
    assert (bal.balance, bal.portfolio_value) == (1_000_500_000, 10_750_000)
    with pytest.raises(MalformedResponse, match="disagree"):
        wp.balance(a_balance(balance=1))
    s = wp.settlement(a_settlement())
    assert (s.market_result, s.no_count, s.revenue, s.settlement_value) == ("no", 250, 2_500_000, 0)


# ---- hypothesis: parsers never crash on mutated payloads -------------------------------------

PARSERS: list[tuple[Callable[[Any], Any], Callable[[], Any]]] = [
    (wm.market, a_market), (wm.event, an_event), (wm.series, a_series), (wm.orderbook, an_orderbook),
    (wo.order, an_order), (wp.fill, a_fill), (wp.market_position, a_market_position),
    (wp.event_position, an_event_position), (wp.settlement, a_settlement), (wp.balance, a_balance),
    (wm.exchange_status, lambda: {"exchange_active": True, "trading_active": True}),
    (wo.placement, lambda: {"order_id": "o", "fill_count": "0.00", "remaining_count": "1.00", "ts_ms": 1}),
    (wo.batch_results, lambda: {"orders": [{"order_id": "o", "fill_count": "0.00",
                                            "remaining_count": "1.00", "error": None}]}),
]

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-10**20, 10**20) | st.text(max_size=12)
    | st.decimals(allow_nan=True, allow_infinity=True) | st.floats()
    | st.sampled_from(["0.4200", "1.005", "-1.00", "1e400", "NaN", "Infinity", "2026-08-28T14:00:00Z",
                       "bid", "ask", "yes", "no", "", "0.", ".5", "1_000"]),
    lambda children: (st.lists(children, max_size=3)
                      | st.dictionaries(st.text(max_size=6), children, max_size=3)),
    max_leaves=6)


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix]
    if isinstance(value, dict):
        for k, v in value.items():
            found += _paths(v, (*prefix, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            found += _paths(v, (*prefix, i))
    return found


@st.composite
def mutated(draw: st.DrawFn) -> tuple[Callable[[Any], Any], Any]:
    parse, build = draw(st.sampled_from(PARSERS))
    payload = copy.deepcopy(build())
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(_paths(payload)))
        if not path:
            payload = draw(json_values)
            continue
        *parents, last = path
        holder = payload
        for p in parents:
            holder = holder[p]
        if draw(st.booleans()) and isinstance(holder, dict):
            del holder[last]
        else:
            holder[last] = draw(json_values)
        if not isinstance(payload, dict | list):
            break
    return parse, payload


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(mutated())
def test_parsers_return_a_value_or_a_typed_error(case: tuple[Callable[[Any], Any], Any]) -> None:
    parse, payload = case
    with contextlib.suppress(KalshiError):
        parse(payload)


@settings(max_examples=200)
@given(st.binary(max_size=64) | st.text(max_size=64).map(str.encode))
def test_parse_json_returns_a_value_or_a_typed_error(body: bytes) -> None:
    with contextlib.suppress(KalshiError):
        f.parse_json(body, "/x")
