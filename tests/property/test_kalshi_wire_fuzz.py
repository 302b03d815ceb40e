"""The Kalshi wire readers on valid, mutated and arbitrary JSON: an exact value or MalformedResponse.

Valid payloads are the spec-shaped builders of ``tests/unit/test_kalshi_wire.py`` (the client's
integration tests check them against the OpenAPI spec; here every drawn one is checked again) with
drawn prices, counts, amounts, times and directions, so each must read back to exactly the integers
it was written from. Mutations are what a broken or hostile venue sends: a field dropped, a field of
another JSON type, numbers as huge integers, negatives, ``"NaN"``, ``"Infinity"``, ``"1e400"`` or
other-script digits, unicode junk, lists and objects where a scalar belongs. Whatever arrives, a
reader returns a value or raises :class:`MalformedResponse`; nothing else (``KeyError``,
``TypeError``, ``decimal.InvalidOperation``, ``OverflowError``, pydantic's ``ValidationError``...)
may escape. The client's own ``_answer`` gets the same promise for any bytes and status.
"""

from __future__ import annotations

import contextlib
import copy
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from decimal import MAX_EMAX, MAX_PREC, MIN_EMIN, Context, Decimal, Inexact, localcontext
from functools import cache, partial
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from adapters.kalshi.client import CREATE_PATH, KalshiClient
from adapters.kalshi.errors import KalshiError, KalshiRejected, MalformedResponse
from adapters.kalshi.rate_limit import RateLimiter
from adapters.kalshi.signing import Credentials
from adapters.kalshi.wire import json_fields as f
from adapters.kalshi.wire import markets as wm
from adapters.kalshi.wire import orders as wo
from adapters.kalshi.wire import portfolio as wp
from adapters.kalshi.wire.sides import complement, from_book, to_book
from domain.events.base import Action, Side
from domain.money import COUNT_SCALE, MAX_COUNT, MONEY_SCALE, PRICE_SCALE
from tests import paths
from tests.openapi import OpenApiSpec
from tests.unit.test_kalshi_wire import (
    a_balance,
    a_fill,
    a_market,
    a_market_position,
    a_series,
    a_settlement,
    an_event,
    an_event_position,
    an_order,
    an_orderbook,
)

SPEC = OpenApiSpec(paths.SPECS / "kalshi-openapi.yaml")
FAST = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _quote(payload: Any) -> Any:
    """A market and its book as ``KalshiClient.quotes`` joins them."""
    o = f.obj(payload, "quote")
    return wm.market_quote(wm.market(o.get("market")), wm.orderbook(o.get("orderbook")))


def _event_page(payload: Any) -> Any:
    """A ``GetEventResponse`` as ``KalshiClient.event`` reads it (markets beside the event)."""
    o = f.obj(payload, "event page")
    return wm.event(o.get("event"), f.opt_list(o, "markets", "event page"))


#: Every reader of adapters/kalshi/wire, by name (the name is what hypothesis prints).
PARSERS: dict[str, Callable[[Any], Any]] = {
    "exchange_status": wm.exchange_status, "series": wm.series, "market": wm.market, "event": wm.event,
    "event_page": _event_page, "orderbook": wm.orderbook, "quote": _quote,
    "historical_cutoff": wm.historical_cutoff, "order": wo.order, "placement": wo.placement,
    "batch_results": wo.batch_results, "cancel": partial(wo.order_change, what="cancel"),
    "amend": partial(wo.order_change, what="amend"), "decrease": partial(wo.order_change, what="decrease"),
    "fill": wp.fill, "market_position": wp.market_position, "event_position": wp.event_position,
    "balance": wp.balance, "settlement": wp.settlement,
}


@dataclass(frozen=True)
class Case:
    """A valid payload for one reader, and what its answer must hold exactly."""

    parser: str
    payload: Any
    #: Dotted attribute paths of the answer (``markets.0.yes_bid``) and their exact values.
    expected: dict[str, Any] = field(default_factory=dict)
    #: The spec schema each part of the payload conforms to.
    schemas: tuple[tuple[str, Any], ...] = ()


# -- valid values and their wire text -------------------------------------------------------------

prices = st.integers(0, PRICE_SCALE)
counts = st.one_of(st.integers(0, 10_000), st.integers(0, MAX_COUNT))
amounts = st.one_of(st.integers(-10**8, 10**8), st.integers(-10**15, 10**15))
texts = st.text(st.characters(exclude_categories=["Cs"]), min_size=1, max_size=12)
moments = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1),
                       timezones=st.sampled_from([UTC, timezone(timedelta(hours=-5)),
                                                  timezone(timedelta(hours=5, minutes=30))]))


def fixed(draw: st.DrawFn, units: int, scale: int, min_places: int, max_places: int) -> str:
    """``units`` of ``1/scale`` as a fixed-point string, with any number of decimals that is exact."""
    exact = Decimal(units) / scale
    needed = max(min_places, -int(exact.normalize().as_tuple().exponent))
    return f"{exact:.{draw(st.integers(needed, max_places))}f}"


def price_text(draw: st.DrawFn, price: int) -> str:
    return fixed(draw, price, PRICE_SCALE, 2, 6)  # responses emit up to 6 decimals


def count_text(draw: st.DrawFn, count: int) -> str:
    return fixed(draw, count, COUNT_SCALE, 2, 2)  # responses always emit 2


def money_text(draw: st.DrawFn, micros: int) -> str:
    return fixed(draw, micros, MONEY_SCALE, 2, 6)


def time_text(draw: st.DrawFn, moment: datetime) -> str:
    text = moment.isoformat()
    return text.removesuffix("+00:00") + "Z" if text.endswith("+00:00") and draw(st.booleans()) else text


@st.composite
def market_cases(draw: st.DrawFn) -> Case:
    ticker = draw(texts)
    yes_bid, yes_ask, no_bid, no_ask, last = (draw(prices) for _ in range(5))
    volume, interest = draw(counts), draw(counts)
    opens, closes = draw(moments), draw(moments)
    strike_type = draw(st.none() | st.sampled_from(wm.STRIKE_TYPES))
    strikes = st.none() | st.integers(-200, 200) | st.decimals(-200, 200, places=2)
    floor, cap = draw(strikes), draw(strikes)
    settled = draw(st.none() | prices)
    status, result = draw(st.sampled_from(wm.MARKET_STATUSES)), draw(st.sampled_from(wm.RESULTS))
    payload = a_market(
        ticker, status=status, result=result, yes_bid_dollars=price_text(draw, yes_bid),
        yes_ask_dollars=price_text(draw, yes_ask), no_bid_dollars=price_text(draw, no_bid),
        no_ask_dollars=price_text(draw, no_ask), last_price_dollars=price_text(draw, last),
        volume_fp=count_text(draw, volume), open_interest_fp=count_text(draw, interest),
        open_time=time_text(draw, opens), close_time=time_text(draw, closes),
        yes_sub_title=draw(texts), rules_primary=draw(texts), strike_type=strike_type,
        floor_strike=floor, cap_strike=cap,
        settlement_value_dollars=None if settled is None else price_text(draw, settled))
    for key in ("strike_type", "floor_strike", "cap_strike", "settlement_value_dollars"):
        # The spec makes strike_type and settlement_value_dollars omissible, the strikes nullable too
        # (tests/openapi.py reads a $ref's sibling ``nullable`` as absent, as OpenAPI 3.0 says).
        if payload[key] is None and (key not in ("floor_strike", "cap_strike") or draw(st.booleans())):
            del payload[key]
    return Case("market", payload, {
        "ticker": ticker, "status": status, "result": result, "yes_bid": yes_bid, "yes_ask": yes_ask,
        "no_bid": no_bid, "no_ask": no_ask, "last_price": last, "volume": volume,
        "open_interest": interest, "open_time": opens, "close_time": closes, "strike_type": strike_type,
        "floor_strike": None if floor is None else Decimal(floor),
        "cap_strike": None if cap is None else Decimal(cap), "settlement_value": settled,
    }, (("Market", payload),))


def _nested(case: Case, prefix: str) -> dict[str, Any]:
    return {f"{prefix}.{path}": value for path, value in case.expected.items()}


@st.composite
def event_cases(draw: st.DrawFn) -> Case:
    event_ticker = draw(texts)
    markets = draw(st.lists(market_cases(), max_size=2))
    strike_date = draw(st.none() | moments)
    beside = draw(st.booleans())
    payload = an_event(event_ticker, markets=[] if beside else [m.payload for m in markets],
                       series_ticker=draw(texts), mutually_exclusive=draw(st.booleans()),
                       strike_date=None if strike_date is None else time_text(draw, strike_date))
    expected: dict[str, Any] = {"event_ticker": event_ticker, "strike_date": strike_date,
                                "mutually_exclusive": payload["mutually_exclusive"]}
    for i, m in enumerate(markets):
        expected |= _nested(m, f"markets.{i}")
    if beside:
        page = {"event": payload, "markets": [m.payload for m in markets]}
        return Case("event_page", page, expected, (("GetEventResponse", page),))
    return Case("event", payload, expected, (("EventData", payload),))


@st.composite
def orderbook_cases(draw: st.DrawFn) -> Case:
    sides = [draw(st.dictionaries(prices, counts, max_size=4)) for _ in range(2)]
    yes, no = ([[price_text(draw, p), count_text(draw, c)] for p, c in draw(st.permutations(list(s.items())))]
               for s in sides)
    payload = an_orderbook(yes=yes, no=no)
    best_first = [tuple(sorted(s.items(), reverse=True)) for s in sides]
    return Case("orderbook", payload, {"yes_bids": best_first[0], "no_bids": best_first[1]},
                (("GetMarketOrderbookResponse", payload),))


@st.composite
def quote_cases(draw: st.DrawFn) -> Case:
    market, book = draw(market_cases()), draw(orderbook_cases())
    expected = {key: market.expected[key] for key in
                ("ticker", "status", "strike_type", "floor_strike", "cap_strike", "close_time",
                 "last_price", "volume")}
    return Case("quote", {"market": market.payload, "orderbook": book.payload},
                expected | book.expected, market.schemas + book.schemas)


@st.composite
def simple_cases(draw: st.DrawFn) -> Case:
    """Series, exchange status and the historical cutoff."""
    kind = draw(st.sampled_from(["series", "exchange_status", "historical_cutoff"]))
    if kind == "series":
        multiplier = draw(st.integers(0, 5) | st.decimals(0, 5, places=3))
        payload = a_series(draw(texts), fee_multiplier=multiplier, fee_type=draw(st.sampled_from(
            ["quadratic", "quadratic_with_maker_fees", "quadratic_with_combo_maker_fees", "flat"])))
        return Case(kind, payload, {"ticker": payload["ticker"], "fee_type": payload["fee_type"],
                                    "fee_multiplier": Decimal(multiplier)}, (("Series", payload),))
    if kind == "exchange_status":
        resume = draw(st.none() | moments)
        payload = {"exchange_active": draw(st.booleans()), "trading_active": draw(st.booleans()),
                   "exchange_estimated_resume_time": None if resume is None else time_text(draw, resume)}
        return Case(kind, payload, {"exchange_active": payload["exchange_active"],
                                    "trading_active": payload["trading_active"],
                                    "estimated_resume_time": resume}, (("ExchangeStatus", payload),))
    times = [draw(moments) for _ in range(3)]
    names = ("market_settled_ts", "trades_created_ts", "orders_updated_ts")
    payload = {name: time_text(draw, t) for name, t in zip(names, times, strict=True)}
    return Case(kind, payload, dict(zip(names, times, strict=True)),
                (("GetHistoricalCutoffResponse", payload),))


def _direction(draw: st.DrawFn, payload: dict[str, Any]) -> dict[str, Any]:
    """Writes a drawn direction into an order or fill payload (with or without the legacy
    ``side``/``action``) and returns how it must read."""
    side, action, price = draw(st.sampled_from(Side)), draw(st.sampled_from(Action)), draw(prices)
    book_side, yes_price = to_book(side, action, price)
    payload.update(book_side=book_side, outcome_side="yes" if book_side == "bid" else "no",
                   side=side.value, action=action.value, yes_price_dollars=price_text(draw, yes_price),
                   no_price_dollars=price_text(draw, complement(yes_price)))
    if draw(st.booleans()):
        del payload["side"], payload["action"]
        side, action, price = from_book(book_side, yes_price)
    return {"book_side": book_side, "yes_price": yes_price, "side": side, "action": action, "price": price}


@st.composite
def order_cases(draw: st.DrawFn) -> Case:
    filled, remaining = draw(counts), draw(counts)
    fees = [draw(st.integers(0, 10**12)) for _ in range(4)]
    status = draw(st.sampled_from(wo.ORDER_STATUSES))
    payload = an_order(
        draw(texts), draw(texts), status=status, fill_count_fp=count_text(draw, filled),
        remaining_count_fp=count_text(draw, remaining), initial_count_fp=count_text(draw, filled + remaining),
        taker_fees_dollars=money_text(draw, fees[0]), maker_fees_dollars=money_text(draw, fees[1]),
        taker_fill_cost_dollars=money_text(draw, fees[2]), maker_fill_cost_dollars=money_text(draw, fees[3]))
    expected = _direction(draw, payload)
    return Case("order", payload, expected | {
        "order_id": payload["order_id"], "client_order_id": payload["client_order_id"], "status": status,
        "fill_count": filled, "remaining_count": remaining, "initial_count": filled + remaining,
        "taker_fees": fees[0], "maker_fees": fees[1], "taker_fill_cost": fees[2], "maker_fill_cost": fees[3],
    }, (("Order", payload),))


@st.composite
def fill_cases(draw: st.DrawFn) -> Case:
    count, fee, taker = draw(counts), draw(st.integers(0, 10**12)), draw(st.booleans())
    payload = a_fill(draw(texts), count_fp=count_text(draw, count), fee_cost=money_text(draw, fee),
                     is_taker=taker)
    expected = _direction(draw, payload)
    return Case("fill", payload, expected | {"fill_id": payload["fill_id"], "count": count, "fee": fee,
                                             "is_taker": taker}, (("Fill", payload),))


@st.composite
def position_cases(draw: st.DrawFn) -> Case:
    if draw(st.booleans()):
        position = draw(st.integers(-MAX_COUNT, MAX_COUNT))
        money, moment = [draw(amounts) for _ in range(4)], draw(moments)
        text = count_text(draw, abs(position))
        payload = a_market_position(
            position_fp=f"-{text}" if position < 0 else text, last_updated_ts=time_text(draw, moment),
            total_traded_dollars=money_text(draw, money[0]),
            market_exposure_dollars=money_text(draw, money[1]),
            realized_pnl_dollars=money_text(draw, money[2]), fees_paid_dollars=money_text(draw, money[3]))
        return Case("market_position", payload, {
            "position": position, "total_traded": money[0], "market_exposure": money[1],
            "realized_pnl": money[2], "fees_paid": money[3], "last_updated": moment,
        }, (("MarketPosition", payload),))
    shares, money = draw(counts), [draw(amounts) for _ in range(4)]
    payload = an_event_position(
        total_cost_shares_fp=count_text(draw, shares), total_cost_dollars=money_text(draw, money[0]),
        event_exposure_dollars=money_text(draw, money[1]), realized_pnl_dollars=money_text(draw, money[2]),
        fees_paid_dollars=money_text(draw, money[3]))
    return Case("event_position", payload, {
        "total_cost_shares": shares, "total_cost": money[0], "event_exposure": money[1],
        "realized_pnl": money[2], "fees_paid": money[3],
    }, (("EventPosition", payload),))


@st.composite
def balance_cases(draw: st.DrawFn) -> Case:
    micros, value = draw(st.integers(0, 10**15)), draw(st.integers(0, 10**13))
    payload = a_balance(balance=micros // (MONEY_SCALE // 100), balance_dollars=money_text(draw, micros),
                        portfolio_value=value, updated_ts=draw(st.integers(0, 2**62)))
    return Case("balance", payload, {"balance": micros, "portfolio_value": value * (MONEY_SCALE // 100),
                                     "updated_ts": payload["updated_ts"]}, (("GetBalanceResponse", payload),))


@st.composite
def settlement_cases(draw: st.DrawFn) -> Case:
    yes, no, revenue = draw(counts), draw(counts), draw(st.integers(0, 10**12))
    yes_cost, no_cost, fee = (draw(st.integers(0, 10**12)) for _ in range(3))
    value, settled = draw(st.none() | st.integers(0, 100)), draw(moments)
    payload = a_settlement(
        market_result=draw(st.sampled_from(["yes", "no", "scalar"])), yes_count_fp=count_text(draw, yes),
        no_count_fp=count_text(draw, no), yes_total_cost_dollars=money_text(draw, yes_cost),
        no_total_cost_dollars=money_text(draw, no_cost), revenue=revenue, fee_cost=money_text(draw, fee),
        settled_time=time_text(draw, settled), value=value)
    if value is None and draw(st.booleans()):
        del payload["value"]
    return Case("settlement", payload, {
        "market_result": payload["market_result"], "yes_count": yes, "no_count": no,
        "yes_total_cost": yes_cost, "no_total_cost": no_cost, "revenue": revenue * (MONEY_SCALE // 100),
        "fee_cost": fee, "settled_time": settled,
        "settlement_value": None if value is None else value * (PRICE_SCALE // 100),
    }, (("Settlement", payload),))


def _placed(draw: st.DrawFn, *, null_id: bool) -> tuple[dict[str, Any], dict[str, Any]]:
    """A create answer (``null_id``: a batch item, whose ``client_order_id`` may be null)."""
    filled, remaining = draw(counts), draw(counts)
    per_contract = st.none() | st.integers(0, MONEY_SCALE)
    average, fee = draw(per_contract), draw(per_contract)
    wire: dict[str, Any] = {"order_id": draw(texts), "client_order_id": draw(st.none() | texts),
                            "fill_count": count_text(draw, filled),
                            "remaining_count": count_text(draw, remaining),
                            "ts_ms": draw(st.integers(0, 2**62))}
    if wire["client_order_id"] is None and not (null_id and draw(st.booleans())):
        del wire["client_order_id"]
    if average is not None:
        wire["average_fill_price"] = money_text(draw, average)
    if fee is not None:
        wire["average_fee_paid"] = money_text(draw, fee)
    return wire, {"order_id": wire["order_id"], "client_order_id": wire.get("client_order_id"),
                  "fill_count": filled, "remaining_count": remaining, "average_fill_price": average,
                  "average_fee_paid": fee}


@st.composite
def order_answer_cases(draw: st.DrawFn) -> Case:
    kind = draw(st.sampled_from(["placement", "batch_results", "cancel", "amend", "decrease"]))
    if kind == "placement":
        wire, expected = _placed(draw, null_id=False)
        return Case(kind, wire, expected, (("CreateOrderV2Response", wire),))
    if kind == "batch_results":
        items: list[dict[str, Any]] = []
        expected = {}
        for i in range(draw(st.integers(0, 3))):
            if draw(st.booleans()):
                wire, placed = _placed(draw, null_id=True)
                items.append(wire)
                expected |= {f"{i}.{k}": v for k, v in placed.items()}
            else:
                code, message = draw(texts), draw(texts)
                items.append({"client_order_id": draw(texts), "error": {"code": code, "message": message}})
                expected |= {f"{i}.code": code, f"{i}.message": message}
        payload = {"orders": items}
        return Case(kind, payload, expected, (("BatchCreateOrdersV2Response", payload),))
    left, by = draw(counts), draw(counts)
    wire = {"order_id": draw(texts), "client_order_id": draw(texts), "ts_ms": draw(st.integers(0, 2**62))}
    if kind == "cancel":
        wire["reduced_by"] = count_text(draw, by)
        expected = {"reduced_by": by, "remaining_count": None}
    else:
        wire["remaining_count"] = count_text(draw, left)
        expected = {"remaining_count": left, "reduced_by": None}
    schema = {"cancel": "CancelOrderV2Response", "amend": "AmendOrderV2Response",
              "decrease": "DecreaseOrderV2Response"}[kind]
    return Case(kind, wire, expected | {"order_id": wire["order_id"]}, ((schema, wire),))


valid_cases = st.one_of(
    market_cases(), event_cases(), orderbook_cases(), quote_cases(), simple_cases(), order_cases(),
    fill_cases(), position_cases(), balance_cases(), settlement_cases(), order_answer_cases(),
)


def pick(answer: Any, path: str) -> Any:
    for part in path.split("."):
        answer = answer[int(part)] if part.isdigit() else getattr(answer, part)
    return answer


def as_json(payload: Any) -> bytes:
    """The bytes the venue would send (strikes of at most 15 digits survive ``float`` exactly)."""
    return json.dumps(payload, default=float).encode()


@FAST
@given(valid_cases)
def test_valid_payloads_read_to_exactly_what_they_say(case: Case) -> None:
    for name, part in case.schemas:
        assert SPEC.problems(json.loads(as_json(part)), SPEC.schema(name)) == [], name
    parse = PARSERS[case.parser]
    answer = parse(case.payload)
    for path, value in case.expected.items():
        got = pick(answer, path)
        assert got == value and type(got) is type(value), (path, got, value)
    # And read from the bytes on the wire, where numbers come through parse_json as Decimals.
    assert parse(f.parse_json(as_json(case.payload), case.parser)) == answer


# -- mutations ------------------------------------------------------------------------------------

#: Text that trips Decimal, int() or fromisoformat, or reads as a number it is not.
NUMBER_TEXTS = [
    "NaN", "-NaN", "nan", "sNaN", "Infinity", "-Infinity", "inf", "1e400", "-1e400", "1e-400",
    "1E+999999999", "1e999999999", "-1e999999999", "1e-999999999", "1e99999999999999999999", "9" * 400,
    "-" + "9" * 400, "0.42000000000000000000000000001", "0.4200000000000000000000000000000", "1" + "0" * 40,
    "-0.4200", "-0", "-0.00", "0.", ".42", "+0.42", " 0.42", "0.42\n", "\u0660.\u0664\u0662",
    "\U0001d7d8.\U0001d7dc\U0001d7da", "0x1A", "1_000", "", "-", "--1", "-+1", "+-1", "1/2", "0,42",
    "0.00000001", "10000000000000.00", "1e2", "4.2E-1",
]
TIME_TEXTS = [
    "2026-08-28T14:00:00", "2026-08-28", "2026-02-30T00:00:00Z", "9999-12-31T23:59:59-23:59",
    "0001-01-01T00:00:00+00:00", "2026-08-28T14:00:00+24:00", "2026-08-28T14:00:00.123456789Z",
    "2026-08-28T25:00:00Z", "Z", "T", "2026-08-28T14:00:00\ud800Z", "yesterday",
]
numeric_texts = st.one_of(
    st.sampled_from(NUMBER_TEXTS),
    st.from_regex(r"[-+]?[0-9]{0,32}(\.[0-9]{0,32})?([eE][-+]?[0-9]{1,12})?", fullmatch=True),
    st.integers().map(str), st.decimals().map(str),
    st.text(st.sampled_from("0123456789.-+eE_ \u0663\u00a0NaIfinty"), max_size=12),
)
junk_texts = st.one_of(
    st.text(st.characters(exclude_categories=()), max_size=16),
    st.sampled_from(["\ud800", "\x00", "\u202e", "\ufeff", "x" * 5000, *TIME_TEXTS]),
    st.datetimes().map(datetime.isoformat),
)
#: What parse_json can hand a reader: any int (huge ones too), Decimals (finite, of any exponent),
#: the NaN/Infinity floats JSON's constants become, text, null, booleans.
json_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.integers(-(10**400), 10**400),
    st.decimals(allow_nan=False, allow_infinity=False),
    st.sampled_from([Decimal("1E+999999999"), Decimal("-1E-999999999"), float("nan"), float("inf"),
                     float("-inf"), 2**63, -(2**63) - 1]),
    st.floats(), numeric_texts, junk_texts,
)
#: Keys the payloads use, so that arbitrary objects still hit the fields the readers look for.
KEYS = sorted({k for build in (a_market, an_event, a_series, an_order, a_fill, a_market_position,
                               an_event_position, a_settlement, a_balance) for k in build()}
              | {"orderbook_fp", "yes_dollars", "no_dollars", "orders", "error", "code", "message",
                 "fill_count", "remaining_count", "reduced_by", "ts_ms", "exchange_active",
                 "trading_active", "market", "event", "orderbook", "cursor"})
json_values = st.recursive(
    json_scalars,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(
        st.sampled_from(KEYS) | st.text(max_size=6), children, max_size=4),
    max_leaves=8)


def junk_for(key: object) -> st.SearchStrategy[Any]:
    """Replacement values, with number-like text more often where a fixed-point string belongs."""
    if isinstance(key, str) and (key.endswith(("_dollars", "_fp", "_count", "_cost", "_price", "_paid"))
                                 or key in ("reduced_by", "fee_cost")):
        return st.one_of(numeric_texts, numeric_texts, json_values)
    if isinstance(key, str) and key.endswith(("_time", "_ts", "_date")):
        return st.one_of(st.sampled_from(TIME_TEXTS), json_values)
    if isinstance(key, int):  # a book level's price or count
        return st.one_of(numeric_texts, json_values)
    return json_values


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix]
    if isinstance(value, dict):
        for k, v in value.items():
            found += _paths(v, (*prefix, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            found += _paths(v, (*prefix, i))
    return found


def mutate(draw: st.DrawFn, payload: Any, times: int) -> Any:
    """``payload`` (copied) with ``times`` fields, items or the whole dropped or replaced."""
    payload = copy.deepcopy(payload)
    for _ in range(times):
        path = draw(st.sampled_from(_paths(payload)), label="path")
        if not path:
            payload = draw(json_values, label="whole payload")
            continue
        *parents, last = path
        holder = payload
        for step in parents:
            holder = holder[step]
        if draw(st.booleans(), label="drop"):
            del holder[last]
        else:
            holder[last] = draw(junk_for(last), label="value")
    return payload


@st.composite
def mutated(draw: st.DrawFn) -> tuple[str, Any]:
    case = draw(valid_cases)
    return case.parser, mutate(draw, case.payload, draw(st.integers(1, 3)))


def outcome(parser: str, payload: Any) -> Any:
    """The answer, or None for a MalformedResponse; any other exception fails the property."""
    try:
        return PARSERS[parser](payload)
    except MalformedResponse:
        return None


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated())
@example(("market", a_market(volume_fp="1e999999999")))  # decimal.Overflow escaped
@example(("orderbook", an_orderbook(yes=[["0.42", "1E+999999999"]])))  # decimal.Overflow escaped
@example(("placement", {"order_id": "o", "fill_count": "1e999999", "remaining_count": "0", "ts_ms": 1}))
def test_mutated_payloads_read_or_raise_malformed(case: tuple[str, Any]) -> None:
    outcome(*case)


@FAST
@given(parser=st.sampled_from(sorted(PARSERS)), payload=json_values)
def test_any_json_reads_or_raises_malformed(parser: str, payload: Any) -> None:
    outcome(parser, payload)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=valid_cases, data=st.data())
def test_the_right_keys_with_any_values_read_or_raise_malformed(case: Case, data: st.DataObject) -> None:
    # Each key keeps its valid value or gets any other, so readers get past the first bad field.
    outcome(case.parser, {key: data.draw(st.just(value) | junk_for(key), label=key)
                          for key, value in case.payload.items()})


# -- the shared readers ---------------------------------------------------------------------------

#: Wide enough that multiplying any parsed Decimal by a scale is exact.
EXACT = Context(prec=MAX_PREC, Emax=MAX_EMAX, Emin=MIN_EMIN, traps=[Inexact])
#: Reader, its scale, and the least and greatest value it may give (None: unbounded).
READERS: dict[str, tuple[Callable[[Any, str, str], int], int, int | None, int | None]] = {
    "price": (f.req_price, PRICE_SCALE, 0, PRICE_SCALE), "count": (f.req_count, COUNT_SCALE, 0, None),
    "signed count": (f.req_signed_count, COUNT_SCALE, None, None),
    "money": (f.req_money, MONEY_SCALE, None, None),
}


@settings(max_examples=400, deadline=None)
@given(reader=st.sampled_from(sorted(READERS)), text=numeric_texts)
@example(reader="price", text="0.42000000000000000000000000001")  # was rounded to 4200
@example(reader="count", text="1234567890123456789012345678.9")  # was rounded to a different count
@example(reader="money", text="1e-999999999")  # underflowed to 0
@example(reader="money", text="1e999999999")  # decimal.Overflow escaped
@example(reader="count", text="1e999990")  # took 40 s to become a million-digit count
@example(reader="signed count", text="-+1")  # was read as -100
def test_a_fixed_point_string_is_read_exactly_or_refused(reader: str, text: str) -> None:
    read, scale, low, high = READERS[reader]
    try:
        value = read({"v": text}, "v", "test")
    except MalformedResponse:
        return
    assert type(value) is int and abs(value) < 10**19
    assert (low is None or low <= value) and (high is None or value <= high)
    with localcontext(EXACT):
        assert value == Decimal(text) * scale, "a value was rounded, not read"


@settings(max_examples=300, deadline=None)
@given(text=st.one_of(st.sampled_from(TIME_TEXTS), junk_texts, moments.map(datetime.isoformat)))
def test_a_time_is_aware_or_refused(text: str) -> None:
    try:
        moment = f.req_time({"t": text}, "t", "test")
    except MalformedResponse:
        return
    assert moment.utcoffset() is not None


# -- bytes: parse_json and the client's _answer ----------------------------------------------------

DEEP_BODIES = [b"[" * 100_000, b'{"a":' * 50_000]
HOSTILE_BODIES = [
    *DEEP_BODIES, b"1e99999999999999999999", b"-1E-99999999999999999999",
    b"1" * 5000, b"\xef\xbb\xbf{}", "{}".encode("utf-16"), b"NaN", b"[Infinity, -Infinity]",
    b"<html><body>502</body></html>", b'"\\ud800"', b"\x00", b"{\"a\": 1", b"",
]


def _damaged(raw: bytes, data: st.DataObject) -> bytes:
    for _ in range(data.draw(st.integers(0, 3), label="damage")):
        i = data.draw(st.integers(0, len(raw)), label="at")
        raw = raw[:i] + data.draw(st.binary(max_size=3), label="bytes") + raw[i + 1:]
    return raw


bodies = st.one_of(
    st.binary(max_size=200), st.sampled_from(HOSTILE_BODIES),
    json_values.map(lambda v: json.dumps(v, default=str).encode("utf-8", "surrogatepass")),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(body=bodies, data=st.data())
@example(body=b"1e99999999999999999999", data=None)  # decimal.InvalidOperation escaped
def test_parse_json_gives_a_value_or_malformed(body: bytes, data: st.DataObject | None) -> None:
    if data is not None:
        body = _damaged(body, data)
    try:
        f.parse_json(body, "/x")
    except MalformedResponse as e:
        assert len(str(e)) < 200, "the message quotes the body"


@pytest.fixture(scope="module")
def client() -> Iterator[KalshiClient]:
    def nothing(request: httpx.Request) -> httpx.Response:
        raise AssertionError("_answer never sends")

    credentials = Credentials("key-id", ed25519.Ed25519PrivateKey.generate())
    with KalshiClient("https://kalshi.invalid/trade-api/v2", credentials,
                      transport=httpx.MockTransport(nothing)) as c:
        yield c


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(status=st.sampled_from([200, 201, 204, 400, 401, 404, 409, 422, 429]) | st.integers(200, 499),
       body=bodies, content_type=st.sampled_from(["application/json", "application/json; charset=utf-8",
                                                  "text/html; charset=utf-8", "text/plain", ""]),
       path=st.sampled_from([CREATE_PATH, "/markets"]))
@example(status=400, body=b"[" * 100_000, content_type="application/json", path="/markets")
def test_any_answer_is_a_value_or_a_typed_error(client: KalshiClient, status: int, body: bytes,
                                               content_type: str, path: str) -> None:
    headers = {"Content-Type": content_type} if content_type else {}
    response = httpx.Response(status, content=body, headers=headers)
    if status >= 400:
        with pytest.raises(KalshiRejected) as refused:
            client._answer(response, path)
        assert refused.value.status == status
        assert len(refused.value.code) <= 80 and len(refused.value.message) <= 200
        return
    try:
        answer = client._answer(response, path)
    except MalformedResponse:
        return
    assert body or answer is None


# -- the client end to end: every endpoint answering a mutated body --------------------------------

def _new_order() -> wo.NewOrder:
    return wo.NewOrder(ticker="T", client_order_id="c-1", side=Side.NO, action=Action.BUY, price=4300,
                       count=100)


#: Reader name -> (the client call, the envelope its endpoint wraps the payload in).
ENDPOINTS: dict[str, tuple[Callable[[KalshiClient], Any], Callable[[Any], Any]]] = {
    "exchange_status": (KalshiClient.exchange_status, lambda p: p),
    "series": (lambda c: c.series("S"), lambda p: {"series": p}),
    "market": (lambda c: c.market("T"), lambda p: {"market": p}),
    "event": (lambda c: c.events("S"), lambda p: {"events": [p], "cursor": ""}),
    "event_page": (lambda c: c.event("E"), lambda p: p),
    "orderbook": (lambda c: c.orderbook("T"), lambda p: p),
    "historical_cutoff": (KalshiClient.historical_cutoff, lambda p: p),
    "order": (lambda c: c.order("o"), lambda p: {"order": p}),
    "placement": (lambda c: c.create_order(_new_order()), lambda p: p),
    "batch_results": (lambda c: c.batch_create_orders([_new_order()]), lambda p: p),
    "cancel": (lambda c: c.cancel_order("o", "T"), lambda p: p),
    "amend": (lambda c: c.amend_order("o", "T", Side.YES, Action.BUY, 4300, 100), lambda p: p),
    "decrease": (lambda c: c.decrease_order("o", "T", reduce_by=100), lambda p: p),
    "fill": (lambda c: c.fills(), lambda p: {"fills": [p], "cursor": ""}),
    "market_position": (lambda c: c.positions(),
                        lambda p: {"market_positions": [p], "event_positions": [], "cursor": ""}),
    "event_position": (lambda c: c.positions(),
                       lambda p: {"market_positions": [], "event_positions": [p], "cursor": ""}),
    "balance": (KalshiClient.balance, lambda p: p),
    "settlement": (lambda c: c.settlements(), lambda p: {"settlements": [p], "cursor": ""}),
}


@st.composite
def endpoint_answers(draw: st.DrawFn) -> tuple[str, bytes]:
    """A reader's endpoint and a body for it: its valid envelope, mutated 0-2 times."""
    case = draw(valid_cases.filter(lambda c: c.parser != "quote"))
    answer = mutate(draw, ENDPOINTS[case.parser][1](case.payload), draw(st.integers(0, 2)))
    return case.parser, as_json(answer)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(endpoint_answers())
def test_every_endpoint_answers_a_value_or_a_typed_error(case: tuple[str, bytes]) -> None:
    parser, body = case
    credentials = Credentials("key-id", _key())
    transport = httpx.MockTransport(lambda request: httpx.Response(
        201 if request.method == "POST" else 200, content=body,
        headers={"Content-Type": "application/json"}))
    with (KalshiClient("https://kalshi.invalid/trade-api/v2", credentials, transport=transport,
                       limiter=RateLimiter(1e9, 1e9, sleep=lambda s: None), sleep=lambda s: None) as c,
          contextlib.suppress(KalshiError)):
        ENDPOINTS[parser][0](c)


@cache
def _key() -> ed25519.Ed25519PrivateKey:
    return ed25519.Ed25519PrivateKey.generate()
