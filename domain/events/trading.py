"""Decisions and the order lifecycle they start: submitted, accepted, filled, canceled..."""

from __future__ import annotations

import hashlib
import uuid

from pydantic import Field, model_validator

from domain.events.base import Action, Event, MarketKind, Record, Side
from domain.money import MAX_COUNT, Count, Money, Price


class BinProbability(Record):
    """Our probability that one market settles YES, beside the baselines it is scored against."""

    ticker: str
    probability: float
    #: What climatology alone gives the same market.
    climatology: float | None = None
    #: What the market's own prices imply (the mid, normalised across the ladder).
    market: float | None = None


class ModelProbabilities(Record):
    """One component model's probabilities, in the order of the decision's ``probabilities``, so
    each component can be scored on its own when the market settles (the ensemble's weights)."""

    model: str
    probabilities: tuple[float, ...]


class Edge(Record):
    """Expected value per contract of one trade, after the fee, at the price we would pay."""

    ticker: str
    side: Side
    action: Action
    probability: float
    price: Price
    #: Fee for one contract at ``price``, in micros.
    fee_per_contract: Money
    edge_after_fees: float


class IntendedOrder(Record):
    """An order a decision wants; the risk engine may still refuse it."""

    client_order_id: str
    ticker: str
    side: Side
    action: Action
    price: Price
    count: Count
    #: Rest only: never take liquidity (a maker order).
    post_only: bool = False
    #: Why, in plain words (edge, sizing, caps).
    reason: str = ""


class Holding(Record):
    """A position the decision saw: signed contracts (1/100 units), YES positive, NO negative."""

    ticker: str
    position: int = Field(strict=True, ge=-MAX_COUNT, le=MAX_COUNT)


class RestingSeen(Record):
    """One of our resting orders the decision saw."""

    ticker: str
    side: Side
    action: Action
    price: Price
    remaining: Count


def config_version_of(content: str) -> str:
    """A configuration's version: the SHA-256 of its exact text, so equal text is one version."""
    return hashlib.sha256(content.encode()).hexdigest()


class ConfigVersionRecorded(Event):
    """A configuration came into force. ``config_version`` is the hash of ``content``."""

    config_version: str
    content: str
    source: str

    @model_validator(mode="after")
    def _version_is_the_content_hash(self) -> ConfigVersionRecorded:
        if self.config_version != config_version_of(self.content):
            raise ValueError("config_version is not the SHA-256 of content")
        return self


class DecisionMade(Event):
    """A strategy's verdict on one ladder, with the exact inputs it used, so it can be replayed."""

    decision_id: uuid.UUID
    strategy: str
    city: str
    kind: MarketKind
    event_ticker: str
    market_snapshot_id: uuid.UUID
    weather_snapshot_ids: tuple[uuid.UUID, ...]
    config_version: str
    probabilities: tuple[BinProbability, ...]
    #: Whole days from the decision's local date to the climate day (or month end) it prices.
    lead_days: int | None = None
    #: The provider's own forecast before any correction (the high in °F, or the expected monthly
    #: total in inches), so the station's bias can be learned against the settled value.
    forecast_value: float | None = None
    #: The ``ModelStateRecorded`` (learned bias, spread, ensemble weights) the models used.
    model_state_id: uuid.UUID | None = None
    components: tuple[ModelProbabilities, ...] = ()
    #: The portfolio the strategy saw (this ladder's markets only) and the cash it could spend.
    positions: tuple[Holding, ...] = ()
    resting: tuple[RestingSeen, ...] = ()
    balance: Money | None = None
    edges: tuple[Edge, ...] = ()
    intended_orders: tuple[IntendedOrder, ...] = ()
    no_trade_reason: str | None = None
    #: The version of the decision code that made it (``domain.decision.DECISION_CODE``): replay
    #: re-derives a decision only with the code that made it. 1: recorded before this field was.
    decision_code: int = 1


class OrderSubmitted(Event):
    """We are about to send an order: recorded before the request leaves, so a crash cannot
    forget it and a restart cannot send it twice (the ``client_order_id`` is deterministic)."""

    client_order_id: str
    decision_id: uuid.UUID | None
    #: The city whose ladder this market belongs to (None for a market outside our config).
    city: str | None = None
    ticker: str
    side: Side
    action: Action
    price: Price
    count: Count
    post_only: bool = False


class OrderAccepted(Event):
    client_order_id: str
    venue_order_id: str


class OrderRejected(Event):
    client_order_id: str
    reason: str
    code: str | None = None


class OrderCanceled(Event):
    client_order_id: str
    venue_order_id: str | None
    reason: str
    canceled_count: Count | None = None


class OrderAmended(Event):
    client_order_id: str
    venue_order_id: str
    price: Price
    count: Count


class OrderExpired(Event):
    client_order_id: str
    venue_order_id: str | None


class OrderFilled(Event):
    """A fill as the venue reported it. ``fill_id`` is the venue's trade id: each is recorded once."""

    fill_id: str
    client_order_id: str | None
    venue_order_id: str | None
    #: Taken from our own order record when the fill matches one; None for a fill we cannot place.
    city: str | None = None
    ticker: str
    side: Side
    action: Action
    price: Price
    count: Count
    #: The fee charged for this fill, in micros.
    fee: Money
    is_taker: bool
