"""Views of events: those several projections fold (parsed once per record for all of them),
and those that mirror most of an event.

Each mirrors its event's fields under the same names and types (see ``eventstore.codec.EventView``),
so the domain's readers (a quote's book in ``domain.book``, an order's execution in
``domain.execution``) read a view as they read the event. ``tests/unit/test_views.py`` holds each
to its event's field names.
"""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Annotated

import msgspec

from domain.events import Action, DecisionMade, MarketKind, Side
from domain.events.market import MarketStatus, StrikeType
from domain.money import MAX_COUNT, MAX_MONEY, PRICE_SCALE
from eventstore.codec import AwareTime, EventView

#: The events' integer units (``domain.money``) with their ranges, checked as a view is parsed:
#: a price out of range is a corrupt record here as in the event.
Price = Annotated[int, msgspec.Meta(ge=0, le=PRICE_SCALE)]
Count = Annotated[int, msgspec.Meta(ge=0, le=MAX_COUNT)]
Money = Annotated[int, msgspec.Meta(ge=-MAX_MONEY, le=MAX_MONEY)]
Position = Annotated[int, msgspec.Meta(ge=-MAX_COUNT, le=MAX_COUNT)]
#: A book level, ``(price, count)``.
Level = tuple[Price, Count]


class QuoteView(msgspec.Struct, frozen=True, gc=False, kw_only=True):
    """A ``MarketQuote``, every field."""

    ticker: str
    status: MarketStatus
    strike_type: StrikeType | None = None
    floor_strike: Decimal | None = None
    cap_strike: Decimal | None = None
    close_time: AwareTime | None = None
    yes_bids: tuple[Level, ...] = ()
    no_bids: tuple[Level, ...] = ()
    last_price: Price | None = None
    volume: Count | None = None


class LadderView(EventView, frozen=True, kw_only=True):
    """A ``MarketSnapshotted``: its ladder and every quote of it (its series and source aside).
    The quotes are most of its bytes, so this is what a board, an execution measure and two
    portfolios' marks share: one parse for all four."""

    event_id: uuid.UUID
    event_ticker: str
    city: str
    kind: MarketKind
    markets: tuple[QuoteView, ...]


class FillView(EventView, frozen=True, kw_only=True):
    """An ``OrderFilled``: every field but the envelope's ids."""

    venue_time: AwareTime | None = None
    fill_id: str
    client_order_id: str | None
    venue_order_id: str | None
    city: str | None = None
    ticker: str
    side: Side
    action: Action
    price: Price
    count: Count
    fee: Money
    is_taker: bool


class SubmittedView(EventView, frozen=True, kw_only=True):
    """An ``OrderSubmitted``: every field but the envelope's ids."""

    client_order_id: str
    decision_id: uuid.UUID | None
    city: str | None = None
    ticker: str
    side: Side
    action: Action
    price: Price
    count: Count
    post_only: bool = False


class ProbabilityView(msgspec.Struct, frozen=True, gc=False, kw_only=True):
    """A ``BinProbability``."""

    ticker: str
    probability: float
    climatology: float | None = None
    market: float | None = None


class ComponentView(msgspec.Struct, frozen=True, gc=False, kw_only=True):
    """A ``ModelProbabilities``."""

    model: str
    probabilities: tuple[float, ...]


class HoldingView(msgspec.Struct, frozen=True, gc=False, kw_only=True):
    """A ``Holding``."""

    ticker: str
    position: Position


class RestingView(msgspec.Struct, frozen=True, gc=False, kw_only=True):
    """A ``RestingSeen``."""

    ticker: str
    side: Side
    action: Action
    price: Price
    remaining: Count


class IntentView(msgspec.Struct, frozen=True, gc=False, kw_only=True):
    """An ``IntendedOrder``."""

    client_order_id: str
    ticker: str
    side: Side
    action: Action
    price: Price
    count: Count
    post_only: bool = False
    reason: str = ""


class DecisionView(EventView, frozen=True, kw_only=True):
    """A ``DecisionMade`` without its edges: what calibration keeps of a decision (without its
    intended orders too). Parsed in about a third of the whole decision's time; ``whole_decision``
    builds the event when it is needed whole (to score it, or write it)."""

    event_id: uuid.UUID
    venue_time: AwareTime | None = None
    correlation_id: uuid.UUID
    causation_id: uuid.UUID | None = None
    decision_id: uuid.UUID
    strategy: str
    city: str
    kind: MarketKind
    event_ticker: str
    market_snapshot_id: uuid.UUID
    weather_snapshot_ids: tuple[uuid.UUID, ...]
    config_version: str
    probabilities: tuple[ProbabilityView, ...]
    lead_days: int | None = None
    forecast_value: float | None = None
    model_state_id: uuid.UUID | None = None
    components: tuple[ComponentView, ...] = ()
    positions: tuple[HoldingView, ...] = ()
    resting: tuple[RestingView, ...] = ()
    balance: Money | None = None
    intended_orders: tuple[IntentView, ...] = ()
    no_trade_reason: str | None = None
    decision_code: int = 1


#: What of a ``DecisionMade`` its view skips.
NOT_VIEWED = frozenset({"edges"})


def whole_decision(view: DecisionView) -> DecisionMade:
    """The decision the view was read from, without its edges (validated as the event is)."""
    return DecisionMade.model_validate(view, from_attributes=True)
