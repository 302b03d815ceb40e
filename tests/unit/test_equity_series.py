"""``EquitySeries`` keeps a day's first, highest and last points: every drawdown period measures
the same from it as from the whole series."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from domain.risk.drawdown import EquitySeries, Period, measure

ZONE = "America/New_York"
T0 = datetime(2026, 10, 20, 3, tzinfo=UTC)

steps = st.lists(st.tuples(st.integers(0, 36 * 60), st.integers(-5_000, 5_000)), min_size=1, max_size=120)


@settings(max_examples=300, deadline=None)
@given(steps=steps, start=st.integers(1_000, 100_000))
def test_every_period_measures_the_same_as_from_every_point(steps: list[tuple[int, int]], start: int) -> None:
    series, points = EquitySeries(ZONE), []
    at, equity = T0, start * 1_000
    for minutes, change in steps:
        at, equity = at + timedelta(minutes=minutes), equity + change * 1_000
        points.append((at, equity))
        assert series.add(at, equity)
        for period in Period:
            assert measure(series.points(), period, at, ZONE) == measure(points, period, at, ZONE)


def test_a_point_older_than_the_latest_is_refused_and_old_days_are_let_go() -> None:
    series = EquitySeries(ZONE, keep_days=3)
    assert series.add(T0, 100)
    assert not series.add(T0 - timedelta(minutes=1), 50)
    for day in range(1, 6):
        series.add(T0 + timedelta(days=day), 100 + day)
    kept = series.points()
    assert kept[0][0] >= T0 + timedelta(days=2) and kept[-1] == (T0 + timedelta(days=5), 105)
    last = T0 + timedelta(days=5)
    assert series.on(last.astimezone(ZoneInfo(ZONE)).date()) == [(last, 105)]
