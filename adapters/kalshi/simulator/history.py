"""Live and historical data: the simulator's archive rule and the ``/historical/*`` endpoints.

Kalshi moves old records out of the live endpoints into ``/historical/*`` behind cutoffs that
``GET /historical/cutoff`` publishes and that advance over time (its live window is about three
months). The simulator's rule, one cutoff for all four timestamps:

    cutoff = midnight UTC of the simulated clock's date, minus ``ARCHIVE_AFTER`` (30 days)

so it steps forward once a simulated day, like a nightly archiving job. Older than the cutoff:

* **markets** whose event settled before it answer 404 on ``GET /markets/{ticker}`` and leave
  ``GET /markets``; ``/historical/markets[/{ticker}]`` serves them. Events keep their markets on
  ``/events`` (Kalshi keeps old events and series on their own endpoints).
* **fills** created before it are only in ``/historical/fills``.
* **orders** canceled or executed (last updated) before it are only in ``/historical/orders``
  (``GET /portfolio/orders/{id}`` answers 404); resting orders are always live.
* **positions** of events that settled before it are only in ``/historical/positions``, a whole
  event at a time, as the spec says.
* **settlements** stay in ``/portfolio/settlements``: the spec has no historical settlements.

``GET /historical/markets`` with ``event_ticker`` or ``tickers`` finds archived markets of any age;
without them it lists the archived events that settled within ``LISTED`` before the cutoff, latest
first (the simulated past has no beginning, so the listing needs one).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from adapters.kalshi.simulator.catalog import EventDef
from adapters.kalshi.simulator.records import Fill, Order, Position
from adapters.kalshi.simulator.rest import BadRequest, error, in_window, market_body, paginate, text
from adapters.kalshi.simulator.wire import (
    event_positions_json,
    fill_json,
    iso,
    market_position_json,
    order_json,
)

if TYPE_CHECKING:
    from adapters.kalshi.simulator.app import Simulator

ARCHIVE_AFTER = timedelta(days=30)
LISTED = timedelta(days=31)


def cutoff(now: datetime) -> datetime:
    """The instant before which records are historical (see the module docstring)."""
    midnight = now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return midnight - ARCHIVE_AFTER


def cutoff_ms(now: datetime) -> int:
    return int(cutoff(now).timestamp() * 1000)


def event_archived(event: EventDef, now: datetime) -> bool:
    return event.settle_time < cutoff(now)


def order_archived(order: Order, limit_ms: int) -> bool:
    return order.status != "resting" and order.updated_ms < limit_ms


def fill_archived(fill: Fill, limit_ms: int) -> bool:
    return fill.ts_ms < limit_ms


def position_archived(sim: Simulator, pos: Position) -> bool:
    event = sim.catalog.event(pos.event_ticker)
    return event is not None and pos.position == 0 and event_archived(event, sim.now())


def positions_body(request: Request, positions: list[Position]) -> dict[str, object]:
    """A ``GetPositionsResponse`` page of ``positions``, filtered by ``ticker``/``event_ticker``."""
    ticker, event_ticker = text(request, "ticker"), text(request, "event_ticker")
    chosen = [p for p in positions if ticker in (None, p.ticker) and event_ticker in (None, p.event_ticker)]
    page, cursor = paginate(request, chosen, 100, 1000)
    return {"market_positions": [market_position_json(p) for p in page],
            "event_positions": event_positions_json(page), "cursor": cursor}


# --- endpoints -----------------------------------------------------------------------------------

async def get_cutoff(request: Request, sim: Simulator) -> Response:
    stamp = iso(cutoff(sim.now()))
    return JSONResponse({"market_settled_ts": stamp, "trades_created_ts": stamp,
                         "orders_updated_ts": stamp, "market_positions_last_updated_ts": stamp})


async def list_markets(request: Request, sim: Simulator) -> Response:
    now = sim.now()
    tickers, event_ticker = text(request, "tickers"), text(request, "event_ticker")
    series_ticker = text(request, "series_ticker")
    if sum(x is not None for x in (tickers, event_ticker, series_ticker)) > 1:
        raise BadRequest("tickers, event_ticker and series_ticker cannot be combined")
    if text(request, "mve_filter") not in (None, "exclude"):
        raise BadRequest("mve_filter must be exclude")
    if tickers is not None:
        pairs = [p for t in tickers.split(",") if (p := sim.catalog.market(t)) is not None]
    else:
        if event_ticker is not None:
            found = sim.catalog.event(event_ticker)
            events = [found] if found is not None else []
        else:
            end = cutoff(now)
            events = sim.catalog.events_settling(end - LISTED, end, series_ticker)
        pairs = [(e, m) for e in events for m in e.markets]
    pairs = [(e, m) for e, m in pairs if event_archived(e, now)]
    page, cursor = paginate(request, pairs, 100, 1000)
    return JSONResponse({"markets": [market_body(sim, e, m) for e, m in page], "cursor": cursor})


async def get_market(request: Request, sim: Simulator) -> Response:
    found = sim.catalog.market(request.path_params["ticker"])
    if found is None or not event_archived(found[0], sim.now()):
        return error(404, "not_found", "no such market in the historical archive")
    return JSONResponse({"market": market_body(sim, *found)})


async def list_fills(request: Request, sim: Simulator) -> Response:
    limit = cutoff_ms(sim.now())
    ticker = text(request, "ticker")
    fills = [f for f in reversed(sim.exchange.fills)
             if fill_archived(f, limit) and ticker in (None, f.ticker) and in_window(f.ts_ms, request)]
    page, cursor = paginate(request, fills, 100, 1000)
    return JSONResponse({"fills": [fill_json(f) for f in page], "cursor": cursor})


async def list_orders(request: Request, sim: Simulator) -> Response:
    limit = cutoff_ms(sim.now())
    ticker = text(request, "ticker")
    orders = [o for o in sorted(sim.exchange.orders.values(), key=lambda o: o.seq, reverse=True)
              if order_archived(o, limit) and ticker in (None, o.ticker)
              and in_window(o.created_ms, request)]
    page, cursor = paginate(request, orders, 100, 1000)
    return JSONResponse({"orders": [order_json(o) for o in page], "cursor": cursor})


async def list_positions(request: Request, sim: Simulator) -> Response:
    archived = [p for p in sorted(sim.exchange.positions.values(), key=lambda p: p.ticker)
                if position_archived(sim, p)]
    return JSONResponse(positions_body(request, archived))
