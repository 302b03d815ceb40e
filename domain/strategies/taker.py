"""``taker``: buy at the ask where our probability beats the price and the fee, and sell a holding
the market now pays more for than we think it is worth.

Buying. For every tradable rung (open, not past its close time) and each side with an ask:

* the edge of buying YES at the YES ask ``a`` is ``p - a - fee``, and of buying NO at the NO ask
  ``n`` it is ``(1 - p) - n - fee``, where ``fee`` is Kalshi's taker fee for one whole contract
  (``money.taker_fee``, rounded up to the cent: 0.07 x 0.22 x 0.78 = 1.2¢ -> 2¢ at 22¢);
* it trades only where ``edge - safety_margin >= min_edge`` and the ask lies in
  ``[min_price, max_price]`` (by default 4¢..96¢: the 1-3¢ and 97-99¢ longshots are where a
  small error in ``p`` costs most, relative to the price);
* the count is fractional Kelly (``sizing``) capped as ``sizing`` says and by the displayed size at
  the ask, so the order takes only what the best level shows;
* the order is priced at the ask, not post-only: it is meant to take. Whether it is sent
  immediate-or-cancel is the order manager's business.

Reducing. When we hold a side of a rung and its bid pays more than the side is worth to us, by
more than a threshold after the fee of selling (``bid - fee - P(side) - safety_margin >=
reduce_threshold``, default ``min_edge``), sell the holding at the bid: as much of it as is not
already resting to be sold, the bid shows and ``max_order_count`` allows. A sale of YES at ``b`` is
the mirror of buying NO at ``1 - b`` and pays the same fee, so the threshold may not be below
``min_edge``, and while we hold one side of a rung the taker never buys the other: the reducing
rule speaks for that rung.

Cash: candidates are sized best edge first, each paying out of what the ones before it left.
"""

from __future__ import annotations

from functools import partial

from pydantic import Field, model_validator

from domain.events.base import Action, Side
from domain.ladder import Rung
from domain.money import COUNT_SCALE, PRICE_SCALE, taker_fee
from domain.strategies.base import (
    Intent,
    Strategy,
    StrategyInput,
    best_ask,
    best_bid,
    buy_edge,
    cents,
    contracts,
    dollars,
    register,
    sell_edge,
    side_probability,
    tradable,
)
from domain.strategies.sizing import BuyCandidate, SizingParams, buy_intents, round_down


class TakerParams(SizingParams):
    """The taker's parameters (edges in dollars per contract, prices in 1/10,000 dollar)."""

    #: Least expected profit per contract, after the fee and the safety margin: 3¢.
    min_edge: float = Field(default=0.03, ge=0.0, le=1.0)
    #: Allowance for error in our probabilities, taken off every edge before the test: 1¢.
    safety_margin: float = Field(default=0.01, ge=0.0, le=1.0)
    #: Cheapest ask we take: 4¢ (1-3¢ longshots are refused).
    min_price: int = Field(default=400, ge=1, le=PRICE_SCALE)
    #: Dearest ask we take: 96¢ (97-99¢ favourites are refused).
    max_price: int = Field(default=9_600, ge=1, le=PRICE_SCALE)
    #: How far the bid, after the fee, must exceed a holding's worth before we sell it
    #: (dollars per contract, after the safety margin); None: ``min_edge``.
    reduce_threshold: float | None = Field(default=None, ge=0.0, le=1.0)

    @model_validator(mode="after")
    def _consistent(self) -> TakerParams:
        if self.min_price > self.max_price:
            raise ValueError(f"min_price {self.min_price} is above max_price {self.max_price}")
        if self.reduce_threshold is not None and self.reduce_threshold < self.min_edge:
            raise ValueError(f"reduce_threshold {self.reduce_threshold} is below min_edge "
                             f"{self.min_edge}: selling is buying the other side")
        return self

    @property
    def reduce_hurdle(self) -> float:
        return self.min_edge if self.reduce_threshold is None else self.reduce_threshold


@register
class Taker(Strategy[TakerParams]):
    name = "taker"
    Params = TakerParams

    def decide(self, inputs: StrategyInput, params: TakerParams) -> tuple[Intent, ...]:
        sells: list[Intent] = []
        candidates: list[BuyCandidate] = []
        for rung, p_yes in zip(inputs.ladder.rungs, inputs.probabilities, strict=True):
            if not tradable(rung, inputs.now):
                continue
            position = inputs.position(rung.ticker)
            held_side = Side.YES if position > 0 else Side.NO if position < 0 else None
            if held_side is not None:
                sell = _reduce(rung, held_side, p_yes, inputs, params)
                if sell is not None:
                    sells.append(sell)
            for side in (Side.YES, Side.NO):
                if held_side is None or side is held_side:
                    candidate = _buy(rung, side, p_yes, params)
                    if candidate is not None:
                        candidates.append(candidate)
        return (*sells, *buy_intents(candidates, inputs, params))


def _buy(rung: Rung, side: Side, p_yes: float, params: TakerParams) -> BuyCandidate | None:
    ask = best_ask(rung, side)
    if ask is None:
        return None
    price, depth = ask
    if not params.min_price <= price <= params.max_price:
        return None
    p = side_probability(p_yes, side)
    fee_per_contract = taker_fee(price, COUNT_SCALE)
    edge = buy_edge(p, price, fee_per_contract)
    if edge - params.safety_margin < params.min_edge:
        return None
    label = side.value.upper()
    why = (f"buy {label} at the {cents(price)} ask: P({label}) {p:.3f} against {cents(price)} + "
           f"{dollars(fee_per_contract)} fee, edge {edge:.3f} a contract (min {params.min_edge:.3f} "
           f"+ margin {params.safety_margin:.3f})")
    return BuyCandidate(ticker=rung.ticker, side=side, price=price, probability=p,
                        fee_per_contract=fee_per_contract, edge=edge,
                        order_fee=partial(taker_fee, price), depth=depth, post_only=False, why=why)


def _reduce(rung: Rung, side: Side, p_yes: float, inputs: StrategyInput,
            params: TakerParams) -> Intent | None:
    bid = best_bid(rung, side)
    if bid is None:
        return None
    price, depth = bid
    p = side_probability(p_yes, side)
    fee_per_contract = taker_fee(price, COUNT_SCALE)
    edge = sell_edge(p, price, fee_per_contract)
    if edge <= 0.0 or edge - params.safety_margin < params.reduce_hurdle:
        return None
    held = inputs.held(rung.ticker, side)
    sellable = held - inputs.resting_count(rung.ticker, side, Action.SELL)
    count = round_down(min(sellable, depth, params.max_order_count), params.count_step)
    if count <= 0:
        return None
    label = side.value.upper()
    limit, name = min((depth, "book depth"), (params.max_order_count, "max contracts"))
    cap = f"; cap hit: {name}" if limit < sellable else ""
    reason = (f"sell {label} at the {cents(price)} bid: P({label}) {p:.3f} is worth less than "
              f"{cents(price)} - {dollars(fee_per_contract)} fee, edge {edge:.3f} a contract "
              f"(threshold {params.reduce_hurdle:.3f} + margin {params.safety_margin:.3f}); "
              f"{contracts(count)} of {contracts(held)} held{cap}")
    return Intent(ticker=rung.ticker, side=side, action=Action.SELL, price=price, count=count,
                  post_only=False, reason=reason, probability=p, fee_per_contract=fee_per_contract,
                  fee=taker_fee(price, count), edge_after_fees=edge)
