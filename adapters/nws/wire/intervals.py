"""ISO-8601 time spans as the gridpoint data writes them: durations (``PT3H``), intervals
(``start/end``, ``start/duration``, ``duration/end``, ``NOW``), and the UTC hours a span covers."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from adapters.nws.errors import MalformedPayload
from adapters.nws.wire.json_fields import _parse_time, _show

HOUR = timedelta(hours=1)


_DURATION = re.compile(r"P(?:(?P<Y>\d+)Y)?(?:(?P<M>\d+)M)?(?:(?P<W>\d+)W)?(?:(?P<D>\d+)D)?"
                       r"(?:T(?:(?P<h>\d+)H)?(?:(?P<m>\d+)M)?(?:(?P<s>\d+(?:\.\d+)?)S)?)?")


def parse_duration(text: str, *, where: str = "duration") -> timedelta:
    """An ISO-8601 duration such as ``PT3H`` or ``P6DT22H`` (weeks, days, hours, minutes, seconds).

    Years and months have no fixed length, and the API never uses them for grid data: refused."""
    match = _DURATION.fullmatch(text) if isinstance(text, str) else None
    if match is None or text in ("P", "PT") or text.endswith("T"):
        raise MalformedPayload(f"{where}: {_show(text)} is not an ISO-8601 duration")
    if int(match["Y"] or 0) or int(match["M"] or 0):
        raise MalformedPayload(f"{where}: {text!r} uses years or months, which have no fixed length")
    return timedelta(weeks=int(match["W"] or 0), days=int(match["D"] or 0), hours=int(match["h"] or 0),
                     minutes=int(match["m"] or 0), seconds=float(match["s"] or 0))


def parse_interval(text: Any, *, now: datetime | None = None,
                   where: str = "interval") -> tuple[datetime, datetime]:
    """An ISO-8601 interval: ``start/end``, ``start/duration`` or ``duration/end`` (``NOW`` allowed
    for either end when ``now`` is given). Returns ``(start, end)`` with ``start < end``."""
    if not isinstance(text, str) or text.count("/") != 1:
        raise MalformedPayload(f"{where}: {_show(text)} is not an ISO-8601 interval")
    first, second = text.split("/")
    if first.startswith("P"):
        end = _interval_time(second, now, where)
        start = end - parse_duration(first, where=where)
    else:
        start = _interval_time(first, now, where)
        end = start + parse_duration(second, where=where) if second.startswith("P") \
            else _interval_time(second, now, where)
    if end <= start:
        raise MalformedPayload(f"{where}: interval {text!r} does not move forward in time")
    return start, end


def _interval_time(text: str, now: datetime | None, where: str) -> datetime:
    if text == "NOW":
        if now is None:
            raise MalformedPayload(f"{where}: an interval relative to NOW needs the time it was read")
        return now
    return _parse_time(text, where)


def _utc_hours(start: datetime, end: datetime) -> Iterator[datetime]:
    hour = start.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    while hour < end:
        yield hour
        hour += HOUR
