"""The simulator's endpoints: market data, V2 orders, and the account's portfolio."""

from __future__ import annotations

import base64
import binascii
from decimal import Decimal
from typing import TYPE_CHECKING, Any, TypeVar

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from adapters.kalshi.simulator.catalog import EventDef, MarketDef
from adapters.kalshi.simulator.exchange import USER, OrderRejected
from adapters.kalshi.simulator.wire import (
    error_json,
    event_json,
    event_positions_json,
    fill_json,
    market_json,
    market_position_json,
    money_dollars,
    order_json,
    orderbook_json,
    series_json,
)
from domain.money import (
    COUNT_SCALE,
    MONEY_SCALE,
    PRICE_SCALE,
    BadFixedPoint,
    count_from_fp,
    price_from_dollars,
)

if TYPE_CHECKING:
    from adapters.kalshi.simulator.app import Simulator

T = TypeVar("T")
_STATUS_FILTER = {"unopened": "initialized", "open": "active", "closed": "closed", "settled": "finalized"}
_TIME_IN_FORCE = ("fill_or_kill", "good_till_canceled", "immediate_or_cancel")
_STP = ("taker_at_cross", "maker")
TICK = 100  # one cent in price units: the markets' linear_cent structure


class BadRequest(Exception):
    def __init__(self, message: str, code: str = "bad_request", status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.status = status


def error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse(error_json(code, message), status_code=status)


# --- query helpers -------------------------------------------------------------------------------

def _flag(request: Request, name: str) -> bool:
    value = request.query_params.get(name, "false").lower()
    if value not in ("true", "false"):
        raise BadRequest(f"{name} must be true or false")
    return value == "true"


def _int(request: Request, name: str) -> int | None:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return None
    try:
        return int(raw)
    except ValueError:
        raise BadRequest(f"{name} must be an integer") from None


def paginate(request: Request, items: list[T], default: int, maximum: int) -> tuple[list[T], str]:
    """One page of ``items`` and the cursor of the next ('' when this is the last)."""
    limit = _int(request, "limit") or default
    if not 1 <= limit <= maximum:
        raise BadRequest(f"limit must be between 1 and {maximum}")
    start = 0
    cursor = request.query_params.get("cursor", "")
    if cursor:
        try:
            start = int(base64.urlsafe_b64decode(cursor.encode()).decode().removeprefix("o:"))
        except (ValueError, binascii.Error, UnicodeDecodeError):
            raise BadRequest("cursor is not one this exchange issued") from None
    end = start + limit
    following = base64.urlsafe_b64encode(f"o:{end}".encode()).decode() if end < len(items) else ""
    return items[start:end], following


def _market_body(sim: Simulator, event: EventDef, market: MarketDef) -> dict[str, Any]:
    now = sim.now()
    sim.makers.refresh(event, market, now)
    result = sim.catalog.outcome(event, market) if event.status(now) == "finalized" else None
    return market_json(event, market, now, sim.exchange.books.get(market.ticker),
                       sim.exchange.stats.get(market.ticker), result)


# --- market data ---------------------------------------------------------------------------------

async def exchange_status(request: Request, sim: Simulator) -> Response:
    return JSONResponse({"exchange_active": True, "trading_active": True,
                         "exchange_estimated_resume_time": None})


async def list_series(request: Request, sim: Simulator) -> Response:
    category = request.query_params.get("category")
    series = [series_json(s) for s in sim.catalog.series()]
    return JSONResponse({"series": [s for s in series if category in (None, s["category"])]})


async def get_series(request: Request, sim: Simulator) -> Response:
    series = sim.catalog.one_series(request.path_params["series_ticker"])
    if series is None:
        return error(404, "not_found", "no such series")
    return JSONResponse({"series": series_json(series)})


def _status_filter(request: Request) -> str | None:
    status = request.query_params.get("status")
    if status is None or status == "":
        return None
    if status not in _STATUS_FILTER:
        raise BadRequest(f"status must be one of {sorted(_STATUS_FILTER)}")
    return _STATUS_FILTER[status]


async def list_events(request: Request, sim: Simulator) -> Response:
    now = sim.now()
    status = _status_filter(request)
    events = sim.catalog.events(now, request.query_params.get("series_ticker") or None)
    if tickers := request.query_params.get("tickers"):
        wanted = tickers.split(",")
        events = [e for t in wanted if (e := sim.catalog.event(t)) is not None]
    events = [e for e in events if status is None or e.status(now) == status]
    page, cursor = paginate(request, events, 200, 200)
    nested = _flag(request, "with_nested_markets")
    body = [event_json(e, [_market_body(sim, e, m) for m in e.markets] if nested else None) for e in page]
    return JSONResponse({"events": body, "cursor": cursor})


async def get_event(request: Request, sim: Simulator) -> Response:
    event = sim.catalog.event(request.path_params["event_ticker"])
    if event is None:
        return error(404, "not_found", "no such event")
    markets = [_market_body(sim, event, m) for m in event.markets]
    nested = _flag(request, "with_nested_markets")
    return JSONResponse({"event": event_json(event, markets if nested else None), "markets": markets})


async def list_markets(request: Request, sim: Simulator) -> Response:
    now = sim.now()
    status = _status_filter(request)
    if event_ticker := request.query_params.get("event_ticker"):
        found = sim.catalog.event(event_ticker)
        events = [found] if found is not None else []
    else:
        events = sim.catalog.events(now, request.query_params.get("series_ticker") or None)
    pairs = [(e, m) for e in events for m in e.markets if status is None or e.status(now) == status]
    if tickers := request.query_params.get("tickers"):
        pairs = [p for t in tickers.split(",") if (p := sim.catalog.market(t)) is not None]
    page, cursor = paginate(request, pairs, 100, 1000)
    return JSONResponse({"markets": [_market_body(sim, e, m) for e, m in page], "cursor": cursor})


async def get_market(request: Request, sim: Simulator) -> Response:
    found = sim.catalog.market(request.path_params["ticker"])
    if found is None:
        return error(404, "not_found", "no such market")
    return JSONResponse({"market": _market_body(sim, *found)})


async def get_orderbook(request: Request, sim: Simulator) -> Response:
    found = sim.catalog.market(request.path_params["ticker"])
    if found is None:
        return error(404, "not_found", "no such market")
    sim.makers.refresh(*found, sim.now())
    depth = _int(request, "depth") or 0
    if not 0 <= depth <= 100:
        raise BadRequest("depth must be between 0 and 100")
    return JSONResponse(orderbook_json(sim.exchange.books.get(found[1].ticker), depth))


# --- orders --------------------------------------------------------------------------------------

def _field(body: dict[str, Any], name: str, kind: type[T], default: T | None = None) -> T:
    value = body.get(name, default)
    if value is None:
        raise BadRequest(f"{name} is required", "missing_parameters")
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise BadRequest(f"{name} must be a {kind.__name__}", "invalid_parameters")
    return value


async def create_order(request: Request, sim: Simulator) -> Response:
    try:
        body = await request.json()
    except ValueError:
        raise BadRequest("the body is not JSON") from None
    if not isinstance(body, dict):
        raise BadRequest("the body must be a JSON object")
    ticker = _field(body, "ticker", str)
    side = _field(body, "side", str)
    tif = _field(body, "time_in_force", str)
    stp = _field(body, "self_trade_prevention_type", str)
    client_order_id = _field(body, "client_order_id", str, "")
    post_only = _field(body, "post_only", bool, False)
    if side not in ("bid", "ask") or tif not in _TIME_IN_FORCE or stp not in _STP:
        raise BadRequest("side, time_in_force or self_trade_prevention_type is not an allowed value",
                         "invalid_parameters")
    try:
        count = count_from_fp(_field(body, "count", str))
        price = price_from_dollars(_field(body, "price", str))
    except BadFixedPoint as e:
        raise BadRequest(str(e), "invalid_parameters") from None
    if count <= 0 or not TICK <= price <= PRICE_SCALE - TICK or price % TICK:
        raise BadRequest("count must be positive and price a whole cent from 0.01 to 0.99",
                         "invalid_parameters")
    found = sim.catalog.market(ticker)
    if found is None:
        return error(404, "market_not_found", "no such market")
    event, market = found
    now = sim.now()
    if event.status(now) != "active":
        return error(400, "market_closed", f"the market is {event.status(now)}, not open for trading")
    sim.makers.refresh(event, market, now)
    order = sim.exchange.submit(owner=USER, ticker=ticker, event_ticker=event.ticker, side=side,  # type: ignore[arg-type]
                                price=price, count=count, now_ms=sim.now_ms(),
                                client_order_id=client_order_id, time_in_force=tif,  # type: ignore[arg-type]
                                stp=stp, post_only=post_only)  # type: ignore[arg-type]
    if sim.faults.lose_create_answer_next > 0:
        sim.faults.lose_create_answer_next -= 1
        return error(504, "gateway_timeout", "the upstream did not answer in time")
    answer: dict[str, Any] = {"order_id": order.order_id, "client_order_id": order.client_order_id,
                              "fill_count": f"{Decimal(order.filled) / COUNT_SCALE:.2f}",
                              "remaining_count": f"{Decimal(order.remaining) / COUNT_SCALE:.2f}",
                              "ts_ms": sim.now_ms()}
    if order.filled:
        average = Decimal(order.taker_cost) / order.filled / PRICE_SCALE
        fee = Decimal(order.taker_fees) / MONEY_SCALE / (Decimal(order.filled) / COUNT_SCALE)
        answer["average_fill_price"] = f"{average:.4f}"
        answer["average_fee_paid"] = f"{fee:.4f}"
    return JSONResponse(answer, status_code=201)


async def create_order_v1(request: Request, sim: Simulator) -> Response:
    return error(410, "gone", "POST /portfolio/orders is retired; use POST /portfolio/events/orders")


async def cancel_order(request: Request, sim: Simulator) -> Response:
    try:
        order, reduced = sim.exchange.cancel(request.path_params["order_id"], sim.now_ms())
    except OrderRejected as e:
        return error(e.status, e.code, e.message)
    return JSONResponse({"order_id": order.order_id, "client_order_id": order.client_order_id,
                         "reduced_by": f"{Decimal(reduced) / COUNT_SCALE:.2f}", "ts_ms": sim.now_ms()})


async def list_orders(request: Request, sim: Simulator) -> Response:
    q = request.query_params
    min_ts, max_ts = _int(request, "min_ts"), _int(request, "max_ts")
    orders = sorted(sim.exchange.orders.values(), key=lambda o: o.seq, reverse=True)
    orders = [o for o in orders
              if q.get("ticker") in (None, "", o.ticker)
              and q.get("event_ticker") in (None, "", o.event_ticker)
              and q.get("status") in (None, "", o.status)
              and (min_ts is None or o.created_ms >= min_ts * 1000)
              and (max_ts is None or o.created_ms <= max_ts * 1000)]
    page, cursor = paginate(request, orders, 100, 1000)
    return JSONResponse({"orders": [order_json(o) for o in page], "cursor": cursor})


async def get_order(request: Request, sim: Simulator) -> Response:
    order = sim.exchange.orders.get(request.path_params["order_id"])
    if order is None:
        return error(404, "not_found", "no such order")
    return JSONResponse({"order": order_json(order)})


async def list_fills(request: Request, sim: Simulator) -> Response:
    q = request.query_params
    min_ts, max_ts = _int(request, "min_ts"), _int(request, "max_ts")
    fills = [f for f in reversed(sim.exchange.fills)
             if q.get("ticker") in (None, "", f.ticker) and q.get("order_id") in (None, "", f.order_id)
             and (min_ts is None or f.ts_ms >= min_ts * 1000)
             and (max_ts is None or f.ts_ms <= max_ts * 1000)]
    if sim.faults.out_of_order_fills:
        fills.reverse()
    if sim.faults.duplicate_fills:
        fills = [f for fill in fills for f in (fill, fill)]
    page, cursor = paginate(request, fills, 100, 1000)
    return JSONResponse({"fills": [fill_json(f) for f in page], "cursor": cursor})


async def list_positions(request: Request, sim: Simulator) -> Response:
    q = request.query_params
    positions = [p for p in sorted(sim.exchange.positions.values(), key=lambda p: p.ticker)
                 if (p.position != 0 or (q.get("count_filter") == "total_traded" and p.total_traded))
                 and q.get("ticker") in (None, "", p.ticker)
                 and q.get("event_ticker") in (None, "", p.event_ticker)]
    page, cursor = paginate(request, positions, 100, 1000)
    return JSONResponse({"market_positions": [market_position_json(p) for p in page],
                         "event_positions": event_positions_json(page), "cursor": cursor})


async def get_balance(request: Request, sim: Simulator) -> Response:
    exchange = sim.exchange
    exposure = sum(p.cost for p in exchange.positions.values())
    cents = MONEY_SCALE // 100
    return JSONResponse({"balance": exchange.balance // cents,
                         "balance_dollars": money_dollars(exchange.balance),
                         "portfolio_value": (exchange.balance + exposure) // cents,
                         "updated_ts": sim.now_ms() // 1000})
