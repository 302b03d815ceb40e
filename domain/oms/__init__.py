"""Order management: the order lifecycle, our orders folded from the ledger, the events that
record intents and answers, and reconciliation with the venue. Pure: no clock, no I/O.

- ``lifecycle``: the literal ``(status, trigger) -> status`` table;
- ``book``: ``OrderBook``, our orders and positions folded from ledger events;
- ``order_events``: the intent and the venue's answers as the next events of an order's stream;
- ``venue``: the venue's account as the domain reads it (filled in by the runtime);
- ``reconciliation``: one read of the venue compared with the ledger, as events;
- ``findings``: what cannot be applied, recorded as alerts.
"""

from domain.oms.book import Order, OrderBook, direction
from domain.oms.errors import InvalidTransition, OmsError, Overfill, UnknownOrder
from domain.oms.fills import OrderFills
from domain.oms.findings import Finding, FindingKind, alert_of
from domain.oms.lifecycle import OPEN, TERMINAL, TRANSITIONS, Status, Trigger, transition
from domain.oms.order_events import (
    fill_event,
    order_accepted,
    order_amended,
    order_canceled,
    order_expired,
    order_rejected,
    order_submitted,
)
from domain.oms.reconciliation import (
    DEFAULT_IN_FLIGHT_GRACE,
    orders_to_look_up,
    reconcile,
    reconciliation_failed,
)
from domain.oms.venue import VenueFillView, VenueOrderView, VenueSettlementView, VenueView

__all__ = [
    "DEFAULT_IN_FLIGHT_GRACE", "OPEN", "TERMINAL", "TRANSITIONS", "Finding", "FindingKind",
    "InvalidTransition", "OmsError", "Order", "OrderBook", "OrderFills", "Overfill", "Status",
    "Trigger", "UnknownOrder", "VenueFillView", "VenueOrderView", "VenueSettlementView",
    "VenueView", "alert_of", "direction", "fill_event", "order_accepted", "order_amended",
    "order_canceled", "order_expired", "order_rejected", "order_submitted", "orders_to_look_up",
    "reconcile", "reconciliation_failed", "transition",
]
