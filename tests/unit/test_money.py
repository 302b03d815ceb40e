from __future__ import annotations

import pytest

from domain.money import (
    BadFixedPoint,
    count_from_fp,
    count_to_fp,
    money_from_dollars,
    price_from_dollars,
    price_to_dollars,
    taker_fee,
)


@pytest.mark.parametrize(("text", "price"), [("0.4300", 4300), ("0.01", 100), ("1", 10_000),
                                             ("0", 0), ("0.0001", 1)])
def test_kalshi_dollar_strings_become_exact_prices(text: str, price: int) -> None:
    assert price_from_dollars(text) == price
    assert price_from_dollars(price_to_dollars(price)) == price


@pytest.mark.parametrize("text", ["0.43001", "1.01", "-0.01", "abc", "NaN", ""])
def test_prices_finer_than_a_centicent_or_outside_a_dollar_are_refused(text: str) -> None:
    with pytest.raises(BadFixedPoint):
        price_from_dollars(text)


@pytest.mark.parametrize("text", ["1e999999", "1E+5", "1_0", " 1.0 ", "\u0661.0", "+1", "Infinity",
                                  "1" * 20, "0." + "1" * 19, "1.", "--1"])
def test_only_plain_decimal_notation_is_read(text: str) -> None:
    """Exponents, underscores, spaces and other scripts' digits are refused before any arithmetic:
    a hostile ``"1e999999"`` would otherwise cost seconds or raise decimal.Overflow."""
    with pytest.raises(BadFixedPoint, match="not a plain decimal"):
        count_from_fp(text)


def test_fractional_counts_are_exact() -> None:
    assert count_from_fp("10.00") == 1000
    assert count_from_fp("0.37") == 37
    assert count_to_fp(37) == "0.37"
    with pytest.raises(BadFixedPoint):
        count_from_fp("0.375")


@pytest.mark.parametrize(("price", "count", "cents"), [
    (5000, 100, 2),        # 0.07 x 1 x 0.5 x 0.5 = 0.0175 -> 2 cents
    (4300, 1000, 18),      # 0.07 x 10 x 0.43 x 0.57 = 0.17157 -> 18 cents
    (5000, 10_000, 175),   # exactly 1.75: no rounding up past an exact cent
    (100, 100, 1),         # 0.07 x 0.01 x 0.99 = 0.000693 -> 1 cent
    (10_000, 100, 0),      # a sure thing pays no fee
])
def test_taker_fee_rounds_up_to_the_cent(price: int, count: int, cents: int) -> None:
    assert taker_fee(price, count) == cents * 10_000


def test_money_strings() -> None:
    assert money_from_dollars("1.25") == 1_250_000
