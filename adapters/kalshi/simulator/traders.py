"""Simulated market makers that keep every open market's book populated.

A market maker's fair value is the probability the market settles YES given the forecast issued at
the current hour (daily highs: a normal around the forecast high; monthly ladders: the month to date
plus the normal's remaining share). It quotes three bid and three ask levels around that value,
a cent apart, with seeded sizes (some fractional), and re-quotes every ``REQUOTE`` of simulated time.
Everything is a pure function of ``(seed, ticker, quote slot)``.
"""

from __future__ import annotations

import calendar
import hashlib
import math
import random
from datetime import UTC, datetime, timedelta

from adapters.kalshi.simulator.book import Side
from adapters.kalshi.simulator.catalog import Catalog, EventDef, MarketDef
from adapters.kalshi.simulator.exchange import Exchange
from domain.climate_day import climate_day_of

MAKER = "sim:market-maker"
REQUOTE = timedelta(minutes=15)
CENT = 100  # price units
LEVELS = 3


def _normal_cdf(x: float) -> float:
    return 0.5 * (1 + math.erf(x / math.sqrt(2)))


def fair_yes(catalog: Catalog, event: EventDef, market: MarketDef, now: datetime) -> float:
    """The probability the market settles YES, as the simulated traders see it at ``now``."""
    code = event.city.code
    if event.series.kind == "high":
        today = climate_day_of(event.city.timezone, now)
        lead = max((event.day - today).days, 0)
        mean = catalog.weather.forecast(code, now, event.day).high_f
        sd = 2.0 + 0.5 * lead
        lo = -math.inf if market.floor is None else market.floor - 0.5
        hi = math.inf if market.cap is None else market.cap + 0.5
        if market.strike_type == "less":
            lo, hi = -math.inf, (market.cap or 0) - 0.5
        elif market.strike_type == "greater":
            lo, hi = (market.floor or 0) + 0.5, math.inf
        return _normal_cdf((hi - mean) / sd) - _normal_cdf((lo - mean) / sd)
    normals = event.city.normals
    normal = (normals.precip_in if event.series.kind == "rain" else normals.snow_in)[event.day.month - 1]
    days = calendar.monthrange(event.day.year, event.day.month)[1]
    today = climate_day_of(event.city.timezone, now)
    first = event.day.replace(day=1)
    observed_through = min(today - timedelta(days=1), event.day)
    so_far = 0.0
    if observed_through >= first:
        rain, _, snow, _ = catalog.weather.month_to_date(code, observed_through)
        so_far = rain / 100 if event.series.kind == "rain" else snow / 10
        left = (event.day - observed_through).days
    else:
        left = days
    expected = so_far + normal * left / days
    sd = 0.05 + 0.8 * normal * math.sqrt(left / days)
    return 1 - _normal_cdf(((market.floor or 0) - expected) / sd)


def quotes(seed: int, ticker: str, fair: float, slot: int) -> list[tuple[Side, int, int]]:
    """``(side, price, count)`` for one quote slot: ``LEVELS`` levels each side of ``fair``."""
    digest = hashlib.sha256(f"{seed}:{ticker}:{slot}".encode()).digest()
    rng = random.Random(int.from_bytes(digest[:8], "big"))
    centre = min(max(round(fair * 100), 3), 97)
    half_spread = rng.choice((1, 1, 2, 3))
    out: list[tuple[Side, int, int]] = []
    for level in range(LEVELS):
        bid, ask = centre - half_spread - level, centre + half_spread + level
        if bid >= 1:
            out.append(("bid", bid * CENT, rng.randrange(5, 60) * 100 + rng.choice((0, 0, 50, 25))))
        if ask <= 99:
            out.append(("ask", ask * CENT, rng.randrange(5, 60) * 100 + rng.choice((0, 0, 50, 75))))
    return out


class MarketMakers:
    """Re-quotes a market when it is looked at and its quotes are older than ``REQUOTE``."""

    def __init__(self, catalog: Catalog, exchange: Exchange, seed: int) -> None:
        self.catalog = catalog
        self.exchange = exchange
        self.seed = seed
        self._slots: dict[str, int] = {}

    def refresh(self, event: EventDef, market: MarketDef, now: datetime) -> None:
        if event.status(now) != "active" or market.ticker in self.exchange.settled:
            return
        slot = int(now.astimezone(UTC).timestamp() // REQUOTE.total_seconds())
        if self._slots.get(market.ticker) == slot:
            return
        self._slots[market.ticker] = slot
        fair = fair_yes(self.catalog, event, market, now)
        now_ms = int(now.timestamp() * 1000)
        self.exchange.cancel_owner_orders(market.ticker, MAKER)
        for side, price, count in quotes(self.seed, market.ticker, fair, slot):
            self.exchange.submit(owner=MAKER, ticker=market.ticker, event_ticker=event.ticker, side=side,
                                 price=price, count=count, now_ms=now_ms, stp="maker")
