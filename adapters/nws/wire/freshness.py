"""How old a provider's time is, and the check that refuses data past its age limit."""

from __future__ import annotations

from datetime import datetime, timedelta

from adapters.nws.errors import StaleData


def age(stamp: datetime, now: datetime) -> timedelta:
    """How old a provider time is at ``now`` (negative when the provider's clock is ahead)."""
    return now - stamp


def ensure_fresh(what: str, stamp: datetime | None, *, now: datetime, max_age: timedelta) -> None:
    """Raises :class:`StaleData` when ``stamp`` is older than ``max_age`` at ``now``, or missing."""
    if stamp is None:
        raise StaleData(f"{what} carries no time, so its freshness cannot be judged")
    if now - stamp > max_age:
        raise StaleData(f"{what} is from {stamp.isoformat()}, {_duration_words(now - stamp)} old "
                        f"(limit {_duration_words(max_age)})")


def _duration_words(delta: timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m" if hours else f"{minutes}m"
