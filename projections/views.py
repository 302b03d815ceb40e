"""Views of the events several projections fold: parsed once per record for all of them.

Each mirrors its event's fields under the same names and types (see ``eventstore.codec.EventView``),
so the domain's readers of a quote (``domain.book``) read a view as they read the event.
"""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import ClassVar

import msgspec

from domain.events import BookLevel, Event, MarketKind, MarketSnapshotted
from domain.events.market import MarketStatus, StrikeType
from eventstore.codec import AwareTime, EventView


class QuoteView(msgspec.Struct, frozen=True, gc=False, kw_only=True):
    """A ``MarketQuote``, every field."""

    ticker: str
    status: MarketStatus
    strike_type: StrikeType | None = None
    floor_strike: Decimal | None = None
    cap_strike: Decimal | None = None
    close_time: AwareTime | None = None
    yes_bids: tuple[BookLevel, ...] = ()
    no_bids: tuple[BookLevel, ...] = ()
    last_price: int | None = None
    volume: int | None = None


class LadderView(EventView, frozen=True, kw_only=True):
    """A ``MarketSnapshotted``: its ladder and every quote of it (its series and source aside).
    The quotes are most of its bytes, so this is what a board, an execution measure and two
    portfolios' marks share: one parse for all four."""

    of: ClassVar[type[Event]] = MarketSnapshotted

    event_id: uuid.UUID
    event_ticker: str
    city: str
    kind: MarketKind
    markets: tuple[QuoteView, ...]
