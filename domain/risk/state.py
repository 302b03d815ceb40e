"""The trading state, folded from the ledger, so a restart keeps it; and the kill switch.

Three states, from free to stopped: ``ACTIVE`` (any order the checks pass), ``REDUCING`` (only
orders that take contracts off a position) and ``HALTED`` (no new orders; cancels still go).

What the fold keeps, per scope (``all`` or ``city:{code}``):

* a **standing** state, set by a ``TradingStateChanged`` without ``until`` (an operator's halt or
  resume, a reconciliation halting a city), by ``KillSwitchEngaged`` (``all`` -> HALTED) and by
  ``TradingResumed`` (``all`` -> ACTIVE). The latest one wins.
* **holds**: a ``TradingStateChanged`` with ``until`` (a drawdown breach keeps the book REDUCING
  for the rest of its period). A hold is in force while ``now < until`` and lifts by itself; the
  standing state does not lift it, so an operator's resume cannot undo a drawdown limit before
  its period ends (the PRD: "a breach halts new entries for the rest of the period").

And per city and feed, the **breakers** (``BreakerTripped`` / ``BreakerCleared``, the latest
wins). A tripped breaker makes its city REDUCING, not HALTED: stale data is a reason not to add
risk, not a reason to be unable to shed it.

``state_for(city, now)`` is the worst of all that applies to the city. The fold reads no clock:
expired holds are dropped as later events' ``recorded_at`` passes them, and ``now`` is an argument.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime

from domain.events.base import Event, MarketKind, deterministic_id
from domain.events.risk import (
    BreakerCleared,
    BreakerTripped,
    KillSwitchEngaged,
    TradingResumed,
    TradingState,
    TradingStateChanged,
)
from domain.risk.errors import NotHalted, RiskError

ALL = "all"
#: The stream the operator's kill and resume commands are recorded in; the caller gives the next
#: version, so a retried command (same version) records nothing twice.
OPERATOR_STREAM = "operator:trading"

_SEVERITY = {TradingState.ACTIVE: 0, TradingState.REDUCING: 1, TradingState.HALTED: 2}


def worst(*states: TradingState) -> TradingState:
    """The most restrictive of ``states`` (ACTIVE when there are none)."""
    return max(states, key=_SEVERITY.__getitem__, default=TradingState.ACTIVE)


def city_scope(city: str) -> str:
    return f"city:{city}"


@dataclass(frozen=True, slots=True)
class Standing:
    """A scope's state until changed, and why."""

    state: TradingState
    reason: str


@dataclass(frozen=True, slots=True)
class Hold:
    """A state that lasts until a time: in force while ``now < until``."""

    scope: str
    state: TradingState
    until: datetime
    reason: str
    #: The stream that recorded it (a drawdown period's), so its author can tell it is in force.
    stream: str

    def in_force(self, now: datetime) -> bool:
        return now < self.until


@dataclass(frozen=True, slots=True)
class Breaker:
    """The latest transition of one city's feed; ``version`` is its stream's last version."""

    tripped: bool
    version: int
    reason: str


@dataclass(frozen=True, slots=True)
class TradingStates:
    """Every trading state the ledger holds, folded in log order. Never mutated: ``apply`` gives
    a new value."""

    standing: dict[str, Standing] = field(default_factory=dict)
    holds: tuple[Hold, ...] = ()
    #: ``(city, feed)`` -> its breaker.
    breakers: dict[tuple[str, str], Breaker] = field(default_factory=dict)

    @classmethod
    def fold(cls, events: Iterable[Event], start: TradingStates | None = None) -> TradingStates:
        states = start if start is not None else cls()
        for event in events:
            states = states.apply(event)
        return states

    def apply(self, event: Event) -> TradingStates:
        """This value with ``event`` folded in; events that do not concern the state change nothing."""
        if isinstance(event, TradingStateChanged):
            if event.until is None:
                return self._standing(event.scope, event.state, event.reason)._expire(event.recorded_at)
            if event.state is TradingState.ACTIVE:
                return self._expire(event.recorded_at)  # an ACTIVE "until" holds nothing back
            hold = Hold(event.scope, event.state, event.until, event.reason, event.stream)
            return replace(self, holds=(*self.holds, hold))._expire(event.recorded_at)
        if isinstance(event, KillSwitchEngaged):
            why = f"kill switch engaged by {event.operator}: {event.reason}"
            return self._standing(ALL, TradingState.HALTED, why)._expire(event.recorded_at)
        if isinstance(event, TradingResumed):
            why = f"resumed by {event.operator}: {event.reason}"
            return self._standing(ALL, TradingState.ACTIVE, why)._expire(event.recorded_at)
        if isinstance(event, BreakerTripped | BreakerCleared):
            breaker = Breaker(isinstance(event, BreakerTripped), event.version, event.reason)
            return replace(self, breakers={**self.breakers, (event.city, event.feed): breaker})
        return self

    def _standing(self, scope: str, state: TradingState, reason: str) -> TradingStates:
        return replace(self, standing={**self.standing, scope: Standing(state, reason)})

    def _expire(self, now: datetime) -> TradingStates:
        # Dropping a hold only once the ledger's own clock has passed it keeps the fold a pure
        # function of the events, and keeps the tuple short over years of daily holds.
        kept = tuple(h for h in self.holds if h.in_force(now))
        return self if len(kept) == len(self.holds) else replace(self, holds=kept)

    # -- reading -------------------------------------------------------------------------------

    def standing_state(self, scope: str = ALL) -> TradingState:
        standing = self.standing.get(scope)
        return standing.state if standing is not None else TradingState.ACTIVE

    def holds_in_force(self, scope: str, now: datetime) -> tuple[Hold, ...]:
        return tuple(h for h in self.holds if h.scope == scope and h.in_force(now))

    def scope_state(self, scope: str, now: datetime) -> TradingState:
        """A scope's own state: its standing state and its holds in force (no breakers)."""
        return worst(self.standing_state(scope), *(h.state for h in self.holds_in_force(scope, now)))

    def tripped(self, city: str, kind: MarketKind | None = None) -> tuple[str, ...]:
        """The city's tripped feeds (of one market kind's feeds only, when ``kind`` is given)."""
        return tuple(sorted(feed for (c, feed), b in self.breakers.items()
                            if c == city and b.tripped
                            and (kind is None or feed.endswith(f":{kind.value}"))))

    def breaker(self, city: str, feed: str) -> Breaker | None:
        return self.breakers.get((city, feed))

    def state_for(self, city: str, now: datetime, kind: MarketKind | None = None) -> TradingState:
        """What may trade in ``city`` at ``now``: the worst of the whole book's state, the city's
        and REDUCING for a tripped breaker. With ``kind``, only that market kind's breakers count
        (a failing snow feed in July need not stop the city's daily-high markets)."""
        breakers = (TradingState.REDUCING,) if self.tripped(city, kind) else ()
        return worst(self.scope_state(ALL, now), self.scope_state(city_scope(city), now), *breakers)

    def why(self, city: str, now: datetime, kind: MarketKind | None = None) -> str:
        """What holds ``city`` back at ``now``, in plain words ("" when nothing does): the whole
        book's reasons, then the city's own."""
        return "; ".join(self.reasons(ALL, now) + self.city_reasons(city, now, kind))

    def reasons(self, scope: str, now: datetime) -> list[str]:
        """What holds one scope (``all`` or ``city:X``) back at ``now``: its standing state and
        its holds in force, in plain words."""
        parts = []
        standing = self.standing.get(scope)
        if standing is not None and standing.state is not TradingState.ACTIVE:
            parts.append(f"{scope} is {standing.state.value}: {standing.reason}")
        parts += [f"{scope} is {h.state.value} until {h.until.isoformat()} ({h.reason})"
                  for h in self.holds_in_force(scope, now)]
        return parts

    def city_reasons(self, city: str, now: datetime, kind: MarketKind | None = None) -> list[str]:
        """What holds ``city`` back beyond the whole book's reasons: its own scope, its breakers."""
        parts = self.reasons(city_scope(city), now)
        tripped = self.tripped(city, kind)
        if tripped:
            parts.append(f"breakers tripped: {', '.join(tripped)}")
        return parts


# -- the operator's commands -----------------------------------------------------------------------

def kill(states: TradingStates, operator: str, reason: str, now: datetime, version: int, *,
         correlation_id: uuid.UUID | None = None) -> list[Event]:
    """Halt all trading: ``KillSwitchEngaged`` (who and why) and ``TradingStateChanged`` all ->
    HALTED, at ``version`` and ``version + 1`` of ``OPERATOR_STREAM``. Never refused: pulling the
    switch twice records it twice. Cancelling resting orders is the order manager's part."""
    correlation = correlation_id or deterministic_id("operator command", OPERATOR_STREAM, version)
    engaged = KillSwitchEngaged(
        event_id=_event_id(version), stream=OPERATOR_STREAM, version=version, recorded_at=now,
        correlation_id=correlation, operator=operator, reason=reason)
    changed = TradingStateChanged(
        event_id=_event_id(version + 1), stream=OPERATOR_STREAM, version=version + 1,
        recorded_at=now, correlation_id=correlation, causation_id=engaged.event_id,
        previous=states.scope_state(ALL, now), state=TradingState.HALTED,
        reason=f"kill switch engaged by {operator}: {reason}", scope=ALL)
    return [engaged, changed]


def resume(states: TradingStates, operator: str, reason: str, now: datetime, version: int, *,
           scope: str = ALL, correlation_id: uuid.UUID | None = None) -> list[Event]:
    """Lift an operator's (or the kill switch's) halt of ``scope``: for ``all``, ``TradingResumed``
    and ``TradingStateChanged`` -> ACTIVE; for a city (``city:{code}``, e.g. after a reconciliation
    halt), the ``TradingStateChanged`` alone, its reason naming the operator.

    Refused with ``NotHalted`` when the scope's standing state is already ACTIVE. Drawdown holds
    and breakers are not the operator's to lift: they end with their period or with fresh data,
    and the error (or the new state's reason) says when one is still in force.
    """
    if scope != ALL and not scope.startswith("city:"):
        raise RiskError(f"scope {scope!r} is neither 'all' nor 'city:{{code}}'")
    standing = states.standing_state(scope)
    still = [f"{h.state.value} until {h.until.isoformat()} ({h.reason})"
             for h in states.holds_in_force(scope, now)]
    if standing is TradingState.ACTIVE:
        detail = f"; still in force: {'; '.join(still)}" if still else ""
        raise NotHalted(f"cannot resume {scope}: no operator or kill switch halted it{detail}")
    correlation = correlation_id or deterministic_id("operator command", OPERATOR_STREAM, version)
    events: list[Event] = []
    text = f"resumed by {operator}: {reason}"
    if still:
        text += f" (still in force: {'; '.join(still)})"
    if scope == ALL:
        events.append(TradingResumed(
            event_id=_event_id(version), stream=OPERATOR_STREAM, version=version, recorded_at=now,
            correlation_id=correlation, operator=operator, reason=reason))
    events.append(TradingStateChanged(
        event_id=_event_id(version + len(events)), stream=OPERATOR_STREAM,
        version=version + len(events), recorded_at=now, correlation_id=correlation,
        causation_id=events[0].event_id if events else None, previous=states.scope_state(scope, now),
        state=TradingState.ACTIVE, reason=text, scope=scope))
    return events


def _event_id(version: int) -> uuid.UUID:
    return deterministic_id("event", OPERATOR_STREAM, version)
