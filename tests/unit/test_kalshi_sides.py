"""The four rows of buy/sell x YES/NO <-> bid/ask on the YES book, and their round trip."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from adapters.kalshi.wire.orders import NewOrder, amend_body
from adapters.kalshi.wire.sides import complement, from_book, outcome_of, to_book
from domain.events.base import Action, Side

ROWS = [
    # ours                 price   book side  YES price
    (Side.YES, Action.BUY, 4300, "bid", 4300),
    (Side.YES, Action.SELL, 4300, "ask", 4300),
    (Side.NO, Action.BUY, 4300, "ask", 5700),
    (Side.NO, Action.SELL, 4300, "bid", 5700),
]


@pytest.mark.parametrize(("side", "action", "price", "book_side", "yes_price"), ROWS)
def test_each_row_maps_to_the_yes_book(side: Side, action: Action, price: int, book_side: str,
                                       yes_price: int) -> None:
    assert to_book(side, action, price) == (book_side, yes_price)


@pytest.mark.parametrize(("side", "action", "price", "book_side", "yes_price"), ROWS)
def test_the_create_body_carries_the_row(side: Side, action: Action, price: int, book_side: str,
                                         yes_price: int) -> None:
    body = NewOrder(ticker="KXHIGHNY-26AUG28-B80.5", client_order_id="c-1", side=side, action=action,
                    price=price, count=1050).body()
    assert body["side"] == book_side
    assert body["price"] == f"{yes_price / 10_000:.4f}"
    assert body["count"] == "10.50"
    assert body["client_order_id"] == "c-1"
    assert amend_body("T", side, action, price, 200)["side"] == book_side


@pytest.mark.parametrize(("side", "action", "price", "book_side", "yes_price"), ROWS)
def test_the_legacy_fields_read_back_to_the_same_row(side: Side, action: Action, price: int,
                                                     book_side: str, yes_price: int) -> None:
    assert from_book(book_side, yes_price, side=side, action=action) == (side, action, price)  # type: ignore[arg-type]
    assert outcome_of(book_side) is (Side.YES if (side is Side.YES) == (action is Action.BUY) else Side.NO)  # type: ignore[arg-type]


def test_without_legacy_fields_the_yes_book_reading_is_used() -> None:
    assert from_book("bid", 5700) == (Side.YES, Action.BUY, 5700)
    assert from_book("ask", 5700) == (Side.YES, Action.SELL, 5700)


def test_legacy_fields_that_contradict_the_book_side_are_refused() -> None:
    with pytest.raises(ValueError, match="not a ask"):
        from_book("ask", 5700, side=Side.YES, action=Action.BUY)


def test_prices_outside_a_dollar_are_refused() -> None:
    with pytest.raises(ValueError):
        to_book(Side.NO, Action.BUY, 10_001)
    with pytest.raises(ValueError):
        to_book(Side.YES, Action.BUY, -1)


@given(st.sampled_from(list(Side)), st.sampled_from(list(Action)), st.integers(0, 10_000))
def test_round_trip(side: Side, action: Action, price: int) -> None:
    book_side, yes_price = to_book(side, action, price)
    assert from_book(book_side, yes_price, side=side, action=action) == (side, action, price)
    assert complement(complement(price)) == price
    # buying NO and selling YES are the same order on the YES book
    if side is Side.NO and action is Action.BUY:
        assert to_book(Side.YES, Action.SELL, complement(price)) == (book_side, yes_price)
