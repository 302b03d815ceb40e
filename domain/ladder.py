"""A Kalshi event's markets as a ladder of outcomes, read from a recorded market snapshot.

Each market pays YES when the settled value (a whole °F for a daily high, hundredths of an inch
for monthly rain and snow) falls in its set. Kalshi states that set with ``strike_type`` and its
strikes, and the edges move every day, so they are read from each snapshot, never assumed:

==================  ==========================  =====================================
``strike_type``     YES when the value is        as whole reported values (step ``u``)
==================  ==========================  =====================================
``less``            ``< cap``                    ``<= ceil(cap) - u``
``less_or_equal``   ``<= cap``                   ``<= floor(cap)``
``between``         ``floor <= v <= cap``        ``[floor, cap]`` (inclusive)
``greater``         ``> floor``                  ``>= floor + u`` (rounded up to a step)
``greater_or_equal````>= floor``                 ``>= floor``
==================  ==========================  =====================================

So a market is a closed range ``[low, high]`` of reported values (``None``: unbounded). A daily
high ladder is *exclusive*: its ranges tile the line with no gap and no overlap, and exactly one
pays. A monthly rain or snow ladder is *cumulative*: every market is "strictly more than X", and
a total pays every market below it. ``Ladder.of`` checks which one it is and refuses anything else.

Prices are the YES book's: Kalshi shows bids only, so the YES ask is 1 minus the best NO bid and the
NO ask is 1 minus the best YES bid.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from itertools import pairwise

from domain.book import best_bid
from domain.events import MarketKind, MarketQuote, MarketSnapshotted
from domain.money import PRICE_SCALE

#: The resolution of each kind's settled value: whole °F, or hundredths of an inch.
STEP: dict[MarketKind, Decimal] = {
    MarketKind.DAILY_HIGH: Decimal(1),
    MarketKind.MONTHLY_RAIN: Decimal("0.01"),
    MarketKind.MONTHLY_SNOW: Decimal("0.1"),
}


class Shape(StrEnum):
    EXCLUSIVE = "exclusive"
    CUMULATIVE = "cumulative"


SHAPE: dict[MarketKind, Shape] = {
    MarketKind.DAILY_HIGH: Shape.EXCLUSIVE,
    MarketKind.MONTHLY_RAIN: Shape.CUMULATIVE,
    MarketKind.MONTHLY_SNOW: Shape.CUMULATIVE,
}


class LadderError(ValueError):
    """The snapshot does not describe a ladder the models can price; the reason says why."""


_MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
_EVENT_DATE = re.compile(r"-(\d\d)([A-Z]{3})(\d\d)?$")


def event_period(event_ticker: str, kind: MarketKind) -> date:
    """The climate day (``KXHIGHNY-26AUG28`` -> 2026-08-28) or the first of the month
    (``KXRAINNYCM-26AUG`` -> 2026-08-01) an event settles on, from Kalshi's ticker convention."""
    match = _EVENT_DATE.search(event_ticker)
    daily = kind is MarketKind.DAILY_HIGH
    if match is None or match.group(2) not in _MONTHS or (match.group(3) is not None) != daily:
        raise LadderError(f"{event_ticker}: no {'day' if daily else 'month'} in the event ticker")
    year, month = 2000 + int(match.group(1)), _MONTHS.index(match.group(2)) + 1
    try:
        return date(year, month, int(match.group(3)) if daily else 1)
    except ValueError:
        raise LadderError(f"{event_ticker}: {match.group(0)[1:]} is not a date") from None


@dataclass(frozen=True, slots=True)
class Rung:
    """One market: YES pays when the reported value lies in ``[low, high]`` (None: unbounded)."""

    ticker: str
    status: str
    low: Decimal | None
    high: Decimal | None
    #: Best bids with their sizes; asks follow from the other side's bid.
    yes_bid: int | None
    yes_bid_size: int
    no_bid: int | None
    no_bid_size: int
    close_time: datetime | None

    @property
    def open(self) -> bool:
        return self.status == "active"

    @property
    def yes_ask(self) -> int | None:
        return None if self.no_bid is None else PRICE_SCALE - self.no_bid

    @property
    def no_ask(self) -> int | None:
        return None if self.yes_bid is None else PRICE_SCALE - self.yes_bid

    def pays(self, value: Decimal) -> bool:
        return (self.low is None or value >= self.low) and (self.high is None or value <= self.high)

    def label(self, unit: str = "") -> str:
        if self.low is None:
            return f"<={self.high}{unit}"
        if self.high is None:
            return f">={self.low}{unit}"
        return f"{self.low}-{self.high}{unit}"


@dataclass(frozen=True, slots=True)
class Ladder:
    event_ticker: str
    city: str
    kind: MarketKind
    shape: Shape
    step: Decimal
    rungs: tuple[Rung, ...]

    def __iter__(self) -> Iterator[Rung]:
        return iter(self.rungs)

    def __len__(self) -> int:
        return len(self.rungs)

    def rung(self, ticker: str) -> Rung:
        for rung in self.rungs:
            if rung.ticker == ticker:
                return rung
        raise KeyError(ticker)

    def paying(self, value: Decimal) -> tuple[str, ...]:
        """The tickers that settle YES if the reported value is ``value``."""
        return tuple(r.ticker for r in self.rungs if r.pays(value))

    @classmethod
    def of(cls, snapshot: MarketSnapshotted) -> Ladder:
        """The ladder of a recorded snapshot: every market, open or not (a ladder is priced whole;
        whether a rung can be traded is its ``status``)."""
        step = STEP[snapshot.kind]
        if not snapshot.markets:
            raise LadderError(f"{snapshot.event_ticker}: no markets")
        rungs = tuple(sorted((_rung(q, step) for q in snapshot.markets), key=_order))
        shape = SHAPE[snapshot.kind]
        if shape is Shape.EXCLUSIVE:
            _check_tiles(snapshot.event_ticker, rungs, step)
        elif any(r.high is not None for r in rungs):
            raise LadderError(f"{snapshot.event_ticker}: a {snapshot.kind.value} ladder must be "
                              "'more than X' markets only")
        elif len({r.low for r in rungs}) != len(rungs):
            raise LadderError(f"{snapshot.event_ticker}: two markets share a strike")
        return cls(snapshot.event_ticker, snapshot.city, snapshot.kind, shape, step, rungs)


def _order(rung: Rung) -> tuple[int, Decimal]:
    if rung.low is None:
        return (0, rung.high if rung.high is not None else Decimal(0))
    return (1, rung.low)


def _strike(value: Decimal | None, ticker: str, name: str) -> Decimal:
    if value is None or not value.is_finite():
        raise LadderError(f"{ticker}: no {name}")
    return value


def _floor_to(value: Decimal, step: Decimal) -> Decimal:
    return (value / step).to_integral_value(rounding="ROUND_FLOOR") * step


def _ceil_to(value: Decimal, step: Decimal) -> Decimal:
    return (value / step).to_integral_value(rounding="ROUND_CEILING") * step


def _rung(quote: MarketQuote, step: Decimal) -> Rung:
    kind, t = quote.strike_type, quote.ticker
    low: Decimal | None
    high: Decimal | None
    if kind == "less":
        low, high = None, _ceil_to(_strike(quote.cap_strike, t, "cap_strike"), step) - step
    elif kind == "less_or_equal":
        low, high = None, _floor_to(_strike(quote.cap_strike, t, "cap_strike"), step)
    elif kind == "between":
        low = _ceil_to(_strike(quote.floor_strike, t, "floor_strike"), step)
        high = _floor_to(_strike(quote.cap_strike, t, "cap_strike"), step)
        if high < low:
            raise LadderError(f"{t}: between {quote.floor_strike} and {quote.cap_strike} holds no value")
    elif kind == "greater":
        low, high = _floor_to(_strike(quote.floor_strike, t, "floor_strike"), step) + step, None
    elif kind == "greater_or_equal":
        low, high = _ceil_to(_strike(quote.floor_strike, t, "floor_strike"), step), None
    else:
        raise LadderError(f"{t}: strike_type {kind!r} is not a range the models price")
    yes_bid, no_bid = best_bid(quote.yes_bids), best_bid(quote.no_bids)
    return Rung(t, quote.status, low, high, yes_bid, _size_at(quote.yes_bids, yes_bid), no_bid,
                _size_at(quote.no_bids, no_bid), quote.close_time)


def _size_at(levels: tuple[tuple[int, int], ...], price: int | None) -> int:
    return sum(count for p, count in levels if p == price) if price is not None else 0


def _check_tiles(event: str, rungs: tuple[Rung, ...], step: Decimal) -> None:
    """Exclusive ranges must follow each other with no gap or overlap and run from an open bottom
    to an open top, so that exactly one market pays."""
    for below, above in pairwise(rungs):
        if below.high is None or above.low is None:
            raise LadderError(f"{event}: {below.ticker} and {above.ticker} are both open-ended")
        if above.low != below.high + step:
            raise LadderError(f"{event}: {below.ticker} ends at {below.high} but {above.ticker} "
                              f"starts at {above.low}")
    if (rungs[0].low is not None or rungs[-1].high is not None):
        raise LadderError(f"{event}: the ladder does not cover every outcome "
                          f"({rungs[0].label()} .. {rungs[-1].label()})")
