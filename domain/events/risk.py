"""Risk outcomes, the trading state, operator actions and alerts."""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

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
