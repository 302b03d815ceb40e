"""The risk limits: what one order, one market, one city, one cluster and the book may risk.

Written for people: contracts are whole contracts, money is dollars (``50``, ``12.5``), prices are
cents, shares are fractions (``0.05`` is 5%), ages are minutes. Each amount is exact (a Decimal,
never a float once parsed), and the methods give it in the domain's integer units
(``domain.money``) for the checks to compare with.

Every field has a default: an empty ``[risk]`` table is a complete, conservative configuration
for a small account. The defaults are a starting point for demo trading, not advice.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import ROUND_FLOOR, Decimal
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator

from domain.events.base import MarketKind
from domain.money import COUNT_SCALE, MONEY_SCALE

#: Dollars, exact to the micro, at most a billion.
Dollars = Annotated[Decimal, Field(ge=0, le=10**9, decimal_places=6)]
#: A share of something: 0 to 1.
Share = Annotated[Decimal, Field(gt=0, le=1, decimal_places=6)]
#: Whole cents of a price (1 to 99 are the prices Kalshi trades at).
Cents = Annotated[int, Field(ge=0, le=100)]
Minutes = Annotated[int, Field(ge=1, le=60 * 24 * 31)]


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class MinutesByKind(_Strict):
    """One age limit per market kind, in minutes."""

    daily_high: Minutes
    monthly_rain: Minutes
    monthly_snow: Minutes

    def of(self, kind: MarketKind) -> timedelta:
        minutes: int = getattr(self, kind.value)
        return timedelta(minutes=minutes)


class RiskLimits(_Strict):
    """Every limit the pre-trade checks, the drawdown monitor and the stale-data breakers apply."""

    # -- one order ---------------------------------------------------------------------------------
    #: The most contracts one order may be for (an exit larger than this goes in several orders).
    max_order_contracts: int = Field(default=100, ge=1, le=10**9)
    #: The most cash one order may take if it fills whole as a taker: price x count plus Kalshi's
    #: taker fee, for the contracts it opens (closing held contracts takes no cash).
    max_order_cost: Dollars = Decimal(50)

    # -- exposure: worst-case loss, counting positions and resting orders (``exposure``) ----------
    #: The most one market may lose in its worse outcome.
    max_market_loss: Dollars = Decimal(100)
    #: The most one city's markets may lose together (the sum of their worst cases).
    max_city_loss: Dollars = Decimal(250)
    #: The most one correlation cluster (``CityConfig.cluster``) may lose together.
    max_cluster_loss: Dollars = Decimal(400)
    #: The most the whole book may lose, as a share of equity (cash plus positions at their
    #: marks). Equity and not cash: cash shrinks as the exposure it caps grows, so a cap on cash
    #: would let a 50% limit deploy only a third of the bankroll.
    max_portfolio_share: Share = Decimal("0.5")

    # -- order flow --------------------------------------------------------------------------------
    #: The most orders we may have resting at once.
    max_open_orders: int = Field(default=50, ge=1, le=10_000)
    #: The most orders we may submit in any rolling minute.
    max_orders_per_minute: int = Field(default=20, ge=1, le=10_000)

    # -- price sanity ------------------------------------------------------------------------------
    #: How far through the touch an order may reach: a buy may pay at most this many cents above
    #: the best ask, a sale accept at most this many below the best bid.
    max_cross_cents: Cents = 3
    #: The most a buy of either side may pay: risking 97¢ to make 3¢ needs more certainty than a
    #: weather model has.
    max_buy_price_cents: Cents = 95

    # -- market state ------------------------------------------------------------------------------
    #: No order in a market closing within this many minutes (or already closed, or not active).
    min_minutes_to_close: int = Field(default=30, ge=0, le=60 * 24)

    # -- drawdown (``drawdown``): a share of the equity at the start of the period -----------------
    max_daily_drawdown: Share = Decimal("0.05")
    max_weekly_drawdown: Share = Decimal("0.10")
    max_monthly_drawdown: Share = Decimal("0.15")
    #: The calendar drawdown periods follow: days from local midnight, weeks from Monday, months
    #: from the first (wall-clock time, daylight saving included).
    drawdown_timezone: str = "America/New_York"

    # -- stale data (``breakers``) -----------------------------------------------------------------
    #: The oldest a city's weather snapshot may be before its breaker trips, per market kind it
    #: feeds: a same-day high needs a fresh forecast, a month's rain total much less so.
    max_weather_age: MinutesByKind = MinutesByKind(daily_high=120, monthly_rain=360, monthly_snow=360)
    #: The oldest a ladder's market snapshot may be, per market kind.
    max_market_age: MinutesByKind = MinutesByKind(daily_high=30, monthly_rain=150, monthly_snow=150)

    @field_validator("drawdown_timezone")
    @classmethod
    def _known_zone(cls, zone: str) -> str:
        try:
            ZoneInfo(zone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"{zone!r} is not an IANA time zone") from None
        return zone

    # -- in the domain's units -------------------------------------------------------------------

    @property
    def max_order_count(self) -> int:
        """``max_order_contracts`` in 1/100 contract."""
        return self.max_order_contracts * COUNT_SCALE

    @property
    def max_order_cost_micros(self) -> int:
        return micros(self.max_order_cost)

    @property
    def max_market_loss_micros(self) -> int:
        return micros(self.max_market_loss)

    @property
    def max_city_loss_micros(self) -> int:
        return micros(self.max_city_loss)

    @property
    def max_cluster_loss_micros(self) -> int:
        return micros(self.max_cluster_loss)

    def max_portfolio_loss_micros(self, equity: int) -> int:
        """The portfolio cap for ``equity`` micros, rounded down (none when equity is not positive)."""
        return max(0, share_of(self.max_portfolio_share, equity))

    @property
    def max_cross(self) -> int:
        """``max_cross_cents`` in price units (1/10,000 dollar)."""
        return self.max_cross_cents * 100

    @property
    def max_buy_price(self) -> int:
        return self.max_buy_price_cents * 100

    @property
    def min_time_to_close(self) -> timedelta:
        return timedelta(minutes=self.min_minutes_to_close)

    def stale_after(self, feed: str) -> timedelta:
        """The age limit of a breaker's feed: ``weather:{kind}`` or ``market:{kind}``."""
        source, _, kind = feed.partition(":")
        try:
            market_kind = MarketKind(kind)
        except ValueError:
            raise ValueError(f"feed {feed!r}: {kind!r} is not a market kind") from None
        if source == "weather":
            return self.max_weather_age.of(market_kind)
        if source == "market":
            return self.max_market_age.of(market_kind)
        raise ValueError(f"feed {feed!r} is neither weather:{{kind}} nor market:{{kind}}")


def micros(dollars: Decimal) -> int:
    """Exact dollars as micros (the fields allow at most six decimals, so nothing rounds)."""
    return int(dollars * MONEY_SCALE)


def share_of(share: Decimal, amount: int) -> int:
    """``share x amount`` rounded down to an integer, exactly."""
    return int((share * amount).to_integral_value(rounding=ROUND_FLOOR))
