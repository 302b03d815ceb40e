"""Our intents and the venue's answers as order events, each the next version of its order's
stream, for the runtime that talks to the venue.

The protocol that makes a duplicate order impossible (issue 6):

1. ``order_submitted`` -> append it; ``None`` means the book already knows the client order id
   (a retry, a restart, a replayed decision): append nothing and send nothing.
2. Send the order only when that append recorded it (not when the store reported it as already
   recorded).
3. Record the answer: ``order_accepted`` / ``order_rejected``, and each fill through ``fill_event``.
   A timeout, a 5xx or a reset after sending records nothing: the order stays in flight until
   ``domain.oms.reconciliation`` resolves it from a read of the venue. Nothing resubmits it.

Event ids are deterministic from the stream, the version and what the event says, so a command
retried after a lost store answer records nothing twice, while two different events racing for one
version conflict in the store instead of one silently replacing the other.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from domain.events import (
    IntendedOrder,
    OrderAccepted,
    OrderAmended,
    OrderCanceled,
    OrderExpired,
    OrderFilled,
    OrderRejected,
    OrderSubmitted,
    deterministic_id,
)
from domain.money import MAX_COUNT, MAX_MONEY, PRICE_SCALE
from domain.oms.book import OrderBook, direction
from domain.oms.errors import UnknownOrder
from domain.oms.findings import Finding, FindingKind, finding
from domain.oms.lifecycle import TRANSITIONS, Trigger
from domain.oms.streams import fill_event_id, fill_stream, order_stream
from domain.oms.venue import VenueFillView, yes_price_of

#: Longest venue fill id that fits its stream (``fill:{id}``, at most 200 characters).
MAX_FILL_ID = 195


def _envelope(book: OrderBook, client_order_id: str, what: str, key: object, *,
              recorded_at: datetime, correlation_id: uuid.UUID,
              causation_id: uuid.UUID | None = None, venue_time: datetime | None = None
              ) -> dict[str, Any]:
    stream = order_stream(client_order_id)
    version = book.next_version(client_order_id)
    return {"event_id": deterministic_id("oms", stream, version, what, key), "stream": stream,
            "version": version, "recorded_at": recorded_at, "venue_time": venue_time,
            "correlation_id": correlation_id, "causation_id": causation_id}


def _known(book: OrderBook, client_order_id: str) -> None:
    if book.order(client_order_id) is None:
        raise UnknownOrder(client_order_id)


def order_submitted(book: OrderBook, intent: IntendedOrder, *, decision_id: uuid.UUID | None,
                    city: str | None, recorded_at: datetime, correlation_id: uuid.UUID,
                    causation_id: uuid.UUID | None = None) -> OrderSubmitted | None:
    """The intent to record before the request leaves; ``None`` when this client order id is
    already known, in which case nothing may be sent."""
    if book.knows(intent.client_order_id):
        return None
    return OrderSubmitted(
        **_envelope(book, intent.client_order_id, "submitted", None, recorded_at=recorded_at,
                    correlation_id=correlation_id, causation_id=causation_id),
        client_order_id=intent.client_order_id, decision_id=decision_id, city=city,
        ticker=intent.ticker, side=intent.side, action=intent.action, price=intent.price,
        count=intent.count, post_only=intent.post_only)


def order_accepted(book: OrderBook, client_order_id: str, venue_order_id: str, *,
                   recorded_at: datetime, correlation_id: uuid.UUID, key: object = None,
                   venue_time: datetime | None = None) -> OrderAccepted:
    """``key`` tells apart who records it (reconciliation passes its run id)."""
    _known(book, client_order_id)
    return OrderAccepted(
        **_envelope(book, client_order_id, "accepted", (venue_order_id, key), recorded_at=recorded_at,
                    correlation_id=correlation_id, venue_time=venue_time),
        client_order_id=client_order_id, venue_order_id=venue_order_id)


def order_rejected(book: OrderBook, client_order_id: str, reason: str, *, code: str | None = None,
                   recorded_at: datetime, correlation_id: uuid.UUID, key: object = None
                   ) -> OrderRejected:
    _known(book, client_order_id)
    return OrderRejected(
        **_envelope(book, client_order_id, "rejected", (code, key), recorded_at=recorded_at,
                    correlation_id=correlation_id),
        client_order_id=client_order_id, reason=reason, code=code)


def order_canceled(book: OrderBook, client_order_id: str, reason: str, *,
                   venue_order_id: str | None = None, canceled_count: int | None = None,
                   recorded_at: datetime, correlation_id: uuid.UUID, key: object = None
                   ) -> OrderCanceled:
    _known(book, client_order_id)
    return OrderCanceled(
        **_envelope(book, client_order_id, "canceled", (venue_order_id, canceled_count, key),
                    recorded_at=recorded_at, correlation_id=correlation_id),
        client_order_id=client_order_id, venue_order_id=venue_order_id, reason=reason,
        canceled_count=canceled_count)


def order_amended(book: OrderBook, client_order_id: str, venue_order_id: str, *, price: int,
                  count: int, recorded_at: datetime, correlation_id: uuid.UUID, key: object = None
                  ) -> OrderAmended:
    """``count`` is the new total (filled plus resting), as the venue's amend takes it."""
    _known(book, client_order_id)
    return OrderAmended(
        **_envelope(book, client_order_id, "amended", (venue_order_id, price, count, key),
                    recorded_at=recorded_at, correlation_id=correlation_id),
        client_order_id=client_order_id, venue_order_id=venue_order_id, price=price, count=count)


def order_expired(book: OrderBook, client_order_id: str, *, venue_order_id: str | None = None,
                  recorded_at: datetime, correlation_id: uuid.UUID, key: object = None
                  ) -> OrderExpired:
    _known(book, client_order_id)
    return OrderExpired(
        **_envelope(book, client_order_id, "expired", (venue_order_id, key), recorded_at=recorded_at,
                    correlation_id=correlation_id),
        client_order_id=client_order_id, venue_order_id=venue_order_id)


def fill_event(book: OrderBook, fill: VenueFillView, *, recorded_at: datetime,
               correlation_id: uuid.UUID, client_order_id: str | None = None
               ) -> OrderFilled | Finding | None:
    """The ``OrderFilled`` for a venue fill, restated in its order's side and leg, or the finding
    that keeps it out of the ledger, or ``None`` when it is recorded already.

    Its order is ``client_order_id`` when given, else the one the book knows by the fill's venue
    order id. A fill with impossible values, for no order of ours, for another market or direction
    than its order's, beyond what its order has left, or one the lifecycle refuses is a finding.
    On the live path a finding may only mean the order's acceptance or amendment is not recorded
    yet: leave it to the next reconciliation, which alerts if it still stands.
    """
    if book.has_fill(fill.fill_id):
        return None
    def refused(kind: FindingKind, message: str, client_order_id: str | None = None) -> Finding:
        return finding(kind, fill.fill_id, message, ticker=fill.ticker, fill_id=fill.fill_id,
                       venue_order_id=fill.order_id, count=fill.count, price=fill.price,
                       client_order_id=client_order_id)

    if not 0 < len(fill.fill_id) <= MAX_FILL_ID:
        return refused(FindingKind.BAD_FILL, f"a fill id of {len(fill.fill_id)} characters")
    if not 0 < fill.count <= MAX_COUNT:
        return refused(FindingKind.BAD_FILL, f"fill {fill.fill_id} has a count of {fill.count}, "
                       f"outside 0 < count <= {MAX_COUNT}")
    if not 0 <= fill.price <= PRICE_SCALE:
        return refused(FindingKind.BAD_FILL, f"fill {fill.fill_id} has a price of {fill.price}, "
                       f"outside 0..{PRICE_SCALE} (0..1 dollar)")
    if not -MAX_MONEY <= fill.fee <= MAX_MONEY:
        return refused(FindingKind.BAD_FILL, f"fill {fill.fill_id} has a fee of {fill.fee}")
    order = (book.order(client_order_id) if client_order_id is not None
             else book.by_venue_id(fill.order_id))
    if order is None:
        return refused(FindingKind.UNKNOWN_ORDER_FILL,
                       f"fill {fill.fill_id} is for venue order {fill.order_id}, which no order of "
                       "ours accounts for")
    coid = order.client_order_id
    if fill.ticker != order.ticker or direction(fill.side, fill.action) != order.direction:
        return refused(FindingKind.FILL_MISMATCH,
                       f"fill {fill.fill_id} ({fill.action.value} {fill.side.value} {fill.ticker}) "
                       f"does not match order {coid} ({order.action.value} {order.side.value} "
                       f"{order.ticker})", coid)
    if fill.count > order.remaining:
        return refused(FindingKind.OVERFILL,
                       f"fill {fill.fill_id} of {fill.count} exceeds the {order.remaining} left on "
                       f"order {coid}", coid)
    trigger = Trigger.FILL_COMPLETE if fill.count == order.remaining else Trigger.FILL
    if (order.status, trigger) not in TRANSITIONS:
        return refused(FindingKind.INVALID_TRANSITION,
                       f"fill {fill.fill_id} cannot apply to order {coid}, which is "
                       f"{order.status.value}", coid)
    stream = fill_stream(fill.fill_id)
    return OrderFilled(
        event_id=fill_event_id(fill.fill_id), stream=stream, version=1, recorded_at=recorded_at,
        venue_time=fill.created_time, correlation_id=correlation_id, fill_id=fill.fill_id,
        client_order_id=coid, venue_order_id=fill.order_id, city=order.city, ticker=order.ticker,
        side=order.side, action=order.action,
        price=yes_price_of(order.side, yes_price_of(fill.side, fill.price)), count=fill.count,
        fee=fill.fee, is_taker=fill.is_taker)
