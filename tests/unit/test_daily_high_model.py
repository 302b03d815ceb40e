"""The daily-high model, with worked examples a reader can check by hand."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, timedelta

import pytest

from domain.climatology import ClimateNormals
from domain.events import ForecastPeriod, Observation, WeatherSnapshotted
from domain.forecast.daily_high import (
    DailyHighInputs,
    DailyHighParams,
    StationSkill,
    daily_high_inputs,
    forecast,
    normal_high,
)
from domain.forecast.distributions import AtLeast, Normal, PointMass, rung_probabilities
from domain.ladder import Ladder
from tests.builders import a_ladder, a_market_snapshot, envelope

NYC_NORMALS = ClimateNormals(
    source="test", high_f=(39.5, 42.2, 49.9, 61.8, 71.4, 79.7, 84.9, 83.3, 76.2, 64.5, 54.0, 44.3),
    low_f=(0.0,) * 12, precip_in=(3.5,) * 12, snow_in=(0.0,) * 12)
LADDER_65 = Ladder.of(a_market_snapshot(markets=a_ladder(low=65)))  # <=64 65-66 67-68 69-70 71-72 >=73
NO_TAILS = DailyHighParams(tail_weight=0.0, climatology_weight_base=0.0, climatology_weight_per_day=0.0)
DAY = date(2026, 8, 28)


def inputs(**overrides: object) -> DailyHighInputs:
    values: dict[str, object] = {
        "climate_day": DAY, "lead_days": 1, "forecast_high": 67.6, "remaining_high": None,
        "hours_left": None, "observed_max": None, "normal_high": 83.3}
    values.update(overrides)
    return DailyHighInputs(**values)  # type: ignore[arg-type]


def test_the_worked_example_from_the_issue() -> None:
    """Centre 67.6°F, sigma 2.6°F, no tails. With Phi the standard normal CDF:
    P(<=64) = Phi((64.5 - 67.6) / 2.6) = Phi(-1.192) = 0.117,
    P(65-66) = Phi((66.5 - 67.6) / 2.6) - 0.117 = Phi(-0.423) - 0.117 = 0.336 - 0.117 = 0.220, ...
    """
    probabilities = rung_probabilities(LADDER_65, Normal(67.6, 2.6))
    assert [round(p, 3) for p in probabilities] == [0.117, 0.220, 0.299, 0.232, 0.103, 0.030]
    assert math.fsum(probabilities) == pytest.approx(1.0, abs=1e-12)


def test_the_model_uses_the_forecast_as_centre_and_the_lead_for_the_spread() -> None:
    tomorrow = forecast(inputs(lead_days=1), NO_TAILS)
    assert (tomorrow.raw, tomorrow.centre, tomorrow.sigma) == (67.6, 67.6, 2.5)
    assert forecast(inputs(lead_days=0), NO_TAILS).sigma == 2.0
    assert forecast(inputs(lead_days=3), NO_TAILS).sigma == 3.5  # +0.5 per extra day


def test_the_centre_is_pulled_toward_the_normal_more_with_lead() -> None:
    params = DailyHighParams(tail_weight=0.0)  # 3% + 3% a day
    assert forecast(inputs(lead_days=1), params).centre == pytest.approx(0.94 * 67.6 + 0.06 * 83.3)
    assert forecast(inputs(lead_days=3), params).centre == pytest.approx(0.88 * 67.6 + 0.12 * 83.3)


def test_a_learned_bias_is_shrunk_while_samples_are_few() -> None:
    """A station whose forecasts ran 2°F warm over 10 samples, k = 10: half of it, 1°F, comes off."""
    few = forecast(inputs(), NO_TAILS, StationSkill(bias=2.0, bias_samples=10))
    many = forecast(inputs(), NO_TAILS, StationSkill(bias=2.0, bias_samples=990))
    assert few.centre == pytest.approx(66.6)
    assert many.centre == pytest.approx(67.6 - 2.0 * 990 / 1000)


def test_a_learned_spread_replaces_the_default_once_it_has_samples() -> None:
    skill = StationSkill(spread_by_lead=((1, 1.8, 29), (2, 3.1, 30)))
    assert forecast(inputs(lead_days=1), NO_TAILS, skill).sigma == 2.5  # 29 < 30 samples
    assert forecast(inputs(lead_days=2), NO_TAILS, skill).sigma == 3.1


def test_the_heavy_tail_moves_mass_to_the_ends_and_the_ladder_still_sums_to_one() -> None:
    plain = rung_probabilities(LADDER_65, forecast(inputs(), NO_TAILS).distribution)
    tailed = rung_probabilities(
        LADDER_65, forecast(inputs(), NO_TAILS.model_copy(update={"tail_weight": 0.05})).distribution)
    assert tailed[0] > plain[0] and tailed[-1] > plain[-1]
    assert max(tailed) < max(plain)
    assert math.fsum(tailed) == pytest.approx(1.0, abs=1e-12)


def test_the_observed_maximum_is_a_floor() -> None:
    """At 3 PM it has already been 69.8°F: the high is at least 70 once rounded, whatever the
    morning forecast said; the bins below carry nothing and the rest share the whole mass."""
    afternoon = inputs(lead_days=0, remaining_high=68.0, hours_left=9.0, observed_max=69.8)
    probabilities = rung_probabilities(LADDER_65, forecast(afternoon, NO_TAILS).distribution)
    assert probabilities[:3] == (0.0, 0.0, 0.0)
    assert probabilities[3] > 0.9  # 69-70: the rest of the day is forecast cooler
    assert math.fsum(probabilities) == pytest.approx(1.0, abs=1e-12)


def test_an_observed_maximum_on_a_bins_edge_belongs_to_the_bin_above() -> None:
    """2.5°C is exactly 36.5°F, which the CLI reports as 37: the day's high can no longer be 36 or
    below. With no heating left, all the mass below the floor sits on the floor, and it lands in
    37-38, not in 35-36."""
    ladder = Ladder.of(a_market_snapshot(markets=a_ladder(low=35)))  # <=34 35-36 37-38 ... >=43
    evening = inputs(lead_days=0, forecast_high=None, hours_left=0.5, observed_max=36.5,
                     normal_high=30.0)
    probabilities = rung_probabilities(ladder, forecast(evening, NO_TAILS).distribution)
    assert probabilities[:2] == (0.0, 0.0)
    assert probabilities[2] == max(probabilities) > 0.5
    assert math.fsum(probabilities) == pytest.approx(1.0, abs=1e-12)


def test_an_atom_on_an_edge_is_reported_above_it() -> None:
    """A reported value v stands for [v - 0.5, v + 0.5): a point mass at 66.5 is a 67."""
    assert rung_probabilities(LADDER_65, PointMass(66.5)) == (0.0, 0.0, 1.0, 0.0, 0.0, 0.0)
    assert rung_probabilities(LADDER_65, AtLeast(64.5, Normal(60.0, 1.0)))[:2] == (
        0.0, pytest.approx(1.0, abs=1e-5))


def test_the_spread_of_what_is_left_narrows_as_the_day_runs_out() -> None:
    morning = forecast(inputs(lead_days=0, remaining_high=70.0, hours_left=16.0), NO_TAILS)
    evening = forecast(inputs(lead_days=0, remaining_high=70.0, hours_left=3.0), NO_TAILS)
    late = forecast(inputs(lead_days=0, remaining_high=70.0, hours_left=0.2), NO_TAILS)
    assert morning.sigma == 2.0
    assert evening.sigma == pytest.approx(2.0 * math.sqrt(3 / 12))
    assert late.sigma == 0.75


def test_without_a_forecast_the_model_is_climatology() -> None:
    result = forecast(inputs(forecast_high=None), DailyHighParams())
    assert result.raw is None and (result.centre, result.sigma) == (83.3, 7.0)


def test_the_normal_high_is_interpolated_between_mid_months() -> None:
    assert normal_high(NYC_NORMALS, date(2026, 8, 15)) == pytest.approx(83.3)
    assert normal_high(NYC_NORMALS, date(2026, 8, 31)) == pytest.approx(83.3 + (76.2 - 83.3) * 16 / 31)
    assert normal_high(NYC_NORMALS, date(2026, 1, 1)) == pytest.approx(39.5 + (44.3 - 39.5) * 14 / 31)
    assert normal_high(NYC_NORMALS, date(2026, 12, 31)) == pytest.approx(44.3 + (39.5 - 44.3) * 16 / 31)


# --- reading the recorded weather ----------------------------------------------------------------



def utc(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 8, day, hour, minute, tzinfo=UTC)


def weather(as_of: datetime) -> WeatherSnapshotted:
    periods = (
        # "Today" 6 AM-6 PM EDT on the 28th, then tonight, then the 29th.
        ForecastPeriod(start=utc(28, 10), end=utc(28, 22), is_daytime=True, temperature_f=84.0),
        ForecastPeriod(start=utc(28, 22), end=utc(29, 10), is_daytime=False, temperature_f=70.0),
        ForecastPeriod(start=utc(29, 10), end=utc(29, 22), is_daytime=True, temperature_f=79.0),
    )
    hourly = tuple(ForecastPeriod(start=utc(28, 4) + timedelta(hours=h),
                                  end=utc(28, 5) + timedelta(hours=h), temperature_f=70.0 + (h % 12))
                   for h in range(30))
    observations = (
        Observation(time=utc(28, 4, 51), temperature_f=90.0),  # the day before (23:51 EST)
        Observation(time=utc(28, 9, 51), temperature_f=74.0, max_temp_6h_f=88.0),  # window opens 03:51Z
        Observation(time=utc(28, 11, 51), temperature_f=77.0, max_temp_6h_f=78.1),  # window inside
        Observation(time=utc(28, 18, 51), temperature_f=99.0),  # after as_of: not yet seen
    )
    return WeatherSnapshotted(**envelope("weather:NYC:daily_high", recorded_at=as_of), city="NYC",
                              station="KNYC", provider="nws", issued_at=utc(28, 9), forecast=periods,
                              hourly=hourly, observations=observations)


def test_inputs_for_tomorrow_read_the_daytime_forecast_only() -> None:
    as_of = utc(28, 13)
    result = daily_high_inputs(weather(as_of), timezone="America/New_York", climate_day=date(2026, 8, 29),
                               as_of=as_of, normals=NYC_NORMALS)
    assert (result.lead_days, result.forecast_high) == (1, 79.0)
    assert result.remaining_high is None and result.observed_max is None and result.hours_left is None


def test_inputs_inside_the_day_read_observations_since_standard_midnight_and_the_hours_left() -> None:
    as_of = utc(28, 13)
    result = daily_high_inputs(weather(as_of), timezone="America/New_York", climate_day=DAY,
                               as_of=as_of, normals=NYC_NORMALS)
    assert (result.lead_days, result.forecast_high) == (0, 84.0)
    # 90 was before the day began; the 88 six-hour maximum reaches back before it; 99 is later.
    assert result.observed_max == 78.1
    assert result.hours_left == 16.0  # until 05:00Z on the 29th (midnight EST)
    assert result.remaining_high == 81.0  # hours 12:00Z-05:00Z: 70 + (h % 12) peaks at 81
