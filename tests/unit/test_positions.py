from __future__ import annotations

from domain.events import Action, Side
from domain.positions import MarketPosition, yes_terms


def test_the_four_fills_in_yes_terms() -> None:
    assert yes_terms(Side.YES, Action.BUY, 4300, 100) == (100, 4300)
    assert yes_terms(Side.YES, Action.SELL, 4300, 100) == (-100, 4300)
    assert yes_terms(Side.NO, Action.BUY, 4300, 100) == (-100, 5700)
    assert yes_terms(Side.NO, Action.SELL, 4300, 100) == (100, 5700)


def test_a_no_position_that_wins_pays_one_minus_its_price() -> None:
    held = MarketPosition("T").fill(Side.NO, Action.BUY, 5500, 100, fee=20_000)
    assert held.position == -100
    assert held.cash == -550_000 - 20_000

    settled = held.settle(0)  # NO won
    assert settled.cash == -570_000 + 1_000_000
    assert settled.realized - settled.fees == settled.cash


def test_buying_no_against_a_yes_long_nets_and_frees_the_dollar() -> None:
    held = MarketPosition("T").fill(Side.YES, Action.BUY, 4000, 100, fee=0)
    netted = held.fill(Side.NO, Action.BUY, 5000, 100, fee=0)

    assert netted.position == 0
    assert netted.cash == -400_000 + 500_000  # paid 0.40, the pair paid back 0.50 net
    assert netted.realized == 100_000


def test_flipping_through_zero_realizes_the_old_side_and_opens_the_new() -> None:
    held = MarketPosition("T").fill(Side.YES, Action.BUY, 4000, 200, fee=0)
    flipped = held.fill(Side.YES, Action.SELL, 5000, 300, fee=0)

    assert flipped.position == -100
    assert flipped.realized == 200 * 1000
    assert flipped.cost == -100 * 5000
    assert flipped.unrealized(4000) == 100 * 1000


def test_average_cost_rounding_stays_within_half_a_micro() -> None:
    held = (MarketPosition("T").fill(Side.YES, Action.BUY, 3333, 100, fee=0)
            .fill(Side.YES, Action.BUY, 3334, 200, fee=0))
    after = held.fill(Side.YES, Action.SELL, 5000, 100, fee=0)
    exact = 100 * 5000 - (3333 * 100 + 3334 * 200) / 3
    assert abs(after.realized - exact) <= 0.5
