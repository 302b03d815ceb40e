"""The daily-high model: how likely each whole °F is to be the day's CLI high.

Interpretable by construction, one line per idea:

* **Centre.** The NWS forecast high for the climate day (its daytime period), less the station's
  learned bias (mean forecast minus settled CLI high), shrunk toward zero while samples are few:
  ``bias x n / (n + k)``. Then pulled a little toward the climatological normal, more the further
  out the day is (``w = min(w_max, w0 + w1 x lead)``), because skill fades with lead.
* **Spread.** sigma ≈ 2.0°F on the morning of the day, 2.5°F for tomorrow, +0.5°F per extra day,
  replaced by the spread learned for that lead once it has enough samples.
* **Tails.** Forecasts bust more often than a normal says: a small share ``eps`` of the mass is a
  normal ``tail_scale`` times wider.
* **Rounding.** The CLI reports whole degrees, so a bin ``[a, b]`` holds the true highs in
  ``[a - 0.5, b + 0.5)`` (see ``distributions.rung_probabilities``).
* **Intraday.** Once the climate day has begun (local *standard* midnight), the highest temperature
  already observed is a floor: the day's high is ``max(observed, what is still to come)``, and
  what is still to come is centred on the hourly forecast for the hours left, with a spread that
  narrows as they run out. A bin wholly below the observed maximum has probability 0.

Without any forecast the model is climatology alone: the normal high for the date with a wide
spread. That is also the baseline every forecast is scored against.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from pydantic import BaseModel, ConfigDict, Field

from domain.climate_day import climate_day_of, climate_day_start
from domain.climatology import ClimateNormals
from domain.events import WeatherSnapshotted
from domain.forecast.distributions import AtLeast, Distribution, Mixture, Normal
from domain.learning import learned_spread, shrunk_bias

#: NWS 6-hour maxima cover the six hours before the observation.
SIX_HOURS = timedelta(hours=6)


class DailyHighParams(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    #: sigma on the morning of the climate day, for tomorrow, and added per day beyond (°F).
    sigma_same_day: float = Field(default=2.0, gt=0)
    sigma_next_day: float = Field(default=2.5, gt=0)
    sigma_per_extra_day: float = Field(default=0.5, ge=0)
    #: The narrowest spread for what is still to come late in the day (°F).
    sigma_intraday_floor: float = Field(default=0.75, gt=0)
    #: Hours left in the day at or beyond which the same-day sigma applies unshrunk.
    intraday_full_hours: float = Field(default=12.0, gt=0)
    #: Pull toward the normal: ``min(max, base + per_day x lead)``.
    climatology_weight_base: float = Field(default=0.03, ge=0, le=1)
    climatology_weight_per_day: float = Field(default=0.03, ge=0, le=1)
    climatology_weight_max: float = Field(default=0.5, ge=0, le=1)
    #: The spread of the normal alone (°F): day-to-day variability around the normal high.
    climatology_sigma: float = Field(default=7.0, gt=0)
    #: The heavy-tail mixture: share of mass, and how many times wider it is.
    tail_weight: float = Field(default=0.04, ge=0, lt=1)
    tail_scale: float = Field(default=2.5, ge=1)
    #: Bias shrinkage: with ``n`` samples the learned bias counts ``n / (n + k)``.
    bias_shrinkage: float = Field(default=10.0, ge=0)
    #: Samples a lead needs before its learned spread replaces the default.
    min_spread_samples: int = Field(default=30, ge=1)


@dataclass(frozen=True, slots=True)
class StationSkill:
    """What has been learned about this station's forecasts (a ``ModelStateRecorded``)."""

    bias: float = 0.0
    bias_samples: int = 0
    #: ``lead_days -> (sigma, samples)``.
    spread_by_lead: tuple[tuple[int, float, int], ...] = ()

    def shrunk_bias(self, k: float) -> float:
        return shrunk_bias(self.bias, self.bias_samples, k)

    def spread(self, lead: int, min_samples: int, default: float) -> float:
        return learned_spread(self.spread_by_lead, lead, default=default, min_samples=min_samples)


@dataclass(frozen=True, slots=True)
class DailyHighInputs:
    """What the recorded weather says about one climate day, as of one instant."""

    climate_day: date
    #: Whole days from the local standard date of ``as_of`` to the climate day (0: today).
    lead_days: int
    #: The NWS forecast high of the day's daytime period (°F), if one was issued.
    forecast_high: float | None
    #: Inside the day: the highest hourly forecast temperature among the hours still to come.
    remaining_high: float | None
    #: Inside the day: hours until the climate day ends.
    hours_left: float | None
    #: Inside the day: the highest temperature observed since it began (°F).
    observed_max: float | None
    normal_high: float


def normal_high(normals: ClimateNormals, day: date) -> float:
    """The normal high for ``day``: monthly means read as mid-month values, linearly between."""
    mid = date(day.year, day.month, 15)
    if day >= mid:
        other = date(day.year + (day.month == 12), day.month % 12 + 1, 15)
    else:
        other = date(day.year - (day.month == 1), (day.month - 2) % 12 + 1, 15)
    share = abs((day - mid).days) / abs((other - mid).days)
    return normals.high_f[day.month - 1] * (1 - share) + normals.high_f[other.month - 1] * share


def daily_high_inputs(weather: WeatherSnapshotted | None, *, timezone: str, climate_day: date,
                      as_of: datetime, normals: ClimateNormals) -> DailyHighInputs:
    """Everything the model needs about ``climate_day`` from one recorded weather snapshot."""
    today = climate_day_of(timezone, as_of)
    start = climate_day_start(timezone, climate_day)
    end = climate_day_start(timezone, climate_day + timedelta(days=1))
    inside = start <= as_of < end
    forecast_high = remaining_high = observed = None
    if weather is not None:
        for period in weather.forecast:
            if (period.is_daytime and period.temperature_f is not None
                    and climate_day_of(timezone, period.start) == climate_day):
                forecast_high = period.temperature_f
                break
        if inside:
            hours = [p.temperature_f for p in weather.hourly
                     if p.temperature_f is not None and p.end > as_of and p.start < end]
            remaining_high = max(hours) if hours else None
            observed = _observed_max(weather, start, as_of)
    return DailyHighInputs(
        climate_day=climate_day, lead_days=(climate_day - today).days, forecast_high=forecast_high,
        remaining_high=remaining_high, hours_left=(end - as_of).total_seconds() / 3600 if inside else None,
        observed_max=observed, normal_high=normal_high(normals, climate_day))


def _observed_max(weather: WeatherSnapshotted, start: datetime, as_of: datetime) -> float | None:
    seen: list[float] = []
    for obs in weather.observations:
        if not start <= obs.time <= as_of:
            continue
        if obs.temperature_f is not None:
            seen.append(obs.temperature_f)
        # A 6-hour maximum counts only when its whole window lies inside the climate day.
        if obs.max_temp_6h_f is not None and obs.time - SIX_HOURS >= start:
            seen.append(obs.max_temp_6h_f)
    return max(seen) if seen else None


def climatology(inputs: DailyHighInputs, params: DailyHighParams) -> Distribution:
    """The normal alone, with what has already been observed as a floor."""
    base: Distribution = Normal(inputs.normal_high, params.climatology_sigma)
    return AtLeast(inputs.observed_max, base) if inputs.observed_max is not None else base


def lead_sigma(lead: int, params: DailyHighParams) -> float:
    if lead <= 0:
        return params.sigma_same_day
    return params.sigma_next_day + params.sigma_per_extra_day * (lead - 1)


@dataclass(frozen=True, slots=True)
class HighForecast:
    """The model's distribution with the numbers that explain it."""

    distribution: Distribution
    #: The provider's forecast before any correction (None: climatology only).
    raw: float | None
    centre: float
    sigma: float


def forecast(inputs: DailyHighInputs, params: DailyHighParams,
             skill: StationSkill | None = None) -> HighForecast:
    skill = skill or StationSkill()
    bias = skill.shrunk_bias(params.bias_shrinkage)
    lead = max(inputs.lead_days, 0)
    if inputs.remaining_high is not None and inputs.hours_left is not None:
        # Inside the day: what is still to come, from the hourly forecast for the hours left.
        raw: float | None = inputs.remaining_high
        centre = inputs.remaining_high - bias
        shrink = math.sqrt(min(1.0, inputs.hours_left / params.intraday_full_hours))
        sigma = max(params.sigma_intraday_floor, lead_sigma(0, params) * shrink)
    elif inputs.forecast_high is not None:
        raw = inputs.forecast_high
        weight = min(params.climatology_weight_max,
                     params.climatology_weight_base + params.climatology_weight_per_day * lead)
        centre = (1 - weight) * (inputs.forecast_high - bias) + weight * inputs.normal_high
        sigma = skill.spread(lead, params.min_spread_samples, lead_sigma(lead, params))
    else:
        return HighForecast(climatology(inputs, params), None, inputs.normal_high,
                            params.climatology_sigma)
    body: Distribution = Normal(centre, sigma)
    if params.tail_weight > 0:
        body = Mixture((body, Normal(centre, sigma * params.tail_scale)),
                       (1 - params.tail_weight, params.tail_weight))
    if inputs.observed_max is not None:
        body = AtLeast(inputs.observed_max, body)
    return HighForecast(body, raw, centre, sigma)
