"""Drawdown limits on marked equity, by America/New_York calendar periods.

T0 is Friday 2026-08-28 14:00 UTC (10:00 in New York, daylight time): the day began at 04:00 UTC,
the week on Monday 2026-08-24 at 04:00 UTC, the month on 2026-08-01 at 04:00 UTC.
Equity is in micros ($1,000 = 1_000_000_000).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from domain.events import AlertRaised, RiskLimitBreached, TradingState, TradingStateChanged
from domain.risk import (
    Period,
    RiskError,
    RiskLimits,
    TradingStates,
    drawdown_events,
    measure,
    period_bounds,
)
from tests.builders import DOLLAR, T0

ZONE = "America/New_York"
CORRELATION = uuid.UUID("00000000-0000-4000-8000-00000000000c")
LIMITS = RiskLimits()  # 5% a day, 10% a week, 15% a month
DAY_START = datetime(2026, 8, 28, 4, tzinfo=UTC)


def utc(year: int, month: int, day: int, hour: int = 0) -> datetime:
    return datetime(year, month, day, hour, tzinfo=UTC)


def hours(n: float) -> datetime:
    return T0 + timedelta(hours=n)


# -- periods -----------------------------------------------------------------------------------

def test_periods_follow_the_new_york_calendar() -> None:
    assert period_bounds(Period.DAILY, T0, ZONE) == (DAY_START, utc(2026, 8, 29, 4))
    assert period_bounds(Period.WEEKLY, T0, ZONE) == (utc(2026, 8, 24, 4), utc(2026, 8, 31, 4))
    assert period_bounds(Period.MONTHLY, T0, ZONE) == (utc(2026, 8, 1, 4), utc(2026, 9, 1, 4))


def test_a_new_york_day_starts_at_local_midnight_not_utc_midnight() -> None:
    # 02:00 UTC on the 29th is still the 28th in New York (22:00 the evening before).
    assert period_bounds(Period.DAILY, utc(2026, 8, 29, 2), ZONE)[0] == DAY_START


def test_periods_follow_daylight_saving_and_the_year_end() -> None:
    # 2026-11-01 is 25 hours long in New York: midnight EDT to midnight EST.
    assert period_bounds(Period.DAILY, utc(2026, 11, 1, 12), ZONE) == (
        utc(2026, 11, 1, 4), utc(2026, 11, 2, 5))
    assert period_bounds(Period.MONTHLY, utc(2026, 12, 15), ZONE) == (
        utc(2026, 12, 1, 5), utc(2027, 1, 1, 5))


# -- measuring ------------------------------------------------------------------------------------

def test_the_drawdown_is_the_fall_from_the_periods_peak_over_its_start_equity() -> None:
    points = [(DAY_START - timedelta(hours=1), 1_000 * DOLLAR),  # carried into the day
              (hours(-4), 1_100 * DOLLAR),  # the peak
              (hours(-1), 1_040 * DOLLAR)]

    daily = measure(points, Period.DAILY, T0, ZONE)

    assert daily is not None
    assert (daily.start_equity, daily.peak, daily.current) == (1_000 * DOLLAR, 1_100 * DOLLAR,
                                                                1_040 * DOLLAR)
    assert daily.share == Decimal("0.06")
    assert daily.stream == "drawdown:daily:2026-08-28"


def test_a_series_that_begins_inside_the_period_starts_from_its_first_point() -> None:
    daily = measure([(hours(-2), 500 * DOLLAR), (hours(-1), 480 * DOLLAR)], Period.DAILY, T0, ZONE)
    assert daily is not None and daily.start_equity == 500 * DOLLAR and daily.loss == 20 * DOLLAR


def test_points_after_now_are_not_seen_and_no_point_is_no_measure() -> None:
    assert measure([(hours(1), DOLLAR)], Period.DAILY, T0, ZONE) is None
    daily = measure([(hours(-1), 100 * DOLLAR), (hours(1), DOLLAR)], Period.DAILY, T0, ZONE)
    assert daily is not None and daily.current == 100 * DOLLAR


def test_points_out_of_order_are_refused() -> None:
    with pytest.raises(RiskError, match="out of order"):
        measure([(hours(-1), DOLLAR), (hours(-2), DOLLAR)], Period.DAILY, T0, ZONE)


# -- breaching ------------------------------------------------------------------------------------

def test_a_fall_below_the_limit_records_nothing() -> None:
    points = [(hours(-30), 1_000 * DOLLAR), (hours(-1), 951 * DOLLAR)]  # 4.9%
    assert drawdown_events(points, TradingStates(), LIMITS, T0, correlation_id=CORRELATION) == []


def test_reaching_the_daily_limit_reduces_trading_until_the_day_ends_and_alerts() -> None:
    points = [(hours(-30), 1_000 * DOLLAR), (hours(-1), 950 * DOLLAR)]  # exactly 5%

    events = drawdown_events(points, TradingStates(), LIMITS, T0, correlation_id=CORRELATION)

    breached, changed, alert = events
    assert isinstance(breached, RiskLimitBreached)
    assert (breached.limit, breached.scope, breached.value, breached.threshold) == (
        "max_daily_drawdown", "all", "5%", "5%")
    assert isinstance(changed, TradingStateChanged)
    assert (changed.state, changed.previous, changed.scope, changed.until) == (
        TradingState.REDUCING, TradingState.ACTIVE, "all", utc(2026, 8, 29, 4))
    assert isinstance(alert, AlertRaised) and alert.severity == "critical"
    assert "$950.00 against a peak of $1,000.00" in alert.message
    assert [e.stream for e in events] == ["drawdown:daily:2026-08-28"] * 3
    assert [e.version for e in events] == [1, 2, 3]
    assert changed.causation_id == alert.causation_id == breached.event_id
    assert all(e.recorded_at == T0 for e in events)


def test_a_slow_loss_over_the_week_breaches_the_weekly_limit_only() -> None:
    monday = utc(2026, 8, 24, 12)
    points = [(monday + timedelta(days=d), (1_000 - 26 * d) * DOLLAR) for d in range(5)]  # -2.6%/day

    events = drawdown_events(points, TradingStates(), LIMITS, points[-1][0], correlation_id=CORRELATION)

    assert {e.stream for e in events} == {"drawdown:weekly:2026-08-24"}
    (changed,) = [e for e in events if isinstance(e, TradingStateChanged)]
    assert changed.until == utc(2026, 8, 31, 4)


def test_a_breach_already_in_force_is_not_recorded_again() -> None:
    points = [(hours(-30), 1_000 * DOLLAR), (hours(-1), 900 * DOLLAR)]  # 10%: day and week
    first = drawdown_events(points, TradingStates(), LIMITS, T0, correlation_id=CORRELATION)
    states = TradingStates.fold(first)

    later = [*points, (hours(2), 860 * DOLLAR)]  # 14%: still within the month's 15%
    assert drawdown_events(later, states, LIMITS, hours(2), correlation_id=CORRELATION) == []
    assert states.state_for("NYC", hours(2)) is TradingState.REDUCING


def test_a_rerun_before_the_fold_caught_up_gives_the_same_ids() -> None:
    points = [(hours(-30), 1_000 * DOLLAR), (hours(-1), 940 * DOLLAR)]
    first = drawdown_events(points, TradingStates(), LIMITS, T0, correlation_id=CORRELATION)
    again = drawdown_events(points, TradingStates(), LIMITS, T0 + timedelta(minutes=5),
                            correlation_id=CORRELATION)
    assert [e.event_id for e in again] == [e.event_id for e in first]


def test_the_next_day_can_breach_again_once_the_hold_has_lifted() -> None:
    limits = RiskLimits(max_weekly_drawdown=Decimal("0.5"), max_monthly_drawdown=Decimal("0.5"))
    points = [(hours(-30), 1_000 * DOLLAR), (hours(-1), 940 * DOLLAR)]
    states = TradingStates.fold(drawdown_events(points, TradingStates(), limits, T0,
                                                correlation_id=CORRELATION))
    tomorrow = utc(2026, 8, 29, 14)
    assert states.state_for("NYC", tomorrow) is TradingState.ACTIVE

    points += [(tomorrow - timedelta(hours=1), 880 * DOLLAR)]  # from $940 at the day's start: 6.4%
    events = drawdown_events(points, states, limits, tomorrow, correlation_id=CORRELATION)
    assert {e.stream for e in events} == {"drawdown:daily:2026-08-29"}


def test_with_no_equity_at_the_start_any_fall_breaches() -> None:
    points = [(hours(-30), 0), (hours(-2), 10 * DOLLAR), (hours(-1), 9 * DOLLAR)]
    events = drawdown_events(points, TradingStates(), LIMITS, T0, correlation_id=CORRELATION)
    breached = next(e for e in events if isinstance(e, RiskLimitBreached))
    assert breached.value == "$1.00 lost with no equity at the start"
