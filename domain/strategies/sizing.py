"""How many contracts to buy: fractional Kelly, rounded down, then capped.

A binary contract bought at an all-in cost ``c`` (price plus the fee for one contract, in dollars)
pays $1 with probability ``p``. Kelly's share of the bankroll for it is

    f* = (p - c) / (1 - c)          (zero when p <= c: no edge, no bet)

and we stake ``kelly_fraction x f*`` of it, i.e. ``kelly_fraction x f* x bankroll / c`` contracts.
Worked example (in the tests): p = 0.30, ask 22¢, fee 2¢, so c = 0.24 and f* = 0.06 / 0.76 =
7.89%; a quarter Kelly on $100 stakes $1.97, 8.22 contracts, rounded down to 8 whole ones.

The float is the Kelly share alone; the stake is floored to whole micros at once and everything
after it (the count, the caps, the cost with its fee) is integer arithmetic, rounded down to
``count_step`` (100 = whole contracts, the default; 1 allows hundredths of a contract). Then, in
this order, the count is capped by ``max_order_count``, by ``max_market_position`` less what we
hold on that side and what our resting buys on that side may still add, by the displayed size at
the price (when given), by ``max_order_cost`` and by the cash left, the last two counting the fee
the whole order would pay. The result is never negative, and zero without edge.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from pydantic import Field

from domain.events.base import Action, Side
from domain.money import COUNT_SCALE, MAX_COUNT, MAX_MONEY, PRICE_SCALE
from domain.strategies.base import (
    MICROS_PER_PRICE,
    Intent,
    StrategyInput,
    StrategyParams,
    contracts,
    dollars,
)

#: Micros of a $1 payout.
_DOLLAR = PRICE_SCALE * MICROS_PER_PRICE


class SizingParams(StrategyParams):
    """Sizing parameters every buying strategy shares (units: ``domain.money``)."""

    #: Share of the full Kelly stake to take: a quarter by default, as our probabilities are
    #: estimates and full Kelly on a wrong ``p`` loses fast.
    kelly_fraction: float = Field(default=0.25, gt=0.0, le=1.0)
    #: Counts are rounded down to a multiple of this (1/100 contract): 100 = whole contracts only.
    count_step: int = Field(default=COUNT_SCALE, ge=1, le=MAX_COUNT)
    #: Most contracts in one order (1/100 contract): 20 contracts.
    max_order_count: int = Field(default=2_000, ge=0, le=MAX_COUNT)
    #: Most one order may cost, fee included (micros): $25.
    max_order_cost: int = Field(default=25_000_000, ge=0, le=MAX_MONEY)
    #: Most contracts on one side of one market, held plus resting buys plus this order
    #: (1/100 contract): 50 contracts.
    max_market_position: int = Field(default=5_000, ge=0, le=MAX_COUNT)


@dataclass(frozen=True, slots=True)
class Size:
    """A sized order, with how it was sized."""

    #: 1/100 contract; a multiple of the step, never negative.
    count: int
    #: f*, the full Kelly share of the bankroll (0 without edge).
    kelly_share: float
    #: What fractional Kelly alone asks for (1/100 contract), before and after rounding down to the
    #: step.
    kelly_raw: int
    kelly_count: int
    #: What set the count: ``Kelly``, ``no edge`` or the name of the cap that bound it.
    binding: str

    @property
    def capped(self) -> bool:
        return self.binding not in ("Kelly", "no edge")


def kelly_share(probability: float, cost_per_contract: int) -> float:
    """f* = (p - c) / (1 - c) for an all-in cost of ``cost_per_contract`` micros; 0 without edge."""
    c = cost_per_contract / _DOLLAR
    if cost_per_contract <= 0 or cost_per_contract >= _DOLLAR or probability <= c:
        return 0.0
    return (probability - c) / (1.0 - c)


def round_down(count: int, step: int) -> int:
    return max(count - count % step, 0)


def size_buy(*, probability: float, price: int, fee_per_contract: int,
             order_fee: Callable[[int], int], bankroll: int, held: int, resting: int,
             params: SizingParams, depth: int | None = None, cash: int | None = None) -> Size:
    """The count to buy at ``price`` for a win probability ``probability``.

    ``fee_per_contract`` (micros) enters the Kelly cost; ``order_fee(count)`` is the fee of the
    whole order, used by the cost caps. ``bankroll`` is the Kelly bankroll and ``cash`` what is
    left to spend (default: the bankroll); ``held`` and ``resting`` are what we hold and have
    resting to buy on that side of that market; ``depth`` is the displayed size at the price.
    """
    if price <= 0:
        raise ValueError(f"cannot size a buy at price {price}")
    step = params.count_step
    share = kelly_share(probability, price * MICROS_PER_PRICE + fee_per_contract)
    stake = math.floor(params.kelly_fraction * share * max(bankroll, 0))
    kelly_raw = stake * COUNT_SCALE // (price * MICROS_PER_PRICE + fee_per_contract)
    kelly_count = round_down(kelly_raw, step)
    if kelly_count == 0:
        return Size(0, share, kelly_raw, 0, "no edge" if share == 0.0 else "Kelly")

    def affordable(limit: int) -> int:
        # The largest multiple of the step whose price plus whole-order fee fits in ``limit``.
        # Cost grows with the count, so a binary search over multiples of the step finds it.
        lo, hi = 0, max(limit, 0) // price // step
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if price * mid * step + order_fee(mid * step) <= limit:
                lo = mid
            else:
                hi = mid - 1
        return lo * step

    caps: list[tuple[str, int | None]] = [
        ("max contracts", round_down(params.max_order_count, step)),
        ("max position", round_down(params.max_market_position - held - resting, step)),
        ("book depth", None if depth is None else round_down(depth, step)),
    ]
    count, binding = kelly_count, "Kelly"
    for name, limit in caps:
        if limit is not None and limit < count:
            count, binding = limit, name
    # The money caps: searched for only when the count so far does not fit (the search prices
    # the whole-order fee at every step it tries).
    for name, money in (("max cost", params.max_order_cost),
                        ("balance", bankroll if cash is None else cash)):
        if count > 0 and price * count + order_fee(count) > money:
            count, binding = affordable(money), name
    return Size(count, share, kelly_raw, kelly_count, binding)


def describe(size: Size, params: SizingParams, bankroll: int) -> str:
    """The sizing in plain words, for an intent's reason."""
    kelly = (f"Kelly {params.kelly_fraction:g} x {size.kelly_share:.1%} of {dollars(bankroll)} "
             f"= {contracts(size.kelly_raw)} contracts")
    if not size.capped:
        return f"{contracts(size.count)} contracts by {kelly}"
    return f"{contracts(size.count)} contracts, cap hit: {size.binding} ({kelly})"


@dataclass(frozen=True, slots=True, kw_only=True)
class BuyCandidate:
    """A buy whose edge cleared the strategy's bar, waiting to be sized."""

    ticker: str
    side: Side
    price: int
    probability: float
    fee_per_contract: int
    edge: float
    #: The fee of the whole order for a count (micros).
    order_fee: Callable[[int], int]
    #: The displayed size at ``price`` when taking it; None for a resting order.
    depth: int | None
    post_only: bool
    #: The edge in plain words; the sizing is appended.
    why: str


def buy_intents(candidates: Iterable[BuyCandidate], inputs: StrategyInput,
                params: SizingParams) -> tuple[Intent, ...]:
    """Size each candidate, best edge first (ties by ticker, then side), out of one purse.

    Each candidate is sized by Kelly on the whole balance, but pays out of what the ones before it
    left, so a decision never spends more than ``inputs.balance`` (fees included)."""
    cash = inputs.balance
    intents: list[Intent] = []
    for c in sorted(candidates, key=lambda c: (-c.edge, c.ticker, c.side.value)):
        size = size_buy(probability=c.probability, price=c.price, fee_per_contract=c.fee_per_contract,
                        order_fee=c.order_fee, bankroll=inputs.balance,
                        held=inputs.held(c.ticker, c.side),
                        resting=inputs.resting_count(c.ticker, c.side, Action.BUY),
                        params=params, depth=c.depth, cash=cash)
        if size.count <= 0:
            continue
        fee = c.order_fee(size.count)
        cash -= c.price * size.count + fee
        intents.append(Intent(
            ticker=c.ticker, side=c.side, action=Action.BUY, price=c.price, count=size.count,
            post_only=c.post_only, reason=f"{c.why}; {describe(size, params, inputs.balance)}",
            probability=c.probability, fee_per_contract=c.fee_per_contract, fee=fee,
            edge_after_fees=c.edge))
    return tuple(intents)
