"""The handler's cadence: faster near a ladder's close and right after each hour's observation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from domain.events import MarketKind
from milkbot.handler import Cadence

NY = "America/New_York"  # EST all year for climate days: standard midnight is 05:00 UTC
CADENCE = Cadence()


def at(hour: int, minute: int, day: int = 20) -> datetime:
    return datetime(2026, 1, day, hour, minute, tzinfo=UTC)


def test_a_daily_ladder_runs_every_quarter_hour_and_just_after_the_observation() -> None:
    assert CADENCE.next_run(MarketKind.DAILY_HIGH, NY, at(14, 0)) == at(14, 15)
    assert CADENCE.next_run(MarketKind.DAILY_HIGH, NY, at(14, 45)) == at(14, 55)
    assert CADENCE.next_run(MarketKind.DAILY_HIGH, NY, at(14, 55)) == at(15, 10)


def test_a_daily_ladder_runs_every_five_minutes_in_its_last_two_hours() -> None:
    # The climate day of Jan 20 in New York closes at 05:00 UTC on Jan 21 (local standard midnight).
    assert CADENCE.next_run(MarketKind.DAILY_HIGH, NY, at(3, 0, day=21)) == at(3, 5, day=21)
    assert CADENCE.next_run(MarketKind.DAILY_HIGH, NY, at(2, 59, day=21)) == at(3, 14, day=21)


def test_a_monthly_ladder_runs_hourly_and_every_quarter_hour_on_its_last_day() -> None:
    assert CADENCE.next_run(MarketKind.MONTHLY_RAIN, NY, at(14, 0)) == at(15, 0)
    assert CADENCE.next_run(MarketKind.MONTHLY_RAIN, NY, at(14, 0, day=31)) == at(14, 15, day=31)


def test_a_zero_cadence_is_always_due_and_the_observation_run_can_be_switched_off() -> None:
    assert Cadence(daily_high=timedelta(0)).next_run(MarketKind.DAILY_HIGH, NY, at(14, 0)) == at(14, 0)
    plain = Cadence(observation_minute=None, near_close=timedelta(0))
    assert plain.next_run(MarketKind.DAILY_HIGH, NY, at(14, 45)) == at(15, 0)
