"""The venue's account as order management reads it: domain-side mirrors of what the Kalshi
adapter reads (``adapters/kalshi/wire``), filled in by the runtime, so the domain never imports
an adapter.

Units are ``domain.money``'s. Values are taken as the venue gave them, even impossible ones (a
negative count, a price outside 0..1): reconciliation checks them and records a finding instead
of applying them.

Direction: reading an order or fill back, the venue only says which side of the YES book it was
(``bid`` is YES exposure), so a buy YES and a sell NO read back alike unless the venue also sent
its legacy ``side``/``action``. ``side``/``action``/``price`` here are the adapter's reading; only
their direction in YES terms and the YES price are compared with our orders, and a fill is
restated in our order's own side when recorded.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from domain.events import Action, Side
from domain.money import PRICE_SCALE

VenueOrderStatus = Literal["resting", "canceled", "executed"]
SettlementResult = Literal["yes", "no", "scalar"]


def yes_price_of(side: Side, price: int) -> int:
    """The YES price of an order or fill quoted in ``side``'s leg."""
    return price if side is Side.YES else PRICE_SCALE - price


@dataclass(frozen=True, slots=True, kw_only=True)
class VenueOrderView:
    """An order as the venue holds it (the adapter's ``VenueOrder``)."""

    order_id: str
    client_order_id: str | None
    ticker: str
    status: VenueOrderStatus
    side: Side
    action: Action
    #: In ``side``'s own leg.
    price: int
    fill_count: int
    remaining_count: int
    initial_count: int
    created_time: datetime | None = None

    @property
    def total(self) -> int:
        """The order's current size: filled plus resting (an amendment changes it)."""
        return self.fill_count + self.remaining_count


@dataclass(frozen=True, slots=True, kw_only=True)
class VenueFillView:
    """One trade of one of the account's orders (the adapter's ``VenueFill``)."""

    fill_id: str
    order_id: str
    ticker: str
    side: Side
    action: Action
    #: In ``side``'s own leg.
    price: int
    count: int
    #: Micros.
    fee: int
    is_taker: bool
    created_time: datetime | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class VenueSettlementView:
    """The venue's settlement of one market the account held (the adapter's ``Settlement``)."""

    ticker: str
    event_ticker: str
    result: SettlementResult
    #: What one YES contract paid (price units), when the venue said.
    settlement_value: int | None = None
    yes_count: int = 0
    no_count: int = 0
    settled_time: datetime | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class VenueView:
    """One read of the venue's account, for ``reconcile``.

    ``orders``: every order resting at the venue, plus every order the runtime looked up by client
    order id (``domain.oms.reconciliation.orders_to_look_up``), live or archived, in any status.
    ``searched``: the client order ids looked up; one of them absent from ``orders`` is an order the
    venue does not have. ``fills``: the venue's fills since ``OrderBook.reconciled_until`` (less a
    margin; a fill heard again is a no-op). ``positions``: every market the venue has a position
    in, signed contracts in YES terms (a market left out holds nothing). ``balance``: micros.
    """

    orders: tuple[VenueOrderView, ...] = ()
    searched: frozenset[str] = frozenset()
    fills: tuple[VenueFillView, ...] = ()
    positions: Mapping[str, int] = field(default_factory=dict)
    settlements: tuple[VenueSettlementView, ...] = ()
    balance: int | None = None
