"""A ledger of four days of trading in all ten cities, for the dashboard's browser tests.

Each city trades its daily-high ladder: three settled days (a forecast the day before and on the
day, a trading decision whose orders fill, some in part, the final CLI report and the settlement),
then today's and tomorrow's ladders, quoted every hour up to ``CLOCK``, with open positions on
today's. Everything is deterministic: prices and highs come from a seeded generator.

``live_trade`` and ``clock_tick`` extend the ledger while the page is open: a fill, then a later
event that carries the ledger clock past the fill's 60-minute mark.
"""

from __future__ import annotations

import itertools
import math
import random
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal

from domain.config import CityConfig, MilkbotConfig, parse_config
from domain.events import Action, Event, MarketQuote, MarketSnapshotted, OrderFilled, Side
from domain.events.trading import IntendedOrder
from tests.builders import (
    T0,
    a_config_version,
    a_decision_to_trade,
    a_final_report,
    a_ladder_settled,
    a_leg_submitted,
    a_market_snapshot,
    a_priced_decision,
    an_order_accepted,
    an_order_ended,
    an_order_filled,
    at,
)
from tests.paths import ROOT

CONFIG_TEXT = (ROOT / "config/milkbot.toml").read_text()
CONFIG: MilkbotConfig = parse_config(CONFIG_TEXT)[0]
#: The ledger clock once seeded: T0 + 3h (2026-08-28 17:00 UTC).
CLOCK = at(180)
TODAY = T0.date()
SETTLED_DAYS = tuple(TODAY - timedelta(days=n) for n in (3, 2, 1))
SIGMA_F = 2.5
COUNT = 1000  # 10 contracts


def event_ticker(city: CityConfig, day: date) -> str:
    return f"{city.daily_high.series}-{day.strftime('%y%b%d').upper()}"


def midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=T0.tzinfo)


def _phi(x: float) -> float:
    return 0.5 * (1 + math.erf(x / math.sqrt(2)))


def ladder_probabilities(low: int, mean: float, sigma: float = SIGMA_F) -> tuple[float, ...]:
    """A normal forecast of the high over ``a_ladder``'s six rungs: <low, four 2°F bins, >low+7."""
    edges = [low - 0.5, low + 1.5, low + 3.5, low + 5.5, low + 7.5]
    cdf = [_phi((e - mean) / sigma) for e in edges]
    probabilities = [cdf[0], *(b - a for a, b in itertools.pairwise(cdf)), 1 - cdf[-1]]
    rounded = [round(max(p, 0.001), 4) for p in probabilities]
    rounded[-1] = round(1 - sum(rounded[:-1]), 4)
    if rounded[-1] < 0.001:  # the top rung's share went to rounding: take it from the likeliest
        top = max(range(5), key=lambda i: rounded[i])
        rounded[top] = round(rounded[top] - (0.001 - rounded[-1]), 4)
        rounded[-1] = 0.001
    return tuple(rounded)


def paying_rung(low: int, high: int) -> int:
    """Which of the six rungs a high of ``high`` settles YES."""
    if high < low:
        return 0
    if high > low + 7:
        return 5
    return 1 + (high - low) // 2


def quotes(ticker: str, low: int, probabilities: tuple[float, ...],
           close: datetime) -> tuple[MarketQuote, ...]:
    """The six markets of a daily-high event, each quoted two cents either side of its probability."""
    def book(best: int) -> tuple[tuple[int, int], ...]:
        return tuple((best - 100 * i, 1500 + 700 * i) for i in range(4) if best - 100 * i > 0)

    def bids(p: float) -> tuple[tuple[tuple[int, int], ...], tuple[tuple[int, int], ...]]:
        cents = min(97, max(3, round(p * 100)))
        return book(cents * 100 - 200), book((100 - cents) * 100 - 200)

    shapes: list[tuple[str, str, Decimal | None, Decimal | None]] = [
        (f"{ticker}-T{low}", "less", None, Decimal(low))]
    shapes += [(f"{ticker}-B{low + 2 * i + 0.5}", "between", Decimal(low + 2 * i), Decimal(low + 2 * i + 1))
               for i in range(4)]
    shapes.append((f"{ticker}-T{low + 7}", "greater", Decimal(low + 7), None))
    result = []
    for (market, kind, floor, cap), p in zip(shapes, probabilities, strict=True):
        yes_bids, no_bids = bids(p)
        result.append(MarketQuote(ticker=market, status="active", strike_type=kind, floor_strike=floor,
                                  cap_strike=cap, close_time=close, yes_bids=yes_bids, no_bids=no_bids,
                                  last_price=yes_bids[0][0] if yes_bids else None, volume=25_000))
    return tuple(result)


def best_prices(snapshot: MarketSnapshotted, rung: int) -> tuple[int, int]:
    """The YES ask and the NO ask of one rung."""
    quote = snapshot.markets[rung]
    return 10_000 - quote.no_bids[0][0], 10_000 - quote.yes_bids[0][0]


@dataclass
class TenCities:
    """Builds the ledger; keeps each stream's version so the live events can follow it."""

    rng: random.Random = field(default_factory=lambda: random.Random(20260828))
    versions: defaultdict[str, int] = field(default_factory=lambda: defaultdict(int))
    lows: dict[tuple[str, date], int] = field(default_factory=dict)
    means: dict[tuple[str, date], float] = field(default_factory=dict)
    live_trades: int = 0

    # -- building blocks ------------------------------------------------------------------------

    def low(self, city: CityConfig, day: date) -> int:
        key = (city.code, day)
        if key not in self.lows:
            normal = city.normals.high_f[day.month - 1]
            self.lows[key] = round(normal) - 4 + self.rng.randint(-2, 2)
            self.means[key] = self.lows[key] + 3.5 + self.rng.gauss(0, 2.5)
        return self.lows[key]

    def snapshot(self, city: CityConfig, day: date, moment: datetime, *,
                 noise: float = 1.0) -> MarketSnapshotted:
        ticker = event_ticker(city, day)
        low = self.low(city, day)
        mean = self.means[(city.code, day)] + self.rng.gauss(0, noise)
        self.versions[ticker] += 1
        close = midnight(day + timedelta(days=1)) + timedelta(hours=5)
        return a_market_snapshot(ticker, version=self.versions[ticker], recorded_at=moment,
                                 city=city.code,
                                 markets=quotes(ticker, low, ladder_probabilities(low, mean, 2.8), close))

    def trade(self, city: CityConfig, snapshot: MarketSnapshotted, moment: datetime, name: str, *,
              rungs: tuple[tuple[int, Side], ...], fill_share: float = 1.0,
              slip: int = 0) -> list[Event]:
        """A decision on ``snapshot`` buying ``rungs`` at their asks, its orders and their fills."""
        legs = []
        for i, (rung, side) in enumerate(rungs):
            yes_ask, no_ask = best_prices(snapshot, rung)
            legs.append(IntendedOrder(client_order_id=f"mb-{name}-{i}", ticker=snapshot.markets[rung].ticker,
                                      side=side, action=Action.BUY,
                                      price=yes_ask if side is Side.YES else no_ask, count=COUNT))
        decision = a_decision_to_trade(snapshot, *legs, recorded_at=moment)
        events: list[Event] = [decision]
        for i, leg in enumerate(legs):
            submitted = moment + timedelta(seconds=20 + 7 * i)
            events += [a_leg_submitted(leg, decision, city=city.code, recorded_at=submitted),
                       an_order_accepted(leg.client_order_id, recorded_at=submitted + timedelta(seconds=1))]
            filled = COUNT if i else round(COUNT * fill_share)
            fill_at = submitted + timedelta(seconds=3 + self.rng.randint(0, 40))
            events.append(an_order_filled(f"fill-{name}-{i}", client_order_id=leg.client_order_id,
                                          ticker=leg.ticker, side=leg.side, price=min(leg.price + slip, 9900),
                                          count=filled, city=city.code, recorded_at=fill_at))
            if filled < COUNT:
                events.append(an_order_ended(leg.client_order_id, "canceled", version=3,
                                             canceled_count=COUNT - filled,
                                             recorded_at=fill_at + timedelta(minutes=5)))
        return events

    # -- the story ------------------------------------------------------------------------------

    def settled_day(self, city: CityConfig, day: date) -> list[Event]:
        ticker = event_ticker(city, day)
        low = self.low(city, day)
        high = round(self.means[(city.code, day)] + self.rng.gauss(0, 1.8))
        tickers = tuple(q.ticker for q in quotes(ticker, low, (1 / 6,) * 6, T0))
        eve, morning = midnight(day) - timedelta(hours=6), midnight(day) + timedelta(hours=13)
        climatology = ladder_probabilities(low, city.normals.high_f[day.month - 1], 6.0)
        events: list[Event] = []
        first = self.snapshot(city, day, eve, noise=2.0)
        events.append(first)
        leads = ((1, eve + timedelta(minutes=5), 3.2), (0, morning + timedelta(minutes=5), 2.2))
        for lead, moment, spread in leads:
            mean = high + self.rng.gauss(0, 1.6 if lead else 1.0)
            events.append(a_priced_decision(
                ticker, lead_days=lead, probabilities=ladder_probabilities(low, mean, spread),
                tickers=tickers, climatology=climatology,
                market=ladder_probabilities(low, mean + self.rng.gauss(0, 1.5), spread + 0.6),
                city=city.code, config_version=CONFIG_VERSION, recorded_at=moment))
        second = self.snapshot(city, day, morning)
        events.append(second)
        likeliest = paying_rung(low, round(self.means[(city.code, day)]))
        other = likeliest + 1 if likeliest < 5 else likeliest - 1
        events += self.trade(city, second, morning + timedelta(minutes=6), f"{city.code}-{day:%m%d}",
                             rungs=((likeliest, Side.YES), (other, Side.NO)),
                             fill_share=self.rng.choice((1.0, 1.0, 0.6)), slip=self.rng.choice((0, 0, 100)))
        # Quoted every two hours until it closes: the open positions' marks move the curve.
        for hours in range(15, 29, 2):
            moment = midnight(day) + timedelta(hours=hours, minutes=self.rng.randint(0, 50))
            events.append(self.snapshot(city, day, moment))
        settled = midnight(day + timedelta(days=1)) + timedelta(hours=12)
        events.append(a_final_report(city.daily_high.cli_site, day, max_temp_f=high,
                                     recorded_at=settled - timedelta(hours=1)))
        events += a_ladder_settled(tickers, tickers[paying_rung(low, high)], recorded_at=settled)
        return events

    def today(self, city: CityConfig) -> list[Event]:
        events: list[Event] = []
        tomorrow = TODAY + timedelta(days=1)
        snapshots = {}
        for hour in range(-10, 4):
            moment = min(CLOCK, T0 + timedelta(hours=hour, minutes=self.rng.randint(0, 20)))
            snapshots[hour] = self.snapshot(city, TODAY, moment)
            events.append(snapshots[hour])
            if hour % 4 == 0:
                events.append(self.snapshot(city, tomorrow, moment + timedelta(minutes=2), noise=2.0))
        low = self.low(city, TODAY)
        rung = paying_rung(low, round(self.means[(city.code, TODAY)]))
        events += self.trade(city, snapshots[-5], snapshots[-5].recorded_at + timedelta(minutes=1),
                             f"{city.code}-today", rungs=((rung, Side.YES),))
        return events

    def events(self) -> list[Event]:
        """The whole ledger, in time order."""
        events: list[Event] = [CONFIG_EVENT]
        for city in CONFIG.cities:
            for day in SETTLED_DAYS:
                events += self.settled_day(city, day)
            events += self.today(city)
        # Appended in time order, as the handler would have (the ledger clock is the newest time).
        events.sort(key=lambda e: e.recorded_at)
        return events

    # -- while the page is open -----------------------------------------------------------------

    def live_trade(self, code: str, moment: datetime) -> tuple[list[Event], OrderFilled]:
        """A trade on today's ladder of ``code`` at ``moment``: its events, and its fill."""
        city = CONFIG.city(code)
        snapshot = self.snapshot(city, TODAY, moment - timedelta(seconds=30))
        self.live_trades += 1
        events = [snapshot, *self.trade(city, snapshot, moment, f"{code}-live-{self.live_trades}",
                                        rungs=((2, Side.YES),))]
        [fill] = [e for e in events if isinstance(e, OrderFilled)]
        return events, fill

    def clock_tick(self, code: str, moment: datetime) -> list[Event]:
        """A market snapshot at ``moment``: the ledger clock moves there."""
        return [self.snapshot(CONFIG.city(code), TODAY, moment)]


CONFIG_EVENT = a_config_version(CONFIG_TEXT, recorded_at=midnight(SETTLED_DAYS[0]) - timedelta(days=1))
CONFIG_VERSION = CONFIG_EVENT.config_version
