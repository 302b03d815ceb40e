"""Numbers in the plain words a risk reason is written in, exact (never rounded to look tidy)."""

from __future__ import annotations

from decimal import Decimal

from domain.money import COUNT_SCALE, MONEY_SCALE


def usd(micros: int) -> str:
    """1_860_000 -> ``$1.86``; 1_000_001 -> ``$1.000001`` (cents when exact, every digit when not)."""
    amount = Decimal(micros) / MONEY_SCALE
    if amount == amount.quantize(Decimal("0.01")):
        return f"${amount:,.2f}"
    return f"${amount.normalize():,f}"


def price(price: int) -> str:
    """4300 -> ``43¢``; 4350 -> ``43.5¢``."""
    return f"{(Decimal(price) / 100).normalize():f}¢"


def contracts(count: int) -> str:
    """800 -> ``8 contracts``; 1 -> ``0.01 contracts``."""
    return f"{(Decimal(count) / COUNT_SCALE).normalize():f} contracts"


def percent(share: Decimal) -> str:
    """Decimal("0.0525") -> ``5.25%`` (to the hundredth of a percent)."""
    return f"{(share * 100).quantize(Decimal('0.01')).normalize():f}%"
