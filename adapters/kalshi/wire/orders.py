"""V2 order request bodies (``/portfolio/events/orders``) and the order answers the spec defines.

Requests take our vocabulary (side, action, price in that side's leg) and send the spec's: ``side``
``bid``/``ask`` on the YES book, ``price`` the YES price as a ``*_dollars`` string, ``count`` as an
``*_fp`` string (see :mod:`adapters.kalshi.wire.sides`). ``client_order_id`` is passed through
untouched: the caller derives it from the decision, which makes a resend idempotent.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, TypeVar, cast

from adapters.kalshi.errors import MalformedResponse
from adapters.kalshi.wire import json_fields as f
from adapters.kalshi.wire.sides import BOOK_SIDES, BookSide, from_book, to_book
from domain.events.base import Action, Side
from domain.money import count_to_fp, price_to_dollars

T = TypeVar("T")

TimeInForce = Literal["fill_or_kill", "good_till_canceled", "immediate_or_cancel"]
OrderStatus = Literal["resting", "canceled", "executed"]
ORDER_STATUSES = ("resting", "canceled", "executed")


@dataclass(frozen=True)
class NewOrder:
    """One order to create. ``price`` is in the ``side``'s own leg (a NO order quotes the NO price)."""

    ticker: str
    client_order_id: str
    side: Side
    action: Action
    price: int
    count: int
    time_in_force: TimeInForce = "good_till_canceled"
    post_only: bool = False
    self_trade_prevention_type: Literal["taker_at_cross", "maker"] = "taker_at_cross"
    expiration_time: int | None = None
    reduce_only: bool = False
    cancel_order_on_pause: bool = False

    def body(self) -> dict[str, Any]:
        """The ``CreateOrderV2Request`` JSON object."""
        book_side, yes_price = to_book(self.side, self.action, self.price)
        body: dict[str, Any] = {
            "ticker": self.ticker, "client_order_id": self.client_order_id, "side": book_side,
            "count": count_to_fp(self.count), "price": price_to_dollars(yes_price),
            "time_in_force": self.time_in_force,
            "self_trade_prevention_type": self.self_trade_prevention_type,
            "post_only": self.post_only, "reduce_only": self.reduce_only,
            "cancel_order_on_pause": self.cancel_order_on_pause,
        }
        if self.expiration_time is not None:
            body["expiration_time"] = self.expiration_time
        return body


def amend_body(ticker: str, side: Side, action: Action, price: int, count: int, *,
               client_order_id: str | None = None,
               updated_client_order_id: str | None = None) -> dict[str, Any]:
    """An ``AmendOrderV2Request``: ``count`` is the new total (filled plus still resting)."""
    book_side, yes_price = to_book(side, action, price)
    body: dict[str, Any] = {"ticker": ticker, "side": book_side, "price": price_to_dollars(yes_price),
                            "count": count_to_fp(count)}
    if client_order_id is not None:
        body["client_order_id"] = client_order_id
    if updated_client_order_id is not None:
        body["updated_client_order_id"] = updated_client_order_id
    return body


def decrease_body(ticker: str, *, reduce_by: int | None = None, reduce_to: int | None = None
                  ) -> dict[str, Any]:
    """A ``DecreaseOrderV2Request``: exactly one of ``reduce_by`` / ``reduce_to``."""
    if (reduce_by is None) == (reduce_to is None):
        raise ValueError("give exactly one of reduce_by and reduce_to")
    body: dict[str, Any] = {"market_ticker": ticker}
    if reduce_by is not None:
        body["reduce_by"] = count_to_fp(reduce_by)
    else:
        body["reduce_to"] = count_to_fp(cast(int, reduce_to))
    return body


@dataclass(frozen=True)
class Placement:
    """What a create (or a batch item) answered; ``already_placed`` when a 409 was resolved by a read."""

    order_id: str
    client_order_id: str | None
    fill_count: int
    remaining_count: int
    average_fill_price: int | None
    average_fee_paid: int | None
    already_placed: bool = False


@dataclass(frozen=True)
class OrderChange:
    """A cancel, amend or decrease answer: the order's counts after the change, where given."""

    order_id: str
    client_order_id: str | None
    remaining_count: int | None = None
    fill_count: int | None = None
    reduced_by: int | None = None


@dataclass(frozen=True)
class BatchItemError:
    client_order_id: str | None
    code: str
    message: str


@dataclass(frozen=True)
class VenueOrder:
    """An ``Order`` as the venue holds it. ``side``/``action``/``price`` are read per
    :func:`adapters.kalshi.wire.sides.from_book`; ``book_side`` and ``yes_price`` are the raw bits."""

    order_id: str
    client_order_id: str
    ticker: str
    status: OrderStatus
    book_side: BookSide
    yes_price: int
    side: Side
    action: Action
    price: int
    fill_count: int
    remaining_count: int
    initial_count: int
    taker_fees: int
    maker_fees: int
    taker_fill_cost: int
    maker_fill_cost: int
    created_time: datetime | None
    last_update_time: datetime | None


def legacy_direction(o: Any, where: str) -> tuple[Side | None, Action | None]:
    side = f.opt_enum(o, "side", where, ("yes", "no"))
    action = f.opt_enum(o, "action", where, ("buy", "sell"))
    return (Side(side) if side else None), (Action(action) if action else None)


def directed(book_side: BookSide, yes_price: int, o: Any, where: str) -> tuple[Side, Action, int]:
    side, action = legacy_direction(o, where)
    try:
        return from_book(book_side, yes_price, side=side, action=action)
    except ValueError as e:
        raise MalformedResponse(f"{where}: {e}") from None


def order(payload: Any) -> VenueOrder:
    o = f.obj(payload, "order")
    w = f"order {f.req_str(o, 'order_id', 'order')[:60]}"
    book_side = cast(BookSide, f.enum(o, "book_side", w, BOOK_SIDES))
    yes_price = f.req_price(o, "yes_price_dollars", w)
    no_price = f.req_price(o, "no_price_dollars", w)
    if yes_price + no_price != 10_000:
        raise MalformedResponse(f"{w}: yes and no prices do not add up to one dollar")
    side, action, price = directed(book_side, yes_price, o, w)
    return VenueOrder(
        order_id=f.req_str(o, "order_id", w), client_order_id=f.req_str(o, "client_order_id", w),
        ticker=f.req_str(o, "ticker", w), status=cast(OrderStatus, f.enum(o, "status", w, ORDER_STATUSES)),
        book_side=book_side, yes_price=yes_price, side=side, action=action, price=price,
        fill_count=f.req_count(o, "fill_count_fp", w),
        remaining_count=f.req_count(o, "remaining_count_fp", w),
        initial_count=f.req_count(o, "initial_count_fp", w),
        taker_fees=f.req_money(o, "taker_fees_dollars", w),
        maker_fees=f.req_money(o, "maker_fees_dollars", w),
        taker_fill_cost=f.req_money(o, "taker_fill_cost_dollars", w),
        maker_fill_cost=f.req_money(o, "maker_fill_cost_dollars", w),
        created_time=f.opt_time(o, "created_time", w), last_update_time=f.opt_time(o, "last_update_time", w))


def placement(payload: Any) -> Placement:
    """A ``CreateOrderV2Response``."""
    o = f.obj(payload, "create order answer")
    w = "create order answer"
    f.req_int(o, "ts_ms", w)
    return Placement(order_id=f.req_str(o, "order_id", w), client_order_id=f.opt_str(o, "client_order_id", w),
                     fill_count=f.req_count(o, "fill_count", w),
                     remaining_count=f.req_count(o, "remaining_count", w),
                     average_fill_price=f.opt_money(o, "average_fill_price", w),
                     average_fee_paid=f.opt_money(o, "average_fee_paid", w))


def placement_of(existing: VenueOrder) -> Placement:
    """The placement an order already on the venue stands for (the 409 path)."""
    return Placement(order_id=existing.order_id, client_order_id=existing.client_order_id,
                     fill_count=existing.fill_count, remaining_count=existing.remaining_count,
                     average_fill_price=None, average_fee_paid=None, already_placed=True)


def _batch(payload: Any, what: str, read: Callable[[Mapping[str, Any], str], T]) -> list[T | BatchItemError]:
    """A batch answer: per requested order, in order, ``read``'s value or the item's error."""
    o = f.obj(payload, what)
    results: list[T | BatchItemError] = []
    for i, item in enumerate(f.req_list(o, "orders", what)):
        w = f"{what} item {i}"
        it = f.obj(item, w)
        if it.get("error") is None:
            results.append(read(it, w))
            continue
        err = f.req_obj(it, "error", w)
        results.append(BatchItemError(client_order_id=f.opt_str(it, "client_order_id", w),
                                      code=(f.opt_str(err, "code", w) or "")[:80],
                                      message=(f.opt_str(err, "message", w) or "")[:200]))
    return results


def batch_results(payload: Any) -> list[Placement | BatchItemError]:
    """A ``BatchCreateOrdersV2Response``: one placement or error per requested order, in order."""
    return _batch(payload, "batch answer", lambda it, w: Placement(
        order_id=f.req_str(it, "order_id", w), client_order_id=f.opt_str(it, "client_order_id", w),
        fill_count=f.req_count(it, "fill_count", w),
        remaining_count=f.req_count(it, "remaining_count", w),
        average_fill_price=f.opt_money(it, "average_fill_price", w),
        average_fee_paid=f.opt_money(it, "average_fee_paid", w)))


def batch_cancel_results(payload: Any) -> list[OrderChange | BatchItemError]:
    """A ``BatchCancelOrdersV2Response``: per order, what was canceled (``reduced_by``) or why not."""
    return _batch(payload, "batch cancel answer", lambda it, w: OrderChange(
        order_id=f.req_str(it, "order_id", w), client_order_id=f.opt_str(it, "client_order_id", w),
        reduced_by=f.req_count(it, "reduced_by", w)))


def order_change(payload: Any, what: str) -> OrderChange:
    """A ``CancelOrderV2Response``, ``AmendOrderV2Response`` or ``DecreaseOrderV2Response``."""
    o = f.obj(payload, f"{what} answer")
    w = f"{what} answer"
    f.req_int(o, "ts_ms", w)
    return OrderChange(order_id=f.req_str(o, "order_id", w),
    client_order_id=f.opt_str(o, "client_order_id", w),
                       remaining_count=(f.req_count(o, "remaining_count", w) if what == "decrease"
                                        else f.opt_count(o, "remaining_count", w)),
                       fill_count=f.opt_count(o, "fill_count", w),
                       reduced_by=(f.req_count(o, "reduced_by", w) if what == "cancel" else None))
