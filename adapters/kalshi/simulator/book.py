"""One market's resting limit orders on the YES book, matched with price-time priority.

Kalshi quotes everything from the YES side: a ``bid`` at ``p`` buys YES at ``p``; an ``ask`` at ``p``
sells YES at ``p``, which is the same thing as buying NO at ``1 - p``. Prices are ``domain.money``
price units (1/10,000 dollar) and counts are 1/100 contract, so fractional fills are exact integers.

An incoming order trades at the resting (maker) order's price, best price first and, within a price,
oldest first. Self-trade prevention follows the spec's two modes: ``taker_at_cross`` stops the
incoming order at the first of its owner's own resting orders it would cross (the rest is canceled);
``maker`` cancels that resting order and keeps matching.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Literal

Side = Literal["bid", "ask"]
SelfTradePrevention = Literal["taker_at_cross", "maker"]


@dataclass
class Resting:
    """The book's view of a resting order: enough to match it."""

    order_id: str
    owner: str
    side: Side
    price: int
    remaining: int
    seq: int


@dataclass(frozen=True)
class Match:
    """The incoming order traded ``count`` against ``maker`` at the maker's price."""

    maker_order_id: str
    maker_owner: str
    price: int
    count: int


@dataclass
class MatchResult:
    matches: list[Match] = field(default_factory=list)
    #: Count of the incoming order left after matching (before any resting or canceling).
    remaining: int = 0
    #: Own resting orders canceled by ``maker`` self-trade prevention.
    canceled_makers: list[str] = field(default_factory=list)
    #: True when ``taker_at_cross`` stopped the incoming order at its owner's own order.
    stopped_by_self_trade: bool = False


def crosses(side: Side, limit: int, resting_price: int) -> bool:
    """Whether an incoming ``side`` order at ``limit`` trades with a resting order at that price."""
    return resting_price <= limit if side == "bid" else resting_price >= limit


class Book:
    """The resting orders of one market, each side kept in priority order."""

    def __init__(self, ticker: str) -> None:
        self.ticker = ticker
        self._bids: list[Resting] = []  # best (highest) price first, then oldest
        self._asks: list[Resting] = []  # best (lowest) price first, then oldest

    def _side(self, side: Side) -> list[Resting]:
        return self._bids if side == "bid" else self._asks

    def _opposite(self, side: Side) -> list[Resting]:
        return self._asks if side == "bid" else self._bids

    def orders(self, side: Side) -> Iterator[Resting]:
        yield from self._side(side)

    def best(self, side: Side) -> Resting | None:
        orders = self._side(side)
        return orders[0] if orders else None

    def levels(self, side: Side) -> list[tuple[int, int]]:
        """``(price, total count)`` per price level, best first."""
        out: list[tuple[int, int]] = []
        for order in self._side(side):
            if out and out[-1][0] == order.price:
                out[-1] = (order.price, out[-1][1] + order.remaining)
            else:
                out.append((order.price, order.remaining))
        return out

    def rest(self, order: Resting) -> None:
        if order.remaining <= 0:
            raise ValueError(f"order {order.order_id} has nothing left to rest")
        orders = self._side(order.side)
        orders.append(order)
        if order.side == "bid":
            orders.sort(key=lambda o: (-o.price, o.seq))
        else:
            orders.sort(key=lambda o: (o.price, o.seq))

    def remove(self, order_id: str) -> Resting | None:
        for orders in (self._bids, self._asks):
            for i, order in enumerate(orders):
                if order.order_id == order_id:
                    return orders.pop(i)
        return None

    def resize(self, order_id: str, remaining: int) -> None:
        """Shrink a resting order in place: it keeps its place in the queue (a decrease)."""
        if remaining <= 0:
            raise ValueError(f"order {order_id} would have nothing left to rest")
        for order in (*self._bids, *self._asks):
            if order.order_id == order_id:
                if remaining > order.remaining:
                    raise ValueError(f"order {order_id} cannot grow in place")
                order.remaining = remaining
                return
        raise KeyError(order_id)

    def ahead(self, order_id: str) -> int | None:
        """Contracts queued before a resting order at its price (``None``: not in the book)."""
        for orders in (self._bids, self._asks):
            for i, order in enumerate(orders):
                if order.order_id == order_id:
                    return sum(o.remaining for o in orders[:i] if o.price == order.price)
        return None

    def would_cross(self, side: Side, limit: int) -> bool:
        best = self.best("ask" if side == "bid" else "bid")
        return best is not None and crosses(side, limit, best.price)

    def fillable(self, owner: str, side: Side, limit: int, stp: SelfTradePrevention) -> int:
        """How much an incoming order could fill right now (for fill-or-kill), honouring STP."""
        total = 0
        for order in self._opposite(side):
            if not crosses(side, limit, order.price):
                break
            if order.owner == owner:
                if stp == "taker_at_cross":
                    break
                continue
            total += order.remaining
        return total

    def match(self, owner: str, side: Side, limit: int, count: int,
              stp: SelfTradePrevention = "taker_at_cross") -> MatchResult:
        """Trade an incoming order against the book; the caller rests or cancels what remains."""
        result = MatchResult(remaining=count)
        opposite = self._opposite(side)
        while result.remaining > 0 and opposite and crosses(side, limit, opposite[0].price):
            maker = opposite[0]
            if maker.owner == owner:
                if stp == "taker_at_cross":
                    result.stopped_by_self_trade = True
                    break
                opposite.pop(0)
                result.canceled_makers.append(maker.order_id)
                continue
            traded = min(result.remaining, maker.remaining)
            result.matches.append(Match(maker.order_id, maker.owner, maker.price, traded))
            result.remaining -= traded
            maker.remaining -= traded
            if maker.remaining == 0:
                opposite.pop(0)
        return result
