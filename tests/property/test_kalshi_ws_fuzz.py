"""The WebSocket client's parser on valid, mutated and arbitrary frames: a typed value or
``MalformedMessage``, nothing else; and the client, fed the same frames, never raises.

Valid frames are Kalshi's documented shapes (AsyncAPI ``fillPayload``, ``userOrderPayload``,
``orderbookSnapshotPayload``, ``orderbookDeltaPayload``, ``tickerPayload``) with drawn prices,
counts, amounts, times and directions. A valid fill must read exactly as the REST reader reads the
same fill (and make an ``OrderFilled``), a valid order as the REST ``Order`` reader reads it.
Mutations are what a broken or hostile venue sends: a field dropped, a field of another JSON type,
huge integers, ``"NaN"``, ``"Infinity"``, ``"1e999999"``, other scripts' digits, lists and objects
where a scalar belongs, a level's price or count replaced, the type renamed. ``KeyError``,
``TypeError``, ``decimal.Overflow``, ``OverflowError``, ``RecursionError``... must never escape.
"""

from __future__ import annotations

import copy
import json
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from adapters.kalshi.recording import fill_event
from adapters.kalshi.websocket import (
    BookDelta,
    BookSnapshot,
    KalshiWebSocket,
    MalformedMessage,
    Message,
    SocketFill,
    Subscribed,
    parse_message,
)
from adapters.kalshi.wire import orders as wo
from adapters.kalshi.wire import portfolio as wp
from adapters.kalshi.wire.orders import VenueOrder
from adapters.kalshi.wire.sides import from_book
from domain.events.base import Action, Side
from domain.money import MAX_COUNT, MONEY_SCALE, PRICE_SCALE, count_to_fp, price_to_dollars

FAST = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
TICKER = "KXHIGHNY-26JAN20-B45.5"
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
TYPES = ["subscribed", "unsubscribed", "ok", "error", "orderbook_snapshot", "orderbook_delta",
         "ticker", "ticker_v2", "fill", "user_order", "market_position", ""]
#: Text that trips naive fixed-point, enum and id readers.
NASTY_TEXT = ["", "NaN", "nan", "Infinity", "-Infinity", "sNaN", "1e400", "1e999999", "1E+5", "-0",
              "-1.00", "0.43001", "1.0001", "10000000000000.00", "99999999999999.99", "\u0663",
              "0x10", "1_0", " 1.00", "1.00 ", "\x00", "yes", "no", "bid", "ask", "buy", "sell",
              "resting", "unknown", "x" * 300]
nasty = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**80), 2**80), st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(NASTY_TEXT), st.text(max_size=12), st.lists(st.integers(-3, 3), max_size=3),
    st.dictionaries(st.sampled_from(["sid", "seq", "msg", "x"]), st.integers(-3, 3), max_size=2))
json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=8)),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4),
    max_leaves=20)
ids = st.uuids().map(str)
ms = st.integers(0, 4_102_444_800_000)  # to 2100


def dollars(micros: int) -> str:
    return f"{Decimal(micros) / MONEY_SCALE:.6f}"


def signed_fp(count: int) -> str:
    return ("-" if count < 0 else "") + count_to_fp(abs(count))


def iso_ms(value: int) -> str:
    return (EPOCH + timedelta(milliseconds=value)).isoformat(timespec="milliseconds")


def legacy_pair(book_side: str, reading: str) -> dict[str, str]:
    """The deprecated ``side``/``action`` a venue may send with a book side: none, the YES-book
    reading, or the NO reading (an ask is a NO buy, a bid a NO sell)."""
    if reading == "none":
        return {}
    if reading == "yes":
        return {"side": "yes", "action": "buy" if book_side == "bid" else "sell"}
    return {"side": "no", "action": "sell" if book_side == "bid" else "buy"}


@st.composite
def fill_messages(draw: st.DrawFn) -> dict[str, Any]:
    book_side = draw(st.sampled_from(["bid", "ask"]))
    ts_ms = draw(ms)
    msg = {
        "trade_id": draw(ids), "order_id": draw(ids), "market_ticker": TICKER, "exchange_index": 0,
        "is_taker": draw(st.booleans()), "outcome_side": "yes" if book_side == "bid" else "no",
        "book_side": book_side, "yes_price_dollars": price_to_dollars(draw(st.integers(0, PRICE_SCALE))),
        "count_fp": count_to_fp(draw(st.integers(0, MAX_COUNT))),
        "fee_cost": dollars(draw(st.integers(0, 10**12))), "ts": ts_ms // 1000, "ts_ms": ts_ms,
        "post_position_fp": signed_fp(draw(st.integers(-MAX_COUNT, MAX_COUNT))),
        **legacy_pair(book_side, draw(st.sampled_from(["none", "yes", "no"]))),
    }
    if draw(st.booleans()):
        msg["client_order_id"] = draw(ids)
    return {"type": "fill", "sid": draw(st.integers(1, 50)), "msg": msg}


@st.composite
def user_order_messages(draw: st.DrawFn) -> dict[str, Any]:
    book_side = draw(st.sampled_from(["bid", "ask"]))
    outcome = "yes" if book_side == "bid" else "no"
    created, updated = draw(ms), draw(ms)
    pair = legacy_pair(book_side, draw(st.sampled_from(["none", "yes", "no"])))
    msg = {
        "order_id": draw(ids), "user_id": draw(ids), "ticker": TICKER, "exchange_index": 0,
        "status": draw(st.sampled_from(["resting", "canceled", "executed"])),
        "is_yes": outcome == "yes", "outcome_side": outcome, "book_side": book_side,
        "yes_price_dollars": price_to_dollars(draw(st.integers(0, PRICE_SCALE))),
        **{key: count_to_fp(draw(st.integers(0, MAX_COUNT)))
           for key in ("fill_count_fp", "remaining_count_fp", "initial_count_fp")},
        **{key: dollars(draw(st.integers(0, 10**12)))
           for key in ("taker_fill_cost_dollars", "maker_fill_cost_dollars", "taker_fees_dollars",
                       "maker_fees_dollars")},
        "client_order_id": draw(st.sampled_from(["", "c-1"]) | ids), "created_time": iso_ms(created),
        "created_ts_ms": created, "last_update_time": iso_ms(updated), "last_updated_ts_ms": updated,
    }
    if "side" in pair:  # the message carries the legacy side only, never an action
        msg["side"] = pair["side"]
    return {"type": "user_order", "sid": draw(st.integers(1, 50)), "msg": msg}


levels = st.lists(st.tuples(st.integers(0, PRICE_SCALE), st.integers(0, 10**6)), max_size=4).map(
    lambda rows: [[price_to_dollars(p), count_to_fp(c)] for p, c in rows])
snapshots = st.builds(lambda yes, no, seq: {"type": "orderbook_snapshot", "sid": 1, "seq": seq, "msg": {
    "market_ticker": TICKER, "market_id": "m", "yes_dollars_fp": yes, "no_dollars_fp": no}},
    levels, levels, st.integers(1, 4))
deltas = st.builds(lambda price, delta, side, seq: {"type": "orderbook_delta", "sid": 1, "seq": seq, "msg": {
    "market_ticker": TICKER, "market_id": "m", "price_dollars": price_to_dollars(price),
    "delta_fp": signed_fp(delta), "side": side, "ts_ms": 0}},
    st.integers(0, PRICE_SCALE), st.integers(-10**6, 10**6), st.sampled_from(["yes", "no"]),
    st.integers(1, 6))
tickers = st.builds(lambda price: {"type": "ticker", "sid": 2, "msg": {
    "market_ticker": TICKER, "price_dollars": price, "yes_bid_dollars": price, "ts_ms": 0}},
    st.sampled_from(["0.4300", "1.0000"]))
subscribed = st.builds(lambda ident, channel, sid: {"id": ident, "type": "subscribed",
                                                    "msg": {"channel": channel, "sid": sid}},
                       st.integers(1, 3), st.sampled_from(["orderbook_delta", "fill", "ticker"]),
                       st.integers(1, 3))
valid_messages = st.one_of(fill_messages(), user_order_messages(), snapshots, deltas, tickers, subscribed)

mutation = st.one_of(
    st.tuples(st.just("drop"), st.sampled_from(["envelope", "msg"]), st.integers(0, 40)),
    st.tuples(st.just("replace"), st.sampled_from(["envelope", "msg"]), st.integers(0, 40), nasty),
    st.tuples(st.just("wrap"), st.sampled_from(["envelope", "msg"]), st.integers(0, 40)),
    st.tuples(st.just("level"), st.sampled_from(["yes_dollars_fp", "no_dollars_fp"]),
              st.integers(0, 8), nasty),
    st.tuples(st.just("retype"), st.sampled_from(TYPES)),
    # A fixed-point field (a price, count or amount) given text that trips a decimal reader.
    st.tuples(st.just("fixed"), st.integers(0, 20), st.sampled_from(NASTY_TEXT)),
)
FIXED_POINT = ("_dollars", "_fp", "fee_cost")


def mutate(message: dict[str, Any], op: tuple[Any, ...]) -> None:
    kind = op[0]
    if kind == "retype":
        message["type"] = op[1]
        return
    body = message.get("msg")
    if kind == "fixed":
        amounts = sorted(k for k in body if k.endswith(FIXED_POINT)) if isinstance(body, dict) else []
        if amounts:
            body[amounts[op[1] % len(amounts)]] = op[2]
        return
    if kind == "level":
        rows = body.get(op[1]) if isinstance(body, dict) else None
        if isinstance(rows, list) and rows and isinstance(rows[op[2] % len(rows)], list):
            row = rows[op[2] % len(rows)]
            if row:
                row[op[2] % len(row)] = op[3]
        return
    target = body if op[1] == "msg" and isinstance(body, dict) else message
    if not target:
        return
    key = sorted(target)[op[2] % len(target)]
    if kind == "drop":
        del target[key]
    elif kind == "replace":
        target[key] = op[3]
    else:
        target[key] = [target[key]]


def outcome(raw: str | bytes) -> Message | None:
    """The parsed value, or None for a typed refusal; any other exception fails the property."""
    try:
        return parse_message(raw)
    except MalformedMessage:
        return None


# --- valid frames read exactly ------------------------------------------------------------------

@FAST
@given(message=fill_messages())
def test_a_valid_fill_reads_as_the_rest_reader_reads_the_same_fill(message: dict[str, Any]) -> None:
    msg = message["msg"]
    heard = parse_message(json.dumps(message))
    assert isinstance(heard, SocketFill)
    rest_body = {
        "fill_id": msg["trade_id"], "trade_id": msg["trade_id"], "order_id": msg["order_id"],
        "ticker": TICKER, "market_ticker": TICKER, "exchange_index": 0,
        "outcome_side": msg["outcome_side"], "book_side": msg["book_side"], "count_fp": msg["count_fp"],
        "yes_price_dollars": msg["yes_price_dollars"],
        "no_price_dollars": price_to_dollars(PRICE_SCALE - heard.fill.yes_price),
        "is_taker": msg["is_taker"], "fee_cost": msg["fee_cost"], "created_time": iso_ms(msg["ts_ms"]),
        **{key: msg[key] for key in ("side", "action") if key in msg},
    }
    assert heard.fill == wp.fill(rest_body)
    assert heard.client_order_id == msg.get("client_order_id")
    assert heard.post_position is not None and signed_fp(heard.post_position) == msg["post_position_fp"]
    event = fill_event(heard.fill, client_order_id=heard.client_order_id, city=None,
                       recorded_at=EPOCH, correlation_id=uuid.UUID(int=1))
    assert event.stream == f"fill:{msg['trade_id']}"


@FAST
@given(message=user_order_messages())
def test_a_valid_order_update_reads_as_the_rest_order_reader_reads_it(message: dict[str, Any]) -> None:
    msg = message["msg"]
    heard = parse_message(json.dumps(message))
    assert isinstance(heard, VenueOrder)
    rest_body = {**{k: v for k, v in msg.items() if not k.endswith("_ts_ms") and k != "is_yes"},
                 "no_price_dollars": price_to_dollars(PRICE_SCALE - heard.yes_price)}
    if "side" in msg:  # what REST sends beside it: the action the side and book side name
        rest_body["action"] = legacy_pair(msg["book_side"], msg["side"])["action"]
    assert heard == wo.order(rest_body)
    side = Side(msg["side"]) if "side" in msg else None
    action = Action(rest_body["action"]) if "side" in msg else None
    assert (heard.side, heard.action, heard.price) == from_book(
        msg["book_side"], heard.yes_price, side=side, action=action)


# --- anything else: a value or MalformedMessage ---------------------------------------------------

@FAST
@given(message=valid_messages, ops=st.lists(mutation, min_size=1, max_size=4))
def test_mutated_frames_parse_or_raise_malformed_message(message: dict[str, Any],
                                                         ops: list[tuple[Any, ...]]) -> None:
    message = copy.deepcopy(message)
    for op in ops:
        mutate(message, op)
    parsed = outcome(json.dumps(message))
    if isinstance(parsed, SocketFill):
        # Whatever survived reading fits the ledger's event.
        fill_event(parsed.fill, client_order_id=parsed.client_order_id, city=None, recorded_at=EPOCH,
                   correlation_id=uuid.UUID(int=1))


@FAST
@given(kind=st.sampled_from(TYPES), sid=nasty, seq=nasty, body=json_values, ident=nasty)
def test_arbitrary_json_in_an_envelope_parses_or_raises_malformed_message(
        kind: str, sid: Any, seq: Any, body: Any, ident: Any) -> None:
    outcome(json.dumps({"type": kind, "sid": sid, "seq": seq, "msg": body, "id": ident}))


@FAST
@given(raw=st.one_of(st.text(max_size=200), st.binary(max_size=200), json_values.map(json.dumps)))
@example(raw="[" * 100_000)  # RecursionError from json.loads
@example(raw='{"type": "subscribed", "id": 1, "msg": {"channel": "orderbook_delta", "sid": Infinity}}')
@example(raw='{"type": "subscribed", "id": 1, "msg": {"channel": "fill", "sid": ' + "9" * 5000 + "}}")
@example(raw='{"type": "orderbook_delta", "sid": 1, "seq": 2, "msg": {"market_ticker": "T", '
             '"side": "yes", "price_dollars": "1e999999", "delta_fp": "1.00"}}')  # decimal.Overflow
@example(raw='{"type": "orderbook_snapshot", "sid": 1, "seq": 1, "msg": {"market_ticker": "T", '
             '"yes_dollars_fp": [["0.5000", "1e999990"]]}}')  # 25 s of Decimal scaling, unguarded
@example(raw='{"type": "fill", "msg": {"count_fp": "1e999999"}}')
@example(raw=b"\xff\xfe\x00{")
def test_arbitrary_text_parses_or_raises_malformed_message(raw: str | bytes) -> None:
    outcome(raw)


# --- the client fed the same frames ---------------------------------------------------------------

class RecordingConnection:
    """Stands in for the socket: records the commands the client sends back."""

    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []

    def send(self, text: str) -> None:
        self.sent.append(json.loads(text))


def a_client_with_a_book() -> tuple[KalshiWebSocket, RecordingConnection, list[Any]]:
    delivered: list[Any] = []
    client = KalshiWebSocket("ws://127.0.0.1:1/trade-api/ws/v2", credentials=None,  # type: ignore[arg-type]
                             tickers=[TICKER], listener=lambda kind, body: delivered.append(body),
                             on_fill=delivered.append, on_order=delivered.append)
    conn = RecordingConnection()
    client._pending[1] = TICKER
    client._next_id = 2
    client._handle(conn, json.dumps({"id": 1, "type": "subscribed",  # type: ignore[arg-type]
                                     "msg": {"channel": "orderbook_delta", "sid": 1}}))
    client._handle(conn, json.dumps({"type": "orderbook_snapshot", "sid": 1,  # type: ignore[arg-type]
                                     "seq": 1, "msg": {"market_ticker": TICKER}}))
    assert client._book_sid == {1: TICKER} and TICKER in client._books
    return client, conn, delivered


@FAST
@given(frames=st.lists(st.tuples(valid_messages, st.lists(mutation, max_size=3)), min_size=1, max_size=8))
def test_the_client_counts_what_it_cannot_read_and_never_raises(
        frames: list[tuple[dict[str, Any], list[tuple[Any, ...]]]]) -> None:
    client, conn, delivered = a_client_with_a_book()
    for message, ops in frames:
        message = copy.deepcopy(message)
        for op in ops:
            mutate(message, op)
        raw = json.dumps(message)
        before = (client.malformed, len(delivered))
        client._handle(conn, raw)  # type: ignore[arg-type]
        parsed = outcome(raw)
        if parsed is None:
            assert client.malformed == before[0] + 1
        elif isinstance(parsed, SocketFill | VenueOrder):
            assert delivered[-1] == parsed and len(delivered) == before[1] + 1
        elif not isinstance(parsed, BookSnapshot | BookDelta | Subscribed):
            assert client.malformed == before[0]
    # Every command the client sent back is one a venue understands.
    assert all(c["cmd"] in ("subscribe", "unsubscribe") and type(c["id"]) is int for c in conn.sent)
    assert client.listener_errors == 0


def test_an_unreadable_delta_for_our_book_drops_it_and_subscribes_again() -> None:
    client, conn, _ = a_client_with_a_book()
    client._handle(conn, json.dumps({"type": "orderbook_delta", "sid": 1, "seq": 2,  # type: ignore[arg-type]
                                     "msg": {"market_ticker": TICKER, "side": "yes",
                                             "price_dollars": "NaN", "delta_fp": "1.00"}}))
    assert client.malformed == 1 and client.gaps == 0
    assert TICKER not in client._books and client._book_sid == {}
    assert conn.sent == [{"id": 2, "cmd": "unsubscribe", "params": {"sids": [1]}},
                         {"id": 3, "cmd": "subscribe", "params": {"channels": ["orderbook_delta"],
                                                                 "market_tickers": [TICKER]}}]
