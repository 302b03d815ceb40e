"""Worst-case loss: what each market, city, cluster and the whole book can lose, counting what we
hold and what our resting orders may still add.

Everything is in YES terms (``domain.positions``): a position is a signed number of contracts (YES
positive, NO negative) with a signed cost (contracts x YES price). A market settles one of two
ways, and in each our profit is exact:

* YES pays: ``position x $1 - cost``;
* NO pays: ``- cost``.

A resting order may fill or not (or in part, which lies between), so each outcome counts it only
where a fill would hurt: an order moving the position by ``d`` YES contracts at YES price ``y``
adds ``d x ($1 - y)`` if YES pays and ``-d x y`` if NO pays, and the worst case takes each term only
when it is negative. A YES buy of C at P therefore risks C x P (if NO pays); a NO buy of C at P
risks C x P (if YES pays); an order that can only sell what we hold never adds to the worse outcome.

A market's worst-case loss is the larger of the two outcomes' losses (never below zero). A city's
and a cluster's are the sums over their markets. The sum is conservative for a daily-high ladder,
where exactly one market pays and the true worst case of the ladder is smaller; it is exact for
markets that are independent, and it never understates.

Losses are measured from the position's cost as the ledger keeps it (average cost): what closing
part of a position has already realized is cash, outside it. Fees are not in it either: they are
charged per fill, not at settlement, and the order-cost check bounds them.

Units: counts in 1/100 contract, prices in 1/10,000 dollar, so count x price is micros.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from domain.events.base import Action, Side
from domain.events.trading import IntendedOrder
from domain.money import PRICE_SCALE
from domain.positions import MarketPosition, yes_terms
from domain.risk.errors import MissingRiskInput
from domain.strategies.base import RestingOrder


@dataclass(frozen=True, slots=True)
class Held:
    """What we hold in one market, in YES terms, as ``domain.positions.MarketPosition`` keeps it."""

    #: Signed contracts (1/100 units): YES positive, NO negative.
    position: int
    #: Signed cost of the open position (micros): contracts x YES price, so negative for NO.
    cost: int

    def __post_init__(self) -> None:
        # A YES position cost between nothing and $1 a contract; a NO position the mirror of it.
        low, high = sorted((0, self.position * PRICE_SCALE))
        if not low <= self.cost <= high:
            raise ValueError(f"a position of {self.position} cannot have cost {self.cost} in YES terms")

    @classmethod
    def of(cls, position: MarketPosition) -> Held:
        return cls(position=position.position, cost=position.cost)


FLAT = Held(position=0, cost=0)


def outcome_losses(held: Held, orders: Iterable[RestingOrder]) -> tuple[int, int]:
    """``(loss if YES pays, loss if NO pays)`` in micros, each at its worst over which orders fill
    (negative: a gain)."""
    if_yes = held.position * PRICE_SCALE - held.cost
    if_no = -held.cost
    for order in orders:
        delta, yes_price = yes_terms(order.side, order.action, order.price, order.remaining)
        if_yes += min(0, delta * (PRICE_SCALE - yes_price))
        if_no += min(0, -delta * yes_price)
    return -if_yes, -if_no


def market_loss(held: Held, orders: Iterable[RestingOrder]) -> int:
    """The worst-case loss of one market (micros, never negative). ``orders`` must all be on it."""
    return max(0, *outcome_losses(held, orders))


@dataclass(frozen=True, slots=True)
class Exposure:
    """Worst-case losses (micros) by market, city and cluster, and in all."""

    markets: Mapping[str, int]
    cities: Mapping[str, int]
    clusters: Mapping[str, int]

    @property
    def total(self) -> int:
        return sum(self.markets.values())

    def market(self, ticker: str) -> int:
        return self.markets.get(ticker, 0)

    def city(self, code: str) -> int:
        return self.cities.get(code, 0)

    def cluster(self, name: str) -> int:
        return self.clusters.get(name, 0)


def exposure(positions: Mapping[str, Held], resting: Iterable[RestingOrder],
             city_of: Mapping[str, str], cluster_of: Mapping[str, str]) -> Exposure:
    """Worst-case losses over every market we hold or have orders resting in.

    ``city_of`` maps each such ticker to its city and ``cluster_of`` each city to its cluster; a
    ticker or city missing from them is a ``MissingRiskInput`` (a loss is never left uncounted).
    """
    orders_by_market: dict[str, list[RestingOrder]] = {}
    for order in resting:
        orders_by_market.setdefault(order.ticker, []).append(order)
    tickers = sorted(set(positions) | set(orders_by_market))
    markets = {t: market_loss(positions.get(t, FLAT), orders_by_market.get(t, ())) for t in tickers}
    cities: dict[str, int] = {}
    clusters: dict[str, int] = {}
    for ticker, loss in markets.items():
        city = city_in(city_of, ticker)
        cluster = cluster_in(cluster_of, city)
        cities[city] = cities.get(city, 0) + loss
        clusters[cluster] = clusters.get(cluster, 0) + loss
    return Exposure(markets, cities, clusters)


def city_in(city_of: Mapping[str, str], ticker: str) -> str:
    try:
        return city_of[ticker]
    except KeyError:
        raise MissingRiskInput(f"no city is given for market {ticker}") from None


def cluster_in(cluster_of: Mapping[str, str], city: str) -> str:
    try:
        return cluster_of[city]
    except KeyError:
        raise MissingRiskInput(f"no correlation cluster is given for city {city}") from None


def as_resting(order: IntendedOrder) -> RestingOrder:
    """An intended order as if it rested whole: how it may add to exposure before it fills."""
    return RestingOrder(ticker=order.ticker, side=order.side, action=order.action, price=order.price,
                        remaining=order.count)


def yes_delta(side: Side, action: Action, count: int) -> int:
    """The signed YES contracts a fill of ``count`` would add."""
    return yes_terms(side, action, 0, count)[0]


def reduce_only_room(position: int, resting: Sequence[RestingOrder], ticker: str) -> int:
    """How many more contracts an order may take off ``position`` in ``ticker`` without going past
    flat, once our resting orders that also reduce it are counted as filled."""
    if position == 0:
        return 0
    claimed = sum(abs(d) for o in resting if o.ticker == ticker
                  if (d := yes_delta(o.side, o.action, o.remaining)) * position < 0)
    return max(0, abs(position) - claimed)


def reduces(order: IntendedOrder, position: int, resting: Sequence[RestingOrder]) -> bool:
    """Whether ``order`` only takes contracts off ``position`` (YES terms): it moves toward flat and,
    together with the resting orders that also reduce it, cannot go past flat to the other side."""
    delta = yes_delta(order.side, order.action, order.count)
    return delta * position < 0 and abs(delta) <= reduce_only_room(position, resting, order.ticker)
