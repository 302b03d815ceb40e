"""Money and contract counts as integers, so the ledger never rounds.

Kalshi quotes prices as fixed-point dollar strings with up to 4 decimals (``"0.4300"``) and counts as
fixed-point strings with 2 decimals (``"10.00"``; fills can be fractional). Milkbot keeps both as
integers of the smallest unit, which makes every product exact:

=========  ===========================  ==================
quantity   unit                         example
=========  ===========================  ==================
``Price``  1/10,000 dollar per contract 43 cents = 4300
``Count``  1/100 contract               10 contracts = 1000
``Money``  1/1,000,000 dollar (micros)  $1.50 = 1_500_000
=========  ===========================  ==================

``price * count`` is therefore exactly a ``Money`` amount in micros.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Annotated

from pydantic import Field

PRICE_SCALE = 10_000
COUNT_SCALE = 100
MONEY_SCALE = 1_000_000
#: One whole contract pays this many micros at settlement.
CONTRACT_PAYOUT = PRICE_SCALE  # a price of 1.0000 dollars
ONE_CENT = MONEY_SCALE // 100

#: Bounds far beyond any real book (10 billion contracts, a trillion dollars) that keep every
#: value, and every price x count, inside the 64-bit integers JSON and Postgres BIGINT hold.
MAX_COUNT = 10**12
MAX_MONEY = 10**18

Price = Annotated[int, Field(strict=True, ge=0, le=PRICE_SCALE)]
Count = Annotated[int, Field(strict=True, ge=0, le=MAX_COUNT)]
Money = Annotated[int, Field(strict=True, ge=-MAX_MONEY, le=MAX_MONEY)]


class BadFixedPoint(ValueError):
    """A fixed-point string that is not a number, or has more decimals than its unit allows."""


#: Plain decimal notation as Kalshi writes it: ASCII digits, one optional sign and point, at most
#: 19 digits before it and 9 after (28 in all: within Decimal's default precision, so scaling
#: never rounds). No exponent, underscore, space or other script's digits, so a hostile
#: ``"1e999999"`` is refused at once instead of costing seconds of arithmetic or an Overflow.
_FIXED = re.compile(r"-?[0-9]{1,19}(\.[0-9]{1,9})?|-?\.[0-9]{1,9}")


def _parse_fixed(text: str, scale: int, what: str) -> int:
    if not isinstance(text, str) or _FIXED.fullmatch(text) is None:
        shown = text[:40] if isinstance(text, str) else text
        raise BadFixedPoint(f"{what} {shown!r} is not a plain decimal number")
    try:
        value = Decimal(text)
    except InvalidOperation as e:  # unreachable after the pattern; kept as the type's contract
        raise BadFixedPoint(f"{what} {text!r} is not a decimal number") from e
    scaled = value * scale
    if scaled != scaled.to_integral_value():
        raise BadFixedPoint(f"{what} {text!r} has more precision than 1/{scale}")
    return int(scaled)


def price_from_dollars(text: str) -> int:
    """``"0.4300"`` -> 4300. Refuses anything outside 0..1 or finer than 1/10,000."""
    price = _parse_fixed(text, PRICE_SCALE, "price")
    if not 0 <= price <= PRICE_SCALE:
        raise BadFixedPoint(f"price {text!r} is outside 0..1 dollars")
    return price


def count_from_fp(text: str) -> int:
    """``"10.00"`` -> 1000. Refuses negatives and anything finer than 1/100 contract."""
    count = _parse_fixed(text, COUNT_SCALE, "count")
    if count < 0:
        raise BadFixedPoint(f"count {text!r} is negative")
    return count


def money_from_dollars(text: str) -> int:
    """``"1.25"`` -> 1_250_000 micros."""
    return _parse_fixed(text, MONEY_SCALE, "amount")


def price_to_dollars(price: int) -> str:
    """4300 -> ``"0.4300"``, Kalshi's ``*_dollars`` form."""
    return f"{Decimal(price) / PRICE_SCALE:.4f}"


def count_to_fp(count: int) -> str:
    """1000 -> ``"10.00"``, Kalshi's ``*_fp`` form."""
    return f"{Decimal(count) / COUNT_SCALE:.2f}"


def money_to_dollars(micros: int) -> Decimal:
    """Exact dollars, for display and JSON answers."""
    return Decimal(micros) / MONEY_SCALE


def notional(price: int, count: int) -> int:
    """What ``count`` contracts cost at ``price``, in micros (exact)."""
    return price * count


def taker_fee(price: int, count: int, rate_per_mille: int = 70) -> int:
    """Kalshi's trading fee ``ceil(rate x C x P x (1 - P))`` rounded up to the cent, in micros.

    ``rate_per_mille`` is the rate in thousandths (0.07 -> 70), so the whole sum stays in integers:
    C = count/100, P = price/10,000, and one cent is 10,000 micros.
    """
    # fee dollars = rate/1000 * count/100 * price/1e4 * (1e4 - price)/1e4
    numerator = rate_per_mille * count * price * (PRICE_SCALE - price)
    # to cents: * 100; denominator 1000 * 100 * 1e4 * 1e4
    denominator = 1000 * COUNT_SCALE * PRICE_SCALE * PRICE_SCALE
    cents = -((-numerator * 100) // denominator)  # ceiling division
    return cents * ONE_CENT
