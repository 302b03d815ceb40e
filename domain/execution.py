"""Execution quality of one order, from what the ledger recorded: the book when we decided, the
price we decided on, and what the venue filled.

Units follow ``domain.money``: prices in 1/10,000 dollar (35 cents = 3500), counts in 1/100
contract (2 contracts = 200), fees in micros. Times are seconds.

**Every price is in the terms of the order's own side.** Kalshi's book holds bids only: the YES ask
is 1 minus the best NO bid. A NO order's decision price and fills are NO prices, so its bid and ask
are the NO ones: NO bid = 1 - YES ask, NO ask = 1 - YES bid. The spread is the same either way;
the mid is 1 minus the YES mid. That keeps the decision price, the mid and the fills comparable.

**Slippage is signed so that positive is worse for us**: for a buy it is the average fill price
minus the decision price (we paid more than we meant to), for a sell the decision price minus the
average fill price (we received less). A fill better than intended (a maker fill inside the
spread, a book that moved our way) gives a negative slippage.

**Times** run from ``OrderSubmitted.recorded_at`` (our clock, just before the request left) to
each fill's ``venue_time`` (the venue's clock; our ``recorded_at`` when the venue gave none), so a
skew between the two clocks shows up in them. The first fill is the earliest fill time; an order
is complete when its fills reach the ordered count, at the latest fill time.

Worked example (a YES buy, intended at 35 cents):

    book at decision time: best YES bid 30, best NO bid 64 -> YES ask 100 - 64 = 36
    mid = (30 + 36) / 2 = 33 cents = 3300; spread = 36 - 30 = 6 cents = 600
    fills: 2 @ 35 and 3 @ 36 of 5 ordered
    average fill = (2 x 35 + 3 x 36) / 5 = 178 / 5 = 35.6 cents = 3560
    slippage = 35.6 - 35 = +0.6 cents = +60 (a buy: we paid 0.6 cent a contract more)
    fill rate = 5 / 5 = 1.0

Aggregates (``ScopeTotals``, per city and ``all``) weigh each filled contract once: the mean
slippage is per filled contract over orders with a decision price, so a one-contract order does not
count as much as a twenty-contract one; the fill rate is contracts filled over contracts ordered,
over every submitted order (a rejected or still-resting one counts with what it filled).
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum
from typing import NamedTuple, Protocol

from domain.book import Quoted, best_bid, yes_ask
from domain.events import Action, Side
from domain.money import PRICE_SCALE

#: The city of an order neither its submission nor its decision names.
UNKNOWN_CITY = "?"
#: The scope of the aggregate over every city.
ALL = "all"


class TopOfBook(NamedTuple):
    """One market's best YES bid and ask in one snapshot (None: that side shows nothing)."""

    yes_bid: int | None
    yes_ask: int | None

    @classmethod
    def of(cls, quote: Quoted) -> TopOfBook:
        return cls(best_bid(quote.yes_bids), yes_ask(quote))

    def for_side(self, side: Side) -> tuple[int | None, int | None]:
        """``(bid, ask)`` in the side's own prices."""
        if side is Side.YES:
            return self.yes_bid, self.yes_ask
        return (None if self.yes_ask is None else PRICE_SCALE - self.yes_ask,
                None if self.yes_bid is None else PRICE_SCALE - self.yes_bid)

    def mid_and_spread(self, side: Side) -> tuple[float | None, int | None]:
        """The mid and the spread in the side's prices; both None unless both sides quote.

        A crossed or locked book gives a spread of zero or less: it is what the venue showed."""
        bid, ask = self.for_side(side)
        if bid is None or ask is None:
            return None, None
        return (bid + ask) / 2, ask - bid


@dataclass(frozen=True, slots=True)
class DecisionContext:
    """What a decision meant for one of its intended orders: the price it chose and the book
    (of the snapshot it names) at that moment, in the order's side's prices."""

    decision_id: str
    city: str
    price: int
    mid: float | None = None
    spread: int | None = None

    @classmethod
    def of(cls, decision_id: str, city: str, price: int, side: Side,
           top: TopOfBook | None) -> DecisionContext:
        """``top`` is None when the snapshot (or the market in it) is not known."""
        mid, spread = (None, None) if top is None else top.mid_and_spread(side)
        return cls(decision_id=decision_id, city=city, price=price, mid=mid, spread=spread)


class Submission(Protocol):
    """What an order's execution reads of its ``OrderSubmitted`` (or a projection's view of it)."""

    @property
    def client_order_id(self) -> str: ...
    @property
    def city(self) -> str | None: ...
    @property
    def ticker(self) -> str: ...
    @property
    def side(self) -> Side: ...
    @property
    def action(self) -> Action: ...
    @property
    def price(self) -> int: ...
    @property
    def count(self) -> int: ...
    @property
    def recorded_at(self) -> datetime: ...


class Fill(Protocol):
    """What an order's execution reads of an ``OrderFilled`` (or a projection's view of it)."""

    @property
    def venue_time(self) -> datetime | None: ...
    @property
    def recorded_at(self) -> datetime: ...
    @property
    def price(self) -> int: ...
    @property
    def count(self) -> int: ...
    @property
    def fee(self) -> int: ...


class OrderStatus(StrEnum):
    SUBMITTED = "submitted"
    PARTIAL = "partial"
    FILLED = "filled"
    CANCELED = "canceled"
    EXPIRED = "expired"
    REJECTED = "rejected"


#: The ends an order can reach without filling completely.
ENDS = frozenset({OrderStatus.CANCELED, OrderStatus.EXPIRED, OrderStatus.REJECTED})


@dataclass(frozen=True, slots=True)
class OrderExecution:
    """One order's execution so far. ``decision_*``, ``mid`` and ``spread`` are None for an order
    no known decision placed (the operator's, or one whose decision is no longer remembered)."""

    client_order_id: str
    city: str
    ticker: str
    side: Side
    action: Action
    #: The limit price submitted.
    price: int
    ordered: int
    submitted_at: datetime
    decision_id: str | None = None
    decision_price: int | None = None
    mid: float | None = None
    spread: int | None = None
    filled: int = 0
    #: Sum of fill price x count (micros): the exact numerator of the average fill price.
    fill_cost: int = 0
    fees: int = 0
    fills: int = 0
    first_fill_at: datetime | None = None
    last_fill_at: datetime | None = None
    #: Canceled, expired or rejected (the first of them recorded), else None.
    ended: OrderStatus | None = None

    @classmethod
    def submitted(cls, event: Submission, context: DecisionContext | None) -> OrderExecution:
        city = event.city or (context.city if context is not None else None) or UNKNOWN_CITY
        return cls(
            client_order_id=event.client_order_id, city=city, ticker=event.ticker,
            side=event.side, action=event.action, price=event.price, ordered=event.count,
            submitted_at=event.recorded_at,
            decision_id=None if context is None else context.decision_id,
            decision_price=None if context is None else context.price,
            mid=None if context is None else context.mid,
            spread=None if context is None else context.spread,
        )

    def fill(self, event: Fill) -> OrderExecution:
        """Add one fill (the caller drops a fill id seen before). More than ordered is folded as
        the venue said it: the fill rate then shows above 1."""
        at = event.venue_time or event.recorded_at
        return replace(
            self, filled=self.filled + event.count,
            fill_cost=self.fill_cost + event.price * event.count, fees=self.fees + event.fee,
            fills=self.fills + 1,
            first_fill_at=at if self.first_fill_at is None else min(self.first_fill_at, at),
            last_fill_at=at if self.last_fill_at is None else max(self.last_fill_at, at),
        )

    def end(self, status: OrderStatus) -> OrderExecution:
        """Canceled, expired or rejected; the first end recorded stays (a fill may still come
        after it: a real venue can report a fill that crossed with the cancel)."""
        if status not in ENDS:
            raise ValueError(f"{status} is not an end of an order")
        return self if self.ended is not None else replace(self, ended=status)

    @property
    def complete(self) -> bool:
        return self.ordered > 0 and self.filled >= self.ordered

    @property
    def status(self) -> OrderStatus:
        if self.complete:
            return OrderStatus.FILLED
        if self.ended is not None:
            return self.ended
        return OrderStatus.PARTIAL if self.filled else OrderStatus.SUBMITTED

    @property
    def fill_rate(self) -> float | None:
        return self.filled / self.ordered if self.ordered else None

    @property
    def avg_fill_price(self) -> float | None:
        return self.fill_cost / self.filled if self.filled else None

    @property
    def slippage_cost(self) -> int | None:
        """Slippage times the filled count (micros, exact): positive is worse for us."""
        if self.decision_price is None or not self.filled:
            return None
        paid_over = self.fill_cost - self.decision_price * self.filled
        return paid_over if self.action is Action.BUY else -paid_over

    @property
    def slippage(self) -> float | None:
        """Average fill price against the decision price, per contract; positive is worse."""
        cost = self.slippage_cost
        return None if cost is None else cost / self.filled

    @property
    def complete_at(self) -> datetime | None:
        return self.last_fill_at if self.complete else None

    @property
    def seconds_to_first_fill(self) -> float | None:
        return _seconds(self.submitted_at, self.first_fill_at)

    @property
    def seconds_to_complete(self) -> float | None:
        return _seconds(self.submitted_at, self.complete_at)


def _seconds(start: datetime, end: datetime | None) -> float | None:
    return None if end is None else (end - start).total_seconds()


@dataclass(frozen=True, slots=True)
class ExecutionSummary:
    """Execution quality over a scope (a city, or ``all``)."""

    scope: str
    orders: int
    ordered: int
    filled: int
    #: Contracts filled over contracts ordered.
    fill_rate: float | None
    #: Per filled contract, over the orders with a decision price (price units; positive worse).
    mean_slippage: float | None
    median_seconds_to_first_fill: float | None
    median_seconds_to_complete: float | None
    fees: int


class Contribution(NamedTuple):
    """What one order adds to its scopes' totals (see ``ScopeTotals``)."""

    ordered: int
    filled: int
    fees: int
    #: ``OrderExecution.slippage_cost``: None when the order has no decision price or no fill.
    slippage_cost: int | None
    seconds_to_first_fill: float | None
    seconds_to_complete: float | None

    @classmethod
    def of(cls, order: OrderExecution) -> Contribution:
        return cls(order.ordered, order.filled, order.fees, order.slippage_cost,
                   order.seconds_to_first_fill, order.seconds_to_complete)


@dataclass
class ScopeTotals:
    """Running sums over one scope's orders. Replacing an order's contribution with its new one
    is O(log n) (the medians' sorted lists), so a projection keeps them current one fill at a
    time."""

    orders: int = 0
    ordered: int = 0
    filled: int = 0
    fees: int = 0
    slippage_cost: int = 0
    #: Contracts filled on orders with a decision price: the mean slippage's denominator.
    slipped: int = 0
    to_first_fill: list[float] = field(default_factory=list)
    to_complete: list[float] = field(default_factory=list)

    def add(self, order: OrderExecution) -> None:
        self.replace(None, Contribution.of(order))

    def remove(self, order: OrderExecution) -> None:
        self.replace(Contribution.of(order), None)

    def replace(self, old: Contribution | None, new: Contribution | None) -> None:
        """Take ``old`` out (if any) and put ``new`` in (if any)."""
        for sign, part in ((-1, old), (1, new)):
            if part is None:
                continue
            self.orders += sign
            self.ordered += sign * part.ordered
            self.filled += sign * part.filled
            self.fees += sign * part.fees
            if part.slippage_cost is not None:
                self.slippage_cost += sign * part.slippage_cost
                self.slipped += sign * part.filled
        _move(self.to_first_fill, None if old is None else old.seconds_to_first_fill,
              None if new is None else new.seconds_to_first_fill)
        _move(self.to_complete, None if old is None else old.seconds_to_complete,
              None if new is None else new.seconds_to_complete)

    def summary(self, scope: str) -> ExecutionSummary:
        return ExecutionSummary(
            scope=scope, orders=self.orders, ordered=self.ordered, filled=self.filled,
            fill_rate=self.filled / self.ordered if self.ordered else None,
            mean_slippage=self.slippage_cost / self.slipped if self.slipped else None,
            median_seconds_to_first_fill=median(self.to_first_fill),
            median_seconds_to_complete=median(self.to_complete), fees=self.fees,
        )


def _move(ordered: list[float], old: float | None, new: float | None) -> None:
    """Replace ``old`` with ``new`` in a sorted list (None: absent); unchanged costs nothing."""
    if old == new:
        return
    if old is not None:
        at = bisect.bisect_left(ordered, old)
        if at == len(ordered) or ordered[at] != old:
            raise ValueError(f"{old} was never counted in this scope")
        del ordered[at]
    if new is not None:
        bisect.insort(ordered, new)


def median(ordered: list[float]) -> float | None:
    """The median of an already sorted list (the mean of the middle two for an even count)."""
    n = len(ordered)
    if n == 0:
        return None
    middle = n // 2
    return ordered[middle] if n % 2 else (ordered[middle - 1] + ordered[middle]) / 2


def scopes_of(order: OrderExecution) -> tuple[str, str]:
    return ALL, order.city


def summarize(orders: Iterable[OrderExecution]) -> list[ExecutionSummary]:
    """Per city and over all (``all``), in scope order."""
    totals: dict[str, ScopeTotals] = {}
    for order in orders:
        for scope in scopes_of(order):
            totals.setdefault(scope, ScopeTotals()).add(order)
    return [totals[scope].summary(scope) for scope in sorted(totals)]
