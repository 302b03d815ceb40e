"""The kill switch and resume from the command line: recorded with who and why, on both backends."""

from __future__ import annotations

import orjson
import pytest

from domain.events import KillSwitchEngaged, TradingResumed, TradingState, TradingStateChanged
from eventstore import open_ledger
from milkbot.cli import EXIT_ERROR, main
from milkbot.operator import trading_states
from tests.builders import a_market_snapshot


@pytest.fixture
def ledger_url(database_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("MILKBOT_DATABASE_URL", database_url)
    return database_url


def test_kill_halts_everything_and_resume_lifts_it(ledger_url: str,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["kill", "--reason", "forecast feed looks wrong", "--operator", "ann"]) == 0
    assert "kill switch engaged by ann" in capsys.readouterr().out
    with open_ledger(ledger_url) as ledger:
        events = [r.event for r in ledger.store.iter_events()]
        states = trading_states(ledger.store)
    engaged, changed = events
    assert isinstance(engaged, KillSwitchEngaged) and (engaged.operator, engaged.reason) == (
        "ann", "forecast feed looks wrong")
    assert isinstance(changed, TradingStateChanged) and changed.state is TradingState.HALTED
    assert states.state_for("NYC", changed.recorded_at) is TradingState.HALTED

    assert main(["status", "--json"]) == 0
    assert orjson.loads(capsys.readouterr().out)["trading"]["state"] == "halted"

    assert main(["resume", "--reason", "checked the feed", "--operator", "bob"]) == 0
    with open_ledger(ledger_url) as ledger:
        last = [r.event for r in ledger.store.iter_events()][-2:]
        assert trading_states(ledger.store).state_for("NYC", last[-1].recorded_at) is TradingState.ACTIVE
    assert isinstance(last[0], TradingResumed) and last[0].operator == "bob"


def test_resuming_what_is_not_halted_is_refused_and_records_nothing(
        ledger_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["resume", "--reason", "just in case"]) == EXIT_ERROR
    assert "cannot resume all" in capsys.readouterr().err
    with open_ledger(ledger_url) as ledger:
        assert ledger.store.max_position() == 0


def test_kill_requires_a_reason(ledger_url: str) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["kill"])
    assert exited.value.code == 2


def test_the_trading_states_are_read_without_a_scan_of_the_log(
        ledger_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # The kill switch must answer at once on a ledger of millions of events: the few state
    # events are found through the topic index, the snapshots and decisions around them unread.
    with open_ledger(ledger_url) as ledger:
        ledger.store.append([a_market_snapshot(version=1)])
    assert main(["kill", "--reason", "feed looks wrong"]) == 0
    with open_ledger(ledger_url) as ledger:
        ledger.store.append([a_market_snapshot(version=2)])

        def scan(*args: object, **kwargs: object) -> None:
            raise AssertionError("the whole log was read")

        monkeypatch.setattr(ledger.store, "read_records", scan)
        states = trading_states(ledger.store)
    assert states.standing_state("all") is TradingState.HALTED
