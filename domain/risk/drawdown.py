"""Drawdown limits: daily, weekly and monthly, on equity marked to market.

The caller derives a series of ``(time, equity)`` points from the ledger's portfolio (cash plus
every open position at its mark, in micros), oldest first. For each period containing ``now``:

* **periods** are calendar periods of ``RiskLimits.drawdown_timezone`` (America/New_York by
  default), on the wall clock, daylight saving included: a day from local midnight, a week from
  Monday's midnight, a month from the first's midnight. Each ends where the next begins.
* **start equity** is the equity carried into the period: the last point at or before its start;
  when the series begins inside the period, its first point.
* **peak** is the highest of the start equity and every point in the period up to ``now``.
* **current** is the last point at or before ``now``.
* **drawdown** = ``(peak - current) / start equity``. It measures the fall from the period's high
  water mark, scaled by what the period began with, so a limit means the same money all period.

A period **breaches** its limit when the drawdown *reaches* it (``peak - current >= limit x start``,
compared exactly in integers and Decimals); with no equity at the start, any fall breaches.

A breach records, in its own stream ``drawdown:{period}:{first day}`` (so one breach per period,
and a re-run records nothing twice): ``RiskLimitBreached``, then ``TradingStateChanged`` of the
whole book to **REDUCING** until the period ends, then a critical ``AlertRaised``. REDUCING and not
HALTED: the PRD halts new *entries* for the rest of the period; closing positions still lowers the
risk that breached. The hold lifts by itself at the period's end (``state``).

Deposits and withdrawals move equity too: the caller should give a series with them taken out.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from itertools import pairwise
from zoneinfo import ZoneInfo

from domain.events.base import Event, deterministic_id
from domain.events.risk import AlertRaised, RiskLimitBreached, TradingState, TradingStateChanged
from domain.risk.errors import RiskError
from domain.risk.limits import RiskLimits
from domain.risk.state import ALL, TradingStates
from domain.risk.words import percent, usd


class Period(StrEnum):
    DAILY = "daily"
    WEEKLY = "weekly"
    MONTHLY = "monthly"


def limit_of(limits: RiskLimits, period: Period) -> Decimal:
    return {Period.DAILY: limits.max_daily_drawdown, Period.WEEKLY: limits.max_weekly_drawdown,
            Period.MONTHLY: limits.max_monthly_drawdown}[period]


def period_bounds(period: Period, now: datetime, zone: str) -> tuple[datetime, datetime]:
    """``(start, end)`` of the calendar period containing ``now``, as aware UTC datetimes."""
    local = now.astimezone(ZoneInfo(zone)).date()
    if period is Period.DAILY:
        first, after = local, local + timedelta(days=1)
    elif period is Period.WEEKLY:
        first = local - timedelta(days=local.weekday())
        after = first + timedelta(days=7)
    else:
        first = local.replace(day=1)
        after = date(first.year + first.month // 12, first.month % 12 + 1, 1)
    return _midnight(first, zone), _midnight(after, zone)


def _midnight(day: date, zone: str) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=ZoneInfo(zone)).astimezone(UTC)


@dataclass(frozen=True, slots=True)
class Drawdown:
    """One period's drawdown at ``now`` (equities in micros)."""

    period: Period
    #: The period's first local day, and its bounds in UTC.
    first_day: date
    start: datetime
    end: datetime
    start_equity: int
    peak: int
    current: int

    @property
    def loss(self) -> int:
        """How far equity stands below the period's peak (micros, never negative)."""
        return self.peak - self.current

    @property
    def share(self) -> Decimal | None:
        """The drawdown as a share of the start equity; None when the period began with none."""
        return None if self.start_equity <= 0 else Decimal(self.loss) / Decimal(self.start_equity)

    def reaches(self, limit: Decimal) -> bool:
        if self.start_equity <= 0:
            return self.loss > 0
        return Decimal(self.loss) >= limit * self.start_equity

    @property
    def stream(self) -> str:
        return f"drawdown:{self.period.value}:{self.first_day.isoformat()}"


def measure(points: Sequence[tuple[datetime, int]], period: Period, now: datetime,
            zone: str) -> Drawdown | None:
    """The drawdown of the period containing ``now``; None when no point is at or before ``now``.

    ``points`` must be in time order (a series out of order is a ``RiskError``: it was not read
    from the ledger's log)."""
    for (earlier, _), (later, _) in pairwise(points):
        if later < earlier:
            raise RiskError(f"equity points are out of order: {later.isoformat()} after "
                            f"{earlier.isoformat()}")
    seen = [(t, equity) for t, equity in points if t <= now]
    if not seen:
        return None
    start, end = period_bounds(period, now, zone)
    before = [equity for t, equity in seen if t <= start]
    during = [equity for t, equity in seen if t >= start]
    start_equity = before[-1] if before else during[0]
    return Drawdown(period, start.astimezone(ZoneInfo(zone)).date(), start, end, start_equity,
                    peak=max([start_equity, *during]), current=seen[-1][1])


def drawdown_events(points: Sequence[tuple[datetime, int]], states: TradingStates, limits: RiskLimits,
                    now: datetime, *, correlation_id: uuid.UUID) -> list[Event]:
    """The breach events of every period whose limit ``now``'s equity reaches, except a period
    whose breach is already in force in ``states``; none while every period is within its limit."""
    events: list[Event] = []
    for period in Period:
        drawdown = measure(points, period, now, limits.drawdown_timezone)
        limit = limit_of(limits, period)
        if drawdown is None or not drawdown.reaches(limit):
            continue
        if any(h.stream == drawdown.stream for h in states.holds_in_force(ALL, now)):
            continue
        events += _breach(drawdown, limit, states.scope_state(ALL, now), now, correlation_id)
    return events


def _breach(drawdown: Drawdown, limit: Decimal, previous: TradingState, now: datetime,
            correlation_id: uuid.UUID) -> list[Event]:
    stream, period = drawdown.stream, drawdown.period.value
    until = drawdown.end.isoformat()
    value = percent(drawdown.share) if drawdown.share is not None else (
        f"{usd(drawdown.loss)} lost with no equity at the start")
    threshold = percent(limit)
    what = (f"{period} drawdown {value} reached the {threshold} limit: equity {usd(drawdown.current)} "
            f"against a peak of {usd(drawdown.peak)} (the period began at "
            f"{usd(drawdown.start_equity)})")

    def envelope(version: int, causation: uuid.UUID | None) -> dict[str, object]:
        return {"event_id": deterministic_id("event", stream, version), "stream": stream,
                "version": version, "recorded_at": now, "correlation_id": correlation_id,
                "causation_id": causation}

    breached = RiskLimitBreached.model_validate({
        **envelope(1, None), "limit": f"max_{period}_drawdown", "scope": ALL,
        "scope_key": f"{period}:{drawdown.first_day.isoformat()}", "value": value,
        "threshold": threshold, "action": f"reducing until {until}"})
    changed = TradingStateChanged.model_validate({
        **envelope(2, breached.event_id), "previous": previous, "state": TradingState.REDUCING,
        "reason": f"{what}; only orders that reduce positions until the {period} period ends",
        "scope": ALL, "until": drawdown.end})
    alert = AlertRaised.model_validate({
        **envelope(3, breached.event_id), "severity": "critical", "kind": "drawdown",
        "message": f"{what}. New entries are stopped until {until}.",
        "context": {"period": period, "first_day": drawdown.first_day.isoformat(), "until": until,
                    "start_equity": str(drawdown.start_equity), "peak": str(drawdown.peak),
                    "current": str(drawdown.current), "limit": str(limit)}})
    return [breached, changed, alert]


class EquitySeries:
    """Equity points kept to what ``measure`` needs, in constant memory a day.

    Every drawdown period is a run of whole local days of ``zone``, so a day's first, highest and
    last points give every period's start equity, peak and current exactly as the full series
    would. Days older than ``keep_days`` (longer than any period) are let go."""

    def __init__(self, zone: str, *, keep_days: int = 40) -> None:
        self._zone = ZoneInfo(zone)
        self._keep = timedelta(days=keep_days)
        #: Per local day: its first, highest and last points.
        self._days: dict[date, tuple[tuple[datetime, int], tuple[datetime, int], tuple[datetime, int]]] = {}
        self._last: tuple[datetime, int] | None = None

    def add(self, at: datetime, equity: int) -> bool:
        """Add a point; False (and nothing kept) for one older than the latest."""
        if self._last is not None and at < self._last[0]:
            return False
        point = (at, equity)
        day = at.astimezone(self._zone).date()
        known = self._days.get(day)
        if known is None:
            self._days[day] = (point, point, point)
            oldest = day - self._keep
            for gone in [d for d in self._days if d < oldest]:
                del self._days[gone]
        else:
            first, high, _ = known
            self._days[day] = (first, point if equity > high[1] else high, point)
        self._last = point
        return True

    @property
    def last(self) -> tuple[datetime, int] | None:
        return self._last

    def points(self) -> list[tuple[datetime, int]]:
        """The kept points in time order (each at most once)."""
        return [point for day in sorted(self._days) for point in self.on(day)]

    def on(self, day: date) -> list[tuple[datetime, int]]:
        """The kept points of one local day of the zone (first, highest, last: in time order)."""
        kept: list[tuple[datetime, int]] = []
        for point in self._days.get(day, ()):
            if not kept or point is not kept[-1]:
                kept.append(point)
        return kept
