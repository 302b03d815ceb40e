"""The climate day: local *standard*-time midnight to midnight, whatever daylight saving says.

The NWS CLI report summarises a climate day, trading in a daily-high market closes when it ends,
and during daylight saving it ends at 01:00 on the wall clock. Zones are IANA names.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from functools import lru_cache
from zoneinfo import ZoneInfo


def standard_offset(zone: str, on: date) -> timezone:
    """The zone's standard-time UTC offset around ``on``, as a fixed timezone."""
    return _standard_offset(zone, on.year)


@lru_cache(maxsize=1024)
def _standard_offset(zone: str, year: int) -> timezone:
    tz = ZoneInfo(zone)
    # January and July: one of them is standard time in either hemisphere; the smaller offset is
    # it (daylight saving adds an hour). Using the day's own year follows historical zone changes.
    offsets = [datetime(year, m, 1, 12, tzinfo=tz).utcoffset() or timedelta(0) for m in (1, 7)]
    return timezone(min(offsets))


def climate_day_start(zone: str, day: date) -> datetime:
    """When ``day``'s climate day begins: local standard midnight, as an aware UTC datetime."""
    return datetime(day.year, day.month, day.day, tzinfo=standard_offset(zone, day)).astimezone(UTC)


def climate_day_of(zone: str, instant: datetime) -> date:
    """The climate day (the local standard-time date) that ``instant`` falls in."""
    guess = instant.astimezone(ZoneInfo(zone)).date()
    return instant.astimezone(standard_offset(zone, guess)).date()
