"""The simulator's read endpoints: market data and the account's portfolio.

Order entry is in :mod:`.orders`; what counts as historical, and the ``/historical/*`` reads, in
:mod:`.history`: the live reads here leave archived records out.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from adapters.kalshi.simulator.catalog import EventDef, MarketDef
from adapters.kalshi.simulator.history import (
    cutoff_ms,
    event_archived,
    fill_archived,
    order_archived,
    position_archived,
    positions_body,
)
from adapters.kalshi.simulator.rest import (
    BadRequest,
    error,
    flag,
    in_window,
    integer,
    market_body,
    paginate,
    text,
)
from adapters.kalshi.simulator.wire import (
    event_json,
    fill_json,
    money_dollars,
    order_json,
    orderbook_json,
    series_json,
    settlement_json,
)
from domain.money import MONEY_SCALE, count_to_fp

if TYPE_CHECKING:
    from adapters.kalshi.simulator.app import Simulator

_STATUS_FILTER = {"unopened": "initialized", "open": "active", "closed": "closed", "settled": "finalized"}


def _live_market(sim: Simulator, ticker: str) -> tuple[EventDef, MarketDef] | None:
    """The market, unless it is unknown or archived (then only ``/historical/markets`` has it)."""
    found = sim.catalog.market(ticker)
    return None if found is None or event_archived(found[0], sim.now()) else found


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
    nested = flag(request, "with_nested_markets")
    body = [event_json(e, [market_body(sim, e, m) for m in e.markets] if nested else None) for e in page]
    return JSONResponse({"events": body, "cursor": cursor})


async def get_event(request: Request, sim: Simulator) -> Response:
    event = sim.catalog.event(request.path_params["event_ticker"])
    if event is None:
        return error(404, "not_found", "no such event")
    markets = [market_body(sim, event, m) for m in event.markets]
    nested = flag(request, "with_nested_markets")
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
    pairs = [(e, m) for e, m in pairs if not event_archived(e, now)]
    page, cursor = paginate(request, pairs, 100, 1000)
    return JSONResponse({"markets": [market_body(sim, e, m) for e, m in page], "cursor": cursor})


async def get_market(request: Request, sim: Simulator) -> Response:
    found = _live_market(sim, request.path_params["ticker"])
    if found is None:
        return error(404, "not_found", "no such market")
    return JSONResponse({"market": market_body(sim, *found)})


async def get_orderbook(request: Request, sim: Simulator) -> Response:
    found = _live_market(sim, request.path_params["ticker"])
    if found is None:
        return error(404, "not_found", "no such market")
    sim.makers.refresh(*found, sim.now())
    depth = integer(request, "depth") or 0
    if not 0 <= depth <= 100:
        raise BadRequest("depth must be between 0 and 100")
    return JSONResponse(orderbook_json(sim.exchange.books.get(found[1].ticker), depth))


# --- portfolio -----------------------------------------------------------------------------------

async def list_orders(request: Request, sim: Simulator) -> Response:
    limit = cutoff_ms(sim.now())
    ticker, event_ticker = text(request, "ticker"), text(request, "event_ticker")
    events = None if event_ticker is None else set(event_ticker.split(","))
    status = text(request, "status")
    orders = [o for o in sorted(sim.exchange.orders.values(), key=lambda o: o.seq, reverse=True)
              if not order_archived(o, limit) and ticker in (None, o.ticker)
              and (events is None or o.event_ticker in events) and status in (None, o.status)
              and in_window(o.created_ms, request)]
    page, cursor = paginate(request, orders, 100, 1000)
    return JSONResponse({"orders": [order_json(o) for o in page], "cursor": cursor})


async def get_order(request: Request, sim: Simulator) -> Response:
    order = sim.exchange.orders.get(request.path_params["order_id"])
    if order is None or order_archived(order, cutoff_ms(sim.now())):
        return error(404, "not_found", "no such order (archived orders are in /historical/orders)")
    return JSONResponse({"order": order_json(order)})


async def list_fills(request: Request, sim: Simulator) -> Response:
    limit = cutoff_ms(sim.now())
    ticker, order_id = text(request, "ticker"), text(request, "order_id")
    fills = [f for f in reversed(sim.exchange.fills)
             if not fill_archived(f, limit) and ticker in (None, f.ticker)
             and order_id in (None, f.order_id) and in_window(f.ts_ms, request)]
    if sim.faults.out_of_order_fills:
        fills.reverse()
    if sim.faults.duplicate_fills:
        fills = [f for fill in fills for f in (fill, fill)]
    page, cursor = paginate(request, fills, 100, 1000)
    return JSONResponse({"fills": [fill_json(f) for f in page], "cursor": cursor})


async def list_positions(request: Request, sim: Simulator) -> Response:
    every = request.query_params.get("count_filter") == "total_traded"
    positions = [p for p in sorted(sim.exchange.positions.values(), key=lambda p: p.ticker)
                 if (p.position != 0 or (every and p.total_traded)) and not position_archived(sim, p)]
    return JSONResponse(positions_body(request, positions))


async def get_balance(request: Request, sim: Simulator) -> Response:
    """``balance`` is what is available: cash less the collateral resting orders hold.
    ``portfolio_value`` is the open positions' value, at what they cost."""
    exchange = sim.exchange
    available = exchange.available()
    exposure = sum(p.cost for p in exchange.positions.values())
    cents = MONEY_SCALE // 100
    return JSONResponse({"balance": available // cents, "balance_dollars": money_dollars(available),
                         "portfolio_value": exposure // cents, "updated_ts": sim.now_ms() // 1000})


async def list_settlements(request: Request, sim: Simulator) -> Response:
    ticker, event_ticker = text(request, "ticker"), text(request, "event_ticker")
    chosen = [s for s in reversed(sim.exchange.settlements)
              if ticker in (None, s.ticker) and event_ticker in (None, s.event_ticker)
              and in_window(s.settled_ms, request)]
    page, cursor = paginate(request, chosen, 100, 1000)
    return JSONResponse({"settlements": [settlement_json(s) for s in page], "cursor": cursor})


async def get_queue_position(request: Request, sim: Simulator) -> Response:
    ahead = sim.exchange.queue_position(request.path_params["order_id"])
    return JSONResponse({"queue_position_fp": count_to_fp(ahead)})


async def list_queue_positions(request: Request, sim: Simulator) -> Response:
    tickers = text(request, "market_tickers")
    markets = None if tickers is None else set(tickers.split(","))
    event_ticker = text(request, "event_ticker")
    resting = [o for o in sorted(sim.exchange.orders.values(), key=lambda o: o.seq)
               if o.status == "resting" and (markets is None or o.ticker in markets)
               and event_ticker in (None, o.event_ticker)]
    return JSONResponse({"queue_positions": [
        {"order_id": o.order_id, "market_ticker": o.ticker,
         "queue_position_fp": count_to_fp(sim.exchange.queue_position(o.order_id))} for o in resting]})
