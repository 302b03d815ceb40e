"""The V2 order-entry endpoints: create (one or a batch), amend, decrease, cancel (one or a batch).

A batch is checked whole first: a malformed item (a missing field, a bad price) refuses the batch
with a 400, as a request validator would. Then each order is placed in turn, and what the exchange
refuses (a ``client_order_id`` already used, by an earlier item of the same batch too; a closed
market; too little balance) becomes that item's ``error`` while the others go ahead.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from adapters.kalshi.simulator.book import SelfTradePrevention, Side
from adapters.kalshi.simulator.exchange import USER, Order, OrderRejected, TimeInForce
from adapters.kalshi.simulator.rest import (
    BadRequest,
    count_field,
    error,
    field,
    json_object,
    optional,
    text,
)
from adapters.kalshi.simulator.wire import (
    batch_error_json,
    error_json,
    live_remaining,
    per_contract_dollars,
    placement_json,
)
from domain.money import PRICE_SCALE, BadFixedPoint, count_from_fp, count_to_fp, price_from_dollars

if TYPE_CHECKING:
    from adapters.kalshi.simulator.app import Simulator

_TIME_IN_FORCE = ("fill_or_kill", "good_till_canceled", "immediate_or_cancel")
_STP = ("taker_at_cross", "maker")
TICK = 100  # one cent in price units: the markets' linear_cent structure
MAX_BATCH = 20


@dataclass(frozen=True)
class NewOrder:
    """A ``CreateOrderV2Request``, checked."""

    ticker: str
    side: Side
    price: int
    count: int
    time_in_force: TimeInForce
    stp: SelfTradePrevention
    client_order_id: str
    post_only: bool


def _side(body: dict[str, Any]) -> Side:
    side = field(body, "side", str)
    if side not in ("bid", "ask"):
        raise BadRequest("side must be bid or ask", "invalid_parameters")
    return cast(Side, side)


def _price(body: dict[str, Any]) -> int:
    try:
        price = price_from_dollars(field(body, "price", str))
    except BadFixedPoint as e:
        raise BadRequest(str(e), "invalid_parameters") from None
    if not TICK <= price <= PRICE_SCALE - TICK or price % TICK:
        raise BadRequest("price must be a whole cent from 0.01 to 0.99", "invalid_parameters")
    return price


def _count(body: dict[str, Any]) -> int:
    try:
        count = count_from_fp(field(body, "count", str))
    except BadFixedPoint as e:
        raise BadRequest(str(e), "invalid_parameters") from None
    if count <= 0:
        raise BadRequest("count must be positive", "invalid_parameters")
    return count


def parse_new_order(body: dict[str, Any]) -> NewOrder:
    ticker = field(body, "ticker", str)
    side = _side(body)
    tif = field(body, "time_in_force", str)
    stp = field(body, "self_trade_prevention_type", str)
    client_order_id = field(body, "client_order_id", str, "")
    post_only = field(body, "post_only", bool, False)
    if tif not in _TIME_IN_FORCE or stp not in _STP:
        raise BadRequest("time_in_force or self_trade_prevention_type is not an allowed value",
                         "invalid_parameters")
    return NewOrder(ticker, side, _price(body), _count(body), cast(TimeInForce, tif),
                    cast(SelfTradePrevention, stp), client_order_id, post_only)


def _open_market(sim: Simulator, ticker: str) -> str:
    """The open market's event ticker (its makers' quotes refreshed), or the exchange's refusal."""
    found = sim.catalog.market(ticker)
    if found is None:
        raise OrderRejected(404, "market_not_found", "no such market")
    event, market = found
    now = sim.now()
    if event.status(now) != "active":
        raise OrderRejected(400, "market_closed", f"the market is {event.status(now)}, not open for trading")
    sim.makers.refresh(event, market, now)
    return event.ticker


def place(sim: Simulator, new: NewOrder) -> Order:
    event_ticker = _open_market(sim, new.ticker)
    return sim.exchange.submit(owner=USER, ticker=new.ticker, event_ticker=event_ticker, side=new.side,
                               price=new.price, count=new.count, now_ms=sim.now_ms(),
                               client_order_id=new.client_order_id, time_in_force=new.time_in_force,
                               stp=new.stp, post_only=new.post_only)


def _lose_answer(sim: Simulator) -> Response | None:
    """The ``lose_create_answer_next`` fault: the work is done, the answer is a 504."""
    if sim.faults.lose_create_answer_next > 0:
        sim.faults.lose_create_answer_next -= 1
        return error(504, "gateway_timeout", "the upstream did not answer in time")
    return None


# --- create --------------------------------------------------------------------------------------

async def create_order(request: Request, sim: Simulator) -> Response:
    order = place(sim, parse_new_order(await json_object(request)))
    lost = _lose_answer(sim)
    if lost is not None:
        return lost
    body = placement_json(order, order.filled, order.taker_cost, order.taker_fees, sim.now_ms())
    return JSONResponse(body, status_code=201)


async def create_order_v1(request: Request, sim: Simulator) -> Response:
    return error(410, "gone", "POST /portfolio/orders is retired; use POST /portfolio/events/orders")


async def batch_create_orders(request: Request, sim: Simulator) -> Response:
    items = field(await json_object(request), "orders", list)
    if not 1 <= len(items) <= MAX_BATCH:
        raise BadRequest(f"a batch holds 1 to {MAX_BATCH} orders", "invalid_parameters")
    parsed: list[NewOrder] = []
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            raise BadRequest(f"orders[{i}] is not an object", "invalid_parameters")
        try:
            parsed.append(parse_new_order(item))
        except BadRequest as e:
            raise BadRequest(f"orders[{i}]: {e.message}", e.code) from None
    answers: list[dict[str, Any]] = []
    for new in parsed:
        try:
            order = place(sim, new)
        except OrderRejected as e:
            answers.append(batch_error_json(new.client_order_id or None, e.code, e.message))
            continue
        answers.append(placement_json(order, order.filled, order.taker_cost, order.taker_fees,
                                      sim.now_ms()))
    lost = _lose_answer(sim)
    return lost if lost is not None else JSONResponse({"orders": answers}, status_code=201)


# --- change --------------------------------------------------------------------------------------

async def amend_order(request: Request, sim: Simulator) -> Response:
    body = await json_object(request)
    ticker = field(body, "ticker", str)
    side, price, count = _side(body), _price(body), _count(body)
    order_id = request.path_params["order_id"]
    known = sim.exchange.orders.get(order_id)
    if known is not None and known.status == "resting" and known.ticker == ticker:
        _open_market(sim, ticker)
    before = known.remaining if known is not None else 0
    order, taken = sim.exchange.amend(order_id, sim.now_ms(), ticker=ticker, side=side, price=price,
                                      count=count, client_order_id=optional(body, "client_order_id", str),
                                      updated_client_order_id=optional(body, "updated_client_order_id",
                                                                       str))
    filled = taken.filled if taken is not None else 0
    answer: dict[str, Any] = {"order_id": order.order_id, "client_order_id": order.client_order_id,
                              "ts_ms": sim.now_ms()}
    # The counts only when the amend traded or changed the resting size, the averages only when
    # it traded (left out, not null: see wire.batch_error_json).
    if filled or live_remaining(order) != before:
        answer["remaining_count"] = count_to_fp(live_remaining(order))
        answer["fill_count"] = count_to_fp(filled)
    if taken is not None and filled:
        answer["average_fill_price"] = per_contract_dollars(taken.cost, filled)
        answer["average_fee_paid"] = per_contract_dollars(taken.fees, filled)
    return JSONResponse(answer)


async def decrease_order(request: Request, sim: Simulator) -> Response:
    body = await json_object(request)
    order = sim.exchange.decrease(request.path_params["order_id"], sim.now_ms(),
                                  reduce_by=count_field(body, "reduce_by"),
                                  reduce_to=count_field(body, "reduce_to"),
                                  ticker=optional(body, "market_ticker", str))
    return JSONResponse({"order_id": order.order_id, "client_order_id": order.client_order_id,
                         "remaining_count": count_to_fp(live_remaining(order)), "ts_ms": sim.now_ms()})


# --- cancel --------------------------------------------------------------------------------------

async def cancel_order(request: Request, sim: Simulator) -> Response:
    order, reduced = sim.exchange.cancel(request.path_params["order_id"], sim.now_ms(),
                                         text(request, "market_ticker"))
    return JSONResponse({"order_id": order.order_id, "client_order_id": order.client_order_id,
                         "reduced_by": count_to_fp(reduced), "ts_ms": sim.now_ms()})


async def batch_cancel_orders(request: Request, sim: Simulator) -> Response:
    items = field(await json_object(request), "orders", list)
    if not 1 <= len(items) <= MAX_BATCH:
        raise BadRequest(f"a batch holds 1 to {MAX_BATCH} cancellations", "invalid_parameters")
    wanted: list[tuple[str, str | None]] = []
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            raise BadRequest(f"orders[{i}] is not an object", "invalid_parameters")
        try:
            wanted.append((field(item, "order_id", str), optional(item, "market_ticker", str)))
        except BadRequest as e:
            raise BadRequest(f"orders[{i}]: {e.message}", e.code) from None
    answers: list[dict[str, Any]] = []
    for order_id, ticker in wanted:
        try:
            order, reduced = sim.exchange.cancel(order_id, sim.now_ms(), ticker)
        except OrderRejected as e:
            answers.append({"order_id": order_id, "client_order_id": None, "reduced_by": count_to_fp(0),
                            "ts_ms": None, "error": error_json(e.code, e.message)})
            continue
        answers.append({"order_id": order.order_id, "client_order_id": order.client_order_id,
                        "reduced_by": count_to_fp(reduced), "ts_ms": sim.now_ms()})
    return JSONResponse({"orders": answers})
