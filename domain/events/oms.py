"""What order management learns from the venue that our own records did not say."""

from __future__ import annotations

from pydantic import AwareDatetime

from domain.events.base import Action, Event, Side
from domain.money import Count, Price


class VenueOrderFound(Event):
    """Reconciliation found an order at the venue that no intent of ours accounts for. It is
    recorded and flagged; nothing trades it until the operator has looked."""

    venue_order_id: str
    client_order_id: str | None
    ticker: str
    side: Side
    action: Action
    price: Price
    count: Count
    remaining: Count
    status: str
    created_time: AwareDatetime | None = None


class ReconciliationCompleted(Event):
    """One comparison of the venue's account with the ledger, and what it changed."""

    #: ``startup`` or ``scheduled``.
    trigger: str
    fills_added: int = 0
    orders_resolved: int = 0
    unknown_orders: int = 0
    position_mismatches: tuple[str, ...] = ()
    settlements_added: int = 0
    #: The venue's balance (micros) when read.
    venue_balance: int | None = None


class ReconciliationFailed(Event):
    """The comparison could not complete (the venue unreachable, an answer unreadable); at start-up
    this keeps the handler from trading."""

    trigger: str
    error: str
    message: str
