"""Worst-case loss per market, city and cluster, counting positions and resting orders.

Units: counts in 1/100 contract (10 contracts = 1000), prices in 1/10,000 dollar (45¢ = 4500),
losses in micros ($4.50 = 4_500_000).
"""

from __future__ import annotations

import pytest

from domain.events import Action, Side
from domain.positions import MarketPosition
from domain.risk import Held, MissingRiskInput, exposure, market_loss, outcome_losses, reduces
from domain.risk.exposure import FLAT, reduce_only_room
from tests.builders import (
    CHI_TICKERS,
    CITY_OF,
    CLUSTER_OF,
    NYC_TICKERS,
    PHL_TICKERS,
    a_resting_order,
    an_intended_order,
    held_no,
    held_yes,
)

T = NYC_TICKERS[2]


def test_a_resting_yes_buy_can_lose_its_price_times_count_if_no_pays() -> None:
    buy = a_resting_order(T, side=Side.YES, price=4500, remaining=1000)
    assert outcome_losses(FLAT, [buy]) == (0, 4_500_000)
    assert market_loss(FLAT, [buy]) == 4_500_000


def test_a_resting_no_buy_can_lose_its_price_times_count_if_yes_pays() -> None:
    buy = a_resting_order(T, side=Side.NO, price=3000, remaining=1000)
    assert outcome_losses(FLAT, [buy]) == (3_000_000, 0)


def test_a_held_position_can_lose_its_cost() -> None:
    assert market_loss(held_yes(1000, 4000), []) == 4_000_000
    assert market_loss(held_no(1000, 4000), []) == 4_000_000  # 10 NO bought at 40¢
    # ...and the other outcome is a gain, shown as a negative loss.
    assert outcome_losses(held_yes(1000, 4000), []) == (-6_000_000, 4_000_000)


def test_the_worse_of_the_two_outcomes_counts() -> None:
    orders = [a_resting_order(T, side=Side.YES, price=2000, remaining=1000),  # $2.00 if NO pays
              a_resting_order(T, side=Side.NO, price=3000, remaining=1000)]  # $3.00 if YES pays
    assert outcome_losses(FLAT, orders) == (3_000_000, 2_000_000)
    assert market_loss(FLAT, orders) == 3_000_000


def test_a_resting_sale_of_held_contracts_does_not_add_to_the_worse_outcome() -> None:
    held = held_yes(1000, 4000)
    sale = a_resting_order(T, side=Side.YES, action=Action.SELL, price=3000, remaining=1000)
    # It might not fill, so it does not lower the $4.00 either.
    assert market_loss(held, [sale]) == market_loss(held, []) == 4_000_000


def test_selling_more_than_is_held_risks_the_other_side() -> None:
    sale = a_resting_order(T, side=Side.YES, action=Action.SELL, price=3000, remaining=3000)
    # 10 YES at 40¢ then 30 sold at 30¢: if YES pays, +$6.00 on the held, -$21.00 on the sold.
    assert outcome_losses(held_yes(1000, 4000), [sale]) == (15_000_000, 4_000_000)


def test_resting_exposure_bounds_every_fill_of_the_order_counting_what_it_realized() -> None:
    held = held_yes(500, 3000)
    order = a_resting_order(T, side=Side.NO, price=6500, remaining=2000)
    resting = market_loss(held, [order])
    assert resting == 9_500_000  # if YES pays: +$3.50 on the held, -$13.00 on 20 NO at 65¢
    for filled in (500, 1000, 2000):
        position = MarketPosition(T, position=held.position, cost=held.cost).fill(
            order.side, order.action, order.price, filled, fee=0)
        left = a_resting_order(T, side=Side.NO, price=6500, remaining=2000 - filled)
        # Closing the 5 YES at 35¢ realized $0.25; what is left can lose the rest.
        assert market_loss(Held.of(position), [left]) - position.realized <= resting
    # A buy that fills whole from flat is exactly what its resting exposure said.
    full = MarketPosition(T).fill(Side.YES, Action.BUY, 4500, 1000, fee=0)
    assert market_loss(Held.of(full), []) == market_loss(FLAT, [a_resting_order(T, price=4500)])


def test_cities_and_clusters_sum_their_markets() -> None:
    positions = {NYC_TICKERS[0]: held_yes(1000, 1000), NYC_TICKERS[1]: held_no(1000, 2000),
                 PHL_TICKERS[0]: held_yes(1000, 3000)}
    resting = (a_resting_order(CHI_TICKERS[0], price=4000),)

    seen = exposure(positions, resting, CITY_OF, CLUSTER_OF)

    assert seen.markets == {NYC_TICKERS[0]: 1_000_000, NYC_TICKERS[1]: 2_000_000,
                            PHL_TICKERS[0]: 3_000_000, CHI_TICKERS[0]: 4_000_000}
    assert seen.cities == {"NYC": 3_000_000, "PHL": 3_000_000, "CHI": 4_000_000}
    assert seen.clusters == {"northeast": 6_000_000, "midwest": 4_000_000}
    assert seen.total == 10_000_000
    assert (seen.market("nowhere"), seen.city("LAX"), seen.cluster("west")) == (0, 0, 0)


def test_a_market_without_a_city_or_a_city_without_a_cluster_is_refused() -> None:
    with pytest.raises(MissingRiskInput, match="KXHIGHLAX"):
        exposure({"KXHIGHLAX-26AUG28-B70.5": held_yes(100, 5000)}, (), CITY_OF, CLUSTER_OF)
    with pytest.raises(MissingRiskInput, match="CHI"):
        exposure({CHI_TICKERS[0]: held_yes(100, 5000)}, (), CITY_OF, {"NYC": "northeast"})


def test_a_held_cost_outside_what_the_position_could_have_cost_is_refused() -> None:
    with pytest.raises(ValueError, match="cannot have cost"):
        Held(position=100, cost=1_000_001)
    with pytest.raises(ValueError, match="cannot have cost"):
        Held(position=-100, cost=1)
    assert Held.of(MarketPosition(T).fill(Side.NO, Action.BUY, 4000, 100, fee=0)) == held_no(100, 4000)


def test_reduces_only_toward_flat_and_never_past_it() -> None:
    sell = an_intended_order(action=Action.SELL, count=600)
    assert reduces(sell, 1000, [])
    assert not reduces(sell, 500, [])  # would go 1 contract short
    assert not reduces(sell, 0, [])
    assert not reduces(an_intended_order(count=600), 1000, [])  # a buy adds
    assert reduces(an_intended_order(side=Side.YES, count=600), -1000, [])  # buying YES against NO


def test_resting_reducers_use_up_the_room_to_reduce() -> None:
    resting = [a_resting_order(an_intended_order().ticker, side=Side.NO, remaining=700),
               a_resting_order(an_intended_order().ticker, side=Side.YES, remaining=5000)]  # adds
    assert reduce_only_room(1000, resting, an_intended_order().ticker) == 300
    assert reduce_only_room(1000, resting, "elsewhere") == 1000
    assert not reduces(an_intended_order(action=Action.SELL, count=301), 1000, resting)
