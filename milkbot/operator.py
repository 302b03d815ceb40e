"""The operator's controls over trading: the kill switch, resume, and the state they leave.

``kill`` and ``resume`` append the events ``domain.risk.state`` builds (who, why, when) to the
operator stream; the command handler folds them like every other state event and, on a halt,
cancels resting orders within its next cycle. The trading state is read by folding the state
events of the log, picked out by topic before anything is decoded.
"""

from __future__ import annotations

import getpass
from collections.abc import Callable
from datetime import UTC, datetime

from domain.events import (
    BreakerCleared,
    BreakerTripped,
    Event,
    KillSwitchEngaged,
    TradingResumed,
    TradingStateChanged,
)
from domain.risk.state import OPERATOR_STREAM, TradingStates, kill, resume
from eventstore import EventStore
from eventstore.errors import ConcurrencyConflict

STATE_TYPES = frozenset(t.__name__ for t in (TradingStateChanged, KillSwitchEngaged, TradingResumed,
                                              BreakerTripped, BreakerCleared))
ATTEMPTS = 3


def trading_states(store: EventStore) -> TradingStates:
    """Every trading state the ledger holds (the whole book's, each city's, each breaker)."""
    return TradingStates.fold(r.decode() for r in store.sparse_records(sorted(STATE_TYPES)))


def operator_name(given: str | None) -> str:
    if given:
        return given
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown operator"


def engage_kill_switch(store: EventStore, *, operator: str, reason: str,
                       now: datetime | None = None) -> list[Event]:
    """Halt all trading, recorded with who and why."""
    return _append(store, lambda states, at, version: kill(states, operator, reason, at, version), now)


def resume_trading(store: EventStore, *, operator: str, reason: str, scope: str = "all",
                   now: datetime | None = None) -> list[Event]:
    """Return ``scope`` (``all`` or ``city:X``) to ACTIVE; ``NotHalted`` when it is not halted."""
    return _append(store, lambda states, at, version: resume(states, operator, reason, at, version,
                                                            scope=scope), now)


Build = Callable[[TradingStates, datetime, int], list[Event]]


def _append(store: EventStore, build: Build, now: datetime | None) -> list[Event]:
    for attempt in range(ATTEMPTS):
        at = now or datetime.now(UTC)
        events: list[Event] = build(trading_states(store), at, store.stream_version(OPERATOR_STREAM) + 1)
        try:
            store.append(events)
            return events
        except ConcurrencyConflict:  # another operator's command took the slot: read again
            if attempt == ATTEMPTS - 1:
                raise
    raise AssertionError("unreachable")
