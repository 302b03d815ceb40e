"""Kalshi's market-data WebSocket: local order books, ticker updates, fills and order updates.

Where the shapes come from: the Kalshi OpenAPI spec (``shared/specs/kalshi-openapi.yaml``) does
not describe the WebSocket API. The URL (``wss://<host>/trade-api/ws/v2``), the handshake signed
like a REST ``GET /trade-api/ws/v2``, the ``subscribe``/``unsubscribe`` commands and the message
envelopes ``{"type", "sid", "seq", "msg"}`` for ``orderbook_snapshot``, ``orderbook_delta``,
``ticker``, ``fill`` and ``user_order`` follow Kalshi's published WebSocket documentation as we
know it. Book levels are read from the fixed-point fields (``yes_dollars_fp``/``no_dollars_fp``,
``price_dollars``/``delta_fp``) and, failing those, from the legacy integer-cent fields
(``yes``/``no``, ``price``/``delta``).

One thread owns the socket. Each ``orderbook_delta`` subscription carries one market, so a gap in
its ``seq`` drops only that market's book, unsubscribes it and subscribes again for a fresh
snapshot. ``book(ticker)`` answers ``None`` while the socket is down or the book is being
rebuilt: the caller falls back to REST polling. A lost connection is retried with exponential
backoff through an injected ``sleep``, each attempt freshly signed. A malformed message is logged
and counted, never raised. Protocol pings are answered by the ``websockets`` library itself.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus
from websockets.sync.client import ClientConnection, connect

from adapters.kalshi.errors import KalshiError, KalshiUnavailable, Unauthorized
from adapters.kalshi.signing import Credentials
from domain.money import COUNT_SCALE, PRICE_SCALE, count_from_fp, price_from_dollars

log = logging.getLogger(__name__)

PRODUCTION_WS_URL = "wss://external-api.kalshi.com/trade-api/ws/v2"
DEMO_WS_URL = "wss://external-api.demo.kalshi.co/trade-api/ws/v2"

#: Receives ``(message type, msg body)`` for ``ticker``, ``fill`` and ``user_order`` messages.
Listener = Callable[[str, dict[str, Any]], None]


class MalformedMessage(ValueError):
    pass


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
    def __init__(self) -> None:
        self.sides: dict[str, dict[int, int]] = {"yes": {}, "no": {}}

    def frozen(self, ticker: str) -> OrderBook:
        def side(name: str) -> tuple[tuple[int, int], ...]:
            return tuple(sorted(((p, c) for p, c in self.sides[name].items() if c > 0), reverse=True))
        return OrderBook(ticker, side("yes"), side("no"))


def _signed_count(text: Any) -> int:
    if not isinstance(text, str):
        raise MalformedMessage("delta_fp is not a string")
    negative = text.startswith("-")
    count = count_from_fp(text[1:] if negative else text)
    return -count if negative else count


def _levels(msg: dict[str, Any], side: str) -> dict[int, int]:
    fixed = msg.get(f"{side}_dollars_fp")
    if fixed is not None:
        pairs = [(price_from_dollars(p), count_from_fp(c)) for p, c in fixed]
    else:
        cents = msg.get(side, [])
        pairs = [(_cents(p), _contracts(c)) for p, c in cents]
    return dict(pairs)


def _cents(value: Any) -> int:
    if type(value) is not int or not 0 <= value <= 100:
        raise MalformedMessage("a cent price is not an integer 0..100")
    return value * (PRICE_SCALE // 100)


def _contracts(value: Any) -> int:
    if type(value) is not int:
        raise MalformedMessage("a contract count is not an integer")
    return value * COUNT_SCALE


class KalshiWebSocket:
    """The market-data socket for a fixed set of markets, run on its own thread.

    ``start()`` connects and keeps reconnecting until ``stop()``. ``listener`` gets ``ticker``,
    ``fill`` and ``user_order`` bodies on the socket's thread; it must not block, and an exception
    it raises is logged and counted, never fatal."""

    def __init__(self, url: str, credentials: Credentials, tickers: Iterable[str], *,
                 channels: Sequence[str] = ("orderbook_delta", "ticker", "fill", "user_orders"),
                 listener: Listener | None = None,
                 sleep: Callable[[float], None] | None = None,
                 now_ms: Callable[[], int] = lambda: int(time.time() * 1000),
                 backoff: Backoff = Backoff(),
                 ping_interval_s: float = 10.0) -> None:
        self.url = url
        self._credentials = credentials
        self.tickers = tuple(tickers)
        self.channels = tuple(channels)
        self._listener = listener
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
        others = [c for c in self.channels if c != "orderbook_delta"]
        if others:
            params: dict[str, Any] = {"channels": others}
            if "ticker" in others:
                params["market_tickers"] = list(self.tickers)
            self._send(conn, "subscribe", params)
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
        with self._lock:
            self._books.clear()
        self._book_sid.clear()
        self._seq.clear()
        self._pending.clear()

    # --- messages -----------------------------------------------------------------------------

    def _handle(self, conn: ClientConnection, raw: str | bytes) -> None:
        try:
            message = json.loads(raw)
            if not isinstance(message, dict) or not isinstance(message.get("type"), str):
                raise MalformedMessage("not an object with a type")
            self._dispatch(conn, message)
        except (ValueError, TypeError, KeyError) as e:  # MalformedMessage and BadFixedPoint too
            self.malformed += 1
            log.warning("Kalshi WebSocket: malformed message ignored (%s: %s)", type(e).__name__, e)

    def _dispatch(self, conn: ClientConnection, message: dict[str, Any]) -> None:
        kind: str = message["type"]
        body = message.get("msg")
        if kind == "subscribed":
            if not isinstance(body, dict):
                raise MalformedMessage("subscribed without a msg")
            ticker = self._pending.pop(message.get("id", -1), None)
            if ticker is not None and body.get("channel") == "orderbook_delta":
                self._book_sid[int(body["sid"])] = ticker
            return
        if kind in ("unsubscribed", "ok"):
            return
        if kind == "error":
            log.warning("Kalshi WebSocket: command %s refused: %s", message.get("id"), body)
            return
        if not isinstance(body, dict):
            raise MalformedMessage(f"{kind} without a msg object")
        if kind in ("orderbook_snapshot", "orderbook_delta"):
            self._book_message(conn, kind, message, body)
        elif kind in ("ticker", "ticker_v2", "fill", "user_order", "user_orders"):
            if kind.startswith("ticker") and isinstance(body.get("market_ticker"), str):
                self.tickers_seen[body["market_ticker"]] = body
            self._deliver(kind, body)
        else:
            log.info("Kalshi WebSocket: message type %r ignored", kind)

    def _book_message(self, conn: ClientConnection, kind: str, message: dict[str, Any],
                      body: dict[str, Any]) -> None:
        sid, seq = message.get("sid"), message.get("seq")
        if type(sid) is not int or type(seq) is not int:
            raise MalformedMessage(f"{kind} without an integer sid and seq")
        ticker = self._book_sid.get(sid)
        if ticker is None:
            return  # a late message for a subscription we dropped
        if body.get("market_ticker") != ticker:
            raise MalformedMessage(f"{kind} for another market than its subscription's")
        expected = self._seq.get(sid)
        if kind == "orderbook_snapshot":
            book = _Book()
            book.sides = {"yes": _levels(body, "yes"), "no": _levels(body, "no")}
            with self._lock:
                self._books[ticker] = book
            self._seq[sid] = seq
            return
        if expected is None or seq != expected + 1:
            self.gaps += 1
            log.warning("Kalshi WebSocket: %s seq %s after %s: resubscribing", ticker, seq, expected)
            self._resubscribe(conn, sid)
            return
        side = body.get("side")
        if side not in ("yes", "no"):
            raise MalformedMessage("orderbook_delta side is neither yes nor no")
        if "price_dollars" in body:
            price, delta = price_from_dollars(body["price_dollars"]), _signed_count(body["delta_fp"])
        else:
            price, delta = _cents(body.get("price")), _signed_delta_contracts(body.get("delta"))
        with self._lock:
            levels = self._books[ticker].sides[side]
            levels[price] = levels.get(price, 0) + delta
            if levels[price] <= 0:
                del levels[price]
        self._seq[sid] = seq

    def _deliver(self, kind: str, body: dict[str, Any]) -> None:
        if self._listener is None:
            return
        try:
            self._listener(kind, body)
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


def _signed_delta_contracts(value: Any) -> int:
    if type(value) is not int:
        raise MalformedMessage("a delta is not an integer")
    return value * COUNT_SCALE
