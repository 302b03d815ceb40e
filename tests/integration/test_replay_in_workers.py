"""Replaying decisions in worker processes gives exactly what replaying them here gives: the same
results in the same order, whether a decision replays, differs, lost an input or is unreadable."""

from __future__ import annotations

from domain.events import DecisionMade
from eventstore import Ledger
from replay.decisions import Replayed, replay_all
from tests.integration.test_ledger_chain import tamper
from tests.integration.test_replay_decisions import record_decisions


def both_ways(ledger: Ledger) -> list[Replayed]:
    here = list(replay_all(ledger.store, workers=1))
    counted: list[int] = []
    in_workers = list(replay_all(ledger.store, workers=2, progress=counted.append))
    assert in_workers == here and len(counted) == len(here)
    return here


def test_workers_replay_what_this_process_replays(ledger: Ledger) -> None:
    decisions = record_decisions(ledger)
    results = both_ways(ledger)
    assert len(results) == len(decisions) and all(r.ok for r in results)


def test_and_fail_what_it_fails_for_the_same_reasons(ledger: Ledger) -> None:
    decisions: list[DecisionMade] = record_decisions(ledger)
    first, last = decisions[0], decisions[-1]
    snapshot = ledger.store.read_stream_records(f"market:{last.event_ticker}")[0]
    tamper(ledger, lambda pos: f"UPDATE stored_events SET state = ? WHERE {pos} = ?",
           (snapshot.data.replace(b"[3000,1000]", b"[3400,1000]", 1), snapshot.position))
    tamper(ledger, lambda pos: "DELETE FROM stored_events WHERE originator_id = ?",
           (f"market:{first.event_ticker}",))
    unreadable = ledger.store.read_stream_records(f"decision:{decisions[1].decision_id}")[0]
    tamper(ledger, lambda pos: f"UPDATE stored_events SET state = ? WHERE {pos} = ?",
           (b'{"not": "a decision"}', unreadable.position))
    results = both_ways(ledger)
    problems = [r.problem or ("ok" if r.ok else "differs") for r in results]
    assert problems[0].startswith("inputs:") and problems[1].startswith("unreadable:")
    assert problems[-1] == "differs"
