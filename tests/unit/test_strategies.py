"""The strategy plug-ins: the interface, Kelly sizing, the taker, the maker and the registry.

Units as in ``domain.money``: prices in 1/10,000 dollar (22¢ = 2200), counts in 1/100 contract
(8 contracts = 800), money in micros ($1 = 1_000_000). The worked examples do the arithmetic by
hand in the docstrings so a reader can check the code against them.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

import pytest

from domain.events import Action, Edge, IntendedOrder, MarketQuote, Side
from domain.ladder import Ladder
from domain.money import taker_fee
from domain.strategies import (
    Intent,
    Maker,
    MakerParams,
    RestingOrder,
    StrategyConfigError,
    StrategyInput,
    Taker,
    TakerParams,
    UnknownStrategy,
    kelly_share,
    load_strategies,
    size_buy,
    strategy,
)
from domain.strategies.maker import maker_fee
from tests.builders import T0, a_ladder, a_market_snapshot

DOLLAR = 1_000_000
TICKERS = tuple(q.ticker for q in a_ladder())  # T79, B79.5, B81.5, B83.5, B85.5, T86


@dataclass(frozen=True)
class Book:
    """One rung's best bids (None: no bid) and sizes (1/100 contract)."""

    yes_bid: int | None = None
    no_bid: int | None = None
    yes_size: int = 5_000
    no_size: int = 5_000
    status: str = "active"
    close_time: datetime | None = field(default=T0 + timedelta(hours=10))


def ladder(books: Mapping[int, Book]) -> Ladder:
    """The builders' six-rung daily-high ladder with the given books (others empty)."""
    def quote(i: int, q: MarketQuote) -> MarketQuote:
        b = books.get(i, Book())
        return q.model_copy(update={
            "status": b.status, "close_time": b.close_time,
            "yes_bids": () if b.yes_bid is None else ((b.yes_bid, b.yes_size),),
            "no_bids": () if b.no_bid is None else ((b.no_bid, b.no_size),)})
    return Ladder.of(a_market_snapshot(markets=tuple(quote(i, q) for i, q in enumerate(a_ladder()))))


def inputs(books: Mapping[int, Book], probabilities: Mapping[int, float], *,
           positions: Mapping[str, int] | None = None, resting: tuple[RestingOrder, ...] = (),
           balance: int = 100 * DOLLAR) -> StrategyInput:
    return StrategyInput(ladder=ladder(books),
                         probabilities=tuple(probabilities.get(i, 0.1) for i in range(6)),
                         positions=positions or {}, resting=resting, balance=balance, now=T0)


def taker(given: StrategyInput, **params: object) -> tuple[Intent, ...]:
    return Taker().decide(given, TakerParams.model_validate(params))


def maker(given: StrategyInput, **params: object) -> tuple[Intent, ...]:
    return Maker().decide(given, MakerParams.model_validate(params))


#: YES ask 22¢ (a NO bid at 78¢) on the first rung.
ASK_22 = {0: Book(no_bid=7_800)}
#: Caps out of the way, to see one at a time.
NO_CAPS = {"max_order_count": 10**9, "max_order_cost": 10**15, "max_market_position": 10**9}


# -- the worked example -------------------------------------------------------------------------

def test_worked_example_buys_yes_at_the_ask() -> None:
    """p = 0.30, YES ask 22¢, $100 available, default parameters.

    Fee for one contract: ceil(0.07 x 0.22 x 0.78 x 100)/100 = ceil(1.2012)¢ = 2¢, so the all-in
    cost is c = 0.24 and the edge 0.30 - 0.24 = 0.06; less the 0.01 safety margin that is 0.05,
    above the 0.03 minimum. Kelly: f* = (0.30 - 0.24) / (1 - 0.24) = 0.06 / 0.76 = 7.89%; a quarter
    of it on $100 stakes floor(1_973_684.2) = 1_973_684 micros, i.e. 1_973_684 / 240_000 = 8.22
    contracts, rounded down to 8 whole ones. The order's fee: ceil(0.07 x 8 x 0.1716 = 9.61¢) = 10¢.
    """
    (intent,) = taker(inputs(ASK_22, {0: 0.30}))
    assert (intent.ticker, intent.side, intent.action) == (TICKERS[0], Side.YES, Action.BUY)
    assert (intent.price, intent.count, intent.post_only) == (2_200, 800, False)
    assert intent.fee_per_contract == 20_000
    assert intent.fee == 100_000 == taker_fee(2_200, 800)
    assert intent.probability == 0.30
    assert intent.edge_after_fees == pytest.approx(0.06)
    assert "edge 0.060" in intent.reason and "8.22 contracts" in intent.reason
    assert "cap hit" not in intent.reason

    edge = intent.edge()
    assert isinstance(edge, Edge)
    assert (edge.price, edge.fee_per_contract, edge.probability) == (2_200, 20_000, 0.30)
    order = intent.order("mb-1")
    assert isinstance(order, IntendedOrder)
    assert (order.count, order.price, order.post_only, order.reason) == (800, 2_200, False,
                                                                         intent.reason)


def test_kelly_by_hand() -> None:
    """The worked example's numbers, one by one (all-in cost 240_000 micros a contract)."""
    assert kelly_share(0.30, 240_000) == pytest.approx(0.06 / 0.76)
    assert kelly_share(0.24, 240_000) == 0.0  # no edge, no bet
    assert kelly_share(0.10, 240_000) == 0.0  # never negative
    size = size_buy(probability=0.30, price=2_200, fee_per_contract=20_000,
                    order_fee=lambda n: taker_fee(2_200, n), bankroll=100 * DOLLAR, held=0,
                    resting=0, params=TakerParams())
    assert (size.kelly_raw, size.kelly_count, size.count, size.binding) == (822, 800, 800, "Kelly")


def test_hundredths_of_a_contract_when_the_step_allows() -> None:
    """count_step 1: the 8.22 contracts of the worked example are kept to the hundredth."""
    (intent,) = taker(inputs(ASK_22, {0: 0.30}), count_step=1)
    assert intent.count == 822
    assert intent.fee == taker_fee(2_200, 822)  # ceil(0.07 x 8.22 x 0.1716 = 9.87¢) = 10¢


# -- when not to trade --------------------------------------------------------------------------

@pytest.mark.parametrize("p", [0.27, 0.24, 0.10, 0.0])
def test_no_trade_without_enough_edge(p: float) -> None:
    """At 22¢ + 2¢ fee, p = 0.27 has an edge of 0.03, but 0.03 - 0.01 margin < 0.03: no trade."""
    assert taker(inputs(ASK_22, {0: p})) == ()


def test_no_trade_without_an_ask() -> None:
    """p = 0.90 would buy YES, but only a YES bid shows: no NO bid, so no YES ask. (The NO ask at
    80¢ is worth 0.10 to us.) An empty book trades nothing either."""
    assert taker(inputs({0: Book(yes_bid=2_000)}, {0: 0.9})) == ()
    assert taker(inputs({}, {0: 0.9})) == ()


def test_a_rung_that_is_not_open_or_past_its_close_is_skipped() -> None:
    closed = {0: Book(no_bid=7_800, status="closed")}
    assert taker(inputs(closed, {0: 0.30})) == ()
    past_close = {0: Book(no_bid=7_800, close_time=T0)}
    assert taker(inputs(past_close, {0: 0.30})) == ()


def test_longshots_and_favourites_outside_the_price_band_are_skipped() -> None:
    """A 3¢ YES ask with p = 0.20 is a huge edge on paper, but below the 4¢ floor; a 97¢ ask with
    p = 1.0 is above the 96¢ ceiling. Widening the band lets the first through."""
    cheap = {0: Book(no_bid=9_700)}
    dear = {0: Book(no_bid=300)}
    assert taker(inputs(cheap, {0: 0.20})) == ()
    assert taker(inputs(dear, {0: 1.0})) == ()
    (intent,) = taker(inputs(cheap, {0: 0.20}), min_price=100)
    assert intent.price == 300


# -- the NO side --------------------------------------------------------------------------------

def test_buys_no_at_the_no_ask() -> None:
    """P(YES) 0.60 and a YES bid at 70¢, so a NO ask at 30¢ and P(NO) = 0.40.

    Fee: ceil(0.07 x 0.30 x 0.70 = 1.47¢) = 2¢; edge 0.40 - 0.32 = 0.08. Kelly: f* = 0.08 / 0.68
    = 11.76%; a quarter on $100 is $2.94, 2_941_176 / 320_000 = 9.19 contracts -> 9. The order's fee:
    ceil(0.07 x 9 x 0.21 = 13.23¢) = 14¢. The NO ask's size is the YES bid's: 40 contracts here.
    """
    (intent,) = taker(inputs({0: Book(yes_bid=7_000, yes_size=4_000)}, {0: 0.60}))
    assert (intent.side, intent.action, intent.price, intent.count) == (Side.NO, Action.BUY, 3_000, 900)
    assert intent.probability == pytest.approx(0.40)
    assert intent.fee_per_contract == 20_000 and intent.fee == 140_000
    assert intent.edge_after_fees == pytest.approx(0.08)


# -- each cap binding ---------------------------------------------------------------------------

def test_max_contracts_per_order_binds() -> None:
    """$1000 asks Kelly for 82.23 contracts; the default cap is 20."""
    (intent,) = taker(inputs(ASK_22, {0: 0.30}, balance=1_000 * DOLLAR))
    assert intent.count == 2_000
    assert "cap hit: max contracts" in intent.reason and "82.23 contracts" in intent.reason


def test_max_cost_per_order_binds_fee_included() -> None:
    """$3 a order: 12 contracts cost 2.64 + ceil(0.07 x 12 x 0.1716 = 14.4¢) = $2.79; 13 would cost
    2.86 + 16¢ = $3.02."""
    (intent,) = taker(inputs(ASK_22, {0: 0.30}, balance=1_000 * DOLLAR),
                      **{**NO_CAPS, "max_order_cost": 3 * DOLLAR})
    assert intent.count == 1_200
    assert intent.price * intent.count + intent.fee == 2_790_000
    assert "cap hit: max cost" in intent.reason


def test_max_position_counts_holdings_and_resting_buys_on_the_same_side() -> None:
    """Cap 10 contracts: 3 held and 4 resting to buy on YES leave room for 3. A resting NO buy and a
    resting YES sale on the same market do not use the room."""
    resting = (RestingOrder(TICKERS[0], Side.YES, Action.BUY, 2_000, 400),
               RestingOrder(TICKERS[0], Side.NO, Action.BUY, 5_000, 900),
               RestingOrder(TICKERS[0], Side.YES, Action.SELL, 9_000, 100),
               RestingOrder(TICKERS[1], Side.YES, Action.BUY, 2_000, 900))
    given = inputs(ASK_22, {0: 0.30}, positions={TICKERS[0]: 300}, resting=resting,
                   balance=1_000 * DOLLAR)
    (intent,) = taker(given, **{**NO_CAPS, "max_market_position": 1_000})
    assert intent.count == 300
    assert "cap hit: max position" in intent.reason
    full = inputs(ASK_22, {0: 0.30}, positions={TICKERS[0]: 600}, resting=resting,
                  balance=1_000 * DOLLAR)
    assert taker(full, **{**NO_CAPS, "max_market_position": 1_000}) == ()


def test_displayed_size_binds() -> None:
    """Only 5 contracts shown at the 22¢ ask (the NO bid's size): Kelly's 8 become 5."""
    (intent,) = taker(inputs({0: Book(no_bid=7_800, no_size=500)}, {0: 0.30}))
    assert intent.count == 500
    assert "cap hit: book depth" in intent.reason


def test_the_balance_binds_across_the_decision_best_edge_first() -> None:
    """$10, full Kelly, two 22¢ asks. p = 0.90 comes first (edge 0.66): f* = 0.66 / 0.76 = 86.8%,
    $8.68 / 0.24 = 36.18 -> 36 contracts costing 7.92 + ceil(0.07 x 36 x 0.1716 = 43.2¢) = $8.36.
    p = 0.85 (edge 0.61) gets the $1.64 left: 7 contracts cost 1.54 + 9¢ = $1.63; 8 would be $1.87."""
    books = {0: Book(no_bid=7_800), 5: Book(no_bid=7_800)}
    first, second = taker(inputs(books, {0: 0.85, 5: 0.90}, balance=10 * DOLLAR),
                          **{**NO_CAPS, "kelly_fraction": 1.0})
    assert (first.ticker, first.count, first.fee) == (TICKERS[5], 3_600, 440_000)
    assert (second.ticker, second.count) == (TICKERS[0], 700)
    assert "cap hit: balance" in second.reason
    spent = sum(i.price * i.count + i.fee for i in (first, second))
    assert spent == 9_990_000 <= 10 * DOLLAR


def test_nothing_to_spend_means_no_buy() -> None:
    assert taker(inputs(ASK_22, {0: 0.30}, balance=0)) == ()


# -- reducing -----------------------------------------------------------------------------------

def test_a_holding_worth_less_than_the_bid_is_sold_at_the_bid() -> None:
    """We hold 10 YES; p fell to 0.20 and the YES bid is 30¢. Selling brings 30¢ - 2¢ fee
    (ceil(0.07 x 0.3 x 0.7) = 2¢) = 28¢ for a contract worth 20¢ to us: edge 0.08, above the 0.03
    threshold after the 0.01 margin. The NO ask (70¢, P(NO) 0.80) has the same edge, but while we
    hold YES the reducing rule speaks for the rung: no NO buy."""
    given = inputs({0: Book(yes_bid=3_000, yes_size=2_000, no_bid=6_000)}, {0: 0.20},
                   positions={TICKERS[0]: 1_000})
    (intent,) = taker(given)
    assert (intent.side, intent.action, intent.price, intent.count) == (Side.YES, Action.SELL, 3_000,
                                                                        1_000)
    assert intent.fee_per_contract == 20_000 and intent.fee == taker_fee(3_000, 1_000) == 150_000
    assert intent.edge_after_fees == pytest.approx(0.08)
    assert intent.probability == 0.20 and not intent.post_only
    assert "10 of 10 held" in intent.reason


def test_reducing_respects_resting_sales_the_bid_size_and_the_threshold() -> None:
    book = {0: Book(yes_bid=3_000, yes_size=2_000)}
    resting = (RestingOrder(TICKERS[0], Side.YES, Action.SELL, 3_500, 400),)
    (part,) = taker(inputs(book, {0: 0.20}, positions={TICKERS[0]: 1_000}, resting=resting))
    assert part.count == 600
    (thin,) = taker(inputs({0: Book(yes_bid=3_000, yes_size=250)}, {0: 0.20},
                           positions={TICKERS[0]: 1_000}))
    assert thin.count == 200 and "cap hit: book depth" in thin.reason
    # Worth 0.26: the sale's edge is 0.02, under the bar.
    assert taker(inputs(book, {0: 0.26}, positions={TICKERS[0]: 1_000})) == ()
    # A higher threshold keeps a holding the default would sell.
    assert taker(inputs(book, {0: 0.20}, positions={TICKERS[0]: 1_000}), reduce_threshold=0.08) == ()


def test_a_no_holding_is_sold_at_the_no_bid() -> None:
    """Short YES (holding 5 NO), P(YES) 0.85 so the NO is worth 0.15; the NO bid is 25¢."""
    (intent,) = taker(inputs({0: Book(no_bid=2_500)}, {0: 0.85}, positions={TICKERS[0]: -500}))
    assert (intent.side, intent.action, intent.price, intent.count) == (Side.NO, Action.SELL, 2_500, 500)
    assert intent.probability == pytest.approx(0.15)


def test_reduce_threshold_below_min_edge_is_refused() -> None:
    with pytest.raises(ValueError, match="reduce_threshold"):
        TakerParams(reduce_threshold=0.01)


# -- the maker ----------------------------------------------------------------------------------

#: YES bid 40¢, NO bid 44¢: YES ask 56¢, NO ask 60¢.
WIDE = {0: Book(yes_bid=4_000, no_bid=4_400)}


def test_maker_rests_one_tick_over_the_bid_on_each_side_with_edge() -> None:
    """p = 0.50 sits well inside 40¢..56¢ (42¢ < 50¢ < 54¢ with the 2¢ margin). No maker fee.

    YES at 41¢: edge 0.09; f* = 0.09 / 0.59 = 15.25%, a quarter of $100 is $3.81, / 0.41 = 9.30
    -> 9 contracts. NO at 45¢: edge 0.05; f* = 0.05 / 0.55 = 9.09%, $2.27 / 0.45 = 5.05 -> 5.
    Best edge first."""
    yes, no = maker(inputs(WIDE, {0: 0.50}))
    assert (yes.side, yes.price, yes.count, yes.post_only) == (Side.YES, 4_100, 900, True)
    assert (no.side, no.price, no.count, no.post_only) == (Side.NO, 4_500, 500, True)
    assert yes.fee == yes.fee_per_contract == 0 == no.fee
    assert yes.edge_after_fees == pytest.approx(0.09) and no.edge_after_fees == pytest.approx(0.05)
    assert "one tick over the 40¢ bid" in yes.reason


def test_maker_does_not_stack_on_its_own_resting_order() -> None:
    """A buy of YES already rests at 41¢: only the NO side is new. One at 40¢ does not block the
    41¢ bid, but counts towards the position cap."""
    at_41 = (RestingOrder(TICKERS[0], Side.YES, Action.BUY, 4_100, 300),)
    assert [i.side for i in maker(inputs(WIDE, {0: 0.50}, resting=at_41))] == [Side.NO]
    at_40 = (RestingOrder(TICKERS[0], Side.YES, Action.BUY, 4_000, 300),)
    yes, _ = maker(inputs(WIDE, {0: 0.50}, resting=at_40), max_market_position=1_000)
    assert (yes.price, yes.count) == (4_100, 700)


def test_maker_stays_out_unless_the_fair_value_is_well_inside_the_spread() -> None:
    """p = 0.41: 41¢ is not above the 40¢ bid plus the 2¢ margin. One-sided books: no spread."""
    assert maker(inputs(WIDE, {0: 0.41})) == ()
    assert maker(inputs({0: Book(yes_bid=4_000)}, {0: 0.50})) == ()
    assert maker(inputs({0: Book(yes_bid=4_000, no_bid=4_400, status="closed")}, {0: 0.50})) == ()


def test_maker_needs_the_edge_at_its_price() -> None:
    """A 0.06 minimum edge leaves only YES (0.09 - 0.01 margin); 0.10 leaves nothing."""
    assert [i.side for i in maker(inputs(WIDE, {0: 0.50}), min_edge=0.06)] == [Side.YES]
    assert maker(inputs(WIDE, {0: 0.50}), min_edge=0.10) == ()


def test_maker_fee_uses_kalshis_formula_at_any_rate() -> None:
    """At 0.07 it is the taker fee; at 0.0175 and 41¢: 0.0175 x 0.41 x 0.59 = 0.42¢ -> 1¢."""
    for price in (100, 2_200, 4_100, 5_000, 9_900):
        for count in (1, 100, 822, 10_000):
            assert maker_fee(price, count, Decimal("0.07")) == taker_fee(price, count)
    assert maker_fee(4_100, 100, Decimal("0.0175")) == 10_000
    yes = maker(inputs(WIDE, {0: 0.50}), maker_fee_rate=0.0175)[0]
    assert yes.fee_per_contract == 10_000 and yes.edge_after_fees == pytest.approx(0.08)


# -- inputs -------------------------------------------------------------------------------------

def test_probabilities_must_match_the_rungs() -> None:
    with pytest.raises(ValueError, match="5 probabilities for 6 rungs"):
        StrategyInput(ladder=ladder({}), probabilities=(0.2,) * 5, balance=0, now=T0)
    with pytest.raises(ValueError, match="not in"):
        StrategyInput(ladder=ladder({}), probabilities=(1.2,) * 6, balance=0, now=T0)


def test_the_same_input_gives_the_same_intents() -> None:
    books = {0: Book(no_bid=7_800), 2: Book(yes_bid=7_000), 3: Book(yes_bid=4_000, no_bid=4_400)}
    probabilities = {0: 0.30, 2: 0.60, 3: 0.50}
    assert taker(inputs(books, probabilities)) == taker(inputs(books, probabilities))
    assert maker(inputs(books, probabilities)) == maker(inputs(books, probabilities))


# -- the registry -------------------------------------------------------------------------------

def test_built_in_strategies_are_registered() -> None:
    assert strategy("taker") is Taker and strategy("maker") is Maker
    taker_, maker_ = load_strategies([{"name": "taker", "params": {"min_edge": 0.05}},
                                      {"name": "maker"}])
    assert taker_.name == "taker" and taker_.params == TakerParams(min_edge=0.05)
    assert maker_.params == MakerParams()
    assert taker_.decide(inputs(ASK_22, {0: 0.30})) == ()  # 0.06 - 0.01 < 0.05


def test_an_unknown_strategy_is_refused_with_the_known_names() -> None:
    with pytest.raises(UnknownStrategy, match=r"no strategy named 'scalper' \(known: .*maker.*taker"):
        load_strategies([{"name": "scalper"}])


def test_an_unknown_parameter_is_refused_naming_the_strategy_and_the_key() -> None:
    with pytest.raises(StrategyConfigError, match="strategy 'taker': unknown parameter 'min_edg'"):
        load_strategies([{"name": "taker", "params": {"min_edg": 0.05}}])
    with pytest.raises(StrategyConfigError, match="strategy 'maker': parameter 'tick'"):
        load_strategies([{"name": "maker", "params": {"tick": 0}}])
    with pytest.raises(StrategyConfigError, match="strategy entry 'taker': unknown key 'parms'"):
        load_strategies([{"name": "taker", "parms": {}}])


def test_a_strategy_configured_twice_or_a_missing_module_is_refused() -> None:
    with pytest.raises(StrategyConfigError, match="configured twice"):
        load_strategies([{"name": "taker"}, {"name": "taker"}])
    with pytest.raises(StrategyConfigError, match=r"cannot import module 'tests\.plugins\.nowhere'"):
        load_strategies([{"name": "nowhere", "module": "tests.plugins.nowhere"}])


def test_a_strategy_in_its_own_module_is_loaded_by_module_path() -> None:
    """The plug-in proof: nothing imported the module before; the configuration entry alone
    imports it, registers its strategy and validates its parameters."""
    module = "tests.plugins.example_strategy"
    assert module not in sys.modules
    with pytest.raises(UnknownStrategy):
        strategy("example_favourite")
    (loaded,) = load_strategies([{"name": "example_favourite", "module": module,
                                  "params": {"count": 300}}])
    assert module in sys.modules and loaded.name == "example_favourite"
    (intent,) = loaded.decide(inputs({0: Book(no_bid=7_800)}, {0: 0.6}))
    assert (intent.ticker, intent.price, intent.count) == (TICKERS[0], 2_200, 300)
    with pytest.raises(StrategyConfigError, match="strategy 'example_favourite': unknown parameter"):
        load_strategies([{"name": "example_favourite", "module": module, "params": {"size": 1}}])
