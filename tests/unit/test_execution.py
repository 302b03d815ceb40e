"""Execution quality of one order and of a city's orders, worked by hand.

Units: prices in 1/10,000 dollar (35 cents = 3500), counts in 1/100 contract (2 contracts = 200),
fees in micros.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from domain.events import Action, Side
from domain.execution import (
    ALL,
    UNKNOWN_CITY,
    DecisionContext,
    OrderExecution,
    OrderStatus,
    ScopeTotals,
    TopOfBook,
    median,
    summarize,
)
from tests.builders import (
    T0,
    a_decision_to_trade,
    a_leg,
    a_leg_submitted,
    a_market_snapshot,
    an_order_filled,
    an_order_submitted,
)

SECOND = timedelta(seconds=1)
#: YES bid 30¢; NO bid 64¢, so the YES ask is 36¢.
BOOK = TopOfBook(yes_bid=3000, yes_ask=3600)


def an_order(leg=None, *, context: DecisionContext | None = None, city: str | None = "NYC"):
    leg = leg or a_leg()
    decision = a_decision_to_trade(a_market_snapshot(), leg)
    if context is None:
        context = DecisionContext.of(str(decision.decision_id), "NYC", leg.price, leg.side, BOOK)
    return OrderExecution.submitted(a_leg_submitted(leg, decision, city=city, recorded_at=T0),
                                    context)


def fill(order: OrderExecution, price: int, count: int, seconds: float, *, fee: int = 10_000,
         venue_time: bool = True) -> OrderExecution:
    at = T0 + seconds * SECOND
    event = an_order_filled(client_order_id=order.client_order_id, ticker=order.ticker,
                            side=order.side, action=order.action, price=price, count=count,
                            fee=fee, recorded_at=at if not venue_time else at + 60 * SECOND,
                            venue_time=at)
    if not venue_time:
        event = event.model_copy(update={"venue_time": None})
    return order.fill(event)


def test_the_worked_example_a_yes_buy_at_35_cents() -> None:
    """Buy 5 YES intended at 35¢, the book 30 bid / 36 ask (the NO bid is 64):

        mid = (30 + 36) / 2 = 33¢ = 3300; spread = 36 - 30 = 6¢ = 600
        fills 2 @ 35 at +2 s and 3 @ 36 at +5 s (venue times):
        average = (2 x 35 + 3 x 36) / 5 = 35.6¢ = 3560
        slippage = 35.6 - 35 = +0.6¢ = +60 (we paid more: worse, so positive)
        fill rate = 5 / 5 = 1; first fill after 2 s, complete after 5 s; fees 0.01 + 0.02 dollars
    """
    assert TopOfBook.of(a_market_snapshot(best_yes_bid=3000, best_no_bid=6400).markets[2]) == BOOK
    order = an_order()
    assert (order.decision_price, order.mid, order.spread) == (3500, 3300.0, 600)
    assert order.status is OrderStatus.SUBMITTED

    order = fill(order, 3500, 200, 2, fee=10_000)
    assert order.status is OrderStatus.PARTIAL and order.complete_at is None
    order = fill(order, 3600, 300, 5, fee=20_000)

    assert order.avg_fill_price == 3560
    assert order.slippage == 60
    assert order.slippage_cost == 30_000  # 0.6¢ x 5 contracts = 3¢, in micros
    assert order.fill_rate == 1.0
    assert order.status is OrderStatus.FILLED
    assert (order.seconds_to_first_fill, order.seconds_to_complete) == (2.0, 5.0)
    assert order.complete_at == T0 + 5 * SECOND
    assert (order.fees, order.fills) == (30_000, 2)


def test_a_no_order_sees_the_book_in_no_prices() -> None:
    """YES 30 bid / 36 ask is NO 64 bid / 70 ask: mid 67¢ = 1 - 33¢, the spread still 6¢."""
    assert BOOK.for_side(Side.NO) == (6400, 7000)
    assert BOOK.mid_and_spread(Side.NO) == (6700.0, 600)


def test_a_book_with_one_side_empty_has_no_mid_or_spread() -> None:
    assert TopOfBook(3000, None).mid_and_spread(Side.YES) == (None, None)
    assert TopOfBook(None, 3600).mid_and_spread(Side.NO) == (None, None)
    empty = a_market_snapshot().markets[0].model_copy(update={"yes_bids": (), "no_bids": ()})
    assert TopOfBook.of(empty) == TopOfBook(None, None)
    assert DecisionContext.of("d", "NYC", 3500, Side.YES, None).mid is None


def test_a_sell_is_worse_when_it_fills_lower() -> None:
    """Sell 5 YES intended at 40¢: all at 39¢ is +1¢ (we received less), all at 41¢ is -1¢."""
    leg = a_leg(action=Action.SELL, price=4000)
    assert fill(an_order(leg), 3900, 500, 1).slippage == 100
    assert fill(an_order(leg), 4100, 500, 1).slippage == -100


def test_a_buy_filled_below_its_decision_price_has_negative_slippage() -> None:
    """Buy NO intended at 70¢, filled as a maker at 68¢: -2¢."""
    order = fill(an_order(a_leg(side=Side.NO, price=7000)), 6800, 500, 1)
    assert order.slippage == -200


def test_fractional_fills_weigh_by_count() -> None:
    """1.5 contracts @ 35¢ and 0.25 @ 37¢ of 2.5 ordered:

        average = (1.5 x 35 + 0.25 x 37) / 1.75 = 61.75 / 1.75 = 35.2857...¢
        fill rate = 1.75 / 2.5 = 0.7
    """
    order = an_order(a_leg(count=250))
    order = fill(fill(order, 3500, 150, 1), 3700, 25, 3)
    assert order.filled == 175 and order.fill_cost == 3500 * 150 + 3700 * 25
    assert order.avg_fill_price == pytest.approx(352857.142857 / 100)
    assert order.slippage == pytest.approx(28.571428, rel=1e-6)
    assert order.fill_rate == 0.7
    assert order.status is OrderStatus.PARTIAL


def test_a_cancel_after_a_partial_fill_keeps_what_filled() -> None:
    """2 of 5 filled, then canceled: fill rate 0.4, a first fill but no complete fill."""
    order = fill(an_order(), 3500, 200, 4).end(OrderStatus.CANCELED)
    assert order.status is OrderStatus.CANCELED
    assert (order.fill_rate, order.seconds_to_first_fill, order.seconds_to_complete) == (
        0.4, 4.0, None)
    # The first end stays; a fill the venue crossed with the cancel still counts.
    assert order.end(OrderStatus.EXPIRED).ended is OrderStatus.CANCELED
    later = fill(order, 3600, 300, 9)
    assert later.status is OrderStatus.FILLED and later.seconds_to_complete == 9.0
    with pytest.raises(ValueError, match="not an end"):
        order.end(OrderStatus.FILLED)


def test_times_use_the_earliest_and_latest_fill_and_recorded_at_without_a_venue_time() -> None:
    order = fill(an_order(), 3600, 300, 7)
    order = fill(order, 3500, 200, 3)  # reported second, traded first
    assert (order.seconds_to_first_fill, order.seconds_to_complete) == (3.0, 7.0)

    no_venue_time = fill(an_order(), 3500, 500, 2, venue_time=False)
    assert no_venue_time.seconds_to_first_fill == 2.0


def test_an_order_without_a_decision_has_no_slippage_but_everything_else() -> None:
    operator = OrderExecution.submitted(an_order_submitted("op-1", price=4300, count=1000), None)
    assert operator.city == UNKNOWN_CITY
    assert (operator.decision_id, operator.decision_price, operator.mid, operator.spread) == (
        None, None, None, None)
    operator = fill(operator, 4300, 400, 10)
    assert (operator.slippage, operator.slippage_cost) == (None, None)
    assert (operator.fill_rate, operator.seconds_to_first_fill) == (0.4, 10.0)
    # The decision's city stands in when the submission names none.
    assert an_order(city=None).city == "NYC"


def test_median_of_a_sorted_list() -> None:
    assert median([]) is None
    assert median([4.0]) == 4.0
    assert median([1.0, 2.0, 9.0]) == 2.0
    assert median([1.0, 2.0, 4.0, 9.0]) == 3.0


def orders_of_two_cities() -> list[OrderExecution]:
    """NYC: the worked example (5 of 5, +60, first 2 s, complete 5 s, fees 30,000) and a buy of
    10 canceled after 4 filled at 34¢ against 35¢ (-100, first 1 s, fees 10,000).
    CHI: a sell of 5 at 40¢ filled at 39¢ (+100, first and complete 8 s, fees 10,000), and an
    operator order of 2 never filled.

        NYC fill rate = (5 + 4) / (5 + 10) = 0.6
        NYC mean slippage per contract = (60 x 5 - 100 x 4) / 9 = -100 / 9
        NYC median first fill = (1 + 2) / 2 = 1.5 s; median complete = 5 s
        all: fill rate = (9 + 5) / (15 + 5 + 2) = 14 / 22
        all mean slippage = (60 x 5 - 100 x 4 + 100 x 5) / (5 + 4 + 5) = 400 / 14 per contract
        all median first fill over (1, 2, 8) = 2 s; median complete over (5, 8) = 6.5 s
    """
    worked = fill(fill(an_order(), 3500, 200, 2, fee=10_000), 3600, 300, 5, fee=20_000)
    canceled = fill(an_order(a_leg("mb-exec-2", count=1000)), 3400, 400, 1).end(
        OrderStatus.CANCELED)
    sell = fill(an_order(a_leg("mb-exec-3", action=Action.SELL, price=4000), city="CHI"),
                3900, 500, 8)
    operator = OrderExecution.submitted(
        an_order_submitted("op-1", count=200).model_copy(update={"city": "CHI"}), None)
    return [worked, canceled, sell, operator]


def test_aggregates_per_city_and_over_all() -> None:
    summaries = {s.scope: s for s in summarize(orders_of_two_cities())}
    assert sorted(summaries) == ["CHI", "NYC", ALL]

    nyc = summaries["NYC"]
    assert (nyc.orders, nyc.ordered, nyc.filled, nyc.fill_rate) == (2, 1500, 900, 0.6)
    assert nyc.mean_slippage == pytest.approx(-100 / 9)
    assert (nyc.median_seconds_to_first_fill, nyc.median_seconds_to_complete) == (1.5, 5.0)
    assert nyc.fees == 40_000

    chi = summaries["CHI"]
    assert (chi.orders, chi.fill_rate, chi.mean_slippage) == (2, 500 / 700, 100.0)

    everything = summaries[ALL]
    assert (everything.orders, everything.fill_rate) == (4, 1400 / 2200)
    assert everything.mean_slippage == pytest.approx(40_000 / 1_400)
    assert (everything.median_seconds_to_first_fill, everything.median_seconds_to_complete) == (
        2.0, 6.5)
    assert everything.fees == 50_000


def test_running_totals_follow_an_order_as_it_changes() -> None:
    """Replacing an order's state one fill at a time ends where summing the final orders does."""
    orders = orders_of_two_cities()
    totals = ScopeTotals()
    for order in orders:
        totals.add(order)
    started = an_order()
    totals.add(started)
    step = fill(started, 3500, 200, 2)
    totals.remove(started)
    totals.add(step)
    totals.remove(step)
    assert totals.summary(ALL) == summarize(orders)[-1]

    with pytest.raises(ValueError, match="never counted"):
        totals.remove(fill(an_order(), 3500, 200, 123))


def test_an_empty_scope_has_no_rates() -> None:
    empty = ScopeTotals().summary("NYC")
    assert (empty.orders, empty.fill_rate, empty.mean_slippage,
            empty.median_seconds_to_first_fill) == (0, None, None, None)
