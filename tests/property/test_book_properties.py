"""Reading a book: the best bid is the highest price with a positive size, whatever the levels."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from domain.book import best_bid
from domain.money import PRICE_SCALE

levels = st.lists(st.tuples(st.integers(0, PRICE_SCALE), st.integers(0, 3)), max_size=8)


@given(levels)
def test_the_best_bid_is_the_highest_price_with_contracts(book: list[tuple[int, int]]) -> None:
    sized = [price for price, count in book if count > 0]
    assert best_bid(tuple(book)) == (max(sized) if sized else None)
