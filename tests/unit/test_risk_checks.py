"""Pre-trade checks: one passing and one failing case for every rule, and the verdict event.

The default scene (``tests.builders``): the market's book shows YES bid 40¢ / ask 45¢ and NO bid
55¢ / ask 60¢; the order buys 10 YES at 45¢. It costs $4.50 plus Kalshi's taker fee of
ceil(0.07 x 10 x 0.45 x 0.55 = $0.17325) = $0.18, so $4.68, and can lose $4.50 if NO pays.
Units as in ``domain.money``: prices in 1/10,000 dollar, counts in 1/100 contract, money in micros.
"""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import timedelta
from decimal import Decimal

import pytest

from domain.events import Action, CheckOutcome, IntendedOrder, OrderRiskChecked, Side, TradingState
from domain.risk import (
    CHECK_NAMES,
    MissingRiskInput,
    RiskContext,
    RiskLimits,
    TradingStates,
    check_order,
    check_orders,
    evaluate,
    kill,
    order_cost,
)
from domain.risk.checks import RATE_WINDOW
from tests.builders import (
    CHI_TICKERS,
    CITY_OF,
    DOLLAR,
    NYC_TICKERS,
    PHL_TICKERS,
    RISK_TICKER,
    T0,
    a_resting_order,
    a_risk_context,
    a_rung,
    an_intended_order,
    held_no,
    held_yes,
)

CORRELATION = uuid.UUID("00000000-0000-4000-8000-00000000000a")
LIMITS = RiskLimits()
OTHER_NYC = NYC_TICKERS[0]


def outcome(name: str, order: IntendedOrder | None = None, context: RiskContext | None = None,
            limits: RiskLimits = LIMITS) -> CheckOutcome:
    checks = evaluate(order or an_intended_order(), context or a_risk_context(), limits)
    (found,) = [c for c in checks if c.name == name]
    return found


def passes(name: str, order: IntendedOrder | None = None, context: RiskContext | None = None,
           limits: RiskLimits = LIMITS) -> str:
    result = outcome(name, order, context, limits)
    assert result.passed, result.reason
    return result.reason


def fails(name: str, order: IntendedOrder | None = None, context: RiskContext | None = None,
          limits: RiskLimits = LIMITS) -> str:
    result = outcome(name, order, context, limits)
    assert not result.passed, result.reason
    return result.reason


# -- the verdict --------------------------------------------------------------------------------

def test_the_default_order_passes_every_check_and_is_approved() -> None:
    verdict = check_order(an_intended_order(), a_risk_context(), LIMITS, correlation_id=CORRELATION)

    assert verdict.approved
    assert tuple(c.name for c in verdict.checks) == CHECK_NAMES
    assert all(c.passed and c.reason for c in verdict.checks)


def test_one_failing_check_refuses_the_order_and_every_other_check_is_still_recorded() -> None:
    verdict = check_order(an_intended_order(price=9600), a_risk_context(), LIMITS,
                          correlation_id=CORRELATION)

    assert not verdict.approved
    assert [c.name for c in verdict.checks if not c.passed] == ["price_limit", "book_crossing"]
    assert len(verdict.checks) == len(CHECK_NAMES)


def test_the_verdict_is_one_event_per_order_with_an_id_from_its_stream() -> None:
    causation = uuid.UUID("00000000-0000-4000-8000-00000000000b")
    order = an_intended_order("mb-abc-0")
    first = check_order(order, a_risk_context(), LIMITS, correlation_id=CORRELATION,
                        causation_id=causation)
    again = check_order(order, a_risk_context(balance=1), LIMITS, correlation_id=CORRELATION)

    assert isinstance(first, OrderRiskChecked)
    assert (first.stream, first.version, first.recorded_at) == ("risk:mb-abc-0", 1, T0)
    assert first.causation_id == causation and first.correlation_id == CORRELATION
    # A second check of the same order (a retry) lands on the same id: the ledger keeps the first.
    assert again.event_id == first.event_id
    assert check_order(an_intended_order("mb-abc-1"), a_risk_context(), LIMITS,
                       correlation_id=CORRELATION).event_id != first.event_id


def test_one_decisions_orders_are_checked_together() -> None:
    limits = RiskLimits(max_market_loss=Decimal(8))
    orders = [an_intended_order("mb-d-0"), an_intended_order("mb-d-1")]  # $4.50 each at risk

    separately = [check_order(o, a_risk_context(), limits, correlation_id=CORRELATION) for o in orders]
    together = check_orders(orders, a_risk_context(), limits, correlation_id=CORRELATION)

    assert [v.approved for v in separately] == [True, True]
    assert [v.approved for v in together] == [True, False]
    (market,) = [c for c in together[1].checks if c.name == "market_exposure"]
    assert "$9.00" in market.reason and "$8.00 cap" in market.reason


def test_a_refused_order_does_not_count_against_the_next() -> None:
    limits = RiskLimits(max_open_orders=1)
    orders = [an_intended_order("mb-e-0", price=9900), an_intended_order("mb-e-1")]

    verdicts = check_orders(orders, a_risk_context(), limits, correlation_id=CORRELATION)

    assert [v.approved for v in verdicts] == [False, True]


def test_missing_inputs_are_a_caller_error_not_a_verdict() -> None:
    with pytest.raises(MissingRiskInput, match="no city"):
        evaluate(an_intended_order(ticker="KXHIGHLAX-26AUG28-B70.5"), a_risk_context(), LIMITS)
    with pytest.raises(MissingRiskInput, match="no market snapshot"):
        evaluate(an_intended_order(), a_risk_context(markets={}), LIMITS)


# -- trading_state --------------------------------------------------------------------------------

def test_trading_state_active_passes() -> None:
    assert "active" in passes("trading_state")


def test_trading_state_halted_refuses_even_an_exit() -> None:
    context = a_risk_context(state=TradingState.HALTED, positions={RISK_TICKER: held_yes(1000, 4000)})
    reason = fails("trading_state", an_intended_order(action=Action.SELL, price=4000), context)
    assert "halted" in reason


def test_trading_state_says_why_trading_is_held_back() -> None:
    states = TradingStates.fold(kill(TradingStates(), "alice", "venue outage", T0, 1))
    context = replace(a_risk_context(state=states.state_for("NYC", T0)),
                      state_reason=states.why("NYC", T0))
    reason = fails("trading_state", context=context)
    assert reason == ("trading in NYC is halted (all is halted: kill switch engaged by alice: "
                      "venue outage): no new orders")


def test_trading_state_reducing_passes_an_order_that_only_sells_what_is_held() -> None:
    context = a_risk_context(state=TradingState.REDUCING, positions={RISK_TICKER: held_yes(1000, 4000)})
    passes("trading_state", an_intended_order(action=Action.SELL, price=4000), context)
    # Buying NO against a YES long nets it down too.
    passes("trading_state", an_intended_order(side=Side.NO, price=6000), context)


def test_trading_state_reducing_refuses_an_order_that_adds_or_opens() -> None:
    context = a_risk_context(state=TradingState.REDUCING, positions={RISK_TICKER: held_yes(1000, 4000)})
    assert "adds to the 10 contracts YES held" in fails("trading_state", an_intended_order(), context)
    assert "nothing is held" in fails("trading_state", an_intended_order(ticker=OTHER_NYC), context)


def test_trading_state_reducing_refuses_a_sale_that_would_go_past_flat() -> None:
    context = a_risk_context(state=TradingState.REDUCING, positions={RISK_TICKER: held_no(1000, 5000)})
    fails("trading_state", an_intended_order(side=Side.NO, action=Action.SELL, count=1001), context)
    passes("trading_state", an_intended_order(side=Side.NO, action=Action.SELL, count=1000), context)


def test_trading_state_reducing_counts_resting_orders_that_already_reduce() -> None:
    resting = (a_resting_order(action=Action.SELL, price=5000, remaining=600),)
    context = a_risk_context(state=TradingState.REDUCING, positions={RISK_TICKER: held_yes(1000, 4000)},
                             resting=resting)
    passes("trading_state", an_intended_order(action=Action.SELL, count=400), context)
    reason = fails("trading_state", an_intended_order(action=Action.SELL, count=401), context)
    assert "only 4 contracts of the 10 contracts YES held are left to reduce" in reason


# -- market_state ---------------------------------------------------------------------------------

def test_market_state_active_and_far_from_the_close_passes() -> None:
    assert "closes in 600 min" in passes("market_state")


def test_market_state_refuses_a_market_that_is_not_active() -> None:
    context = a_risk_context(markets={RISK_TICKER: a_rung(status="closed")})
    assert "is closed, not active" in fails("market_state", context=context)


def test_market_state_refuses_a_market_closing_within_the_limit() -> None:
    at_limit = a_risk_context(markets={RISK_TICKER: a_rung(close_time=T0 + timedelta(minutes=30))})
    just_over = a_risk_context(markets={RISK_TICKER: a_rung(close_time=T0 + timedelta(minutes=31))})

    assert "30 min from now" in fails("market_state", context=at_limit)
    passes("market_state", context=just_over)


def test_market_state_refuses_a_market_past_its_close_or_without_one() -> None:
    closed = a_risk_context(markets={RISK_TICKER: a_rung(close_time=T0 - timedelta(minutes=1))})
    unknown = a_risk_context(markets={RISK_TICKER: a_rung(close_time=None)})

    assert "closed at" in fails("market_state", context=closed)
    assert "no close time" in fails("market_state", context=unknown)


# -- order_size -----------------------------------------------------------------------------------

def test_order_size_at_the_limit_passes() -> None:
    limits = RiskLimits(max_order_contracts=10)
    assert "10 contracts within the limit of 10 contracts" in passes("order_size", limits=limits)


def test_order_size_over_the_limit_fails_even_by_a_fraction() -> None:
    limits = RiskLimits(max_order_contracts=10)
    fails("order_size", an_intended_order(count=1001), limits=limits)
    assert "more than 0" in fails("order_size", an_intended_order(count=0))


# -- order_cost -----------------------------------------------------------------------------------

def test_order_cost_is_price_times_count_plus_the_taker_fee() -> None:
    assert order_cost(an_intended_order(), 0) == 4_500_000 + 180_000
    # Buying NO at 60¢ against 10 YES held closes the pair: it pays back, it costs nothing.
    assert order_cost(an_intended_order(side=Side.NO, price=6000), 1000) == 0
    # Selling 15 YES at 40¢ with 5 held brings $2.00 for those and opens 10 NO at 60¢ ($6.00),
    # with the fee on all 15: ceil(0.07 x 15 x 0.4 x 0.6 = $0.252) = $0.26.
    assert order_cost(an_intended_order(action=Action.SELL, price=4000, count=1500), 500) == (
        -2_000_000 + 6_000_000 + 260_000)


def test_order_cost_within_the_limit_passes() -> None:
    assert "$4.68" in passes("order_cost", limits=RiskLimits(max_order_cost=Decimal("4.68")))


def test_order_cost_over_the_limit_fails() -> None:
    reason = fails("order_cost", limits=RiskLimits(max_order_cost=Decimal("4.67")))
    assert "$4.68" in reason and "over the $4.67 limit" in reason


def test_order_cost_of_an_exit_is_nothing() -> None:
    context = a_risk_context(positions={RISK_TICKER: held_yes(100_000, 4000)})
    exit_all = an_intended_order(action=Action.SELL, price=4000, count=100_000)
    passes("order_cost", exit_all, context, RiskLimits(max_order_cost=Decimal(0),
                                                       max_order_contracts=1000))


# -- cash -----------------------------------------------------------------------------------------

def test_cash_enough_passes() -> None:
    passes("cash", context=a_risk_context(balance=4_680_000))


def test_cash_short_fails() -> None:
    assert "not enough cash" in fails("cash", context=a_risk_context(balance=4_679_999))


# -- price_limit ----------------------------------------------------------------------------------

def test_price_limit_a_buy_at_the_max_price_passes() -> None:
    passes("price_limit", an_intended_order(price=9500))
    passes("price_limit", an_intended_order(action=Action.SELL, price=9900))


def test_price_limit_a_buy_above_the_max_price_fails() -> None:
    assert "over the 95¢ limit" in fails("price_limit", an_intended_order(side=Side.NO, price=9501))


def test_price_limit_refuses_prices_a_contract_cannot_trade_at() -> None:
    fails("price_limit", an_intended_order(price=0))
    fails("price_limit", an_intended_order(action=Action.SELL, price=10_000))


# -- book_crossing --------------------------------------------------------------------------------

def test_book_crossing_within_the_limit_passes() -> None:
    passes("book_crossing", an_intended_order(price=4800))  # 3¢ through the 45¢ ask
    passes("book_crossing", an_intended_order(action=Action.SELL, price=3700))  # 3¢ under the bid
    assert "does not cross" in passes("book_crossing", an_intended_order(price=4200))


def test_book_crossing_too_far_through_the_ask_fails() -> None:
    reason = fails("book_crossing", an_intended_order(price=4801))
    assert "3.01¢ through the best YES ask of 45¢" in reason


def test_book_crossing_too_far_under_the_bid_fails() -> None:
    reason = fails("book_crossing", an_intended_order(side=Side.NO, action=Action.SELL, price=5100))
    assert "4¢ through the best NO bid of 55¢" in reason


def test_book_crossing_with_nothing_to_cross_passes() -> None:
    context = a_risk_context(markets={RISK_TICKER: a_rung(no_bid=None)})
    assert "can only rest" in passes("book_crossing", an_intended_order(price=9000), context)


# -- market_exposure ------------------------------------------------------------------------------

def test_market_exposure_within_the_cap_passes() -> None:
    passes("market_exposure", limits=RiskLimits(max_market_loss=Decimal("4.50")))


def test_market_exposure_over_the_cap_fails_counting_the_position_and_resting_orders() -> None:
    context = a_risk_context(positions={RISK_TICKER: held_yes(1000, 3000)},  # $3.00 at risk
                             resting=(a_resting_order(price=2000, remaining=500),))  # $1.00
    reason = fails("market_exposure", context=context, limits=RiskLimits(max_market_loss=Decimal(8)))
    assert "would be $8.50 (now $4.00), over the $8.00 cap" in reason


def test_market_exposure_over_the_cap_still_passes_an_order_that_does_not_add() -> None:
    context = a_risk_context(positions={RISK_TICKER: held_yes(1000, 3000)})
    reason = passes("market_exposure", an_intended_order(action=Action.SELL, price=4000), context,
                    RiskLimits(max_market_loss=Decimal(1)))
    assert "does not add" in reason


# -- city_exposure --------------------------------------------------------------------------------

def test_city_exposure_counts_the_citys_other_markets() -> None:
    context = a_risk_context(positions={OTHER_NYC: held_yes(1000, 5000)})  # $5.00 in NYC already
    passes("city_exposure", context=context, limits=RiskLimits(max_city_loss=Decimal("9.50")))
    reason = fails("city_exposure", context=context, limits=RiskLimits(max_city_loss=Decimal("9.49")))
    assert "NYC's markets would be $9.50" in reason


def test_city_exposure_ignores_other_cities() -> None:
    context = a_risk_context(positions={PHL_TICKERS[0]: held_yes(1000, 5000)})
    passes("city_exposure", context=context, limits=RiskLimits(max_city_loss=Decimal("4.50")))


# -- cluster_exposure -----------------------------------------------------------------------------

def test_cluster_exposure_counts_another_city_of_the_same_cluster() -> None:
    context = a_risk_context(positions={PHL_TICKERS[0]: held_no(1000, 5000)})  # $5.00, northeast
    reason = fails("cluster_exposure", context=context,
                   limits=RiskLimits(max_cluster_loss=Decimal(9)))
    assert "the northeast cluster would be $9.50" in reason


def test_cluster_exposure_ignores_another_cluster() -> None:
    context = a_risk_context(positions={CHI_TICKERS[0]: held_no(1000, 5000)})  # midwest
    passes("cluster_exposure", context=context, limits=RiskLimits(max_cluster_loss=Decimal(9)))


# -- portfolio_exposure ---------------------------------------------------------------------------

def test_portfolio_exposure_within_the_share_of_equity_passes() -> None:
    passes("portfolio_exposure", context=a_risk_context(equity=9 * DOLLAR))  # $4.50 of 50% of $9


def test_portfolio_exposure_over_the_share_of_equity_fails() -> None:
    context = a_risk_context(equity=9 * DOLLAR, positions={CHI_TICKERS[1]: held_yes(100, 100)})
    reason = fails("portfolio_exposure", context=context)  # $4.51 against the $4.50 cap
    assert "$4.51" in reason and "50%" in reason


def test_portfolio_exposure_with_no_equity_refuses_any_new_risk() -> None:
    fails("portfolio_exposure", context=a_risk_context(equity=-DOLLAR))


# -- open_orders ----------------------------------------------------------------------------------

def test_open_orders_below_the_limit_passes() -> None:
    assert "open order 50" in passes("open_orders", context=a_risk_context(open_orders=49))


def test_open_orders_at_the_limit_fails() -> None:
    assert "open order 51" in fails("open_orders", context=a_risk_context(open_orders=50))


# -- order_rate -----------------------------------------------------------------------------------

def test_order_rate_below_the_limit_passes_and_older_orders_do_not_count() -> None:
    recent = tuple(T0 - timedelta(seconds=s) for s in range(19))
    old = tuple(T0 - RATE_WINDOW - timedelta(seconds=s) for s in range(10))
    assert "order 20 in the last minute" in passes(
        "order_rate", context=a_risk_context(recent_orders=recent + old))


def test_order_rate_at_the_limit_fails() -> None:
    recent = tuple(T0 - timedelta(seconds=s) for s in range(20))
    assert "order 21" in fails("order_rate", context=a_risk_context(recent_orders=recent))


def test_every_ticker_of_the_builders_has_a_city() -> None:
    assert {CITY_OF[t] for t in (*NYC_TICKERS, *PHL_TICKERS, *CHI_TICKERS)} == {"NYC", "PHL", "CHI"}
