"""Properties of the built-in strategies over any book, probabilities, holdings and parameters.

Whatever the inputs: counts are positive multiples of the step and never exceed a cap or the size
shown at the price; a decision never spends more than the balance; every intent clears the
minimum edge; fees are never negative and never below Kalshi's formula; and the same input gives
the same intents.
"""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from domain.events import Action, MarketQuote, Side
from domain.ladder import Ladder
from domain.money import COUNT_SCALE, MONEY_SCALE, PRICE_SCALE, taker_fee
from domain.strategies import (
    Intent,
    Maker,
    MakerParams,
    RestingOrder,
    StrategyInput,
    Taker,
    TakerParams,
)
from domain.strategies.base import best_ask, best_bid, buy_edge, sell_edge, tradable
from tests.builders import T0, a_ladder, a_market_snapshot

QUOTES = a_ladder()
TICKERS = tuple(q.ticker for q in QUOTES)
sides = st.sampled_from(Side)


@st.composite
def quotes(draw: st.DrawFn, base: MarketQuote) -> MarketQuote:
    """A rung with an uncrossed best bid on each side, or none, and any size; spreads are mostly
    a few cents, as in a live book, but can be anything."""
    yes_bid = draw(st.none() | st.integers(1, PRICE_SCALE - 101) | st.integers(1, PRICE_SCALE - 101))
    spread = draw(st.integers(1, 1_500) | st.integers(1, PRICE_SCALE - 1))
    no_bid = draw(st.none() | st.integers(1, PRICE_SCALE - 1)) if yes_bid is None else (
        None if PRICE_SCALE - yes_bid - spread < 1 or draw(st.integers(0, 4)) == 0
        else PRICE_SCALE - yes_bid - spread)
    size = st.integers(1, 20_000)
    return base.model_copy(update={
        "status": draw(st.sampled_from(["active", "active", "active", "closed"])),
        "yes_bids": () if yes_bid is None else ((yes_bid, draw(size)),),
        "no_bids": () if no_bid is None else ((no_bid, draw(size)),)})


def probability_near(quote: MarketQuote) -> st.SearchStrategy[float]:
    """Any probability, or (mostly) one near the market's YES mid, so that edges on either side,
    fair values inside the spread, and no edge at all, all come up often."""
    prices = [p for p, _ in quote.yes_bids] + [PRICE_SCALE - p for p, _ in quote.no_bids]
    if not prices:
        return st.floats(0.0, 1.0)
    mid = sum(prices) / len(prices) / PRICE_SCALE

    def near(width: float) -> st.SearchStrategy[float]:
        return st.floats(-width, width).map(lambda d: min(max(mid + d, 0.0), 1.0))

    return near(0.4) | near(0.1) | st.floats(0.0, 1.0)


@st.composite
def strategy_inputs(draw: st.DrawFn) -> StrategyInput:
    markets = tuple(draw(quotes(q)) for q in QUOTES)
    probabilities = tuple(draw(probability_near(m)) for m in markets)
    positions = draw(st.dictionaries(st.sampled_from(TICKERS), st.integers(-10_000, 10_000),
                                     max_size=4))
    resting = tuple(draw(st.lists(st.builds(
        RestingOrder, st.sampled_from(TICKERS), sides, st.sampled_from(Action),
        st.integers(1, PRICE_SCALE - 1), st.integers(0, 5_000)), max_size=6)))
    return StrategyInput(ladder=Ladder.of(a_market_snapshot(markets=markets)),
                         probabilities=probabilities, positions=positions, resting=resting,
                         balance=draw(dollars(10_000) | dollars(20)), now=T0)


def dollars(most: int) -> st.SearchStrategy[int]:
    """Micros up to ``most`` dollars: mostly whole dollars spread over the range, sometimes any."""
    return (st.integers(0, most).map(lambda d: d * MONEY_SCALE) | st.integers(0, most * MONEY_SCALE)
            | st.integers(0, most).map(lambda d: d * MONEY_SCALE))


def either(default: Any, other: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """The documented default as often as anything else, so that edited parameters meet
    realistic others."""
    return st.just(default) | other


def sizing(draw: st.DrawFn, defaults: TakerParams | MakerParams) -> dict[str, Any]:
    min_price = draw(either(defaults.min_price, st.integers(1, 5_000)))
    return {
        "kelly_fraction": draw(either(defaults.kelly_fraction, st.floats(0.01, 1.0))),
        "count_step": draw(st.sampled_from([1, 10, 100, 100])),
        "max_order_count": draw(either(defaults.max_order_count, st.integers(0, 10_000))),
        "max_order_cost": draw(either(defaults.max_order_cost, dollars(200))),
        "max_market_position": draw(either(defaults.max_market_position, st.integers(0, 20_000))),
        "min_edge": draw(either(defaults.min_edge, st.floats(0.0, 0.1))),
        "safety_margin": draw(either(defaults.safety_margin, st.floats(0.0, 0.05))),
        "min_price": min_price,
        "max_price": draw(either(max(defaults.max_price, min_price),
                                 st.integers(min_price, PRICE_SCALE))),
    }


@st.composite
def taker_params(draw: st.DrawFn) -> TakerParams:
    values = sizing(draw, TakerParams())
    extra = draw(st.none() | st.floats(0.0, 0.2))
    reduce = None if extra is None else min(values["min_edge"] + extra, 1.0)
    return TakerParams(**values, reduce_threshold=reduce)


@st.composite
def maker_params(draw: st.DrawFn) -> MakerParams:
    defaults = MakerParams()
    return MakerParams(**sizing(draw, defaults),
                       spread_margin=draw(either(defaults.spread_margin, st.integers(0, 500))),
                       tick=draw(either(defaults.tick, st.integers(1, 300))),
                       maker_fee_rate=draw(st.sampled_from([Decimal(0), Decimal("0.0175"),
                                                            Decimal("0.07")])))


def formula_fee(price: int, count: int, rate: Decimal) -> Fraction:
    """Kalshi's fee before rounding, in micros: rate x C x P x (1 - P)."""
    return (Fraction(rate) * Fraction(count, COUNT_SCALE) * Fraction(price, PRICE_SCALE)
            * Fraction(PRICE_SCALE - price, PRICE_SCALE) * MONEY_SCALE)


def check_common(intents: tuple[Intent, ...], given_: StrategyInput,
                 params: TakerParams | MakerParams, rate: Decimal) -> None:
    keys = [(i.ticker, i.side, i.action) for i in intents]
    assert len(set(keys)) == len(keys)
    spent = 0
    for i in intents:
        rung = given_.ladder.rung(i.ticker)
        assert tradable(rung, given_.now)
        assert i.count > 0 and i.count % params.count_step == 0
        assert i.count <= params.max_order_count
        assert 0 < i.price < PRICE_SCALE
        # Edges: the recorded number is the one tested, and it clears the bar.
        assert i.edge_after_fees >= params.min_edge
        edge = buy_edge if i.action is Action.BUY else sell_edge
        assert i.edge_after_fees == edge(i.probability, i.price, i.fee_per_contract)
        assert i.edge().edge_after_fees == i.edge_after_fees
        # Fees: never negative, never under the formula (rounding goes up to the cent).
        assert i.fee_per_contract >= 0 and i.fee >= 0
        assert i.fee_per_contract >= formula_fee(i.price, COUNT_SCALE, rate)
        assert i.fee >= formula_fee(i.price, i.count, rate)
        assert i.fee % (MONEY_SCALE // 100) == 0
        if i.action is Action.BUY:
            assert params.min_price <= i.price <= params.max_price
            cost = i.price * i.count + i.fee
            assert cost <= params.max_order_cost
            spent += cost
            room = (given_.held(i.ticker, i.side) + given_.resting_count(i.ticker, i.side, Action.BUY)
                    + i.count)
            assert room <= params.max_market_position
    assert spent <= given_.balance


@given(strategy_inputs(), taker_params())
def test_taker_stays_within_every_bound(given_: StrategyInput, params: TakerParams) -> None:
    intents = Taker().decide(given_, params)
    check_common(intents, given_, params, Decimal("0.07"))
    for i in intents:
        assert not i.post_only
        assert i.fee_per_contract == taker_fee(i.price, COUNT_SCALE)
        assert i.fee == taker_fee(i.price, i.count)
        rung = given_.ladder.rung(i.ticker)
        if i.action is Action.BUY:
            ask = best_ask(rung, i.side)
            assert ask is not None and i.price == ask[0] and i.count <= ask[1]
            assert i.edge_after_fees - params.safety_margin >= params.min_edge
        else:
            bid = best_bid(rung, i.side)
            assert bid is not None and i.price == bid[0] and i.count <= bid[1]
            assert i.count <= (given_.held(i.ticker, i.side)
                               - given_.resting_count(i.ticker, i.side, Action.SELL))
            assert i.edge_after_fees - params.safety_margin >= params.reduce_hurdle


@given(strategy_inputs(), maker_params())
def test_maker_stays_within_every_bound(given_: StrategyInput, params: MakerParams) -> None:
    intents = Maker().decide(given_, params)
    check_common(intents, given_, params, params.maker_fee_rate)
    for i in intents:
        assert i.post_only and i.action is Action.BUY
        assert i.edge_after_fees - params.safety_margin >= params.min_edge
        rung = given_.ladder.rung(i.ticker)
        bid, ask = best_bid(rung, i.side), best_ask(rung, i.side)
        assert bid is not None and ask is not None
        assert i.price == bid[0] + params.tick < ask[0]
        assert not given_.rests_at(i.ticker, i.side, Action.BUY, i.price)


@given(strategy_inputs(), taker_params(), maker_params())
def test_the_same_input_gives_the_same_intents(given_: StrategyInput, taker_: TakerParams,
                                               maker_: MakerParams) -> None:
    # A rebuilt input (same values, new objects) as a replay would build it.
    again = StrategyInput(ladder=given_.ladder, probabilities=tuple(given_.probabilities),
                          positions=dict(given_.positions), resting=tuple(given_.resting),
                          balance=given_.balance, now=given_.now)
    for strategy, params in ((Taker(), taker_), (Maker(), maker_)):
        first = strategy.decide(given_, params)
        assert strategy.decide(again, params) == first
        assert [i.edge().model_dump_json() for i in strategy.decide(given_, params)] == \
            [i.edge().model_dump_json() for i in first]
