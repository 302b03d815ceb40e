"""Deterministic, realistic Milkbot ledger traffic for the benchmarks.

``decision_batches(n_events, seed)`` yields the commands a trading day would append, in order, as
lists of events; the same seed always gives the same events (and the same bytes). The bot visits
the ten cities in turn, a few simulated seconds apart, starting at 2026-08-01T00:00Z. One visit is
one command:

- ``MarketSnapshotted``: the city's daily-high ladder (a ``less`` tail, four 2°F ``between`` bins,
  a ``greater`` tail), each market with about five bid levels per side;
- ``WeatherSnapshotted``: 14 forecast periods and the last 12 hourly METAR observations;
- ``DecisionMade``: probabilities and the best edge for all six markets, 0-2 intended orders;
- for each intended order, on ``order:{client_order_id}``: ``OrderRiskChecked``, then when
  approved ``OrderSubmitted``, ``OrderAccepted``, one to three ``OrderFilled`` (each on its own
  ``fill:{fill_id}`` stream) and, after a partial fill, ``OrderCanceled`` for the remainder.

When a city's climate day (local standard time, as the NWS reports it) rolls over, a separate
command settles the six markets of the day before (``MarketSettled``).

Units follow ``domain.money``: prices in 1/10,000 dollar, counts in 1/100 contract, fees in micros.
"""

from __future__ import annotations

import hashlib
import itertools
import math
import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

from domain.events import (
    Action,
    BinProbability,
    CheckOutcome,
    DecisionMade,
    Edge,
    Event,
    ForecastPeriod,
    IntendedOrder,
    MarketKind,
    MarketQuote,
    MarketSettled,
    MarketSnapshotted,
    Observation,
    OrderAccepted,
    OrderCanceled,
    OrderFilled,
    OrderRiskChecked,
    OrderSubmitted,
    Side,
    WeatherSnapshotted,
    deterministic_id,
)
from domain.events.market import StrikeType
from domain.money import COUNT_SCALE, PRICE_SCALE, taker_fee

#: The simulated clock starts here.
START = datetime(2026, 8, 1, tzinfo=UTC)
#: Spread of our forecast error on the daily high, in °F.
FORECAST_SIGMA_F = 3.0
#: How many bid levels each side of a book shows.
BOOK_DEPTH = 5
FORECAST_PERIODS = 14
OBSERVATIONS = 12
STRATEGY = "daily_high"
CONFIG_VERSION = hashlib.sha256(b"milkbot bench workload config v1").hexdigest()
#: Weights of 0, 1 and 2 intended orders per decision.
ORDERS_PER_DECISION_WEIGHTS = (55, 30, 15)
RISK_APPROVAL_RATE = 0.95
PARTIAL_FILL_RATE = 0.2
RISK_CHECKS = ("kill_switch", "order_size", "market_position", "city_exposure", "daily_loss")


@dataclass(frozen=True)
class City:
    """A city Milkbot trades: its Kalshi series, its NWS station and its climate-day offset."""

    code: str
    series: str
    station: str
    #: Local standard time (the NWS climate day), hours from UTC.
    utc_offset_h: int
    #: A typical August daily high, °F.
    normal_high_f: int

    @property
    def tz(self) -> timezone:
        return timezone(timedelta(hours=self.utc_offset_h))


CITIES = (
    City("NYC", "KXHIGHNY", "KNYC", -5, 84),
    City("CHI", "KXHIGHCHI", "KMDW", -6, 83),
    City("MIA", "KXHIGHMIA", "KMIA", -5, 91),
    City("AUS", "KXHIGHAUS", "KAUS", -6, 97),
    City("LAX", "KXHIGHLAX", "KLAX", -8, 76),
    City("DEN", "KXHIGHDEN", "KDEN", -7, 89),
    City("PHL", "KXHIGHPHIL", "KPHL", -5, 86),
    City("HOU", "KXHIGHHOU", "KHOU", -6, 94),
    City("SEA", "KXHIGHSEA", "KSEA", -8, 78),
    City("DCA", "KXHIGHDC", "KDCA", -5, 88),
)


@dataclass
class Day:
    """One city's climate day: its Kalshi event and how hot it will really get."""

    city: City
    local_date: date
    #: Lowest strike of the ladder: the ``less`` tail is below it, bins cover it to ``low + 7``.
    low: int
    forecast_high_f: float
    actual_high_f: int
    volumes: list[int] = field(default_factory=lambda: [0] * 6)

    @property
    def event_ticker(self) -> str:
        return f"{self.city.series}-{self.local_date.strftime('%y%b%d').upper()}"

    @property
    def close_time(self) -> datetime:
        midnight = datetime.combine(self.local_date + timedelta(days=1), datetime.min.time())
        return midnight.replace(tzinfo=self.city.tz).astimezone(UTC)

    def tickers(self) -> list[str]:
        bins = [f"{self.event_ticker}-B{self.low + 2 * i}.5" for i in range(4)]
        return [f"{self.event_ticker}-T{self.low}", *bins, f"{self.event_ticker}-T{self.low + 7}"]

    def strikes(self, leg: int) -> tuple[StrikeType, Decimal | None, Decimal | None]:
        """Kalshi's ``(strike_type, floor_strike, cap_strike)`` of market ``leg`` (0-5)."""
        if leg == 0:
            return "less", None, Decimal(self.low)
        if leg == 5:
            return "greater", Decimal(self.low + 7), None
        floor = self.low + 2 * (leg - 1)
        return "between", Decimal(floor), Decimal(floor + 1)

    def settles_yes(self, leg: int) -> bool:
        high = self.actual_high_f
        if leg == 0:
            return high < self.low
        if leg == 5:
            return high > self.low + 7
        floor = self.low + 2 * (leg - 1)
        return floor <= high <= floor + 1


def synthetic_commands(seed: int = 0, *, start: datetime = START) -> Iterator[list[Event]]:
    """The simulated bot's commands, in order, forever (``milkbot demo`` paces these)."""
    return _Workload(seed, start).commands()


def decision_batches(n_events: int, seed: int = 0, *,
                     start: datetime = START) -> Iterator[list[Event]]:
    """Commands of exactly ``n_events`` events in all (the last one may be cut short).

    ``start`` moves the simulated clock's origin (e.g. just before a climate-day rollover).
    """
    if n_events < 0:
        raise ValueError("n_events must not be negative")
    remaining = n_events
    commands = synthetic_commands(seed, start=start)
    while remaining > 0:
        batch = next(commands)[:remaining]
        remaining -= len(batch)
        yield batch


class _Workload:
    """The simulated bot: a clock, stream versions and each city's day, driven by one RNG."""

    def __init__(self, seed: int, start: datetime) -> None:
        self.seed = seed
        self.rng = random.Random(seed)
        self.clock = start
        self.versions: dict[str, int] = {}
        self.days: dict[str, Day] = {}
        self.observations: dict[str, dict[datetime, Observation]] = {c.code: {} for c in CITIES}
        self.forecasts: dict[tuple[str, datetime], tuple[ForecastPeriod, ...]] = {}
        self.command_no = 0
        self.correlation_id = uuid.UUID(int=0)
        self.recorded_at = start

    # -- the loop ------------------------------------------------------------------------------

    def commands(self) -> Iterator[list[Event]]:
        """Visit the cities in turn, forever."""
        while True:
            for city in CITIES:
                self.clock += timedelta(milliseconds=self.rng.randint(2_000, 6_000))
                local_date = self.clock.astimezone(city.tz).date()
                previous = self.days.get(city.code)
                if previous is None or previous.local_date != local_date:
                    self.days[city.code] = self._new_day(city, local_date)
                    if previous is not None:
                        yield self._settlement(previous)
                yield self._visit(self.days[city.code])

    def _begin_command(self) -> None:
        self.command_no += 1
        self.correlation_id = deterministic_id("bench-command", self.seed, self.command_no)

    def _envelope(self, stream: str, causation: Event | None = None) -> dict[str, Any]:
        """Identity, next stream version and a recorded_at a few milliseconds after the last."""
        version = self.versions[stream] = self.versions.get(stream, 0) + 1
        self.recorded_at = max(self.clock, self.recorded_at) + timedelta(milliseconds=7)
        return {
            "event_id": deterministic_id("bench", self.seed, stream, version),
            "stream": stream,
            "version": version,
            "recorded_at": self.recorded_at,
            "correlation_id": self.correlation_id,
            "causation_id": causation.event_id if causation is not None else None,
        }

    def _new_day(self, city: City, local_date: date) -> Day:
        forecast = city.normal_high_f + self.rng.gauss(0, 4)
        return Day(city=city, local_date=local_date, low=round(forecast) - 4,
                   forecast_high_f=forecast,
                   actual_high_f=round(self.rng.gauss(forecast, FORECAST_SIGMA_F)))

    # -- commands ------------------------------------------------------------------------------

    def _settlement(self, day: Day) -> list[Event]:
        self._begin_command()
        events: list[Event] = []
        for leg, ticker in enumerate(day.tickers()):
            won = day.settles_yes(leg)
            envelope = self._envelope(f"settlement:{ticker}")
            events.append(MarketSettled(
                **envelope, venue_time=envelope["recorded_at"], ticker=ticker,
                event_ticker=day.event_ticker, result="yes" if won else "no",
                settlement_value=PRICE_SCALE if won else 0,
            ))
        return events

    def _visit(self, day: Day) -> list[Event]:
        self._begin_command()
        belief = day.forecast_high_f + self.rng.gauss(0, 0.5)
        probabilities = _bin_probabilities(day.low, belief)
        market = self._market_snapshot(day, probabilities)
        weather = self._weather_snapshot(day)
        decision = self._decision(day, market, weather, probabilities)
        events: list[Event] = [market, weather, decision]
        for order in decision.intended_orders:
            events += self._order_lifecycle(day, decision, order)
        return events

    # -- what the venue and the weather service show -------------------------------------------

    def _market_snapshot(self, day: Day, probabilities: list[float]) -> MarketSnapshotted:
        envelope = self._envelope(f"market:{day.event_ticker}")
        quotes = tuple(self._quote(day, leg, ticker, probabilities[leg])
                       for leg, ticker in enumerate(day.tickers()))
        return MarketSnapshotted(
            **envelope, venue_time=self.clock, series_ticker=day.city.series,
            event_ticker=day.event_ticker, city=day.city.code, kind=MarketKind.DAILY_HIGH,
            source="kalshi-rest", markets=quotes,
        )

    def _quote(self, day: Day, leg: int, ticker: str, probability: float) -> MarketQuote:
        # 3..97 cents, so both books keep a bid of at least one cent.
        fair_cents = min(97, max(3, round(100 * (probability + self.rng.gauss(0, 0.04)))))
        yes_bid = fair_cents - self.rng.randint(1, 2)
        yes_ask = fair_cents + self.rng.randint(1, 2)
        day.volumes[leg] += self.rng.randint(0, 40) * COUNT_SCALE
        strike_type, floor, cap = day.strikes(leg)
        return MarketQuote(
            ticker=ticker, status="active", strike_type=strike_type,
            floor_strike=floor, cap_strike=cap, close_time=day.close_time,
            yes_bids=self._book(yes_bid), no_bids=self._book(100 - yes_ask),
            last_price=(yes_bid + self.rng.randint(0, yes_ask - yes_bid)) * 100,
            volume=day.volumes[leg],
        )

    def _book(self, best_cents: int) -> tuple[tuple[int, int], ...]:
        levels = []
        cents = best_cents
        for _ in range(BOOK_DEPTH):
            if cents <= 0:
                break
            levels.append((cents * 100, self.rng.randint(1, 500) * COUNT_SCALE))
            cents -= self.rng.randint(1, 3)
        return tuple(levels)

    def _weather_snapshot(self, day: Day) -> WeatherSnapshotted:
        issued_at = self.clock.replace(minute=0, second=0, microsecond=0)
        return WeatherSnapshotted(
            **self._envelope(f"weather:{day.city.code}"), venue_time=issued_at,
            city=day.city.code, station=day.city.station, provider="nws", issued_at=issued_at,
            forecast=self._forecast(day, issued_at), observations=self._observations(day),
        )

    def _forecast(self, day: Day, issued_at: datetime) -> tuple[ForecastPeriod, ...]:
        """NWS day and night periods from the current one on; reissued once an hour."""
        key = (day.city.code, issued_at)
        if key not in self.forecasts:
            self.forecasts = {k: v for k, v in self.forecasts.items() if k[0] != day.city.code}
            local = issued_at.astimezone(day.city.tz)
            start = local.replace(hour=6 if 6 <= local.hour < 18 else 18, minute=0)
            if local.hour < 6:
                start -= timedelta(days=1)
            self.forecasts[key] = tuple(self._period(day, start + timedelta(hours=12 * i))
                                        for i in range(FORECAST_PERIODS))
        return self.forecasts[key]

    def _period(self, day: Day, start: datetime) -> ForecastPeriod:
        is_day = start.hour == 6
        temperature = day.forecast_high_f - (0 if is_day else 17) + self.rng.gauss(0, 2)
        rain = self.rng.choice((None, 0.0, 0.0, 0.1, 0.2, 0.3, 0.5))
        return ForecastPeriod(start=start, end=start + timedelta(hours=12), is_daytime=is_day,
                              temperature_f=float(round(temperature)), precip_probability=rain)

    def _observations(self, day: Day) -> tuple[Observation, ...]:
        """The last hourly METARs (issued at :51), kept so a report reads the same every time."""
        latest = self.clock.replace(minute=51, second=0, microsecond=0)
        if latest > self.clock:
            latest -= timedelta(hours=1)
        times = [latest - timedelta(hours=i) for i in range(OBSERVATIONS)]
        known = self.observations[day.city.code]
        for time in times:
            if time not in known:
                known[time] = self._observation(day, time)
        self.observations[day.city.code] = {t: known[t] for t in times}
        return tuple(known[t] for t in times)

    def _observation(self, day: Day, time: datetime) -> Observation:
        hour = time.astimezone(day.city.tz).hour + time.minute / 60
        temp_f = day.actual_high_f - 9 + 9 * math.cos(2 * math.pi * (hour - 15) / 24)
        temp_c = round((temp_f + self.rng.gauss(0, 0.7) - 32) * 5 / 9, 1)
        dew_c = round(temp_c - self.rng.uniform(2, 12), 1)
        synoptic = time.hour % 6 == 5
        rain = self.rng.choice((None,) * 8 + (0.0, 0.01, 0.08))
        return Observation(
            time=time, temperature_f=round(temp_c * 9 / 5 + 32, 1),
            max_temp_6h_f=round(temp_f + 2.0, 1) if synoptic else None,
            min_temp_6h_f=round(temp_f - 4.0, 1) if synoptic else None,
            precip_1h_in=rain, raw_message=self._metar(day.city.station, time, temp_c, dew_c),
        )

    def _metar(self, station: str, time: datetime, temp_c: float, dew_c: float) -> str:
        wind = f"{self.rng.randrange(0, 360, 10):03d}{self.rng.randint(0, 18):02d}KT"
        sky = self.rng.choice(("CLR", "FEW250", "SCT045", "BKN070 OVC250", "FEW040 SCT250"))
        altimeter = self.rng.randint(2985, 3025)
        slp = self.rng.randint(100, 250)
        return (f"{station} {time:%d%H%M}Z {wind} 10SM {sky} "
                f"{_metar_whole(temp_c)}/{_metar_whole(dew_c)} A{altimeter} RMK AO2 SLP{slp} "
                f"T{_metar_tenths(temp_c)}{_metar_tenths(dew_c)}")

    # -- what the bot decides and what happens to its orders -----------------------------------

    def _decision(self, day: Day, market: MarketSnapshotted, weather: WeatherSnapshotted,
                  probabilities: list[float]) -> DecisionMade:
        decision_id = deterministic_id("bench-decision", self.seed, market.event_id,
                                       weather.event_id)
        edges = sorted((_best_edge(q, p) for q, p in zip(market.markets, probabilities,
                                                          strict=True)),
                       key=lambda e: e.edge_after_fees, reverse=True)
        wanted = self.rng.choices((0, 1, 2), weights=ORDERS_PER_DECISION_WEIGHTS)[0]
        intended = tuple(
            IntendedOrder(client_order_id=f"mb-{decision_id.hex[:20]}-{leg}", ticker=e.ticker,
                          side=e.side, action=e.action, price=e.price,
                          count=self.rng.randint(1, 25) * COUNT_SCALE)
            for leg, e in enumerate(edges[:wanted]))
        return DecisionMade(
            **self._envelope(f"decision:{decision_id}", market), decision_id=decision_id,
            strategy=STRATEGY, city=day.city.code, kind=MarketKind.DAILY_HIGH,
            event_ticker=day.event_ticker, market_snapshot_id=market.event_id,
            weather_snapshot_ids=(weather.event_id,), config_version=CONFIG_VERSION,
            probabilities=tuple(BinProbability(ticker=q.ticker, probability=p)
                                for q, p in zip(market.markets, probabilities, strict=True)),
            edges=tuple(edges), intended_orders=intended,
            no_trade_reason=None if intended else "no edge above 0.0300 after fees",
        )

    def _order_lifecycle(self, day: Day, decision: DecisionMade,
                         order: IntendedOrder) -> list[Event]:
        stream = f"order:{order.client_order_id}"
        approved = self.rng.random() < RISK_APPROVAL_RATE
        checked = OrderRiskChecked(
            **self._envelope(stream, decision), client_order_id=order.client_order_id,
            approved=approved, checks=self._risk_checks(approved),
        )
        if not approved:
            return [checked]
        submitted = OrderSubmitted(
            **self._envelope(stream, checked), client_order_id=order.client_order_id,
            decision_id=decision.decision_id, city=day.city.code, ticker=order.ticker,
            side=order.side, action=order.action, price=order.price, count=order.count,
        )
        venue_order_id = str(deterministic_id("bench-venue-order", order.client_order_id))
        accepted = OrderAccepted(**self._envelope(stream, submitted),
                                 client_order_id=order.client_order_id,
                                 venue_order_id=venue_order_id)
        fills = [self._fill(day, order, accepted, count, fill_no)
                 for fill_no, count in enumerate(self._fill_sizes(order.count), start=1)]
        events: list[Event] = [checked, submitted, accepted, *fills]
        filled = sum(f.count for f in fills)
        if filled < order.count:
            events.append(OrderCanceled(
                **self._envelope(stream, accepted), client_order_id=order.client_order_id,
                venue_order_id=venue_order_id, reason="immediate-or-cancel remainder",
                canceled_count=order.count - filled,
            ))
        return events

    def _risk_checks(self, approved: bool) -> tuple[CheckOutcome, ...]:
        failing = None if approved else self.rng.choice(RISK_CHECKS[1:])
        return tuple(
            CheckOutcome(name=name, passed=name != failing,
                         reason=f"{name} over its limit" if name == failing else "within limit")
            for name in RISK_CHECKS)

    def _fill_sizes(self, count: int) -> list[int]:
        """Whole-contract fills: the full count in one to three pieces, or a partial fill."""
        contracts = count // COUNT_SCALE
        if contracts > 1 and self.rng.random() < PARTIAL_FILL_RATE:
            contracts = self.rng.randint(1, contracts - 1)
        pieces = min(contracts, self.rng.choice((1, 1, 1, 2, 3)))
        cuts = sorted(self.rng.sample(range(1, contracts), pieces - 1))
        bounds = [0, *cuts, contracts]
        return [(b - a) * COUNT_SCALE for a, b in itertools.pairwise(bounds)]

    def _fill(self, day: Day, order: IntendedOrder, accepted: OrderAccepted, count: int,
              fill_no: int) -> OrderFilled:
        fill_id = str(deterministic_id("bench-fill", self.seed, order.client_order_id, fill_no))
        envelope = self._envelope(f"fill:{fill_id}", accepted)
        return OrderFilled(
            **envelope, venue_time=envelope["recorded_at"] - timedelta(milliseconds=3),
            fill_id=fill_id, client_order_id=order.client_order_id,
            venue_order_id=accepted.venue_order_id, city=day.city.code, ticker=order.ticker,
            side=order.side, action=order.action, price=order.price, count=count,
            fee=taker_fee(order.price, count), is_taker=True,
        )


def _bin_probabilities(low: int, mean_f: float) -> list[float]:
    """P(each market settles YES) for a normal daily high, rounded like the strategy reports."""
    edges = [low - 0.5, *(low + 1.5 + 2 * i for i in range(4))]
    cdf = [0.0, *(_normal_cdf((x - mean_f) / FORECAST_SIGMA_F) for x in edges), 1.0]
    return [round(b - a, 4) for a, b in itertools.pairwise(cdf)]


def _normal_cdf(z: float) -> float:
    return 0.5 * (1 + math.erf(z / math.sqrt(2)))


def _best_edge(quote: MarketQuote, probability: float) -> Edge:
    """The better of buying YES or buying NO at the ask, after the taker fee."""
    yes_ask = PRICE_SCALE - quote.no_bids[0][0]
    no_ask = PRICE_SCALE - quote.yes_bids[0][0]
    choices = [(Side.YES, probability, yes_ask), (Side.NO, 1 - probability, no_ask)]
    side, chance, price = max(choices, key=lambda c: c[1] - c[2] / PRICE_SCALE)
    fee = taker_fee(price, COUNT_SCALE)
    return Edge(ticker=quote.ticker, side=side, action=Action.BUY, probability=round(chance, 4),
                price=price, fee_per_contract=fee,
                edge_after_fees=round(chance - price / PRICE_SCALE - fee / 1_000_000, 4))


def _metar_whole(celsius: float) -> str:
    """A METAR temperature group: whole degrees, ``M`` for below zero."""
    whole = round(celsius)
    return f"M{-whole:02d}" if whole < 0 else f"{whole:02d}"


def _metar_tenths(celsius: float) -> str:
    """The remarks' ``T`` group half: sign digit then tenths of a degree."""
    tenths = round(celsius * 10)
    return f"{1 if tenths < 0 else 0}{abs(tenths):03d}"
