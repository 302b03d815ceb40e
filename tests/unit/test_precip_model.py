"""The monthly rain and snow model, with worked examples a reader can check by hand."""

from __future__ import annotations

import math
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from pydantic import ValidationError

from domain.climatology import ClimateNormals
from domain.events import ClimateReportRecorded, ForecastPeriod, MarketKind, MarketQuote, WeatherSnapshotted
from domain.forecast.distributions import Gamma, PointMass, Shifted
from domain.forecast.precip import (
    PrecipInputs,
    PrecipParams,
    climatology_total,
    fit_monthly_cv,
    month_total,
    precip_inputs,
    precip_probabilities,
)
from domain.ladder import Ladder
from tests.builders import a_market_snapshot, envelope

RAIN, SNOW = MarketKind.MONTHLY_RAIN, MarketKind.MONTHLY_SNOW
NYC = "America/New_York"
SEPTEMBER = date(2026, 9, 1)  # 30 days
NORMALS = ClimateNormals(
    source="test", high_f=[0.0] * 12, low_f=[0.0] * 12,
    precip_in=[3.64, 3.19, 4.29, 4.09, 3.96, 4.54, 4.6, 4.56, 4.0, 4.38, 3.58, 4.38],
    snow_in=[8.8, 10.1, 5.0, 0.4, 1.0, 0.0, 0.0, 0.0, 0.0, 0.1, 0.5, 0.05])


def a_monthly_ladder(*strikes: str, kind: MarketKind = RAIN) -> Ladder:
    """One "more than X inches" market per strike, as Kalshi lists them (``greater``, floor X)."""
    quotes = tuple(MarketQuote(ticker=f"KXRAINNYCM-26SEP-{s}", status="active", strike_type="greater",
                               floor_strike=Decimal(s)) for s in strikes)
    snapshot = a_market_snapshot("KXRAINNYCM-26SEP", markets=quotes)
    return Ladder.of(snapshot.model_copy(update={"kind": kind}))


def rain(month_to_date: float = 2.10, through: date | None = date(2026, 9, 18),
         qpf: tuple[tuple[date, float], ...] = (), normal: float = 4.0, kind: MarketKind = RAIN,
         month: date = SEPTEMBER) -> PrecipInputs:
    return PrecipInputs(kind, month, month_to_date, through, qpf, normal)


def a_report(climate_date: date = date(2026, 9, 18), *, month_in: str | None = "2.10",
             snow_month_in: str | None = "0.0", preliminary: bool = False) -> ClimateReportRecorded:
    return ClimateReportRecorded(
        **envelope(f"cli:NYC:{climate_date}", key=preliminary), station="NYC", climate_date=climate_date,
        preliminary=preliminary, correction=False, issued_at=None,
        precip_month_in=None if month_in is None else Decimal(month_in),
        snow_month_in=None if snow_month_in is None else Decimal(snow_month_in), raw_text="CLI")


def a_forecast(periods: tuple[tuple[str, str, float], ...], *, snow: bool = False,
               hourly: tuple[ForecastPeriod, ...] = ()) -> WeatherSnapshotted:
    """``(start, end, inches)`` periods in UTC (``"2026-09-19T14"``)."""
    def at(text: str) -> datetime:
        return datetime.fromisoformat(text).replace(tzinfo=UTC)

    forecast = tuple(ForecastPeriod(start=at(s), end=at(e), precip_in=None if snow else amount,
                                    snow_in=amount if snow else None) for s, e, amount in periods)
    return WeatherSnapshotted(**envelope("weather:NYC:monthly_rain"), city="NYC", station="KNYC",
                              provider="nws", issued_at=None, forecast=forecast, hourly=hourly)


def test_the_worked_example() -> None:
    """NYC rain, September (n = 30 days): 2.10" reported through the 18th, d = 12 days left, a normal
    of 4.0" and a monthly CV of sqrt(0.4), chosen so the gamma is an exponential:

    mean to come = 4.0 x 12/30 = 1.6"; variance = (4.0 x sqrt(0.4))^2 x 12/30 = 6.4 x 0.4 = 2.56
    shape = 1.6^2 / 2.56 = 1 (an exponential with mean 1.6").
    "More than 3.00" pays from a reported 3.01", i.e. true totals from 3.005":
    P = P(to come > 3.005 - 2.10) = exp(-0.905 / 1.6) = exp(-0.565625) = 0.5680.
    """
    params = PrecipParams(rain_cv=math.sqrt(0.4))
    distribution = month_total(rain(), params)
    assert isinstance(distribution, Shifted) and isinstance(distribution.base, Gamma)
    assert distribution.offset == 2.10
    assert distribution.base.mean == pytest.approx(1.6)
    assert distribution.base.variance == pytest.approx(2.56)
    assert distribution.base.shape == pytest.approx(1.0)
    (p,) = precip_probabilities(a_monthly_ladder("3.00"), rain(), params)
    assert p == pytest.approx(math.exp(-0.905 / 1.6), abs=1e-12)
    assert round(p, 4) == 0.5680


def test_the_default_cv_gives_the_same_mean_and_a_variance_that_shrinks_with_the_days_left() -> None:
    # CV 0.6: 12 of 30 days left is a variance (4.0 x 0.6)^2 x 0.4 = 2.304, i.e. a CV of 0.6 x sqrt(2.5).
    base = month_total(rain(), PrecipParams())
    assert isinstance(base, Shifted) and isinstance(base.base, Gamma)
    assert (base.base.mean, base.base.variance) == pytest.approx((1.6, 2.304))
    assert math.sqrt(base.base.variance) / base.base.mean == pytest.approx(0.6 * math.sqrt(30 / 12))
    # One day left: a thirtieth of the mean and of the variance.
    last = month_total(rain(through=date(2026, 9, 29)), PrecipParams())
    assert isinstance(last, Shifted) and isinstance(last.base, Gamma)
    assert (last.base.mean, last.base.variance) == pytest.approx((4.0 / 30, 5.76 / 30))


def test_more_than_x_is_strict_when_the_month_is_over() -> None:
    ladder = a_monthly_ladder("2.99", "3.00", "3.01")
    over = date(2026, 9, 30)
    assert month_total(rain(3.00, over), PrecipParams()) == PointMass(3.00)
    # 3.00" reported: more than 2.99 pays, more than 3.00 does not.
    assert precip_probabilities(ladder, rain(3.00, over), PrecipParams()) == (1.0, 0.0, 0.0)
    assert precip_probabilities(ladder, rain(3.01, over), PrecipParams()) == (1.0, 1.0, 0.0)


def test_with_days_left_a_strike_equal_to_the_month_to_date_is_likely_but_not_certain() -> None:
    (p,) = precip_probabilities(a_monthly_ladder("3.00"), rain(3.00), PrecipParams())
    assert 0.5 < p < 1.0


def test_a_trace_counts_as_zero() -> None:
    # The CLI parser gives a trace as 0.00; a month of traces settles "more than 0" as NO.
    inputs = precip_inputs(RAIN, SEPTEMBER, a_report(date(2026, 9, 30), month_in="0.00"), None, NORMALS, NYC)
    assert (inputs.month_to_date, inputs.through) == (0.0, date(2026, 9, 30))
    assert precip_probabilities(a_monthly_ladder("0"), inputs, PrecipParams()) == (0.0,)


def test_inputs_from_the_latest_final_report() -> None:
    inputs = precip_inputs(RAIN, SEPTEMBER, a_report(), None, NORMALS, NYC)
    assert inputs == PrecipInputs(RAIN, SEPTEMBER, 2.10, date(2026, 9, 18), (), 4.0)
    assert inputs.days_left == 12
    snow = precip_inputs(SNOW, date(2026, 1, 1), a_report(date(2026, 1, 9), snow_month_in="3.4"),
                         None, NORMALS, NYC)
    assert (snow.month_to_date, snow.through, snow.normal_month) == (3.4, date(2026, 1, 9), 8.8)


@pytest.mark.parametrize("report", [
    a_report(date(2026, 8, 31), month_in="5.20"),  # last month's
    a_report(date(2025, 9, 18)),  # the same month a year ago
    a_report(preliminary=True),  # the ~5 PM preliminary never settles
    a_report(month_in=None),  # MM: missing
    None,
], ids=["another month", "another year", "preliminary", "missing", "none"])
def test_a_report_that_does_not_count_leaves_the_whole_month_to_come(
        report: ClimateReportRecorded | None) -> None:
    inputs = precip_inputs(RAIN, SEPTEMBER, report, None, NORMALS, NYC)
    assert (inputs.month_to_date, inputs.through, inputs.days_left) == (0.0, None, 30)
    total = month_total(inputs, PrecipParams())
    assert isinstance(total, Shifted) and isinstance(total.base, Gamma)
    assert total.base.mean == pytest.approx(4.0)


def test_snow_out_of_season_or_below_the_minimum_normal_has_nothing_to_come() -> None:
    params = PrecipParams()
    may = rain(0.4, date(2026, 5, 10), normal=1.0, kind=SNOW, month=date(2026, 5, 1))  # Denver: 1.0"
    assert month_total(may, params) == PointMass(0.4)
    assert precip_probabilities(a_monthly_ladder("0.3", "0.4", kind=SNOW), may, params) == (1.0, 0.0)
    # In season, but a normal of 0.05" is below the 0.1" minimum.
    thin = rain(0.0, date(2026, 12, 10), normal=0.05, kind=SNOW, month=date(2026, 12, 1))
    assert month_total(thin, params) == PointMass(0.0)
    # In season with a real normal, snow is still to come; and a longer season takes May in.
    assert isinstance(month_total(replace(thin, normal_month=4.9), params), Shifted)
    assert isinstance(month_total(may, PrecipParams(snow_months=(10, 11, 12, 1, 2, 3, 4, 5))), Shifted)


def test_forecast_snow_counts_even_out_of_season() -> None:
    may = rain(0.4, date(2026, 5, 10), normal=1.0, kind=SNOW, month=date(2026, 5, 1),
               qpf=((date(2026, 5, 11), 2.0),))
    total = month_total(may, PrecipParams())
    assert isinstance(total, Shifted) and isinstance(total.base, Gamma)
    assert (total.base.mean, total.base.variance) == pytest.approx((2.0, (0.7 * 2.0) ** 2))


def test_rain_with_no_normal_and_no_forecast_has_nothing_to_come() -> None:
    assert month_total(rain(0.0, date(2026, 7, 3), normal=0.0, month=date(2026, 7, 1)),
                       PrecipParams()) == PointMass(0.0)


# New York in September is on EDT, but climate days start at local *standard* midnight: 05:00 UTC.
TWELVE_HOUR = (
    ("2026-09-19T14", "2026-09-19T22", 0.20),  # day 19 from 10 AM EDT: the first day, in part
    ("2026-09-19T22", "2026-09-20T10", 0.60),  # 7 hours on the 19th, 5 on the 20th
    ("2026-09-20T10", "2026-09-20T22", 0.10),
    ("2026-09-20T22", "2026-09-21T10", 0.00),
    ("2026-09-21T10", "2026-09-21T22", 0.30),  # the 21st is covered only until 22:00 UTC
)


def test_forecast_periods_are_summed_per_climate_day() -> None:
    """19th: 0.20 + 0.60 x 7/12 = 0.55; 20th: 0.60 x 5/12 + 0.10 + 0 = 0.35. The 19th counts although
    the forecast starts mid-day (its first day); the 21st, covered only in part at the forecast's end,
    is left to climatology."""
    inputs = precip_inputs(RAIN, SEPTEMBER, a_report(), a_forecast(TWELVE_HOUR), NORMALS, NYC)
    assert [d for d, _ in inputs.qpf] == [date(2026, 9, 19), date(2026, 9, 20)]
    assert [q for _, q in inputs.qpf] == pytest.approx([0.55, 0.35])
    # Days the report already includes are not counted twice.
    later = precip_inputs(RAIN, SEPTEMBER, a_report(date(2026, 9, 19), month_in="2.40"),
                          a_forecast(TWELVE_HOUR), NORMALS, NYC)
    assert [d for d, _ in later.qpf] == [date(2026, 9, 20)]
    # Snow reads the forecast's snowfall, not its rain.
    snow = precip_inputs(SNOW, SEPTEMBER, a_report(), a_forecast(TWELVE_HOUR, snow=True), NORMALS, NYC)
    assert [q for _, q in snow.qpf] == pytest.approx([0.55, 0.35])
    assert precip_inputs(RAIN, SEPTEMBER, a_report(), a_forecast(TWELVE_HOUR, snow=True), NORMALS,
                         NYC).qpf == ()


def test_hourly_amounts_win_over_the_twelve_hour_ones() -> None:
    start = datetime(2026, 9, 19, 5, tzinfo=UTC)
    hourly = tuple(ForecastPeriod(start=start + timedelta(hours=h), end=start + timedelta(hours=h + 1),
                                  precip_in=0.02 if h < 24 else 0.01) for h in range(48))
    inputs = precip_inputs(RAIN, SEPTEMBER, a_report(), a_forecast(TWELVE_HOUR, hourly=hourly), NORMALS,
                           NYC)
    assert [d for d, _ in inputs.qpf] == [date(2026, 9, 19), date(2026, 9, 20)]
    assert [q for _, q in inputs.qpf] == pytest.approx([0.48, 0.24])


def test_the_forecast_is_added_for_the_next_days() -> None:
    """QPF 0.50" and 0.30" for the 19th and 20th (relative error 0.5), climatology for the other 10:
    forecast mean 0.80, variance (0.5 x 0.80)^2 = 0.16; climatology mean 4.0 x 10/30 = 1.333,
    variance (4.0 x 0.6)^2 x 10/30 = 1.92. Total to come: mean 2.133, variance 2.08."""
    qpf = ((date(2026, 9, 19), 0.50), (date(2026, 9, 20), 0.30))
    total = month_total(rain(qpf=qpf), PrecipParams())
    assert isinstance(total, Shifted) and isinstance(total.base, Gamma)
    assert total.offset == 2.10
    assert (total.base.mean, total.base.variance) == pytest.approx((0.8 + 4 / 3, 0.16 + 1.92))
    # A wet forecast raises every strike's probability over climatology for the same days.
    ladder = a_monthly_ladder("2.50", "3.00", "4.00", "5.00")
    wet = precip_probabilities(ladder, rain(qpf=qpf), PrecipParams())
    dry_days = precip_probabilities(ladder, rain(), PrecipParams())
    assert all(w > d for w, d in zip(wet, dry_days, strict=True))
    assert precip_probabilities(ladder, rain(qpf=qpf).without_forecast(), PrecipParams()) == dry_days


def test_only_the_trusted_forecast_days_count() -> None:
    qpf = tuple((date(2026, 9, 19 + i), 1.0) for i in range(5))
    total = month_total(rain(qpf=qpf), PrecipParams(forecast_days=2))
    assert isinstance(total, Shifted) and isinstance(total.base, Gamma)
    # 2.0" forecast for two days, climatology for the other 10.
    assert total.base.mean == pytest.approx(2.0 + 4 / 3)


def test_a_dry_forecast_for_the_last_days_leaves_nothing_to_come() -> None:
    qpf = ((date(2026, 9, 29), 0.0), (date(2026, 9, 30), 0.0))
    assert month_total(rain(through=date(2026, 9, 28), qpf=qpf), PrecipParams()) == PointMass(2.10)


def test_the_climatology_baseline_is_the_whole_month_from_the_normal() -> None:
    total = climatology_total(RAIN, SEPTEMBER, 4.0, PrecipParams())
    assert total == Shifted(0.0, Gamma(4.0, (4.0 * 0.6) ** 2))


def test_inputs_are_checked() -> None:
    with pytest.raises(ValueError, match="first of a month"):
        rain(month=date(2026, 9, 2))
    with pytest.raises(ValueError, match="not a later day"):
        rain(qpf=((date(2026, 9, 18), 0.1),))  # already reported
    with pytest.raises(ValueError, match="not a later day"):
        rain(qpf=((date(2026, 10, 1), 0.1),))
    with pytest.raises(ValueError, match="monthly rain or snow"):
        rain(kind=MarketKind.DAILY_HIGH)
    with pytest.raises(ValueError, match="is a monthly_rain ladder"):
        precip_probabilities(a_monthly_ladder("1"), rain(kind=SNOW), PrecipParams())


def test_params_are_frozen_and_refuse_unknown_or_repeated_settings() -> None:
    with pytest.raises(ValidationError):
        PrecipParams(rain_cvv=0.5)  # type: ignore[call-arg]
    with pytest.raises(ValidationError):
        PrecipParams(snow_months=(1, 1))
    with pytest.raises(ValidationError):
        PrecipParams(snow_months=(13,))
    with pytest.raises(ValidationError):
        PrecipParams().rain_cv = 0.1  # type: ignore[misc]


def test_fit_monthly_cv() -> None:
    # Mean 4, sample standard deviation 2 (n - 1): CV 0.5.
    assert fit_monthly_cv([2.0, 4.0, 6.0]) == pytest.approx(0.5)
    with pytest.raises(ValueError, match="no spread"):
        fit_monthly_cv((3.0, 3.0))
    for short in ([], [4.0]):
        with pytest.raises(ValueError, match="at least two"):
            fit_monthly_cv(short)
    with pytest.raises(ValueError, match="zero"):
        fit_monthly_cv([0.0, 0.0, 0.0])
    with pytest.raises(ValueError, match="finite"):
        fit_monthly_cv([1.0, math.nan])


def test_a_month_whose_normal_is_one_small_event_is_mostly_dry() -> None:
    """NYC's October snow normal is 0.1": about a thirtieth of one 3" storm. As a Poisson count of
    exponential storms its CV is sqrt(2 x 3 / 0.1) = 7.7, not the 1.0 of a snowy month, so "more
    than 0.0" (a reported 0.1") is unlikely instead of a coin flip."""
    params = PrecipParams()
    assert params.cv(MarketKind.MONTHLY_SNOW, 0.1) == pytest.approx(math.sqrt(60))
    assert params.cv(MarketKind.MONTHLY_SNOW, 30.0) == 1.0  # a snowy month keeps the configured CV
    assert params.cv(MarketKind.MONTHLY_RAIN, 4.0) == 0.6
    october = PrecipInputs(MarketKind.MONTHLY_SNOW, date(2026, 10, 1), 0.0, None, (), 0.1)
    (p,) = precip_probabilities(a_monthly_ladder("0.0", kind=MarketKind.MONTHLY_SNOW), october, params)
    assert 0.0 < p < 0.15
    learned = replace(october, monthly_cv=1.0)  # a city's own learned CV still wins
    (q,) = precip_probabilities(a_monthly_ladder("0.0", kind=MarketKind.MONTHLY_SNOW), learned, params)
    assert q > 0.4
