"""A strategy defined outside the domain package: the plug-in proof.

``load_strategies([{"name": "example_favourite", "module": "tests.plugins.example_strategy"}])``
imports this module, which registers the strategy; nothing else in the code base names it.
It bids for ``count`` YES contracts of the rung we think most likely, at its YES ask.
"""

from __future__ import annotations

from pydantic import Field

from domain.events.base import Action, Side
from domain.money import COUNT_SCALE, taker_fee
from domain.strategies import Intent, Strategy, StrategyInput, StrategyParams, register
from domain.strategies.base import buy_edge, tradable


class FavouriteParams(StrategyParams):
    #: How many contracts (1/100 contract): one.
    count: int = Field(default=100, ge=1)


@register
class Favourite(Strategy[FavouriteParams]):
    name = "example_favourite"
    Params = FavouriteParams

    def decide(self, inputs: StrategyInput, params: FavouriteParams) -> tuple[Intent, ...]:
        ranked = sorted(zip(inputs.probabilities, inputs.ladder.rungs, strict=True),
                        key=lambda pr: (-pr[0], pr[1].ticker))
        for p, rung in ranked:
            if tradable(rung, inputs.now) and rung.yes_ask is not None:
                fee = taker_fee(rung.yes_ask, COUNT_SCALE)
                return (Intent(ticker=rung.ticker, side=Side.YES, action=Action.BUY,
                               price=rung.yes_ask, count=params.count, post_only=False,
                               reason="the favourite", probability=p, fee_per_contract=fee,
                               fee=taker_fee(rung.yes_ask, params.count),
                               edge_after_fees=buy_edge(p, rung.yes_ask, fee)),)
        return ()
