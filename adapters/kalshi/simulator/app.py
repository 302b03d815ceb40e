"""The exchange simulator as a starlette app serving the Kalshi Trade API under ``/trade-api/v2``.

``create_app`` wires a ``Simulator`` (catalog, exchange, market makers, state store, faults, clock,
the public key requests must be signed with) and the routes in ``handlers``. Portfolio endpoints
need a valid ``KALSHI-ACCESS-*`` signature; public market data accepts a signed or unsigned request
(a signed one must verify). Each request first settles whatever the clock says is due.
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
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from adapters.kalshi.signing import PublicKey, verify
from adapters.kalshi.simulator import handlers
from adapters.kalshi.simulator.catalog import Catalog, WeatherTruth
from adapters.kalshi.simulator.exchange import Exchange, OrderRejected
from adapters.kalshi.simulator.faults import Faults
from adapters.kalshi.simulator.handlers import BadRequest, error
from adapters.kalshi.simulator.state import StateStore
from adapters.kalshi.simulator.traders import MarketMakers
from adapters.kalshi.simulator.websocket import websocket_routes
from domain.config import MilkbotConfig
from domain.money import MONEY_SCALE

PREFIX = "/trade-api/v2"
SKEW_MS = 5_000
STARTING_BALANCE = 1_000 * MONEY_SCALE
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
        """Close and settle the account's markets whose time has come."""
        now = self.now()
        now_ms = self.now_ms()
        for ticker in sorted(self.exchange.open_tickers()):
            found = self.catalog.market(ticker)
            if found is None:
                continue
            event, market = found
            if now >= event.settle_time:
                self.exchange.settle(ticker, self.catalog.outcome(event, market), now_ms)
            elif now >= event.close_time:
                self.exchange.close_market(ticker, now_ms)

    def save_if_changed(self) -> None:
        if self.exchange.revision != self._saved_revision:
            self.store.save(self.exchange.to_json())
            self._saved_revision = self.exchange.revision


def endpoint(handler: Handler, *, signed: bool) -> Callable[[Request], Awaitable[Response]]:
    async def run(request: Request) -> Response:
        sim: Simulator = request.app.state.sim
        faults = sim.faults
        if faults.latency_ms:
            await asyncio.sleep(faults.latency_ms / 1000)
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
        except OrderRejected as e:
            response = error(e.status, e.code, e.message)
        except BadRequest as e:
            response = error(e.status, e.code, e.message)
        sim.save_if_changed()
        return response

    return run


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
        route("/portfolio/events/orders", handlers.create_order, "POST", signed=True),
        route("/portfolio/events/orders/{order_id}", handlers.cancel_order, "DELETE", signed=True),
        route("/portfolio/orders", handlers.list_orders, signed=True),
        route("/portfolio/orders", handlers.create_order_v1, "POST", signed=True),
        route("/portfolio/orders/{order_id}", handlers.get_order, signed=True),
        route("/portfolio/fills", handlers.list_fills, signed=True),
        route("/portfolio/positions", handlers.list_positions, signed=True),
        route("/portfolio/balance", handlers.get_balance, signed=True),
        Route("/_sim/faults", _get_faults, methods=["GET"]),
        Route("/_sim/faults", _set_faults, methods=["POST"]),
        *websocket_routes(sim),
    ]
    app = Starlette(routes=routes, exception_handlers={HTTPException: _http_error})
    app.state.sim = sim
    return app
