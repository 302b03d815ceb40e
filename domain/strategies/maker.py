"""``maker``: rest a post-only bid one tick above the best bid when our fair value sits well inside
the spread.

For every tradable rung with both a YES bid ``b`` and a NO bid (so a YES ask ``a``), when our fair
value is well inside the spread, ``b + spread_margin < p x 10,000 < a - spread_margin``, the maker
considers each side: a bid one ``tick`` (1¢) above that side's best bid,

* only below that side's ask (a post-only order that would cross is refused by the venue),
* only within ``[min_price, max_price]``,
* only where the edge if filled, ``P(side) - price - fee``, clears ``min_edge`` after the
  ``safety_margin``; weather makers pay no fee (PRODUCT.md), so ``maker_fee_rate`` is 0 unless set,
* not where we already rest a buy on that market and side at that very price (no stacking),

and sizes it like any buy (``sizing``: Kelly, then the caps; the position cap counts the resting
buys we already have on that side). No displayed-size cap: a resting order takes nothing.
Both sides may qualify at once in a wide spread; both fills together cost less than the $1 pair
pays, so quoting both is sound. A bid on the side opposite a holding is allowed: Kalshi nets it
against the holding, so a fill reduces it.
"""

from __future__ import annotations

import math
from decimal import Decimal
from fractions import Fraction
from functools import partial

from pydantic import Field, model_validator

from domain.events.base import Action, Side
from domain.ladder import Rung
from domain.money import COUNT_SCALE, ONE_CENT, PRICE_SCALE
from domain.strategies.base import (
    Intent,
    Strategy,
    StrategyInput,
    best_ask,
    best_bid,
    buy_edge,
    cents,
    dollars,
    register,
    side_probability,
    tradable,
)
from domain.strategies.sizing import BuyCandidate, SizingParams, buy_intents


def maker_fee(price: int, count: int, rate: Decimal) -> int:
    """``ceil(rate x C x P x (1 - P))`` to the cent, in micros: ``money.taker_fee``'s formula with
    any decimal rate (Kalshi's maker rates, e.g. 0.0175, are not whole thousandths)."""
    dollars_ = Fraction(rate) * Fraction(count, COUNT_SCALE) * Fraction(price, PRICE_SCALE) \
        * Fraction(PRICE_SCALE - price, PRICE_SCALE)
    return math.ceil(dollars_ * 100) * ONE_CENT


def _order_fee(price: int, rate: Decimal, count: int) -> int:
    return maker_fee(price, count, rate)


class MakerParams(SizingParams):
    """The maker's parameters (edges in dollars per contract, prices in 1/10,000 dollar)."""

    #: Least expected profit per contract if filled, after the fee and the safety margin: 3¢.
    min_edge: float = Field(default=0.03, ge=0.0, le=1.0)
    #: Allowance for error in our probabilities, taken off every edge before the test: 1¢.
    safety_margin: float = Field(default=0.01, ge=0.0, le=1.0)
    #: How far inside the bid and the ask our fair value must sit: 2¢.
    spread_margin: int = Field(default=200, ge=0, le=PRICE_SCALE)
    #: How far above the best bid we rest: one cent.
    tick: int = Field(default=100, ge=1, le=PRICE_SCALE)
    #: Cheapest and dearest price we rest at: 4¢ and 96¢.
    min_price: int = Field(default=400, ge=1, le=PRICE_SCALE)
    max_price: int = Field(default=9_600, ge=1, le=PRICE_SCALE)
    #: The fee rate a maker fill pays (Kalshi's formula with this rate); weather makers pay none.
    maker_fee_rate: Decimal = Field(default=Decimal(0), ge=0, le=1)

    @model_validator(mode="after")
    def _consistent(self) -> MakerParams:
        if self.min_price > self.max_price:
            raise ValueError(f"min_price {self.min_price} is above max_price {self.max_price}")
        return self


@register
class Maker(Strategy[MakerParams]):
    name = "maker"
    Params = MakerParams

    def decide(self, inputs: StrategyInput, params: MakerParams) -> tuple[Intent, ...]:
        candidates: list[BuyCandidate] = []
        for rung, p_yes in zip(inputs.ladder.rungs, inputs.probabilities, strict=True):
            if not tradable(rung, inputs.now) or rung.yes_bid is None or rung.yes_ask is None:
                continue
            fair = p_yes * PRICE_SCALE
            if not rung.yes_bid + params.spread_margin < fair < rung.yes_ask - params.spread_margin:
                continue
            for side in (Side.YES, Side.NO):
                candidate = _rest(rung, side, p_yes, inputs, params)
                if candidate is not None:
                    candidates.append(candidate)
        return buy_intents(candidates, inputs, params)


def _rest(rung: Rung, side: Side, p_yes: float, inputs: StrategyInput,
          params: MakerParams) -> BuyCandidate | None:
    bid, ask = best_bid(rung, side), best_ask(rung, side)
    if bid is None or ask is None:
        return None
    price = bid[0] + params.tick
    if price >= ask[0] or not params.min_price <= price <= params.max_price:
        return None
    if inputs.rests_at(rung.ticker, side, Action.BUY, price):
        return None
    p = side_probability(p_yes, side)
    fee_per_contract = maker_fee(price, COUNT_SCALE, params.maker_fee_rate)
    edge = buy_edge(p, price, fee_per_contract)
    if edge - params.safety_margin < params.min_edge:
        return None
    label = side.value.upper()
    why = (f"rest a post-only buy of {label} at {cents(price)}, one tick over the {cents(bid[0])} "
           f"bid (ask {cents(ask[0])}): P({label}) {p:.3f} against {cents(price)} + "
           f"{dollars(fee_per_contract)} fee, edge {edge:.3f} a contract if filled "
           f"(min {params.min_edge:.3f} + margin {params.safety_margin:.3f})")
    return BuyCandidate(ticker=rung.ticker, side=side, price=price, probability=p,
                        fee_per_contract=fee_per_contract, edge=edge,
                        order_fee=partial(_order_fee, price, params.maker_fee_rate),
                        depth=None, post_only=True, why=why)
