"""Stale-data breakers: no new entries in a city whose data is old or whose feed is failing.

A breaker watches one city's feed, named by the market kind it serves: ``weather:{kind}`` (the
city's weather snapshot, against the kind's weather age limit) or ``market:{kind}`` (the kind's
ladder snapshot, against its market age limit). It is *bad* when

* there has never been a good snapshot, or
* the last good one is older than the limit (``now - last_good > limit``), or
* the latest attempt failed (a ``WeatherFeedFailed`` / ``MarketFeedFailed`` after the last good
  snapshot: the caller reads that from the ledger).

``breaker_events`` compares each reading with the breaker as the ledger holds it
(``TradingStates.breakers``) and answers a ``BreakerTripped`` when a good feed went bad and a
``BreakerCleared`` when a bad one is good again; nothing at all when nothing changed. Trading
therefore resumes by itself when fresh data returns, and both transitions are in the ledger.

Each breaker has its stream, ``breaker:{city}:{feed}``, whose next version comes from the folded
state, and the event id from the stream and version: computing the same transition twice (a retry,
a restart before the fold caught up) records it once.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from domain.events.base import Event, MarketKind, deterministic_id
from domain.events.risk import BreakerCleared, BreakerTripped
from domain.risk.limits import RiskLimits
from domain.risk.state import TradingStates


def weather_feed(kind: MarketKind) -> str:
    return f"weather:{kind.value}"


def market_feed(kind: MarketKind) -> str:
    return f"market:{kind.value}"


def breaker_stream(city: str, feed: str) -> str:
    return f"breaker:{city}:{feed}"


@dataclass(frozen=True, slots=True)
class FeedReading:
    """What the ledger says of one city's feed at ``now``."""

    city: str
    #: ``weather:{kind}`` or ``market:{kind}``.
    feed: str
    #: When the latest good snapshot was recorded (None: there never was one).
    last_good: datetime | None
    #: Whether the latest attempt failed (a feed failure recorded after ``last_good``).
    failing: bool = False


def breaker_events(readings: Iterable[FeedReading], states: TradingStates, limits: RiskLimits,
                   now: datetime, *, correlation_id: uuid.UUID) -> list[Event]:
    """The breaker transitions ``readings`` call for, in reading order; none when nothing changes."""
    events: list[Event] = []
    for reading in readings:
        limit = limits.stale_after(reading.feed)
        problem = _problem(reading, limit, now)
        breaker = states.breaker(reading.city, reading.feed)
        tripped = breaker is not None and breaker.tripped
        if (problem is not None) == tripped:
            continue
        stream = breaker_stream(reading.city, reading.feed)
        version = (breaker.version if breaker is not None else 0) + 1
        envelope = {"event_id": deterministic_id("event", stream, version), "stream": stream,
                    "version": version, "recorded_at": now, "correlation_id": correlation_id}
        if problem is not None:
            age = None if reading.last_good is None else (now - reading.last_good).total_seconds()
            events.append(BreakerTripped.model_validate({
                **envelope, "city": reading.city, "feed": reading.feed, "reason": problem,
                "age_s": age, "limit_s": limit.total_seconds()}))
        else:
            assert reading.last_good is not None  # a good feed has a snapshot
            events.append(BreakerCleared.model_validate({
                **envelope, "city": reading.city, "feed": reading.feed,
                "reason": f"{reading.feed} is fresh again: its last snapshot is "
                          f"{_minutes(now - reading.last_good)} old, within the "
                          f"{_minutes(limit)} limit"}))
    return events


def _problem(reading: FeedReading, limit: timedelta, now: datetime) -> str | None:
    """Why the feed is bad, in plain words, or None when it is good."""
    if reading.last_good is None:
        return f"{reading.city} has no {reading.feed} snapshot yet" + (
            " and its latest attempt failed" if reading.failing else "")
    age = now - reading.last_good
    problems = []
    if age > limit:
        problems.append(f"its last snapshot is {_minutes(age)} old, over the {_minutes(limit)} limit")
    if reading.failing:
        problems.append(f"its latest attempt failed (the last good snapshot is {_minutes(age)} old)")
    return f"{reading.city} {reading.feed}: {' and '.join(problems)}" if problems else None


def _minutes(span: timedelta) -> str:
    minutes = span.total_seconds() / 60
    return f"{int(minutes)} min" if minutes == int(minutes) else f"{minutes:.1f} min"
