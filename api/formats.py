"""How amounts and times read in JSON answers.

The ledger's integers (``domain.money``) become decimal strings at this edge, never floats: money in
dollars rounded to the cent (``"12.34"``), prices in dollars to 1/10,000 (``"0.4300"``, Kalshi's
``*_dollars``), contracts to 1/100 (``"10.00"``, Kalshi's ``*_fp``). Ratios and probabilities are
JSON numbers. Times are ISO 8601 with their offset, as the projections store them (UTC).
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from domain.money import MONEY_SCALE, PRICE_SCALE, count_to_fp, price_to_dollars

CENT = Decimal("0.01")
TEN_THOUSANDTH = Decimal("0.0001")


def dollars(micros: int) -> str:
    amount = (Decimal(micros) / MONEY_SCALE).quantize(CENT)
    return str(amount if amount else Decimal("0.00"))  # never "-0.00"


def price(value: int | None) -> str | None:
    return None if value is None else price_to_dollars(value)


def contracts(count: int) -> str:
    return count_to_fp(count)


def per_contract(price_units: int, counts: int) -> str | None:
    """A sum of price x count over a sum of counts, in dollars per contract (``"0.0060"``)."""
    if counts == 0:
        return None
    amount = (Decimal(price_units) / counts / PRICE_SCALE).quantize(TEN_THOUSANDTH)
    return str(amount if amount else Decimal("0.0000"))


def average_price(cost: int, position: int) -> str | None:
    """What an open position paid per contract on its own side: ``cost`` is in YES terms (micros,
    ``domain.positions``), so a NO position's price is one less its YES price (``"0.5700"``)."""
    if position == 0:
        return None
    yes = Decimal(cost) / position
    own = yes if position > 0 else PRICE_SCALE - yes
    # Average cost is kept to half a micro; a price is shown within 0..1 whatever the rounding.
    own = min(max(own, Decimal(0)), Decimal(PRICE_SCALE))
    return str((own / PRICE_SCALE).quantize(TEN_THOUSANDTH))


def ratio(part: int | float, whole: int | float) -> float | None:
    return None if not whole else part / whole


def iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.astimezone(UTC).isoformat()
