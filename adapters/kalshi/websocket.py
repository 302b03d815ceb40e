"""Kalshi's Trade API WebSocket: local order books, ticker updates, and the account's fills and orders.

Where the shapes come from: the Kalshi OpenAPI spec (``shared/specs/kalshi-openapi.yaml``) does
not describe the WebSocket API; Kalshi's AsyncAPI document (docs.kalshi.com/asyncapi.yaml, "Kalshi
Market Data WebSocket API" 2.0.0) and its "API Environments and Endpoints" page do:

* the URL ``wss://<host>/trade-api/ws/v2`` (see :func:`websocket_url`), the handshake signed like a
  REST ``GET /trade-api/ws/v2``, the ``subscribe``/``unsubscribe`` commands, and envelopes
  ``{"type", "sid", "seq"?, "msg"}``;
* ``orderbook_snapshot`` (``yes_dollars_fp``/``no_dollars_fp``, absent when a side is empty) then
  ``orderbook_delta`` (``price_dollars``, ``delta_fp``, ``side``), ``seq`` counting up by one per
  subscription. The legacy integer-cent fields (``yes``/``no``, ``price``/``delta``) are still read;
* ``ticker``: passed on as the venue sent it;
* ``fill`` (no ``seq``): ``trade_id`` (the fill's id, which REST calls ``fill_id``: the spec's
  ``Fill.trade_id`` is "same as fill_id"), ``order_id``, ``client_order_id``?, ``market_ticker``,
  ``is_taker``, ``side``/``action`` (legacy), ``outcome_side``, ``book_side``,
  ``yes_price_dollars``, ``count_fp``, ``fee_cost``, ``post_position_fp``, ``ts``/``ts_ms``;
* ``user_order`` (channel ``user_orders``, no ``seq``): the REST ``Order``'s fields without
  ``action`` and ``no_price_dollars``, with ``created_ts_ms``/``last_updated_ts_ms`` beside the
  deprecated RFC 3339 times, and a status that may also be ``unknown``.

A fill is read with the REST reader's rules (``wire.portfolio.fill``: the same direction reading,
the same units), so the :class:`VenueFill` heard here equals the one ``GET /portfolio/fills`` gives
and records as the same ``OrderFilled`` (``recording.fill_event``): heard twice, recorded once.

One thread owns the socket. :func:`parse_message` turns each frame into a typed value or raises
:class:`MalformedMessage`, nothing else; a malformed frame is logged and counted, never raised, and
one that belonged to a book drops that book and subscribes it again. Each ``orderbook_delta``
subscription carries one market, so a gap in its ``seq`` drops only that market's book.
``book(ticker)`` answers ``None`` while the socket is down or the book is being rebuilt: the caller
falls back to REST polling. A lost connection is retried with exponential backoff through an
injected ``sleep``, each attempt freshly signed. Protocol pings are answered by ``websockets``.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, cast
from urllib.parse import urlsplit, urlunsplit

from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus
from websockets.sync.client import ClientConnection, connect

from adapters.kalshi.errors import KalshiError, KalshiUnavailable, MalformedResponse, Unauthorized
from adapters.kalshi.signing import Credentials
from adapters.kalshi.wire import json_fields as f
from adapters.kalshi.wire.orders import ORDER_STATUSES, OrderStatus, VenueOrder, directed, legacy_direction
from adapters.kalshi.wire.portfolio import VenueFill
from adapters.kalshi.wire.sides import BOOK_SIDES, BookSide, from_book
from domain.events.base import Action, Side
from domain.money import (
    COUNT_SCALE,
    MAX_COUNT,
    MAX_MONEY,
    PRICE_SCALE,
    count_from_fp,
    money_from_dollars,
    price_from_dollars,
)

log = logging.getLogger(__name__)

#: Kalshi's recommended sockets ("API Environments and Endpoints"); :func:`websocket_url` derives them.
PRODUCTION_WS_URL = "wss://external-api-ws.kalshi.com/trade-api/ws/v2"
DEMO_WS_URL = "wss://external-api-ws.demo.kalshi.co/trade-api/ws/v2"
#: The dedicated REST hosts serve their socket from a host of its own; the shared hosts
#: (``api.elections.kalshi.com``, ``demo-api.kalshi.co``) and any other (a simulator) serve both.
_WS_HOSTS = {"external-api.kalshi.com": "external-api-ws.kalshi.com",
             "external-api.demo.kalshi.co": "external-api-ws.demo.kalshi.co"}

#: Receives ``("ticker", msg)`` for each ``ticker`` message, the body as the venue sent it.
Listener = Callable[[str, dict[str, Any]], None]


def websocket_url(base_url: str, override: str | None = None) -> str:
    """The Trade API socket that goes with the REST ``base_url`` (``MILKBOT_KALSHI_BASE_URL``),
    unless ``override`` (``MILKBOT_KALSHI_WS_URL``) names one: ``https`` becomes ``wss`` (``http``
    ``ws``) and ``/trade-api/v2`` becomes ``/trade-api/ws/v2``. ``ValueError`` names the setting."""
    if override:
        given = urlsplit(override.strip())
        if given.scheme not in ("ws", "wss") or not given.hostname:
            raise ValueError("MILKBOT_KALSHI_WS_URL must be a ws:// or wss:// URL")
        return override.strip()
    parts = urlsplit(base_url.strip())
    scheme = {"https": "wss", "http": "ws"}.get(parts.scheme)
    path = parts.path.rstrip("/")
    if scheme is None or not parts.hostname or not path.endswith("/trade-api/v2"):
        raise ValueError("MILKBOT_KALSHI_BASE_URL must be an http(s) URL ending in /trade-api/v2 "
                         "(or set MILKBOT_KALSHI_WS_URL)")
    netloc = parts.netloc
    if parts.hostname in _WS_HOSTS and parts.port is None and "@" not in netloc:
        netloc = _WS_HOSTS[parts.hostname]
    return urlunsplit((scheme, netloc, path.removesuffix("/trade-api/v2") + "/trade-api/ws/v2", "", ""))


# --- typed messages ---------------------------------------------------------------------------

class MalformedMessage(ValueError):
    """A frame that cannot be read. ``sid`` is its subscription when that much was readable."""

    def __init__(self, reason: str, *, sid: int | None = None) -> None:
        super().__init__(reason)
        self.sid = sid


@dataclass(frozen=True)
class SocketFill:
    """A ``fill`` message: the fill as REST reads it, plus what only the socket says."""

    fill: VenueFill
    client_order_id: str | None
    #: Signed contracts in 1/100 held in the market after this fill (YES positive), when sent.
    post_position: int | None


@dataclass(frozen=True)
class Subscribed:
    command_id: int | None
    channel: str
    sid: int


@dataclass(frozen=True)
class BookSnapshot:
    sid: int
    seq: int
    ticker: str
    #: price (1/10,000 dollar) -> count (1/100 contract), per side's bids
    yes: dict[int, int]
    no: dict[int, int]


@dataclass(frozen=True)
class BookDelta:
    sid: int
    seq: int
    ticker: str
    side: Literal["yes", "no"]
    price: int
    delta: int


@dataclass(frozen=True)
class TickerUpdate:
    ticker: str | None
    body: dict[str, Any]


@dataclass(frozen=True)
class Notice:
    """A command's answer (``ok``, ``unsubscribed``, ``error``) or a type we do not read."""

    kind: str
    body: Any


Message = Subscribed | BookSnapshot | BookDelta | TickerUpdate | SocketFill | VenueOrder | Notice

#: Kalshi's fixed-point strings ("0.4300", "10.00", "-3.50"); anything else, an exponent, other
#: scripts' digits or a thousand digits that would take ``Decimal`` seconds to scale, is refused.
_FIXED = re.compile(r"-?[0-9]{1,13}(?:\.[0-9]{1,6})?")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MAX_MS = 253_402_300_799_999  # 9999-12-31T23:59:59.999Z
_MAX_ID = 128  # Kalshi's ids are UUIDs; ``fill:{id}`` must fit an event's 200-character stream


def _fixed(value: Any, convert: Callable[[str], int], what: str, limit: int, *,
           signed: bool = False) -> int:
    if not isinstance(value, str) or not _FIXED.fullmatch(value):
        raise MalformedMessage(f"{what} is not a fixed-point string")
    negative = signed and value.startswith("-")
    try:
        number = convert(value[1:] if negative else value)
    except ValueError as e:  # BadFixedPoint: finer than its unit, negative, or out of range
        raise MalformedMessage(f"{what}: {e}") from None
    if abs(number) > limit:
        raise MalformedMessage(f"{what} is beyond any real amount")
    return -number if negative else number


def _price(value: Any, what: str) -> int:
    return _fixed(value, price_from_dollars, what, PRICE_SCALE)


def _count(value: Any, what: str) -> int:
    return _fixed(value, count_from_fp, what, MAX_COUNT)


def _signed_count(value: Any, what: str) -> int:
    return _fixed(value, count_from_fp, what, MAX_COUNT, signed=True)


def _money(value: Any, what: str) -> int:
    return _fixed(value, money_from_dollars, what, MAX_MONEY)


def _int(value: Any, what: str) -> int:
    if type(value) is not int:
        raise MalformedMessage(f"{what} is not an integer")
    return value


def _id(o: dict[str, Any], key: str, where: str) -> str:
    value = o.get(key)
    if not isinstance(value, str) or not 0 < len(value) <= _MAX_ID:
        raise MalformedMessage(f"{where}.{key} is not an id")
    return value


def _opt_id(o: dict[str, Any], key: str, where: str) -> str | None:
    return _id(o, key, where) if o.get(key) not in (None, "") else None


def _ms_time(value: Any, what: str) -> datetime:
    if type(value) is not int or not 0 <= value <= _MAX_MS:
        raise MalformedMessage(f"{what} is not a time in milliseconds")
    return _EPOCH + timedelta(milliseconds=value)


def _levels(body: dict[str, Any], side: str) -> dict[int, int]:
    fixed, cents = body.get(f"{side}_dollars_fp"), body.get(side)
    rows = fixed if fixed is not None else (cents if cents is not None else [])
    if not isinstance(rows, list) or not all(isinstance(r, list) and len(r) == 2 for r in rows):
        raise MalformedMessage(f"the {side} levels are not [price, count] pairs")
    if fixed is not None:
        return {_price(p, "a level's price"): _count(c, "a level's count") for p, c in rows}
    return {_cents(p): _int(c, "a level's count") * COUNT_SCALE for p, c in rows}


def _cents(value: Any) -> int:
    if type(value) is not int or not 0 <= value <= 100:
        raise MalformedMessage("a cent price is not an integer 0..100")
    return value * (PRICE_SCALE // 100)


def _book_message(kind: str, message: dict[str, Any], body: Any) -> BookSnapshot | BookDelta:
    sid, seq = message.get("sid"), message.get("seq")
    if type(sid) is not int:
        raise MalformedMessage(f"{kind} without an integer sid")
    if type(seq) is not int or not isinstance(body, dict) or not isinstance(
            body.get("market_ticker"), str):
        raise MalformedMessage(f"{kind} without an integer seq, a msg or its market", sid=sid)
    ticker = body["market_ticker"]
    try:
        if kind == "orderbook_snapshot":
            return BookSnapshot(sid, seq, ticker, _levels(body, "yes"), _levels(body, "no"))
        side = body.get("side")
        if side not in ("yes", "no"):
            raise MalformedMessage("orderbook_delta side is neither yes nor no")
        if "price_dollars" in body:
            price, delta = _price(body["price_dollars"], "price_dollars"), _signed_count(
                body.get("delta_fp"), "delta_fp")
        else:
            price, delta = _cents(body.get("price")), _int(body.get("delta"), "delta") * COUNT_SCALE
        return BookDelta(sid, seq, ticker, side, price, delta)
    except MalformedMessage as e:
        raise MalformedMessage(str(e), sid=sid) from None


def parse_fill(body: Any) -> SocketFill:
    """A ``fill`` message's ``msg``. Read by ``wire.portfolio.fill``'s rules where the two overlap
    (direction by ``book_side`` and the legacy ``side``/``action``, exact units)."""
    if not isinstance(body, dict):
        raise MalformedMessage("fill without a msg object")
    w = "fill"
    try:
        book_side = cast(BookSide, f.enum(body, "book_side", w, BOOK_SIDES))
        outcome = f.enum(body, "outcome_side", w, ("yes", "no"))
        if (outcome == "yes") != (book_side == "bid"):
            raise MalformedMessage(f"fill outcome_side {outcome} contradicts book_side {book_side}")
        yes_price = _price(body.get("yes_price_dollars"), "fill yes_price_dollars")
        side, action, price = directed(book_side, yes_price, body, w)
        ts_ms, ts = body.get("ts_ms"), body.get("ts")
        created: datetime | None = None
        if ts_ms is not None:
            created = _ms_time(ts_ms, "fill ts_ms")
        elif ts is not None:  # the deprecated seconds, when the milliseconds are missing
            created = _ms_time(_int(ts, "fill ts") * 1000, "fill ts")
        fill = VenueFill(
            fill_id=_id(body, "trade_id", w), order_id=_id(body, "order_id", w),
            ticker=_id(body, "market_ticker", w), book_side=book_side, side=side,
            action=action, price=price, yes_price=yes_price,
            count=_count(body.get("count_fp"), "fill count_fp"),
            fee=_money(body.get("fee_cost"), "fill fee_cost"),
            is_taker=f.req_bool(body, "is_taker", w), created_time=created)
        post = body.get("post_position_fp")
        return SocketFill(fill, _opt_id(body, "client_order_id", w),
                          None if post is None else _signed_count(post, "fill post_position_fp"))
    except MalformedResponse as e:
        raise MalformedMessage(str(e)) from None


def parse_user_order(body: Any) -> VenueOrder:
    """A ``user_order`` message's ``msg`` as the REST ``Order`` reads (``wire.orders.order``).

    The message has the legacy ``side`` but no ``action``; with ``book_side`` the side names the
    action (see ``wire.sides``), which is what REST reads from its legacy pair. A status of
    ``unknown`` cannot be recorded: it is refused, and REST tells the order's state."""
    if not isinstance(body, dict):
        raise MalformedMessage("user_order without a msg object")
    w = "user_order"
    try:
        book_side = cast(BookSide, f.enum(body, "book_side", w, BOOK_SIDES))
        yes_price = _price(body.get("yes_price_dollars"), "user_order yes_price_dollars")
        side, action = legacy_direction(body, w)
        if side is not None and action is None:
            action = Action.BUY if (side is Side.YES) == (book_side == "bid") else Action.SELL
        try:
            side, action, price = from_book(book_side, yes_price, side=side, action=action)
        except ValueError as e:
            raise MalformedMessage(f"user_order: {e}") from None
        created, updated = body.get("created_ts_ms"), body.get("last_updated_ts_ms")
        return VenueOrder(
            order_id=_id(body, "order_id", w),
            client_order_id=f.req_str(body, "client_order_id", w),
            ticker=_id(body, "ticker", w),
            status=cast(OrderStatus, f.enum(body, "status", w, ORDER_STATUSES)),
            book_side=book_side, yes_price=yes_price, side=side, action=action, price=price,
            fill_count=_count(body.get("fill_count_fp"), "user_order fill_count_fp"),
            remaining_count=_count(body.get("remaining_count_fp"), "user_order remaining_count_fp"),
            initial_count=_count(body.get("initial_count_fp"), "user_order initial_count_fp"),
            taker_fees=_money(body.get("taker_fees_dollars"), "user_order taker_fees_dollars"),
            maker_fees=_money(body.get("maker_fees_dollars"), "user_order maker_fees_dollars"),
            taker_fill_cost=_money(body.get("taker_fill_cost_dollars"), "user_order taker_fill_cost"),
            maker_fill_cost=_money(body.get("maker_fill_cost_dollars"), "user_order maker_fill_cost"),
            created_time=(_ms_time(created, "user_order created_ts_ms") if created is not None
                          else f.opt_time(body, "created_time", w)),
            last_update_time=(_ms_time(updated, "user_order last_updated_ts_ms") if updated is not None
                              else f.opt_time(body, "last_update_time", w)))
    except MalformedResponse as e:
        raise MalformedMessage(str(e)) from None


def parse_message(raw: str | bytes) -> Message:
    """One frame as a typed value. Raises :class:`MalformedMessage` and nothing else."""
    try:
        message = json.loads(raw)
    except (ValueError, RecursionError) as e:  # UnicodeDecodeError is a ValueError
        raise MalformedMessage(f"not JSON ({type(e).__name__})") from None
    if not isinstance(message, dict) or not isinstance(message.get("type"), str):
        raise MalformedMessage("not an object with a type")
    kind: str = message["type"]
    body = message.get("msg")
    if kind == "subscribed":
        if not isinstance(body, dict) or not isinstance(body.get("channel"), str):
            raise MalformedMessage("subscribed without a channel")
        ident = message.get("id")
        return Subscribed(ident if type(ident) is int else None, body["channel"],
                          _int(body.get("sid"), "subscribed sid"))
    if kind in ("orderbook_snapshot", "orderbook_delta"):
        return _book_message(kind, message, body)
    if kind in ("ticker", "ticker_v2"):
        if not isinstance(body, dict):
            raise MalformedMessage(f"{kind} without a msg object")
        ticker = body.get("market_ticker")
        return TickerUpdate(ticker if isinstance(ticker, str) else None, body)
    if kind == "fill":
        return parse_fill(body)
    if kind == "user_order":
        return parse_user_order(body)
    return Notice(kind, body)


# --- the client ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class OrderBook:
    """One market's bids as the socket last showed them, best (highest) first, like
    ``MarketQuote``: prices in 1/10,000 dollar, counts in 1/100 contract."""

    ticker: str
    yes_bids: tuple[tuple[int, int], ...]
    no_bids: tuple[tuple[int, int], ...]


@dataclass(frozen=True)
class Backoff:
    initial_s: float = 0.5
    maximum_s: float = 30.0

    def delay(self, attempt: int) -> float:
        return float(min(self.maximum_s, self.initial_s * 2 ** max(0, attempt - 1)))


class _Book:
    def __init__(self, yes: dict[int, int], no: dict[int, int]) -> None:
        self.sides: dict[str, dict[int, int]] = {"yes": yes, "no": no}

    def frozen(self, ticker: str) -> OrderBook:
        def side(name: str) -> tuple[tuple[int, int], ...]:
            return tuple(sorted(((p, c) for p, c in self.sides[name].items() if c > 0), reverse=True))
        return OrderBook(ticker, side("yes"), side("no"))


class KalshiWebSocket:
    """The socket for a fixed set of markets' books and tickers, and all the account's fills and
    orders, run on its own thread.

    ``start()`` connects and keeps reconnecting until ``stop()``. On the socket's thread,
    ``listener`` gets each ``ticker`` body, ``on_fill`` each fill and ``on_order`` each order
    update, typed; none may block, and an exception one raises is logged and counted, never fatal.
    A fill or order missed while the socket was down is for the REST reconciliation to find."""

    def __init__(self, url: str, credentials: Credentials, tickers: Iterable[str], *,
                 channels: Sequence[str] = ("orderbook_delta", "ticker", "fill", "user_orders"),
                 listener: Listener | None = None,
                 on_fill: Callable[[SocketFill], None] | None = None,
                 on_order: Callable[[VenueOrder], None] | None = None,
                 sleep: Callable[[float], None] | None = None,
                 now_ms: Callable[[], int] = lambda: int(time.time() * 1000),
                 backoff: Backoff = Backoff(),
                 ping_interval_s: float = 10.0) -> None:
        self.url = url
        self._credentials = credentials
        self.tickers = tuple(tickers)
        self.channels = tuple(channels)
        self._listener = listener
        self._on_fill = on_fill
        self._on_order = on_order
        self._stop = threading.Event()
        self._sleep = sleep if sleep is not None else self._stop.wait
        self._now_ms = now_ms
        self._backoff = backoff
        self._ping_interval_s = ping_interval_s
        self._lock = threading.Lock()
        self._books: dict[str, _Book] = {}
        self._book_sid: dict[int, str] = {}  # orderbook_delta sid -> its one market
        self._seq: dict[int, int] = {}
        self._pending: dict[int, str] = {}  # command id -> market awaiting its subscription
        self._next_id = 1
        self._conn: ClientConnection | None = None
        self._thread: threading.Thread | None = None
        self._connected = threading.Event()
        self._live: set[str] = set()  # channels the venue acknowledged on this connection
        #: Counters a health check or a test may read.
        self.malformed = 0
        self.listener_errors = 0
        self.gaps = 0
        self.connects = 0
        self.last_error: KalshiError | None = None
        self.tickers_seen: dict[str, dict[str, Any]] = {}

    # --- what callers read ------------------------------------------------------------------

    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    @property
    def subscribed(self) -> frozenset[str]:
        """The channels the venue has acknowledged on the current connection."""
        return frozenset(self._live)

    def book(self, ticker: str) -> OrderBook | None:
        """The market's live book, or ``None`` when the socket is down or the book is stale."""
        with self._lock:
            if not self.connected:
                return None
            book = self._books.get(ticker)
            return book.frozen(ticker) if book is not None else None

    # --- lifecycle ----------------------------------------------------------------------------

    def start(self) -> None:
        if self._thread is not None:
            raise RuntimeError("the socket is already started")
        self._thread = threading.Thread(target=self._run, name="kalshi-ws", daemon=True)
        self._thread.start()

    def stop(self, timeout_s: float = 10.0) -> None:
        """Close the socket and wait for its thread to end."""
        self._stop.set()
        conn = self._conn
        if conn is not None:
            conn.close()
        if self._thread is not None:
            self._thread.join(timeout_s)
            if self._thread.is_alive():
                raise RuntimeError("the Kalshi WebSocket thread did not stop")

    def _run(self) -> None:
        attempt = 0
        while not self._stop.is_set():
            # Signed afresh on every attempt: a signature is only good for a few seconds.
            headers = self._credentials.headers("GET", urlsplit(self.url).path, self._now_ms())
            try:
                with connect(self.url, additional_headers=headers, open_timeout=10,
                             ping_interval=self._ping_interval_s,
                             ping_timeout=self._ping_interval_s, close_timeout=2) as conn:
                    self._conn = conn
                    self.connects += 1
                    attempt = 0
                    self._serve(conn)
            except Exception as e:  # whatever happens, the thread lives on and retries
                self.last_error = _translate(e)
                if not isinstance(e, InvalidHandshake | ConnectionClosed | OSError | TimeoutError):
                    log.exception("Kalshi WebSocket: unexpected failure")
            finally:
                self._conn = None
                self._drop_all()
            if not self._stop.is_set():
                attempt += 1
                delay = self._backoff.delay(attempt)
                log.warning("Kalshi WebSocket: %s; retrying in %.2f s", self.last_error, delay)
                self._sleep(delay)

    def _serve(self, conn: ClientConnection) -> None:
        for ticker in self.tickers if "orderbook_delta" in self.channels else ():
            self._subscribe_book(conn, ticker)
        if "ticker" in self.channels and self.tickers:
            self._send(conn, "subscribe", {"channels": ["ticker"], "market_tickers": list(self.tickers)})
        # Without market_tickers: every fill and order of the account, whatever market it is in.
        private = [c for c in self.channels if c in ("fill", "user_orders")]
        if private:
            self._send(conn, "subscribe", {"channels": private})
        self._connected.set()
        while not self._stop.is_set():
            try:
                raw = conn.recv(timeout=0.25)
            except TimeoutError:
                continue
            self._handle(conn, raw)

    # --- commands -----------------------------------------------------------------------------

    def _send(self, conn: ClientConnection, cmd: str, params: dict[str, Any]) -> int:
        ident = self._next_id
        self._next_id += 1
        conn.send(json.dumps({"id": ident, "cmd": cmd, "params": params}))
        return ident

    def _subscribe_book(self, conn: ClientConnection, ticker: str) -> None:
        ident = self._send(conn, "subscribe", {"channels": ["orderbook_delta"],
                                               "market_tickers": [ticker]})
        self._pending[ident] = ticker

    def _resubscribe(self, conn: ClientConnection, sid: int) -> None:
        ticker = self._book_sid.pop(sid)
        self._seq.pop(sid, None)
        with self._lock:
            self._books.pop(ticker, None)
        self._send(conn, "unsubscribe", {"sids": [sid]})
        self._subscribe_book(conn, ticker)

    def _drop_all(self) -> None:
        self._connected.clear()
        self._live = set()
        with self._lock:
            self._books.clear()
        self._book_sid.clear()
        self._seq.clear()
        self._pending.clear()

    # --- messages -----------------------------------------------------------------------------

    def _handle(self, conn: ClientConnection, raw: str | bytes) -> None:
        try:
            message = parse_message(raw)
        except MalformedMessage as e:
            self._malformed(conn, str(e), e.sid)
            return
        if isinstance(message, Subscribed):
            self._live = self._live | {message.channel}
            ticker = (self._pending.pop(message.command_id, None) if message.command_id is not None
                      else None)
            if ticker is not None and message.channel == "orderbook_delta":
                self._book_sid[message.sid] = ticker
        elif isinstance(message, BookSnapshot | BookDelta):
            self._book_message(conn, message)
        elif isinstance(message, TickerUpdate):
            if message.ticker is not None:
                self.tickers_seen[message.ticker] = message.body
            self._deliver("ticker", self._listener, "ticker", message.body)
        elif isinstance(message, SocketFill):
            self._deliver("fill", self._on_fill, message)
        elif isinstance(message, VenueOrder):
            self._deliver("user_order", self._on_order, message)
        elif message.kind == "error":
            log.warning("Kalshi WebSocket: a command was refused: %.200s", message.body)
        elif message.kind not in ("ok", "unsubscribed"):
            log.info("Kalshi WebSocket: message type %.40r ignored", message.kind)

    def _malformed(self, conn: ClientConnection, reason: str, sid: int | None) -> None:
        self.malformed += 1
        log.warning("Kalshi WebSocket: malformed message ignored (%s)", reason)
        if sid is not None and sid in self._book_sid:
            # A book message we could not read leaves that book unknown: fetch it afresh.
            self._resubscribe(conn, sid)

    def _book_message(self, conn: ClientConnection, message: BookSnapshot | BookDelta) -> None:
        sid = message.sid
        ticker = self._book_sid.get(sid)
        if ticker is None:
            return  # a late message for a subscription we dropped
        if message.ticker != ticker:
            self._malformed(conn, "a book message for another market than its subscription's", sid)
            return
        if isinstance(message, BookSnapshot):
            with self._lock:
                self._books[ticker] = _Book(dict(message.yes), dict(message.no))
            self._seq[sid] = message.seq
            return
        expected = self._seq.get(sid)
        if expected is None or message.seq != expected + 1:
            self.gaps += 1
            log.warning("Kalshi WebSocket: %s seq %s after %s: resubscribing", ticker, message.seq,
                        expected)
            self._resubscribe(conn, sid)
            return
        with self._lock:
            levels = self._books[ticker].sides[message.side]
            levels[message.price] = levels.get(message.price, 0) + message.delta
            if levels[message.price] <= 0:
                del levels[message.price]
        self._seq[sid] = message.seq

    def _deliver(self, kind: str, callback: Callable[..., None] | None, *args: Any) -> None:
        if callback is None:
            return
        try:
            callback(*args)
        except Exception:  # a listener's bug must not take the market data down with it
            self.listener_errors += 1
            log.exception("Kalshi WebSocket: the %s listener failed", kind)


def _translate(e: Exception) -> KalshiError:
    if isinstance(e, InvalidStatus):
        status = e.response.status_code
        if status in (401, 403):
            return Unauthorized(status, "unauthorized", "the WebSocket handshake was refused")
        return KalshiUnavailable(f"the WebSocket handshake answered {status}")
    if isinstance(e, ConnectionClosed):
        return KalshiUnavailable("the Kalshi WebSocket closed")
    return KalshiUnavailable(f"the Kalshi WebSocket failed: {type(e).__name__}")
