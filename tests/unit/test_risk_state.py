"""The trading state folded from the ledger, the kill switch and resume."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from domain.events import (
    Event,
    KillSwitchEngaged,
    MarketKind,
    TradingResumed,
    TradingState,
    TradingStateChanged,
)
from domain.risk import OPERATOR_STREAM, NotHalted, RiskError, TradingStates, kill, resume, worst
from tests.builders import (
    T0,
    a_breaker_cleared,
    a_breaker_tripped,
    a_kill_switch,
    a_trading_resumed,
    a_trading_state_changed,
    an_order_filled,
    at,
)

ACTIVE, REDUCING, HALTED = TradingState.ACTIVE, TradingState.REDUCING, TradingState.HALTED
UNTIL = at(60)


def state(events: list[Event], city: str = "NYC", now: datetime = T0) -> TradingState:
    return TradingStates.fold(events).state_for(city, now)


def test_nothing_recorded_is_active() -> None:
    assert TradingStates().state_for("NYC", T0) is ACTIVE


def test_worst_orders_the_states() -> None:
    assert worst() is ACTIVE
    assert worst(ACTIVE, REDUCING) is REDUCING
    assert worst(REDUCING, HALTED, ACTIVE) is HALTED


def test_a_scope_all_change_applies_to_every_city() -> None:
    events: list[Event] = [a_trading_state_changed(HALTED)]
    assert state(events, "NYC") is HALTED and state(events, "CHI") is HALTED


def test_a_city_change_applies_to_that_city_only() -> None:
    events: list[Event] = [a_trading_state_changed(HALTED, scope="city:NYC")]
    assert state(events, "NYC") is HALTED
    assert state(events, "CHI") is ACTIVE


def test_the_latest_standing_change_of_a_scope_wins() -> None:
    events: list[Event] = [a_trading_state_changed(HALTED, version=1),
                           a_trading_state_changed(REDUCING, version=2)]
    assert state(events) is REDUCING


def test_the_worst_of_the_book_the_city_and_the_breakers_applies() -> None:
    events: list[Event] = [a_trading_state_changed(REDUCING, scope="all"),
                           a_trading_state_changed(HALTED, scope="city:CHI", stream="other")]
    assert state(events, "NYC") is REDUCING
    assert state(events, "CHI") is HALTED


def test_a_hold_lasts_until_its_time_and_lifts_by_itself() -> None:
    states = TradingStates.fold([a_trading_state_changed(REDUCING, until=UNTIL)])

    assert states.state_for("NYC", UNTIL - timedelta(microseconds=1)) is REDUCING
    assert states.state_for("NYC", UNTIL) is ACTIVE


def test_a_hold_outlasts_a_standing_change_of_its_scope() -> None:
    events: list[Event] = [
        a_trading_state_changed(REDUCING, until=UNTIL, stream="drawdown:daily:2026-08-28"),
        a_trading_state_changed(ACTIVE, version=2, recorded_at=at(1))]
    assert state(events, now=at(2)) is REDUCING
    assert state(events, now=UNTIL) is ACTIVE


def test_expired_holds_are_dropped_as_the_ledgers_clock_passes_them() -> None:
    hold = a_trading_state_changed(REDUCING, until=UNTIL)
    before = a_trading_state_changed(HALTED, scope="city:X", version=2, recorded_at=at(59))
    after = a_trading_state_changed(HALTED, scope="city:X", version=2, recorded_at=UNTIL)

    assert len(TradingStates.fold([hold, before]).holds) == 1
    assert TradingStates.fold([hold, after]).holds == ()


def test_an_active_until_holds_nothing_back() -> None:
    assert TradingStates.fold([a_trading_state_changed(ACTIVE, until=UNTIL)]).holds == ()


def test_breakers_trip_their_city_to_reducing_and_clear() -> None:
    tripped: list[Event] = [a_breaker_tripped("NYC", "weather:daily_high")]
    assert state(tripped, "NYC") is REDUCING
    assert state(tripped, "PHL") is ACTIVE
    assert state([*tripped, a_breaker_cleared("NYC", "weather:daily_high")], "NYC") is ACTIVE
    # A halt still beats a breaker.
    assert state([*tripped, a_trading_state_changed(HALTED)], "NYC") is HALTED


def test_the_kind_narrows_which_breakers_count() -> None:
    states = TradingStates.fold([a_breaker_tripped("NYC", "market:monthly_snow")])
    assert states.state_for("NYC", T0, MarketKind.DAILY_HIGH) is ACTIVE
    assert states.state_for("NYC", T0, MarketKind.MONTHLY_SNOW) is REDUCING
    assert states.tripped("NYC") == ("market:monthly_snow",)


def test_why_says_what_holds_a_city_back() -> None:
    states = TradingStates.fold(history(killed=False))
    assert TradingStates().why("NYC", T0) == ""
    assert states.why("CHI", at(5)) == (
        "all is reducing until 2026-08-28T15:00:00+00:00 (test); breakers tripped: market:daily_high")
    assert states.why("PHL", at(5)).endswith("city:PHL is halted: test")
    killed = TradingStates.fold(kill(TradingStates(), "alice", "storm", at(2), 1), states)
    assert "all is halted: kill switch engaged by alice: storm" in killed.why("NYC", at(5))


def test_events_that_are_not_about_the_state_change_nothing() -> None:
    assert TradingStates.fold([an_order_filled("f-1")]) == TradingStates()


# -- restart ----------------------------------------------------------------------------------

def history(*, killed: bool = True) -> list[Event]:
    return [a_trading_state_changed(REDUCING, until=UNTIL, stream="drawdown:daily:2026-08-28"),
            a_breaker_tripped("CHI", "market:daily_high", recorded_at=at(1)),
            *(kill(TradingStates(), "ops", "storm", at(2), 1) if killed else ()),
            a_trading_state_changed(HALTED, scope="city:PHL", stream="reconcile", recorded_at=at(3))]


def test_folding_the_same_events_again_gives_the_same_state() -> None:
    assert TradingStates.fold(history()) == TradingStates.fold(history())


def test_folding_in_two_parts_gives_what_folding_at_once_gives() -> None:
    events = history()
    assert TradingStates.fold(events[2:], TradingStates.fold(events[:2])) == TradingStates.fold(events)


def test_a_restart_keeps_a_halt_and_a_hold() -> None:
    restarted = TradingStates.fold(history())
    assert restarted.state_for("NYC", at(5)) is HALTED
    resumed = TradingStates.fold(resume(restarted, "ops", "clear", at(5), 3), restarted)
    assert resumed.state_for("NYC", at(5)) is REDUCING  # the drawdown hold is still in force
    assert resumed.state_for("PHL", at(5)) is HALTED
    assert resumed.state_for("CHI", at(5)) is REDUCING  # its breaker
    assert resumed.state_for("NYC", UNTIL) is ACTIVE


# -- kill and resume ----------------------------------------------------------------------------

def test_kill_records_who_and_why_and_halts_everything() -> None:
    engaged, changed = kill(TradingStates(), "alice", "venue outage", T0, 7)

    assert isinstance(engaged, KillSwitchEngaged) and (engaged.operator, engaged.reason) == (
        "alice", "venue outage")
    assert isinstance(changed, TradingStateChanged)
    assert (changed.previous, changed.state, changed.scope, changed.until) == (ACTIVE, HALTED, "all", None)
    assert [(e.stream, e.version) for e in (engaged, changed)] == [(OPERATOR_STREAM, 7),
                                                                 (OPERATOR_STREAM, 8)]
    assert changed.causation_id == engaged.event_id
    assert "alice" in changed.reason and "venue outage" in changed.reason
    assert TradingStates.fold([engaged, changed]).state_for("NYC", T0) is HALTED


def test_the_kill_switch_alone_halts_and_resumed_alone_lifts() -> None:
    assert state([a_kill_switch()]) is HALTED
    assert state([a_kill_switch(), a_trading_resumed(version=2)]) is ACTIVE


def test_a_retried_kill_has_the_same_ids() -> None:
    first = kill(TradingStates(), "alice", "outage", T0, 1)
    again = kill(TradingStates(), "alice", "outage", at(1), 1)
    assert [e.event_id for e in first] == [e.event_id for e in again]


def test_resume_returns_a_killed_book_to_active() -> None:
    killed = TradingStates.fold(kill(TradingStates(), "alice", "outage", T0, 1))

    resumed, changed = resume(killed, "bob", "venue back", at(10), 3)

    assert isinstance(resumed, TradingResumed) and resumed.operator == "bob"
    assert isinstance(changed, TradingStateChanged)
    assert (changed.previous, changed.state, changed.version) == (HALTED, ACTIVE, 4)
    assert TradingStates.fold([resumed, changed], killed).state_for("NYC", at(10)) is ACTIVE


def test_resume_is_refused_when_nothing_is_halted() -> None:
    with pytest.raises(NotHalted, match="cannot resume all: no operator or kill switch halted it"):
        resume(TradingStates(), "bob", "why not", T0, 1)


def test_resume_refused_during_a_drawdown_hold_says_what_holds() -> None:
    held = TradingStates.fold([a_trading_state_changed(REDUCING, until=UNTIL, reason="daily drawdown")])
    with pytest.raises(NotHalted, match=r"still in force: reducing until .* \(daily drawdown\)"):
        resume(held, "bob", "let me trade", T0, 1)


def test_resume_of_a_city_lifts_that_citys_halt_only() -> None:
    halted = TradingStates.fold([a_trading_state_changed(HALTED, scope="city:PHL"),
                                 a_trading_state_changed(HALTED, scope="city:NYC", stream="x")])

    (changed,) = resume(halted, "bob", "positions match again", T0, 1, scope="city:PHL")

    assert isinstance(changed, TradingStateChanged) and changed.scope == "city:PHL"
    assert "bob" in changed.reason
    after = TradingStates.fold([changed], halted)
    assert after.state_for("PHL", T0) is ACTIVE and after.state_for("NYC", T0) is HALTED


def test_resume_of_an_unknown_scope_is_refused() -> None:
    with pytest.raises(RiskError, match="neither"):
        resume(TradingStates.fold([a_kill_switch()]), "bob", "x", T0, 2, scope="cluster:northeast")
