from __future__ import annotations

from datetime import UTC, date, datetime

from domain.climate_day import climate_day_of, climate_day_start, standard_offset


def test_the_climate_day_runs_on_standard_time_even_in_summer() -> None:
    # New York in August is on EDT (UTC-4) but the climate day runs on EST (UTC-5).
    assert standard_offset("America/New_York", date(2026, 8, 28)).utcoffset(None).total_seconds() \
        == -5 * 3600
    assert climate_day_start("America/New_York", date(2026, 8, 28)) == datetime(
        2026, 8, 28, 5, tzinfo=UTC)
    # 00:30 EDT on the 29th is still the 28th's climate day (23:30 EST).
    assert climate_day_of("America/New_York", datetime(2026, 8, 29, 4, 30, tzinfo=UTC)) == date(
        2026, 8, 28)
    assert climate_day_of("America/New_York", datetime(2026, 8, 29, 5, 0, tzinfo=UTC)) == date(
        2026, 8, 29)


def test_in_winter_standard_and_wall_clock_agree() -> None:
    assert climate_day_start("America/Denver", date(2026, 1, 15)) == datetime(
        2026, 1, 15, 7, tzinfo=UTC)
    assert climate_day_of("America/Los_Angeles", datetime(2026, 1, 16, 7, 59, tzinfo=UTC)) == date(
        2026, 1, 15)
