"""The simulator's Trade API WebSocket at ``/trade-api/ws/v2``, as Kalshi serves it.

Where the shapes come from: the Kalshi OpenAPI spec (``shared/specs/kalshi-openapi.yaml``) does
not describe the WebSocket API at all; the path, the signed handshake (``GET /trade-api/ws/v2``
signed like any REST request) and the message shapes below follow Kalshi's AsyncAPI document
(docs.kalshi.com/asyncapi.yaml); where it is silent, the REST ``Fill``/``Order`` schemas:

* command ``{"id": n, "cmd": "subscribe", "params": {"channels": [...], "market_tickers": [...]}}``,
  answered ``{"id": n, "type": "subscribed", "msg": {"channel": c, "sid": s}}`` per channel;
  ``{"id": n, "cmd": "unsubscribe", "params": {"sids": [...]}}`` answered
  ``{"id": n, "sid": s, "type": "unsubscribed"}``; a bad command gets
  ``{"id": n, "type": "error", "msg": {"code": k, "msg": "..."}}``;
* ``orderbook_snapshot`` ``{"market_ticker", "yes_dollars_fp": [[price, count]], "no_dollars_fp"}``
  then ``orderbook_delta`` ``{"market_ticker", "price_dollars", "delta_fp", "side", "ts"}``, each
  with ``sid`` and a ``seq`` that counts up by one per subscription;
* ``ticker`` ``{"market_ticker", "price_dollars", "yes_bid_dollars", "yes_ask_dollars", "ts"}``;
* ``fill`` (channel ``fill``, no ``seq``) ``{"trade_id", "order_id", "client_order_id"?,
  "market_ticker", "exchange_index", "is_taker", "side", "action", "outcome_side", "book_side",
  "purchased_side", "yes_price_dollars", "count_fp", "fee_cost", "post_position_fp", "ts", "ts_ms"}``;
* ``user_order`` (channel ``user_orders``, no ``seq``): the REST ``Order``'s fields without
  ``action`` and ``no_price_dollars``, plus ``is_yes``, ``created_ts_ms`` and ``last_updated_ts_ms``.

Fills and orders are the authenticated account's (whoever holds the key signs the handshake), all
markets unless the subscription named ``market_tickers``, from the subscription on: nothing is
replayed. Every value is taken from the REST body of the same fill or order
(``simulator.wire``), so the socket and ``GET /portfolio/fills`` agree. One exception to copying
REST: the socket's ``trade_id`` is the fill's ``fill_id``, as Kalshi documents it ("unique
identifier for fills"; the spec's ``Fill.trade_id`` is "same as fill_id").

The exchange has no change feed, so every ``POLL_S`` each session compares: books with the levels
it last sent, fills with how many it has seen, and (when the exchange's ``revision`` moved) each
order with what it last sent. ``POST /_sim/ws-faults`` takes ``{"skip_seq_next": n}`` (the next
``n`` book messages skip a sequence number) and ``{"corrupt_next": n}`` (the next ``n`` deltas
carry an unreadable price), so clients' gap and garbage handling can be tested.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from adapters.kalshi.signing import verify
from adapters.kalshi.simulator.exchange import Exchange, Fill, Order
from adapters.kalshi.simulator.wire import fill_json, order_json
from domain.money import PRICE_SCALE, count_to_fp, price_to_dollars

if TYPE_CHECKING:
    from adapters.kalshi.simulator.app import Simulator

WS_PATH = "/trade-api/ws/v2"
SKEW_MS = 5_000
POLL_S = 0.05
CHANNELS = frozenset({"orderbook_delta", "ticker", "fill", "user_orders"})
Levels = dict[tuple[str, int], int]  # (side, price) -> count


@dataclass
class WsFaults:
    #: The next N orderbook messages skip one sequence number each.
    skip_seq_next: int = 0
    #: The next N orderbook deltas carry a price no client can read.
    corrupt_next: int = 0


@dataclass
class _Subscription:
    sid: int
    channel: str
    tickers: list[str]
    seq: int = 0
    books: dict[str, Levels] = field(default_factory=dict)
    tops: dict[str, tuple[int | None, int | None]] = field(default_factory=dict)
    #: ``fill``: how many of the exchange's fills were seen, and each market's position after them.
    fills_seen: int = 0
    positions: dict[str, int] = field(default_factory=dict)
    #: ``user_orders``: the exchange revision last looked at, and each order as last seen.
    revision: int = -1
    orders: dict[str, tuple[object, ...]] = field(default_factory=dict)

    def wants(self, ticker: str) -> bool:
        return not self.tickers or ticker in self.tickers


def _levels(sim: Simulator, ticker: str) -> Levels:
    book = sim.exchange.books.get(ticker)
    if book is None:
        return {}
    out: Levels = {("yes", p): c for p, c in book.levels("bid")}
    out.update({("no", PRICE_SCALE - p): c for p, c in book.levels("ask")})
    return out


def _side_fp(levels: Levels, side: str) -> list[list[str]]:
    return [[price_to_dollars(p), count_to_fp(c)]
            for (s, p), c in sorted(levels.items()) if s == side]


def _signed_fp(count: int) -> str:
    return ("-" if count < 0 else "") + count_to_fp(abs(count))


def _state(order: Order) -> tuple[object, ...]:
    """Every field of the order: a change in any (a fill, a cancel, an amend) is an update."""
    return tuple(vars(order).values())


def _fill_message(exchange: Exchange, fill: Fill, post_position: int) -> dict[str, Any]:
    rest = fill_json(fill)
    msg = {key: rest[key] for key in (
        "order_id", "market_ticker", "exchange_index", "is_taker", "side", "action", "outcome_side",
        "book_side", "yes_price_dollars", "count_fp", "fee_cost", "ts")}
    order = exchange.orders.get(fill.order_id)
    if order is not None and order.client_order_id:
        msg["client_order_id"] = order.client_order_id
    msg.update(trade_id=fill.fill_id, purchased_side=rest["outcome_side"], ts_ms=fill.ts_ms,
               post_position_fp=_signed_fp(post_position))
    return msg


def _order_message(order: Order) -> dict[str, Any]:
    rest = order_json(order)
    msg = {key: rest[key] for key in (
        "order_id", "user_id", "client_order_id", "ticker", "exchange_index", "status", "side",
        "outcome_side", "book_side", "yes_price_dollars", "fill_count_fp", "remaining_count_fp",
        "initial_count_fp", "taker_fill_cost_dollars", "maker_fill_cost_dollars",
        "taker_fees_dollars", "maker_fees_dollars", "self_trade_prevention_type", "created_time",
        "last_update_time")}
    msg.update(is_yes=rest["outcome_side"] == "yes", created_ts_ms=order.created_ms,
               last_updated_ts_ms=order.updated_ms)
    return msg


def _authentic(sim: Simulator, websocket: WebSocket) -> str | None:
    """None when the handshake is signed by the configured key, else why not."""
    headers = websocket.headers
    key = headers.get("KALSHI-ACCESS-KEY")
    stamp = headers.get("KALSHI-ACCESS-TIMESTAMP")
    signature = headers.get("KALSHI-ACCESS-SIGNATURE")
    if not key or not stamp or not signature:
        return "missing_authentication"
    try:
        timestamp_ms = int(stamp)
    except ValueError:
        return "invalid_timestamp"
    if abs(sim.auth_clock_ms() - timestamp_ms) > SKEW_MS:
        return "stale_timestamp"
    if not verify(sim.public_key, signature, timestamp_ms, "GET", websocket.url.path):
        return "invalid_signature"
    return None


class _Session:
    """One connection: its subscriptions and the poller that turns book changes into messages."""

    def __init__(self, sim: Simulator, faults: WsFaults, websocket: WebSocket) -> None:
        self.sim = sim
        self.faults = faults
        self.ws = websocket
        self.subs: dict[int, _Subscription] = {}
        self.next_sid = 1

    async def send(self, message: dict[str, Any]) -> None:
        await self.ws.send_json(message)

    async def command(self, raw: str) -> None:
        try:
            cmd = json.loads(raw)
            ident = cmd.get("id") if isinstance(cmd, dict) else None
        except ValueError:
            cmd, ident = None, None
        if not isinstance(cmd, dict) or not isinstance(cmd.get("params", {}), dict):
            await self.send({"id": ident, "type": "error",
                             "msg": {"code": 1, "msg": "Unable to process message"}})
            return
        params: dict[str, Any] = cmd.get("params", {})
        if cmd.get("cmd") == "subscribe":
            await self.subscribe(ident, params)
        elif cmd.get("cmd") == "unsubscribe":
            for sid in params.get("sids", []):
                if self.subs.pop(sid, None) is not None:
                    await self.send({"id": ident, "sid": sid, "type": "unsubscribed"})
        else:
            await self.send({"id": ident, "type": "error", "msg": {"code": 5, "msg": "Unknown command"}})

    async def subscribe(self, ident: Any, params: dict[str, Any]) -> None:
        channels = params.get("channels")
        tickers = params.get("market_tickers", [])
        if (not isinstance(channels, list) or not channels or not set(channels) <= CHANNELS
                or not isinstance(tickers, list) or not all(isinstance(t, str) for t in tickers)):
            await self.send({"id": ident, "type": "error", "msg": {"code": 8, "msg": "Unknown channel name"}})
            return
        for channel in channels:
            sub = _Subscription(self.next_sid, channel, list(tickers))
            self.next_sid += 1
            self.subs[sub.sid] = sub
            await self.send({"id": ident, "type": "subscribed", "msg": {"channel": channel, "sid": sub.sid}})
            exchange = self.sim.exchange
            if channel == "fill":  # from now on: positions after the fills already made
                sub.fills_seen = len(exchange.fills)
                for fill in exchange.fills:
                    sub.positions[fill.ticker] = sub.positions.get(fill.ticker, 0) + (
                        fill.count if fill.side == "bid" else -fill.count)
            elif channel == "user_orders":
                sub.revision = exchange.revision
                sub.orders = {o.order_id: _state(o) for o in exchange.orders.values()}
            elif channel == "orderbook_delta":
                for ticker in sub.tickers:
                    levels = _levels(self.sim, ticker)
                    sub.books[ticker] = levels
                    await self.book_message(sub, "orderbook_snapshot", {
                        "market_ticker": ticker, "market_id": ticker,
                        "yes_dollars_fp": _side_fp(levels, "yes"),
                        "no_dollars_fp": _side_fp(levels, "no")})

    async def book_message(self, sub: _Subscription, kind: str, msg: dict[str, Any]) -> None:
        sub.seq += 1
        if self.faults.skip_seq_next > 0:
            self.faults.skip_seq_next -= 1
            sub.seq += 1
        if kind == "orderbook_delta" and self.faults.corrupt_next > 0:
            self.faults.corrupt_next -= 1
            msg = {**msg, "price_dollars": "0.4x00"}
        await self.send({"type": kind, "sid": sub.sid, "seq": sub.seq, "msg": msg})

    async def poll(self) -> None:
        for sub in list(self.subs.values()):
            if sub.channel == "fill":
                await self._fills(sub)
            elif sub.channel == "user_orders":
                await self._orders(sub)
            for ticker in sub.tickers if sub.channel in ("orderbook_delta", "ticker") else ():
                levels = _levels(self.sim, ticker)
                if sub.channel == "orderbook_delta":
                    await self._deltas(sub, ticker, levels)
                else:
                    await self._ticker(sub, ticker, levels)

    async def _fills(self, sub: _Subscription) -> None:
        exchange = self.sim.exchange
        new = exchange.fills[sub.fills_seen:]
        sub.fills_seen += len(new)
        for fill in new:
            after = sub.positions.get(fill.ticker, 0) + (fill.count if fill.side == "bid" else -fill.count)
            sub.positions[fill.ticker] = after
            if sub.wants(fill.ticker):
                await self.send({"type": "fill", "sid": sub.sid,
                                 "msg": _fill_message(exchange, fill, after)})

    async def _orders(self, sub: _Subscription) -> None:
        exchange = self.sim.exchange
        if exchange.revision == sub.revision:
            return  # every change to the account's orders bumps the revision
        sub.revision = exchange.revision
        changed = []
        for order in list(exchange.orders.values()):
            state = _state(order)
            if sub.orders.get(order.order_id) != state:
                sub.orders[order.order_id] = state
                if sub.wants(order.ticker):
                    changed.append(_order_message(order))
        for msg in changed:
            await self.send({"type": "user_order", "sid": sub.sid, "msg": msg})

    async def _deltas(self, sub: _Subscription, ticker: str, levels: Levels) -> None:
        old = sub.books.get(ticker, {})
        sub.books[ticker] = levels
        for side, price in sorted(set(old) | set(levels)):
            change = levels.get((side, price), 0) - old.get((side, price), 0)
            if change:
                await self.book_message(sub, "orderbook_delta", {
                    "market_ticker": ticker, "price_dollars": price_to_dollars(price),
                    "delta_fp": ("-" if change < 0 else "") + count_to_fp(abs(change)),
                    "side": side, "ts": _iso_now()})

    async def _ticker(self, sub: _Subscription, ticker: str, levels: Levels) -> None:
        yes_bid = max((p for s, p in levels if s == "yes"), default=None)
        no_bid = max((p for s, p in levels if s == "no"), default=None)
        top = (yes_bid, None if no_bid is None else PRICE_SCALE - no_bid)
        if sub.tops.get(ticker) == top:
            return
        sub.tops[ticker] = top
        stats = self.sim.exchange.stats.get(ticker)
        last = stats.last_price if stats is not None else 0
        await self.send({"type": "ticker", "sid": sub.sid, "msg": {
            "market_ticker": ticker,
            "price_dollars": price_to_dollars(last) if last else None,
            "yes_bid_dollars": price_to_dollars(top[0]) if top[0] is not None else None,
            "yes_ask_dollars": price_to_dollars(top[1]) if top[1] is not None else None,
            "ts": int(time.time())}})


def _iso_now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def websocket_routes(sim: Simulator) -> list[BaseRoute]:
    """The WebSocket route and its fault switch, for ``create_app``'s route list."""
    faults = WsFaults()

    async def feed(websocket: WebSocket) -> None:
        denied = _authentic(sim, websocket)
        if denied is not None:
            body = {"code": denied, "message": "the WebSocket handshake must be signed"}
            try:
                await websocket.send_denial_response(JSONResponse(body, status_code=401))
            except RuntimeError:  # the server lacks the denial-response extension: a bare 403
                await websocket.close(code=1008)
            return
        await websocket.accept()
        session = _Session(sim, faults, websocket)

        async def poller() -> None:
            while True:
                await asyncio.sleep(POLL_S)
                await session.poll()

        task = asyncio.create_task(poller())
        try:
            while True:
                await session.command(await websocket.receive_text())
        except WebSocketDisconnect:
            pass
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    async def set_faults(request: Request) -> Response:
        body = await request.json()
        names = ("skip_seq_next", "corrupt_next")
        if (not isinstance(body, dict) or not body or not set(body) <= set(names)
                or not all(type(v) is int and v >= 0 for v in body.values())):
            return JSONResponse({"code": "bad_request",
                                 "message": "give skip_seq_next and/or corrupt_next as counts"},
                                status_code=400)
        for name, value in body.items():
            setattr(faults, name, value)
        return JSONResponse({name: getattr(faults, name) for name in names})

    return [WebSocketRoute(WS_PATH, feed), Route("/_sim/ws-faults", set_faults, methods=["POST"])]
