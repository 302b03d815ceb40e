"""The NWS simulator's weather generator: deterministic, climatologically plausible, honest forecasts."""

from __future__ import annotations

import itertools
import statistics
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from functools import cache
from pathlib import Path

import pytest

from adapters.nws.simulator.products import products_for, render_cli
from adapters.nws.simulator.weather import (
    DayWeather,
    WeatherGenerator,
    c_tenths_to_f,
    climate_day_of,
    climate_day_start,
    forecast_error_sd,
)
from domain.config import MilkbotConfig, parse_config

CONFIG_PATH = Path(__file__).resolve().parents[2] / "config" / "milkbot.toml"
YEAR_START = date(2025, 1, 1)


@cache
def config() -> MilkbotConfig:
    return parse_config(CONFIG_PATH.read_text())[0]


@cache
def year_of_weather(seed: int = 11) -> WeatherGenerator:
    """One generator with a simulated year for every city already computed (cached days)."""
    weather = WeatherGenerator(config().cities, seed=seed)
    for city in config().cities:
        for n in range(365):
            weather.day(city.code, YEAR_START + timedelta(days=n))
    return weather


def a_year(code: str) -> list[DayWeather]:
    weather = year_of_weather()
    return [weather.day(code, YEAR_START + timedelta(days=n)) for n in range(365)]


def test_the_same_seed_gives_the_same_weather_and_another_seed_does_not() -> None:
    first = WeatherGenerator(config().cities, seed=3)
    again = WeatherGenerator(config().cities, seed=3)
    other = WeatherGenerator(config().cities, seed=4)
    days = [date(2026, 3, 1) + timedelta(days=n) for n in range(20)]
    # Asked in a different order: random access must not depend on what was asked before.
    assert [first.day("NYC", d) for d in days] == [again.day("NYC", d) for d in reversed(days)][::-1]
    assert [first.day("NYC", d).max_f for d in days] != [other.day("NYC", d).max_f for d in days]
    issued = datetime(2026, 3, 1, 14, 20, tzinfo=UTC)
    assert first.forecast("DEN", issued, date(2026, 3, 4)) == again.forecast("DEN", issued, date(2026, 3, 4))


@pytest.mark.parametrize("code", [c.code for c in config().cities])
def test_a_simulated_year_matches_the_city_normals(code: str) -> None:
    # Tolerances are about 3 sampling errors of one simulated year: with AR(1) anomalies (phi 0.7,
    # sd up to ~8F) a month's mean high has a standard error near 3F and a year's near 0.8F.
    city = config().city(code)
    year = a_year(code)
    highs = [d.max_f for d in year]
    lows = [d.min_f for d in year]
    assert abs(statistics.mean(highs) - statistics.mean(city.normals.high_f)) < 2.5
    assert abs(statistics.mean(lows) - statistics.mean(city.normals.low_f)) < 2.5
    monthly = [statistics.mean(d.max_f for d in year if d.day.month == m) for m in range(1, 13)]
    for month, (simulated, normal) in enumerate(zip(monthly, city.normals.high_f, strict=True), 1):
        assert abs(simulated - normal) < 9.0, month
    if max(city.normals.high_f) - min(city.normals.high_f) > 20:  # a real seasonal cycle
        assert statistics.correlation(monthly, list(city.normals.high_f)) > 0.95
    assert all(d.min_f <= d.max_f for d in year)
    # Day-to-day persistence: consecutive anomalies are clearly correlated (AR(1), phi = 0.7).
    anomalies = [h - statistics.mean(highs) for h in highs]
    assert statistics.correlation(anomalies[:-1], anomalies[1:]) > 0.5
    rain = sum(d.precip_in for d in year)
    assert rain == pytest.approx(sum(city.normals.precip_in), rel=0.3)
    wet_days = sum(1 for d in year if d.precip_hundredths > 0)
    assert 0 < wet_days < 0.55 * 365  # many dry days


def test_over_all_cities_the_year_is_unbiased() -> None:
    # Pooled over ten cities the sampling error is ~0.3F: a bias in the model would show here.
    high_bias = [statistics.mean(d.max_f for d in a_year(c.code)) - statistics.mean(c.normals.high_f)
                 for c in config().cities]
    low_bias = [statistics.mean(d.min_f for d in a_year(c.code)) - statistics.mean(c.normals.low_f)
                for c in config().cities]
    assert abs(statistics.mean(high_bias)) < 1.0
    assert abs(statistics.mean(low_bias)) < 1.0


def test_wet_day_amounts_are_skewed_like_a_gamma() -> None:
    amounts = [d.precip_in for code in ("NYC", "SEA", "HOU") for d in a_year(code) if d.precip_hundredths]
    # Many light days, a few heavy ones: the mean sits well above the median.
    assert statistics.mean(amounts) > 1.3 * statistics.median(amounts)


def test_snow_falls_only_when_it_is_cold() -> None:
    snowy = [d for c in config().cities for d in a_year(c.code) if d.snow_tenths > 0]
    assert snowy, "a year with no snow anywhere (NYC, CHI, DEN...) is implausible"
    for d in snowy:
        assert d.min_f <= 32, d
        assert (d.max_f + d.min_f) / 2 <= 36, d
        assert d.precip_hundredths > 0 or d.precip_trace
    for warm in ("MIA", "HOU", "LAX", "AUS"):
        assert all(d.snow_tenths == 0 for d in a_year(warm)), warm
    chicago_snow = sum(d.snow_in for d in a_year("CHI"))
    assert 10 < chicago_snow < 90


def test_the_cli_maximum_is_the_rounded_maximum_of_the_hourly_curve() -> None:
    for code in ("NYC", "DEN", "MIA"):
        for d in a_year(code):
            highest = max(c_tenths_to_f(r.tenths_c) for r in d.hourly)
            lowest = min(c_tenths_to_f(r.tenths_c) for r in d.hourly)
            assert d.max_f == int(highest.quantize(Decimal(1), rounding=ROUND_HALF_UP))
            assert d.min_f == int(lowest.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def test_the_climate_day_runs_on_local_standard_time_even_in_summer() -> None:
    weather = year_of_weather()
    july = weather.day("NYC", date(2025, 7, 4))
    # 00:51 EST is 05:51 UTC; in EDT's terms the climate day starts at 01:00 local clock time.
    assert july.hourly[0].time == datetime(2025, 7, 4, 5, 51, tzinfo=UTC)
    assert len(july.hourly) == 24
    assert climate_day_start("America/Denver", date(2025, 7, 4)) == datetime(2025, 7, 4, 7, tzinfo=UTC)
    # 00:30 EDT on July 5 is still July 4 by the climate day.
    assert climate_day_of("America/New_York", datetime(2025, 7, 5, 4, 30, tzinfo=UTC)) == date(2025, 7, 4)


def test_the_hourly_curve_is_continuous_across_midnight() -> None:
    weather = year_of_weather()
    for n in range(60):
        today = weather.day("CHI", YEAR_START + timedelta(days=n))
        tomorrow = weather.day("CHI", YEAR_START + timedelta(days=n + 1))
        series = [r.temperature_f for r in (*today.hourly, *tomorrow.hourly)]
        assert max(abs(a - b) for a, b in itertools.pairwise(series)) < 12


def test_forecast_errors_shrink_with_lead_time() -> None:
    weather = year_of_weather()
    spreads = {}
    for lead in (0, 1, 3, 5):
        errors = []
        for n in range(10, 360):
            target = YEAR_START + timedelta(days=n)
            for code in ("NYC", "DEN"):
                # Issued at 06 local standard time on the day `lead` days before the target.
                issued = climate_day_start(config().city(code).timezone, target - timedelta(days=lead)) \
                    + timedelta(hours=6)
                errors.append(weather.forecast(code, issued, target).high_f - weather.day(code, target).max_f)
        spreads[lead] = statistics.pstdev(errors)
        assert abs(statistics.mean(errors)) < 0.5, lead  # unbiased
        assert spreads[lead] == pytest.approx(forecast_error_sd(lead), rel=0.15), lead
    assert spreads[0] < spreads[1] < spreads[3] < spreads[5]


def test_a_forecast_depends_on_its_issue_hour_only() -> None:
    weather = year_of_weather()
    target = date(2025, 5, 10)
    at = datetime(2025, 5, 8, 12, 5, tzinfo=UTC)
    same_hour = weather.forecast("SEA", at.replace(minute=55), target)
    assert weather.forecast("SEA", at, target) == same_hour
    assert weather.forecast("SEA", at + timedelta(hours=1), target).high_f != same_hour.high_f


def test_the_cli_text_carries_the_day_s_values() -> None:
    weather = year_of_weather()
    day = date(2025, 1, 20)
    preliminary, final = products_for(config().city("NYC"), "NYC", day, weather.seed)
    assert preliminary.issuance_time < final.issuance_time
    text = render_cli(final, weather)
    truth = weather.day("NYC", day)
    assert "...THE CENTRAL PARK NY CLIMATE SUMMARY FOR JANUARY 20 2025..." in text
    assert any(line.split()[:2] == ["MAXIMUM", str(truth.max_f)] for line in text.splitlines())
    assert " YESTERDAY" in text and "VALID TODAY AS OF" not in text
    assert "VALID TODAY AS OF 0500 PM LOCAL TIME." in render_cli(preliminary, weather)
    assert text.rstrip().endswith("$$")
