"""The simulator's market-data WebSocket at ``/trade-api/ws/v2``, as Kalshi serves it.

Where the shapes come from: the Kalshi OpenAPI spec (``shared/specs/kalshi-openapi.yaml``) does
not describe the WebSocket API at all; the path, the signed handshake (``GET /trade-api/ws/v2``
signed like any REST request) and the message shapes below follow Kalshi's published WebSocket
documentation as we know it:

* command ``{"id": n, "cmd": "subscribe", "params": {"channels": [...], "market_tickers": [...]}}``,
  answered ``{"id": n, "type": "subscribed", "msg": {"channel": c, "sid": s}}`` per channel;
  ``{"id": n, "cmd": "unsubscribe", "params": {"sids": [...]}}`` answered
  ``{"id": n, "sid": s, "type": "unsubscribed"}``; a bad command gets
  ``{"id": n, "type": "error", "msg": {"code": k, "msg": "..."}}``;
* ``orderbook_snapshot`` ``{"market_ticker", "yes_dollars_fp": [[price, count]], "no_dollars_fp"}``
  then ``orderbook_delta`` ``{"market_ticker", "price_dollars", "delta_fp", "side", "ts"}``, each
  with ``sid`` and a ``seq`` that counts up by one per subscription;
* ``ticker`` ``{"market_ticker", "price_dollars", "yes_bid_dollars", "yes_ask_dollars", "ts"}``.

Books are polled for changes every ``POLL_S`` (the exchange has no change feed); only the
``orderbook_delta`` and ``ticker`` channels carry data here (``fill`` and ``user_orders``
subscriptions are acknowledged and stay silent). ``POST /_sim/ws-faults {"skip_seq_next": n}``
makes the next ``n`` book messages skip a sequence number, so clients' gap handling can be tested.
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


@dataclass
class _Subscription:
    sid: int
    channel: str
    tickers: list[str]
    seq: int = 0
    books: dict[str, Levels] = field(default_factory=dict)
    tops: dict[str, tuple[int | None, int | None]] = field(default_factory=dict)


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
            if channel == "orderbook_delta":
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
        await self.send({"type": kind, "sid": sub.sid, "seq": sub.seq, "msg": msg})

    async def poll(self) -> None:
        for sub in list(self.subs.values()):
            for ticker in sub.tickers:
                levels = _levels(self.sim, ticker)
                if sub.channel == "orderbook_delta":
                    await self._deltas(sub, ticker, levels)
                elif sub.channel == "ticker":
                    await self._ticker(sub, ticker, levels)

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
        value = body.get("skip_seq_next") if isinstance(body, dict) else None
        if type(value) is not int or value < 0:
            return JSONResponse({"code": "bad_request", "message": "skip_seq_next must be a count"},
                                status_code=400)
        faults.skip_seq_next = value
        return JSONResponse({"skip_seq_next": faults.skip_seq_next})

    return [WebSocketRoute(WS_PATH, feed), Route("/_sim/ws-faults", set_faults, methods=["POST"])]
