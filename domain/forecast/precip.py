"""A month's rain or snow total: what the CLI has reported, plus what is still to come.

A monthly market settles on the month's total in the final CLI report of the month's last day.
Part of it is known: ``month_to_date``, the final report's month total through the climate day
``through`` (a trace is 0). The rest, the days left after ``through``, is uncertain in two ways:

- the first ``forecast_days`` days the forecast covers: mean ``Q``, the QPF summed over them,
  variance ``(e x Q)²`` with ``e`` its relative error, one error for the sum since the days'
  errors move together (one storm, early or late);
- every other day left, ``d`` of them: climatology, mean ``normal x d/n`` and variance
  ``(normal x cv)² x d/n``.

(``n`` days in the month, ``d`` of them left to climatology, ``cv`` the coefficient of variation
of a whole month's total.) A month's total is a sum of days, and days are close enough to
independent that a part of ``d`` days has a ``d/n`` share of the month's variance: its own CV
is ``cv x sqrt(n/d)``, which grows as the month runs out. The two parts are independent, so
means and variances add, and one gamma is matched to those two moments (a gamma because an
amount is never negative and its upper tail is long). The total is that gamma ``Shifted`` by
``month_to_date``. When nothing is left to come (the month is reported to its end, or the
remaining days have no normal and no forecast amount) it is a ``PointMass`` at
``month_to_date``.

Snow has a season (``snow_months``, October to April by default) and a month whose normal is
below ``min_snow_normal_in`` has no climatological snow to come; a forecast that calls for snow
still counts, as it knows better than the calendar.

Every market of a monthly ladder is "strictly more than X": it pays on reported totals from
``X + step`` up, so ``P(total > X) = 1 - P(total < X + step/2)``. With ``X`` already reported and
nothing to come that is 0; with ``X + step`` reported it is 1 (``Rung.low`` and the ±step/2 of
``rung_probabilities`` do this).

The baseline a forecast is scored against is climatology alone: ``climatology_total``, the
whole month's distribution before anything is known. ``PrecipInputs.without_forecast`` gives the
middle ground (what is reported, and climatology for every day left), to measure what the QPF adds.

Pure and deterministic: sums are ``math.fsum`` over sorted days and the gamma is
``scipy.special.gammainc``, so the same inputs give the same floats.
"""

from __future__ import annotations

import calendar
import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, timedelta
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, field_validator

from domain.climate_day import climate_day_of, climate_day_start
from domain.climatology import ClimateNormals
from domain.events import ClimateReportRecorded, ForecastPeriod, MarketKind, WeatherSnapshotted
from domain.forecast.distributions import Distribution, Gamma, PointMass, Shifted, rung_probabilities
from domain.ladder import Ladder

MONTHLY_KINDS = (MarketKind.MONTHLY_RAIN, MarketKind.MONTHLY_SNOW)

Month = Annotated[int, Field(ge=1, le=12)]


class PrecipParams(BaseModel):
    """How uncertain each part of a month's total is.

    The CVs are typical of US stations' monthly totals (rain about 0.6; snow, lumpier, about 1.0);
    a city's own can be learned from its history with ``fit_monthly_cv`` and passed as
    ``PrecipInputs.monthly_cv``.
    """

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    #: Coefficient of variation (sd / mean) of a whole month's rain total.
    rain_cv: float = Field(default=0.6, gt=0, le=10)
    #: Coefficient of variation of a whole month's snowfall.
    snow_cv: float = Field(default=1.0, gt=0, le=10)
    #: Relative error (sd / amount) of the forecast rain (QPF) summed over the forecast days.
    rain_qpf_error: float = Field(default=0.5, gt=0, le=5)
    #: Relative error of the forecast snowfall (the snow-to-liquid ratio adds to the QPF's error).
    snow_qpf_error: float = Field(default=0.7, gt=0, le=5)
    #: How many climate days of forecast to use; the days after them are climatology's.
    forecast_days: int = Field(default=3, ge=0, le=10)
    #: Calendar months (1 = January) in which snow may fall beyond what the forecast says.
    snow_months: tuple[Month, ...] = (10, 11, 12, 1, 2, 3, 4)
    #: A month whose snow normal (inches) is below this has no climatological snow to come.
    min_snow_normal_in: float = Field(default=0.1, ge=0)
    #: A typical single event's total (inches): a month is a random number of events, so its CV
    #: is at least ``sqrt(2 x event / normal)`` (a Poisson count of exponential amounts), which
    #: makes a month whose normal is one small event mostly dry rather than surely wet.
    rain_event_in: float = Field(default=0.5, gt=0)
    snow_event_in: float = Field(default=3.0, gt=0)

    @field_validator("snow_months")
    @classmethod
    def _distinct(cls, months: tuple[int, ...]) -> tuple[int, ...]:
        if len(set(months)) != len(months):
            raise ValueError(f"snow_months repeat a month: {months}")
        return months

    def cv(self, kind: MarketKind, normal_month: float) -> float:
        """The CV of a month's total with that normal: the configured one, raised for months whose
        normal is only a few events (see ``rain_event_in``)."""
        base, event = ((self.rain_cv, self.rain_event_in) if kind is MarketKind.MONTHLY_RAIN
                       else (self.snow_cv, self.snow_event_in))
        return max(base, math.sqrt(2 * event / normal_month)) if normal_month > 0 else base

    def qpf_error(self, kind: MarketKind) -> float:
        return self.rain_qpf_error if kind is MarketKind.MONTHLY_RAIN else self.snow_qpf_error


@dataclass(frozen=True, slots=True)
class PrecipInputs:
    """What one month's total is priced from, in inches (rain, or snowfall for snow)."""

    kind: MarketKind
    #: The first of the month.
    month: date
    #: The final CLI's month total through ``through`` (a trace is 0); 0 before any report.
    month_to_date: float
    #: The last climate day ``month_to_date`` includes; None when no report of this month counts.
    through: date | None
    #: Forecast amount per climate day, days after ``through`` inside the month, in order.
    qpf: tuple[tuple[date, float], ...]
    #: The climatological mean of the month's total.
    normal_month: float
    #: The city's own CV for this month's total, when learned; None: ``PrecipParams``' for the kind.
    monthly_cv: float | None = None

    def __post_init__(self) -> None:
        if self.kind not in MONTHLY_KINDS:
            raise ValueError(f"{self.kind.value} is not a monthly rain or snow market")
        if self.month.day != 1:
            raise ValueError(f"month must be the first of a month, not {self.month}")
        for name, value in (("month_to_date", self.month_to_date), ("normal_month", self.normal_month)):
            if not (math.isfinite(value) and value >= 0):
                raise ValueError(f"{name} must be a finite amount >= 0 (got {value})")
        if self.monthly_cv is not None and not (math.isfinite(self.monthly_cv) and self.monthly_cv > 0):
            raise ValueError(f"monthly_cv must be > 0 (got {self.monthly_cv})")
        if self.through is not None and not self._in_month(self.through):
            raise ValueError(f"through {self.through} is not in {self.month:%Y-%m}")
        previous = self.through
        for day, amount in self.qpf:
            if not self._in_month(day) or (previous is not None and day <= previous):
                raise ValueError(f"forecast day {day} is not a later day of {self.month:%Y-%m} "
                                 f"(after {previous})")
            if not (math.isfinite(amount) and amount >= 0):
                raise ValueError(f"forecast amount on {day} must be >= 0 (got {amount})")
            previous = day

    def _in_month(self, day: date) -> bool:
        return (day.year, day.month) == (self.month.year, self.month.month)

    @property
    def days_in_month(self) -> int:
        return calendar.monthrange(self.month.year, self.month.month)[1]

    @property
    def days_left(self) -> int:
        """The climate days ``month_to_date`` does not include yet."""
        return self.days_in_month - (self.through.day if self.through is not None else 0)

    def without_forecast(self) -> PrecipInputs:
        """The same month with no QPF: what is reported, and climatology for every day left."""
        return replace(self, qpf=())


def month_total(inputs: PrecipInputs, params: PrecipParams) -> Distribution:
    """The distribution of the month's total: ``month_to_date`` plus a gamma for what is to come."""
    forecast = inputs.qpf[:params.forecast_days]
    qpf = math.fsum(amount for _, amount in forecast)
    forecast_variance = (params.qpf_error(inputs.kind) * qpf) ** 2
    climate_mean, climate_variance = _climatology(inputs, params, inputs.days_left - len(forecast))
    mean, variance = qpf + climate_mean, forecast_variance + climate_variance
    if mean <= 0 or variance <= 0:
        return PointMass(inputs.month_to_date)
    return Shifted(inputs.month_to_date, Gamma(mean, variance))


def climatology_total(kind: MarketKind, month: date, normal_month: float, params: PrecipParams,
                      monthly_cv: float | None = None) -> Distribution:
    """The baseline: the whole month's total from climatology alone, before anything is reported."""
    return month_total(PrecipInputs(kind, month, 0.0, None, (), normal_month, monthly_cv), params)


def precip_probabilities(ladder: Ladder, inputs: PrecipInputs, params: PrecipParams) -> tuple[float, ...]:
    """P(YES) for each "more than X" market of a monthly ladder, in the ladder's order."""
    if ladder.kind is not inputs.kind:
        raise ValueError(f"{ladder.event_ticker} is a {ladder.kind.value} ladder, the inputs are "
                         f"{inputs.kind.value}")
    return rung_probabilities(ladder, month_total(inputs, params))


def _climatology(inputs: PrecipInputs, params: PrecipParams, days: int) -> tuple[float, float]:
    """Mean and variance of ``days`` days' worth of the month's climatological total."""
    if days <= 0 or inputs.normal_month <= 0:
        return 0.0, 0.0
    if inputs.kind is MarketKind.MONTHLY_SNOW and (
            inputs.month.month not in params.snow_months
            or inputs.normal_month < params.min_snow_normal_in):
        return 0.0, 0.0
    cv = inputs.monthly_cv if inputs.monthly_cv is not None else params.cv(inputs.kind,
                                                                             inputs.normal_month)
    share = days / inputs.days_in_month
    return inputs.normal_month * share, (inputs.normal_month * cv) ** 2 * share


def precip_inputs(kind: MarketKind, month: date, report: ClimateReportRecorded | None,
                  weather: WeatherSnapshotted | None, normals: ClimateNormals,
                  timezone: str, *, horizon_days: int | None = None) -> PrecipInputs:
    """The inputs for ``month`` from the latest final CLI report and the latest forecast.

    ``horizon_days`` bounds how many climate days of forecast are read (the model uses only the
    first ``PrecipParams.forecast_days``; one more covers a report of today already in).

    A report counts only if it is final, consistent, of this month and states the month's total
    (``MM`` does not); otherwise nothing is known yet and every day of the month is still to come.
    The forecast's amounts are summed per climate day of ``timezone`` (local standard time, see
    ``domain.climate_day``); only days after ``through`` and inside the month are kept.
    """
    if kind not in MONTHLY_KINDS:
        raise ValueError(f"{kind.value} is not a monthly rain or snow market")
    normal = (normals.precip_in if kind is MarketKind.MONTHLY_RAIN else normals.snow_in)[month.month - 1]
    month_to_date, through = _reported(kind, month, report)
    forecast = _forecast_by_day(kind, weather, timezone, horizon_days) if weather else ()
    qpf = tuple((day, amount) for day, amount in forecast
                if (day.year, day.month) == (month.year, month.month)
                and (through is None or day > through))
    return PrecipInputs(kind, month, month_to_date, through, qpf, normal)


def _reported(kind: MarketKind, month: date, report: ClimateReportRecorded | None,
              ) -> tuple[float, date | None]:
    if report is None or report.preliminary or report.inconsistencies:
        return 0.0, None
    if (report.climate_date.year, report.climate_date.month) != (month.year, month.month):
        return 0.0, None
    total = report.precip_month_in if kind is MarketKind.MONTHLY_RAIN else report.snow_month_in
    if total is None:
        return 0.0, None
    return float(total), report.climate_date


def _forecast_by_day(kind: MarketKind, weather: WeatherSnapshotted, timezone: str,
                     horizon_days: int | None = None) -> tuple[tuple[date, float], ...]:
    """The forecast amount of each climate day, from the hourly periods if they carry amounts,
    else from the 12-hour ones; a period spanning midnight is shared in proportion to its hours.

    A day counts when the forecast covers all of it, or when it is the first day covered: the
    forecast starts when it was issued, and the hours of that day already gone are not its to
    tell (they are counted as dry until the day's report comes). A day the forecast covers only
    in part after that (where it ends, or a gap) is left to climatology.
    """
    periods = _with_amounts(weather.hourly, kind) or _with_amounts(weather.forecast, kind)
    if not periods:
        return ()
    # The climate days the periods touch, as epoch-second edges: day i is [edges[i], edges[i + 1]).
    days = [climate_day_of(timezone, periods[0][0].start)]
    edges = [climate_day_start(timezone, days[0]).timestamp()]
    if horizon_days is not None:
        cutoff = climate_day_start(timezone, days[0] + timedelta(days=horizon_days))
        periods = [(p, a) for p, a in periods if p.start < cutoff]
    last_end = max(p.end for p, _ in periods).timestamp()
    while edges[-1] < last_end:
        days.append(days[-1] + timedelta(days=1))
        edges.append(climate_day_start(timezone, days[-1]).timestamp())
    shares: list[list[float]] = [[] for _ in days]
    covered = [0.0] * len(days)
    i = 0
    for period, amount in periods:  # in order of start
        start, end = period.start.timestamp(), period.end.timestamp()
        while edges[i + 1] <= start:
            i += 1
        j = i
        while j + 1 < len(edges) and edges[j] < end:
            overlap = min(edges[j + 1], end) - max(edges[j], start)
            if overlap > 0:
                shares[j].append(amount * overlap / (end - start))
                covered[j] += overlap
            j += 1
    touched = [j for j in range(len(days) - 1) if shares[j]]
    return tuple((days[j], math.fsum(shares[j])) for n, j in enumerate(touched)
                 if n == 0 or covered[j] >= edges[j + 1] - edges[j])


def _with_amounts(periods: tuple[ForecastPeriod, ...],
                  kind: MarketKind) -> list[tuple[ForecastPeriod, float]]:
    amounts = ((p, p.precip_in if kind is MarketKind.MONTHLY_RAIN else p.snow_in) for p in periods)
    return sorted(((p, a) for p, a in amounts if a is not None and p.end > p.start),
                  key=lambda pa: pa[0].start)


def fit_monthly_cv(monthly_totals: Sequence[float]) -> float:
    """The sample coefficient of variation (sd with n - 1, over the mean) of a calendar month's
    totals across years, for ``PrecipInputs.monthly_cv``.

    Refused (ValueError) with fewer than two totals, a negative or non-finite one, all of them zero
    or all the same: no usable CV can be learned from those, and the caller keeps
    ``PrecipParams``' default.
    """
    totals = [float(t) for t in monthly_totals]
    if len(totals) < 2:
        raise ValueError(f"a CV needs at least two monthly totals (got {len(totals)})")
    if not all(math.isfinite(t) and t >= 0 for t in totals):
        raise ValueError(f"monthly totals must be finite amounts >= 0 (got {totals})")
    mean = statistics.fmean(totals)
    if mean <= 0:
        raise ValueError("every monthly total is zero: the CV is undefined")
    spread = statistics.stdev(totals)
    if spread <= 0:
        raise ValueError(f"every monthly total is {totals[0]}: no spread to learn a CV from")
    return spread / mean
