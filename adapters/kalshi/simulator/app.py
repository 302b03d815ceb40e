"""The exchange simulator as a starlette app serving the Kalshi Trade API under ``/trade-api/v2``.

``create_app`` wires a ``Simulator`` (catalog, exchange, market makers, state store, faults, clock,
the public key requests must be signed with) and the routes in ``handlers``. Portfolio endpoints
need a valid ``KALSHI-ACCESS-*`` signature; public market data accepts a signed or unsigned request
(a signed one must verify). Each request first settles whatever the clock says is due, at the
times the catalog says (resting orders are canceled at the market's close, positions paid at its
settlement), however late the request that notices it comes.

Routes: market data and portfolio reads (``handlers``), V2 order entry (``orders``), the archive
(``history``), and ``GET``/``POST /_sim/faults`` (``faults``), which sit outside the API prefix.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from adapters.kalshi.signing import PublicKey, verify
from adapters.kalshi.simulator import handlers, history, orders
from adapters.kalshi.simulator.catalog import Catalog, WeatherTruth
from adapters.kalshi.simulator.exchange import Exchange, OrderRejected
from adapters.kalshi.simulator.faults import Faults
from adapters.kalshi.simulator.rest import BadRequest, error
from adapters.kalshi.simulator.state import StateStore
from adapters.kalshi.simulator.traders import MarketMakers
from adapters.kalshi.simulator.websocket import websocket_routes
from domain.config import MilkbotConfig
from domain.money import MONEY_SCALE

PREFIX = "/trade-api/v2"
SKEW_MS = 5_000
STARTING_BALANCE = 1_000 * MONEY_SCALE
#: The longest a ``timeout_next`` answer is withheld from a client that never hangs up: only a
#: safety net, so a forgotten connection cannot keep the server from stopping.
HOLD_LIMIT_S = 60.0
Clock = Callable[[], datetime]
Handler = Callable[[Request, "Simulator"], Awaitable[Response]]


@dataclass
class Simulator:
    catalog: Catalog
    exchange: Exchange
    makers: MarketMakers
    store: StateStore
    clock: Clock
    public_key: PublicKey
    #: Real time in ms for signature freshness: clients sign with wall-clock time, whatever the
    #: simulated market clock says (at 3600x the two part by an hour each real second).
    auth_clock_ms: Callable[[], int] = field(default=lambda: int(time.time() * 1000))
    faults: Faults = field(default_factory=Faults)
    _saved_revision: int = -1

    def now(self) -> datetime:
        return self.clock()

    def now_ms(self) -> int:
        return int(self.clock().timestamp() * 1000)

    def authenticate(self, request: Request, *, required: bool) -> Response | None:
        key = request.headers.get("KALSHI-ACCESS-KEY")
        stamp = request.headers.get("KALSHI-ACCESS-TIMESTAMP")
        signature = request.headers.get("KALSHI-ACCESS-SIGNATURE")
        if key is None and stamp is None and signature is None and not required:
            return None
        if not key or not stamp or not signature:
            return error(401, "missing_authentication", "the KALSHI-ACCESS-KEY, KALSHI-ACCESS-TIMESTAMP "
                         "and KALSHI-ACCESS-SIGNATURE headers are required")
        try:
            timestamp_ms = int(stamp)
        except ValueError:
            return error(401, "invalid_timestamp", "KALSHI-ACCESS-TIMESTAMP is not milliseconds")
        if abs(self.auth_clock_ms() - timestamp_ms) > SKEW_MS:
            return error(401, "stale_timestamp", "KALSHI-ACCESS-TIMESTAMP is more than "
                         f"{SKEW_MS // 1000} s from the exchange's clock")
        if not verify(self.public_key, signature, timestamp_ms, request.method, request.url.path):
            return error(401, "invalid_signature", "the request signature does not verify")
        return None

    def settle_due(self) -> None:
        """Close and settle the account's markets whose time has come, as of when it came."""
        now = self.now()
        for ticker in sorted(self.exchange.open_tickers()):
            found = self.catalog.market(ticker)
            if found is None:
                continue
            event, market = found
            if now >= event.close_time:
                self.exchange.close_market(ticker, _ms(event.close_time))
            if now >= event.settle_time:
                self.exchange.settle(ticker, self.catalog.outcome(event, market), _ms(event.settle_time))

    def save_if_changed(self) -> None:
        if self.exchange.revision != self._saved_revision:
            self.store.save(self.exchange.to_json())
            self._saved_revision = self.exchange.revision


def _ms(instant: datetime) -> int:
    return int(instant.timestamp() * 1000)


async def _client_gone(request: Request) -> None:
    while (await request.receive())["type"] != "http.disconnect":
        pass


async def hold(request: Request, seconds: float) -> bool:
    """Keep the request waiting ``seconds``, or until the client hangs up: False if it did."""
    try:
        await request.body()  # read it now: the handler still can (starlette keeps it)
    except ClientDisconnect:
        return False
    gone = asyncio.ensure_future(_client_gone(request))
    try:
        done, _ = await asyncio.wait({gone}, timeout=seconds)
    finally:
        gone.cancel()
    return not done


def endpoint(handler: Handler, *, signed: bool) -> Callable[[Request], Awaitable[Response]]:
    async def run(request: Request) -> Response:
        sim: Simulator = request.app.state.sim
        faults = sim.faults
        if faults.latency_ms and not await hold(request, faults.latency_ms / 1000):
            return error(504, "gateway_timeout", "the client left before the request was handled")
        withheld = faults.timeout_next > 0
        if withheld:
            faults.timeout_next -= 1
        response = await answer(request, sim, handler, signed=signed)
        if withheld:
            await hold(request, HOLD_LIMIT_S)  # nobody is left to read it, unless held too long
        return response

    return run


async def answer(request: Request, sim: Simulator, handler: Handler, *, signed: bool) -> Response:
    """The request's answer, faults (429, 500) and signature checks first; state saved after."""
    faults = sim.faults
    if faults.rate_limit_next > 0:
        faults.rate_limit_next -= 1
        return error(429, "too_many_requests", "rate limit exceeded")
    if faults.server_error_next > 0:
        faults.server_error_next -= 1
        return error(500, "internal_server_error", "simulated server error")
    denied = sim.authenticate(request, required=signed)
    if denied is not None:
        return denied
    try:
        sim.settle_due()
        response = await handler(request, sim)
    except (OrderRejected, BadRequest) as e:
        response = error(e.status, e.code, e.message)
    sim.save_if_changed()
    return response


async def _http_error(request: Request, exc: Exception) -> Response:
    status = exc.status_code if isinstance(exc, HTTPException) else 500
    code = {404: "not_found", 405: "method_not_allowed"}.get(status, "error")
    return error(status, code, f"{request.method} {request.url.path}: {code.replace('_', ' ')}")


async def _get_faults(request: Request) -> Response:
    return JSONResponse(request.app.state.sim.faults.to_json())


async def _set_faults(request: Request) -> Response:
    try:
        faults = Faults.from_json(await request.json())
    except ValueError as e:
        return error(400, "bad_request", str(e))
    request.app.state.sim.faults = faults
    return JSONResponse(faults.to_json())


def create_app(config: MilkbotConfig, *, seed: int, clock: Clock, public_key: PublicKey,
               weather: WeatherTruth, state_dir: Path | None = None,
               starting_balance: int = STARTING_BALANCE,
               auth_clock_ms: Callable[[], int] | None = None) -> Starlette:
    """The exchange simulator. ``weather`` is the truth markets settle on (the NWS simulator's
    ``WeatherGenerator``); ``state_dir`` keeps the account across restarts (``None``: in memory).
    Signatures are checked against ``auth_clock_ms`` (default: the real clock), never ``clock``."""
    store = StateStore(state_dir)
    saved = store.load()
    exchange = Exchange.from_json(saved) if saved is not None else Exchange(seed=seed,
                                                                            balance=starting_balance)
    catalog = Catalog(config, weather)
    sim = Simulator(catalog, exchange, MarketMakers(catalog, exchange, seed), store, clock, public_key)
    if auth_clock_ms is not None:
        sim.auth_clock_ms = auth_clock_ms
    sim._saved_revision = exchange.revision if saved is not None else -1

    def route(path: str, handler: Handler, method: str = "GET", *, signed: bool = False) -> Route:
        return Route(PREFIX + path, endpoint(handler, signed=signed), methods=[method])

    routes = [
        route("/exchange/status", handlers.exchange_status),
        route("/series", handlers.list_series),
        route("/series/{series_ticker}", handlers.get_series),
        route("/events", handlers.list_events),
        route("/events/{event_ticker}", handlers.get_event),
        route("/markets", handlers.list_markets),
        route("/markets/{ticker}", handlers.get_market),
        route("/markets/{ticker}/orderbook", handlers.get_orderbook),
        route("/portfolio/events/orders", orders.create_order, "POST", signed=True),
        # the batch paths first: "batched" would otherwise be read as an {order_id}
        route("/portfolio/events/orders/batched", orders.batch_create_orders, "POST", signed=True),
        route("/portfolio/events/orders/batched", orders.batch_cancel_orders, "DELETE", signed=True),
        route("/portfolio/events/orders/{order_id}", orders.cancel_order, "DELETE", signed=True),
        route("/portfolio/events/orders/{order_id}/amend", orders.amend_order, "POST", signed=True),
        route("/portfolio/events/orders/{order_id}/decrease", orders.decrease_order, "POST",
              signed=True),
        route("/portfolio/orders", handlers.list_orders, signed=True),
        route("/portfolio/orders", orders.create_order_v1, "POST", signed=True),
        # before {order_id}, which "queue_positions" would otherwise match
        route("/portfolio/orders/queue_positions", handlers.list_queue_positions, signed=True),
        route("/portfolio/orders/{order_id}", handlers.get_order, signed=True),
        route("/portfolio/orders/{order_id}/queue_position", handlers.get_queue_position, signed=True),
        route("/portfolio/fills", handlers.list_fills, signed=True),
        route("/portfolio/positions", handlers.list_positions, signed=True),
        route("/portfolio/balance", handlers.get_balance, signed=True),
        route("/portfolio/settlements", handlers.list_settlements, signed=True),
        route("/historical/cutoff", history.get_cutoff),
        route("/historical/markets", history.list_markets),
        route("/historical/markets/{ticker}", history.get_market),
        route("/historical/fills", history.list_fills, signed=True),
        route("/historical/orders", history.list_orders, signed=True),
        route("/historical/positions", history.list_positions, signed=True),
        Route("/_sim/faults", _get_faults, methods=["GET"]),
        Route("/_sim/faults", _set_faults, methods=["POST"]),
        *websocket_routes(sim),
    ]
    app = Starlette(routes=routes, exception_handlers={HTTPException: _http_error})
    app.state.sim = sim
    return app
