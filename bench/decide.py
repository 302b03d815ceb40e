"""Decision benchmark: one full decision cycle for the 10 shipped cities, in pure code.

    python -m bench.decide [--cycles N] [--seed S]

A cycle is what the command handler does with one round of snapshots: decode the recorded
market and weather snapshots (and the month-to-date CLI reports), then ``domain.decision.decide``
every ladder with every configured strategy and encode the ``DecisionMade`` events. The round is
3 daily-high ladders per city (today, tomorrow, the day after: 30 ladders, 180 markets) plus each
city's monthly rain and snow ladders, in January so snow is in season, with NWS-sized weather
(14 twelve-hour periods, 156 hourly periods, 30 observations per city and kind).

The same-run baseline decodes the same snapshots and does nothing else, so ``ratio`` is how many
times a parse the whole cycle costs; ``decide_only_ms_median`` is the cycle without the decoding
(snapshots the handler already holds). One JSON object goes to stdout.
"""

from __future__ import annotations

import argparse
import gc
import random
import statistics
import sys
import time
import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import orjson

from domain.climate_day import climate_day_start
from domain.config import CityConfig, MilkbotConfig, parse_config
from domain.decision import DecisionInputs, Portfolio, decide
from domain.events import (
    ClimateReportRecorded,
    Event,
    ForecastPeriod,
    MarketKind,
    MarketQuote,
    MarketSnapshotted,
    Observation,
    WeatherSnapshotted,
    deterministic_id,
)
from domain.forecast.daily_high import normal_high
from eventstore.codec import decode, encode
from milkbot.settings import SHIPPED_CONFIG

NOW = datetime(2027, 1, 12, 16, 0, tzinfo=UTC)  # late morning on the East Coast
MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
CORRELATION = uuid.UUID("00000000-0000-4000-8000-00000000beef")
RAIN_STRIKES = ("0.5", "1", "2", "3", "4", "5", "6")
SNOW_STRIKES = ("1", "3", "6", "9", "12", "18")


def _envelope(stream: str) -> dict[str, object]:
    return {"event_id": deterministic_id("bench", stream), "stream": stream, "version": 1,
            "recorded_at": NOW, "correlation_id": CORRELATION}


def _book(rng: random.Random, fair: float) -> tuple[tuple[tuple[int, int], ...], tuple[tuple[int, int], ...]]:
    """Bids around ``fair`` (a YES probability): five levels a cent apart on each side."""
    mid = min(9_700, max(300, round(fair * 10_000 / 100) * 100))
    spread = rng.choice((200, 300, 400))
    yes = tuple((mid - spread // 2 - 100 * i, rng.randrange(500, 20_000)) for i in range(5)
                if mid - spread // 2 - 100 * i > 0)
    no_best = 10_000 - (mid + spread // 2)
    no = tuple((no_best - 100 * i, rng.randrange(500, 20_000)) for i in range(5) if no_best - 100 * i > 0)
    return yes, no


def daily_ladder(rng: random.Random, city: CityConfig, day: date) -> MarketSnapshotted:
    series = city.daily_high.series
    ticker = f"{series}-{day:%y}{MONTHS[day.month - 1]}{day:%d}"
    low = round(normal_high(city.normals, day)) - 4 + rng.randrange(-2, 3)
    close = climate_day_start(city.timezone, day + timedelta(days=1))
    quotes = []
    for i, (kind, floor, cap) in enumerate([("less", None, low)] + [
            ("between", low + 2 * k, low + 2 * k + 1) for k in range(4)] + [("greater", low + 7, None)]):
        yes, no = _book(rng, (0.12, 0.2, 0.26, 0.2, 0.14, 0.08)[i])
        quotes.append(MarketQuote(
            ticker=f"{ticker}-{'T' if cap is None or floor is None else 'B'}{floor or cap}",
            status="active", strike_type=kind,
            floor_strike=Decimal(floor) if floor is not None else None,
            cap_strike=Decimal(cap) if cap is not None else None, close_time=close,
            yes_bids=yes, no_bids=no))
    return MarketSnapshotted(**_envelope(f"market:{ticker}"), series_ticker=series,
                             event_ticker=ticker, city=city.code, kind=MarketKind.DAILY_HIGH,
                             source="bench", markets=tuple(quotes))


def monthly_ladder(rng: random.Random, city: CityConfig, kind: MarketKind) -> MarketSnapshotted | None:
    source = city.source(kind)
    if source is None:
        return None
    ticker = f"{source.series}-{NOW:%y}{MONTHS[NOW.month - 1]}"
    strikes = RAIN_STRIKES if kind is MarketKind.MONTHLY_RAIN else SNOW_STRIKES
    quotes = []
    for i, strike in enumerate(strikes):
        yes, no = _book(rng, max(0.03, 0.9 - 0.15 * i))
        quotes.append(MarketQuote(ticker=f"{ticker}-{strike}", status="active", strike_type="greater",
                                  floor_strike=Decimal(strike), yes_bids=yes, no_bids=no))
    return MarketSnapshotted(**_envelope(f"market:{ticker}"), series_ticker=source.series,
                             event_ticker=ticker, city=city.code, kind=kind, source="bench",
                             markets=tuple(quotes))


def weather(rng: random.Random, city: CityConfig, kind: MarketKind) -> WeatherSnapshotted:
    source = city.source(kind)
    assert source is not None
    base = normal_high(city.normals, NOW.date())
    start = NOW.replace(minute=0)
    periods = tuple(ForecastPeriod(
        start=start + timedelta(hours=12 * i), end=start + timedelta(hours=12 * i + 12),
        is_daytime=i % 2 == 0, temperature_f=round(base + rng.gauss(0, 4)),
        precip_probability=rng.random()) for i in range(14))
    hourly = tuple(ForecastPeriod(
        start=start + timedelta(hours=h), end=start + timedelta(hours=h + 1),
        temperature_f=round(base - 8 + 8 * abs(((h + 7) % 24) - 12) / 12 + rng.gauss(0, 1), 1),
        precip_probability=rng.random(), precip_in=round(rng.random() * 0.02, 3),
        snow_in=round(rng.random() * 0.05, 3)) for h in range(156))
    observations = tuple(Observation(
        time=NOW - timedelta(hours=i), temperature_f=round(base - 6 + rng.gauss(0, 2), 1),
        max_temp_6h_f=round(base - 4, 1) if i % 6 == 0 else None) for i in range(30))
    return WeatherSnapshotted(**_envelope(f"weather:{city.code}:{kind.value}"),
                              city=city.code, station=source.station, provider="nws",
                              issued_at=NOW - timedelta(hours=2), forecast=periods, hourly=hourly,
                              observations=observations)


def report(city: CityConfig, kind: MarketKind) -> ClimateReportRecorded:
    source = city.source(kind)
    assert source is not None
    return ClimateReportRecorded(
        **_envelope(f"cli:{source.cli_site}:{NOW.date() - timedelta(days=1)}"),
        station=source.cli_site, climate_date=NOW.date() - timedelta(days=1), preliminary=False,
        correction=False, issued_at=NOW - timedelta(hours=9), precip_month_in=Decimal("1.21"),
        snow_month_in=Decimal("2.4"), raw_text="CLIMATE REPORT")


#: One stored record: its topic and its encoded state, as the ledger hands them back.
Stored = tuple[str, bytes]
#: A round of snapshots: (market, weather, month-to-date report) per ladder.
Round = list[tuple[Stored, Stored, Stored | None]]


def _stored(event: Event) -> Stored:
    return type(event).topic(), encode(event)


def build_round(config: MilkbotConfig, seed: int) -> Round:
    rng = random.Random(seed)
    items: Round = []
    for city in config.enabled_cities:
        high_weather = _stored(weather(rng, city, MarketKind.DAILY_HIGH))
        for ahead in range(3):
            day = NOW.date() + timedelta(days=ahead)
            items.append((_stored(daily_ladder(rng, city, day)), high_weather, None))
        for kind in (MarketKind.MONTHLY_RAIN, MarketKind.MONTHLY_SNOW):
            ladder = monthly_ladder(rng, city, kind)
            if ladder is not None:
                items.append((_stored(ladder), _stored(weather(rng, city, kind)),
                              _stored(report(city, kind))))
    return items


def parse(round_: Round) -> list[tuple[Event, Event, Event | None]]:
    """The baseline: decode every snapshot of the round once (a city's weather serves each of its
    daily ladders), nothing more."""
    seen: dict[int, Event] = {}

    def read(stored: Stored) -> Event:
        key = id(stored)
        if key not in seen:
            seen[key] = decode(*stored)
        return seen[key]

    return [(read(market), read(weather_), read(report_) if report_ is not None else None)
            for market, weather_, report_ in round_]


def cycle(round_: Round, config: MilkbotConfig, version: str) -> int:
    """Decode, decide every ladder with every strategy, encode the decisions: one handler cycle."""
    decisions = 0
    portfolio = Portfolio(balance=1_000 * 1_000_000)
    for market, weather_, report_ in parse(round_):
        assert isinstance(market, MarketSnapshotted) and isinstance(weather_, WeatherSnapshotted)
        made = decide(DecisionInputs(market=market, weather=weather_,
                                     report=report_ if isinstance(report_, ClimateReportRecorded) else None,
                                     config=config, config_version=version, portfolio=portfolio))
        for decision in made:
            encode(decision)
        decisions += len(made)
    return decisions


def decide_only(parsed: list[tuple[Event, Event, Event | None]], config: MilkbotConfig,
                version: str) -> None:
    """The decisions alone, from snapshots already in memory (as the handler holds what it just
    recorded)."""
    portfolio = Portfolio(balance=1_000 * 1_000_000)
    for market, weather_, report_ in parsed:
        assert isinstance(market, MarketSnapshotted) and isinstance(weather_, WeatherSnapshotted)
        decide(DecisionInputs(market=market, weather=weather_,
                              report=report_ if isinstance(report_, ClimateReportRecorded) else None,
                              config=config, config_version=version, portfolio=portfolio))


def _timed(fn: Callable[[], object], repeats: int) -> list[float]:
    times = []
    for _ in range(repeats):
        gc.collect()
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return times


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.decide", description=__doc__.split("\n")[0])
    parser.add_argument("--cycles", type=int, default=50)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    config, version = parse_config(SHIPPED_CONFIG.read_text())
    round_ = build_round(config, args.seed)
    decisions = cycle(round_, config, version)  # warm up, and count
    parse_s = _timed(lambda: parse(round_), args.cycles)
    cycle_s = _timed(lambda: cycle(round_, config, version), args.cycles)
    parsed = parse(round_)
    decide_s = _timed(lambda: decide_only(parsed, config, version), args.cycles)
    markets = sum(len(market.markets) for market, _, _ in parse(round_)
                  if isinstance(market, MarketSnapshotted))
    median_cycle, median_parse = statistics.median(cycle_s), statistics.median(parse_s)
    result = {
        "bench": "decide", "backend": "pure", "cities": len(config.enabled_cities),
        "ladders": len(round_), "markets": markets, "decisions_per_cycle": decisions,
        "cycles": args.cycles,
        "cycle_ms_median": round(median_cycle * 1000, 3),
        "cycle_ms_p90": round(sorted(cycle_s)[int(0.9 * (len(cycle_s) - 1))] * 1000, 3),
        "decide_only_ms_median": round(statistics.median(decide_s) * 1000, 3),
        "baseline_parse_ms_median": round(median_parse * 1000, 3),
        "target_cycle_ms": 20.0,
        "ratio": round(median_cycle / median_parse, 2),
    }
    sys.stdout.write(orjson.dumps(result).decode() + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
