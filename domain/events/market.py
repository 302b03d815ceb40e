"""What the exchange showed us: a whole ladder of markets with their books, and settlements."""

from __future__ import annotations

from typing import Literal

from pydantic import AwareDatetime

from domain.events.base import Event, MarketKind, Record, Strike
from domain.money import Count, Price

#: Kalshi's ``strike_type`` values (OpenAPI ``Market.strike_type``).
StrikeType = Literal[
    "greater", "greater_or_equal", "less", "less_or_equal", "between",
    "functional", "custom", "structured",
]
#: Kalshi's market ``status`` values.
MarketStatus = Literal[
    "initialized", "inactive", "active", "closed", "determined", "disputed", "amended", "finalized",
]


#: Resting bids at one price: ``(price, count)``, the venue's own ``[price, count]`` pair.
#: Kalshi's book holds bids only: the best YES ask is 1 minus the best NO bid.
BookLevel = tuple[Price, Count]


class MarketQuote(Record):
    """One market of a ladder as seen at snapshot time."""

    ticker: str
    status: MarketStatus
    strike_type: StrikeType | None = None
    floor_strike: Strike | None = None
    cap_strike: Strike | None = None
    close_time: AwareDatetime | None = None
    #: Bids for YES, best (highest) first.
    yes_bids: tuple[BookLevel, ...] = ()
    #: Bids for NO, best (highest) first.
    no_bids: tuple[BookLevel, ...] = ()
    last_price: Price | None = None
    volume: Count | None = None


class MarketSnapshotted(Event):
    """The full ladder of one Kalshi event (all its mutually exclusive or cumulative markets)."""

    series_ticker: str
    event_ticker: str
    city: str
    kind: MarketKind
    source: str
    markets: tuple[MarketQuote, ...]


class MarketFeedFailed(Event):
    """The exchange gave no usable ladder for a series; nothing of that attempt was used."""

    city: str
    kind: MarketKind
    series_ticker: str
    #: The event being read when it failed, if discovery got that far.
    event_ticker: str | None = None
    #: What was being fetched: ``events`` or ``orderbook``.
    operation: str
    error: str
    message: str
    #: The venue's HTTP status when it answered with a refusal.
    status: int | None = None


class MarketSettled(Event):
    """Kalshi determined a market: what one YES contract pays (NO pays 1 minus that)."""

    ticker: str
    event_ticker: str
    result: Literal["yes", "no", "scalar"]
    settlement_value: Price
