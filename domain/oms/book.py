"""Our orders, folded from the ledger: each one's status, counts and venue id, and the positions
the recorded fills add up to.

The book folds every event it is given and ignores the ones that are not about orders. It reads:
``OrderSubmitted`` (an order is born, in flight), ``OrderAccepted``, ``OrderRejected``,
``OrderCanceled``, ``OrderAmended``, ``OrderExpired``, ``OrderFilled`` (deduplicated by the venue's
fill id), ``MarketSettled``, ``VenueOrderFound``, the alerts order management raised (so a finding
is raised once) and ``ReconciliationCompleted`` (how far the venue's fills have been compared).

Positions count every distinct recorded fill, as the portfolio projection does: they are what the
ledger says we hold, which is what reconciliation compares with the venue. An order's own counts
take only the fills the lifecycle allows. A fill that would overfill its order, a fill for no order
of ours, an event the transition table refuses: none of them crash the fold or change an order;
each becomes a ``Finding`` (``apply`` returns it, ``findings`` keeps them all) for the caller to
record as an alert.

Not thread-safe; a fold is cheap, so a restart simply folds the ledger again.
"""

from __future__ import annotations

import copy
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime

from domain.events import (
    Action,
    AlertRaised,
    Event,
    MarketSettled,
    OrderAccepted,
    OrderAmended,
    OrderCanceled,
    OrderExpired,
    OrderFilled,
    OrderRejected,
    OrderSubmitted,
    ReconciliationCompleted,
    Side,
    VenueOrderFound,
)
from domain.oms.errors import InvalidTransition
from domain.oms.fills import OrderFills
from domain.oms.findings import Finding, FindingKind, finding
from domain.oms.lifecycle import OPEN, Status, Trigger, transition
from domain.oms.streams import order_stream
from domain.positions import yes_terms
from domain.strategies import RestingOrder

_ORDER_PREFIX = "order:"
_ALERT_PREFIX = "alert:oms:"


def direction(side: Side, action: Action) -> int:
    """+1 for an order or fill that adds YES exposure (buy YES, sell NO), -1 otherwise. Reading an
    order back from the venue can tell no more than this (see ``adapters/kalshi/wire/sides.py``)."""
    return 1 if yes_terms(side, action, 0, 1)[0] > 0 else -1


@dataclass(frozen=True, slots=True, kw_only=True)
class Order:
    """One of our orders as the ledger tells it."""

    client_order_id: str
    decision_id: uuid.UUID | None
    city: str | None
    ticker: str
    side: Side
    action: Action
    #: In the ``side``'s own leg, as submitted or last amended.
    price: int
    post_only: bool
    #: When the intent was recorded (our clock).
    submitted_at: datetime
    fills: OrderFills
    status: Status = Status.IN_FLIGHT
    venue_order_id: str | None = None
    #: Why it was rejected, canceled or expired, as recorded.
    reason: str | None = None

    @property
    def ordered(self) -> int:
        return self.fills.ordered

    @property
    def filled(self) -> int:
        return self.fills.filled

    @property
    def remaining(self) -> int:
        return self.fills.remaining

    @property
    def is_open(self) -> bool:
        return self.status in OPEN

    @property
    def direction(self) -> int:
        return direction(self.side, self.action)

    def resting_order(self) -> RestingOrder:
        return RestingOrder(ticker=self.ticker, side=self.side, action=self.action, price=self.price,
                            remaining=self.remaining)


class OrderBook:
    """Our orders by client order id, folded from ledger events (see the module docstring)."""

    #: The event types ``apply`` folds; every other event changes nothing.
    FOLDS: tuple[type[Event], ...] = (
        OrderSubmitted, OrderAccepted, OrderRejected, OrderCanceled, OrderAmended, OrderExpired,
        OrderFilled, MarketSettled, VenueOrderFound, AlertRaised, ReconciliationCompleted)

    def __init__(self) -> None:
        self._orders: dict[str, Order] = {}
        self._by_venue_id: dict[str, str] = {}
        self._found: dict[str, VenueOrderFound] = {}
        self._found_client_ids: set[str] = set()
        self._fill_ids: set[str] = set()
        self._positions: dict[str, int] = {}
        self._traded: set[str] = set()
        self._settled: dict[str, int] = {}
        self._cities: dict[str, str] = {}
        self._versions: dict[str, int] = {}
        self._alerted: set[str] = set()
        self._findings: list[Finding] = []
        self._reconciled_until: datetime | None = None

    @classmethod
    def fold(cls, events: Iterable[Event]) -> OrderBook:
        """The book after ``events``, in ledger order."""
        book = cls()
        for event in events:
            book.apply(event)
        return book

    def copy(self) -> OrderBook:
        """An independent book in the same state (its values are immutable; its maps are new)."""
        other = OrderBook.__new__(OrderBook)
        for name, value in vars(self).items():
            setattr(other, name, copy.copy(value))
        return other

    # -- folding ---------------------------------------------------------------------------------

    def apply(self, event: Event) -> tuple[Finding, ...]:
        """Fold one event; returns what it found that cannot be applied (also kept in ``findings``)."""
        if event.stream.startswith(_ORDER_PREFIX):
            self._versions[event.stream] = max(self._versions.get(event.stream, 0), event.version)
        found: list[Finding] = []
        if isinstance(event, OrderSubmitted):
            found += self._submitted(event)
        elif isinstance(event, OrderFilled):
            found += self._filled(event)
        elif isinstance(event, OrderAccepted | OrderRejected | OrderCanceled | OrderExpired
                        | OrderAmended):
            found += self._order_event(event)
        elif isinstance(event, MarketSettled):
            self._market_settled(event)
        elif isinstance(event, VenueOrderFound):
            self._found[event.venue_order_id] = event
            if event.client_order_id is not None:
                self._found_client_ids.add(event.client_order_id)
        elif isinstance(event, AlertRaised) and event.stream.startswith(_ALERT_PREFIX):
            self._alerted.add(event.stream)
        elif isinstance(event, ReconciliationCompleted):
            last = self._reconciled_until
            self._reconciled_until = event.recorded_at if last is None else max(last, event.recorded_at)
        self._findings += found
        return tuple(found)

    def _submitted(self, event: OrderSubmitted) -> list[Finding]:
        coid = event.client_order_id
        if coid in self._orders:
            return [finding(FindingKind.DUPLICATE_SUBMIT, event.event_id,
                            f"order {coid} was submitted a second time; the second intent is ignored",
                            ticker=event.ticker, client_order_id=coid)]
        self._orders[coid] = Order(
            client_order_id=coid, decision_id=event.decision_id, city=event.city,
            ticker=event.ticker, side=event.side, action=event.action, price=event.price,
            post_only=event.post_only, submitted_at=event.recorded_at,
            fills=OrderFills.submitted(event))
        if event.city is not None:
            self._cities.setdefault(event.ticker, event.city)
        return []

    def _order_event(self, event: OrderAccepted | OrderRejected | OrderCanceled | OrderExpired
                     | OrderAmended) -> list[Finding]:
        coid = event.client_order_id
        order = self._orders.get(coid)
        if order is None:
            return [finding(FindingKind.UNKNOWN_ORDER_EVENT, event.event_id,
                            f"{event.event_type} for order {coid}, which was never submitted",
                            client_order_id=coid)]
        fills, price, reason = order.fills, order.price, order.reason
        if isinstance(event, OrderAccepted):
            trigger = Trigger.ACCEPT
        elif isinstance(event, OrderRejected):
            trigger, reason = Trigger.REJECT, event.reason
        elif isinstance(event, OrderCanceled):
            trigger, reason = Trigger.CANCEL, event.reason
        elif isinstance(event, OrderExpired):
            trigger, reason = Trigger.EXPIRE, "expired"
        else:
            if event.count < order.filled:
                return [finding(FindingKind.OVERFILL, event.event_id,
                                f"order {coid} amended to {event.count}, below its filled "
                                f"{order.filled}; the amendment is not applied",
                                ticker=order.ticker, client_order_id=coid)]
            trigger = Trigger.AMEND_COMPLETE if event.count == order.filled else Trigger.AMEND
            fills, price = replace(fills, ordered=event.count), event.price
        try:
            status = transition(order.status, trigger, coid)
        except InvalidTransition as e:
            return [self._invalid(event, order, e)]
        venue_order_id = order.venue_order_id
        told = None if isinstance(event, OrderRejected) else event.venue_order_id
        if venue_order_id is None and told is not None:
            venue_order_id = told
            self._by_venue_id.setdefault(told, coid)
        self._orders[coid] = replace(order, status=status, fills=fills, price=price, reason=reason,
                                     venue_order_id=venue_order_id)
        return []

    def _filled(self, event: OrderFilled) -> list[Finding]:
        if event.fill_id in self._fill_ids:
            return []  # the venue told us twice; it happened once
        self._fill_ids.add(event.fill_id)
        self._count_position(event)
        order = self._order_of_fill(event)

        def unapplied(kind: FindingKind, message: str) -> list[Finding]:
            return [finding(kind, event.fill_id, message, ticker=event.ticker,
                            client_order_id=event.client_order_id if order is None
                            else order.client_order_id,
                            fill_id=event.fill_id, venue_order_id=event.venue_order_id)]

        if order is None:
            return unapplied(FindingKind.UNKNOWN_ORDER_FILL,
                             f"fill {event.fill_id} is for no order of ours; it counts in the "
                             "position and applies to no order")
        coid = order.client_order_id
        if event.ticker != order.ticker or direction(event.side, event.action) != order.direction:
            return unapplied(FindingKind.FILL_MISMATCH,
                             f"fill {event.fill_id} ({event.action.value} {event.side.value} "
                             f"{event.ticker}) does not match order {coid} ({order.action.value} "
                             f"{order.side.value} {order.ticker})")
        if event.count == 0:
            return unapplied(FindingKind.BAD_FILL,
                             f"fill {event.fill_id} of order {coid} has no contracts")
        if event.count > order.remaining:
            return unapplied(FindingKind.OVERFILL,
                             f"fill {event.fill_id} of {event.count} exceeds the {order.remaining} "
                             f"left on order {coid}; it is not applied to the order")
        trigger = Trigger.FILL_COMPLETE if event.count == order.remaining else Trigger.FILL
        try:
            status = transition(order.status, trigger, coid)
        except InvalidTransition as e:
            return [self._invalid(event, order, e)]
        venue_order_id = order.venue_order_id
        if venue_order_id is None and event.venue_order_id is not None:
            venue_order_id = event.venue_order_id
            self._by_venue_id.setdefault(venue_order_id, coid)
        self._orders[coid] = replace(order, status=status, fills=order.fills.fill(event),
                                     venue_order_id=venue_order_id)
        return []

    def _order_of_fill(self, event: OrderFilled) -> Order | None:
        if event.client_order_id is not None and event.client_order_id in self._orders:
            return self._orders[event.client_order_id]
        if event.venue_order_id is not None:
            return self.by_venue_id(event.venue_order_id)
        return None

    def _count_position(self, event: OrderFilled) -> None:
        self._traded.add(event.ticker)
        if event.city is not None:
            self._cities.setdefault(event.ticker, event.city)
        if event.ticker in self._settled:
            return  # settled on arrival: a settled market holds nothing
        delta, _ = yes_terms(event.side, event.action, event.price, event.count)
        held = self._positions.get(event.ticker, 0) + delta
        if held:
            self._positions[event.ticker] = held
        else:
            self._positions.pop(event.ticker, None)

    def _market_settled(self, event: MarketSettled) -> None:
        if event.ticker not in self._settled:
            self._settled[event.ticker] = event.settlement_value
            self._positions.pop(event.ticker, None)

    @staticmethod
    def _invalid(event: Event, order: Order, error: InvalidTransition) -> Finding:
        return finding(FindingKind.INVALID_TRANSITION, event.event_id,
                       f"{event.event_type} cannot apply to order {order.client_order_id}: {error}",
                       ticker=order.ticker, client_order_id=order.client_order_id,
                       status=error.status.value, trigger=error.trigger.value)

    # -- queries ---------------------------------------------------------------------------------

    def knows(self, client_order_id: str) -> bool:
        """True once an order with this id was submitted (or found at the venue): it must never be
        sent as a new order again."""
        return client_order_id in self._orders or client_order_id in self._found_client_ids

    def order(self, client_order_id: str) -> Order | None:
        return self._orders.get(client_order_id)

    def orders(self) -> tuple[Order, ...]:
        """Every order, in the order they were submitted."""
        return tuple(self._orders.values())

    def in_flight(self) -> tuple[Order, ...]:
        """Orders sent (or about to be) whose outcome is unknown: nothing resubmits them; a read of
        the venue resolves them (``domain.oms.reconciliation``)."""
        return tuple(o for o in self._orders.values() if o.status is Status.IN_FLIGHT)

    def open_orders(self) -> tuple[Order, ...]:
        """Orders that may still rest or fill: in flight, accepted, partially filled."""
        return tuple(o for o in self._orders.values() if o.is_open)

    def resting(self) -> tuple[RestingOrder, ...]:
        """What may be resting at the venue, for strategies and risk: every open order's remaining,
        in flight included (it may well be resting; counting it is the safe side)."""
        return tuple(o.resting_order() for o in self._orders.values()
                     if o.is_open and o.remaining > 0)

    def by_venue_id(self, venue_order_id: str) -> Order | None:
        coid = self._by_venue_id.get(venue_order_id)
        return None if coid is None else self._orders[coid]

    def found(self, venue_order_id: str) -> VenueOrderFound | None:
        """A venue order no intent accounts for, as recorded when reconciliation found it."""
        return self._found.get(venue_order_id)

    def has_fill(self, fill_id: str) -> bool:
        return fill_id in self._fill_ids

    def positions(self) -> dict[str, int]:
        """Signed contracts (1/100) per market in YES terms, from every recorded fill; flat and
        settled markets are left out."""
        return dict(sorted(self._positions.items()))

    def position(self, ticker: str) -> int:
        return self._positions.get(ticker, 0)

    def traded(self, ticker: str) -> bool:
        """True when a fill in this market is recorded."""
        return ticker in self._traded

    def settled(self, ticker: str) -> bool:
        return ticker in self._settled

    def city_of(self, ticker: str) -> str | None:
        """The city our orders or fills in this market named, if any."""
        return self._cities.get(ticker)

    def version(self, stream: str) -> int:
        """The last version of an ``order:`` stream, 0 when it has none."""
        return self._versions.get(stream, 0)

    def next_version(self, client_order_id: str) -> int:
        """The version the next event of this order's stream takes."""
        return self.version(order_stream(client_order_id)) + 1

    def alerted(self, stream: str) -> bool:
        """True when an order-management alert of this stream is recorded."""
        return stream in self._alerted

    @property
    def findings(self) -> tuple[Finding, ...]:
        return tuple(self._findings)

    @property
    def reconciled_until(self) -> datetime | None:
        """The time of the last completed reconciliation (our clock): every venue fill before it is
        in the ledger (or alerted), so the next read of fills may start there, less a margin for
        the two clocks' skew."""
        return self._reconciled_until
