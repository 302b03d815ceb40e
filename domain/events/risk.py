"""Risk outcomes, the trading state, operator actions and alerts."""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

from pydantic import AwareDatetime

from domain.events.base import Event, Record


class TradingState(StrEnum):
    ACTIVE = "active"
    REDUCING = "reducing"
    HALTED = "halted"


class CheckOutcome(Record):
    name: str
    passed: bool
    reason: str


class OrderRiskChecked(Event):
    """The pre-trade verdict on one intended order, with every check's outcome and reason."""

    client_order_id: str
    approved: bool
    checks: tuple[CheckOutcome, ...]


class RiskLimitBreached(Event):
    limit: str
    scope: str
    scope_key: str
    value: str
    threshold: str
    action: str


class TradingStateChanged(Event):
    previous: TradingState
    state: TradingState
    reason: str
    #: What it applies to: ``all`` (the whole book) or ``city:{code}``.
    scope: str = "all"
    #: Until when, for a drawdown halt that lasts the rest of its period; None: until changed.
    until: AwareDatetime | None = None


class BreakerTripped(Event):
    """A city's data went stale or its feed is failing: no new orders there until it clears."""

    city: str
    #: ``weather:{kind}`` or ``market:{kind}``.
    feed: str
    reason: str
    #: Seconds since the last good snapshot when it tripped (None: there never was one).
    age_s: float | None = None
    limit_s: float


class BreakerCleared(Event):
    """Fresh data returned for a tripped feed; the city trades again (unless something else
    stops it)."""

    city: str
    feed: str
    reason: str


class KillSwitchEngaged(Event):
    operator: str
    reason: str


class TradingResumed(Event):
    operator: str
    reason: str


class AlertRaised(Event):
    severity: Literal["info", "warning", "critical"]
    kind: str
    message: str
    context: dict[str, str] = {}


class HandlerStarted(Event):
    """The command handler started trading in ``mode`` under a configuration. The live gate counts
    the days traded in paper and demo modes from these and the decisions after them."""

    mode: Literal["paper", "demo", "live"]
    config_version: str
    #: Where orders go (the Kalshi base URL, no credentials) or ``paper``.
    venue: str



class EquityMarked(Event):
    """The portfolio marked to market: cash plus every open position at its latest mark (micros).
    Recorded every few minutes of handler time, so the drawdown limits survive a restart and the
    equity curve can be drawn from the ledger."""

    equity: int
    cash: int
    positions_value: int
