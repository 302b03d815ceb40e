"""The hash chain over the log: editing a stored event, deleting one or swapping two is caught at
the first position it touches, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest

from eventstore import Ledger
from eventstore.chain import (
    GENESIS,
    PublishedHead,
    ensure_table,
    head,
    head_at,
    seal,
    verify_chain,
)
from tests.builders import a_climate_report, an_order_filled, at

POSITION = {"sqlite": "rowid", "postgres": "notification_id"}


def filled_ledger(ledger: Ledger, count: int = 12) -> list[int]:
    positions: list[int] = []
    for i in range(count):
        positions += ledger.store.append([an_order_filled(f"fill-chain-{i}")]).positions
    return positions


def tamper(ledger: Ledger, sql: Callable[[str], str], params: tuple[object, ...]) -> None:
    with ledger.backend.transaction() as tx:
        tx.execute(sql(POSITION[ledger.store.backend_name]), params)


def test_an_untouched_log_verifies_and_the_tail_is_sealed_by_the_next_seal(ledger: Ledger) -> None:
    assert head(ledger) == (0, GENESIS)
    positions = filled_ledger(ledger)
    assert seal(ledger) == len(positions)
    assert seal(ledger) == 0  # nothing new
    ledger.store.append([a_climate_report()])
    report = verify_chain(ledger)
    assert report.ok and (report.sealed, report.unsealed) == (len(positions), 1)
    assert seal(ledger) == 1 and verify_chain(ledger).unsealed == 0
    assert head(ledger)[0] == ledger.store.max_position()


def test_editing_a_stored_event_is_caught_where_it_was_edited(ledger: Ledger) -> None:
    positions = filled_ledger(ledger)
    seal(ledger)
    target = positions[5]
    [record] = ledger.store.read_records(target - 1, 1)
    edited = record.data.replace(b'"count":1000', b'"count":1001')
    assert edited != record.data
    tamper(ledger, lambda pos: f"UPDATE stored_events SET state = ? WHERE {pos} = ?", (edited, target))
    report = verify_chain(ledger)
    assert report.broken_at == target and "does not match its seal" in (report.problem or "")


def test_deleting_an_event_is_caught_at_its_position(ledger: Ledger) -> None:
    positions = filled_ledger(ledger)
    seal(ledger)
    tamper(ledger, lambda pos: f"DELETE FROM stored_events WHERE {pos} = ?", (positions[3],))
    report = verify_chain(ledger)
    assert report.broken_at == positions[3] and "no longer in the log" in (report.problem or "")


def test_swapping_two_events_is_caught_at_the_first(ledger: Ledger) -> None:
    positions = filled_ledger(ledger)
    seal(ledger)
    first, second = positions[2], positions[7]
    [a] = ledger.store.read_records(first - 1, 1)
    [b] = ledger.store.read_records(second - 1, 1)
    # Swap the two records' contents (each keeps the other's stream slot: a reordering).
    tamper(ledger, lambda pos: f"DELETE FROM stored_events WHERE {pos} IN (?, ?)", (first, second))
    for position, record in ((first, b), (second, a)):
        tamper(ledger, lambda pos: f"INSERT INTO stored_events ({pos}, originator_id, originator_version, "
                                   "topic, state) VALUES (?, ?, ?, ?, ?)",
               (position, record.stream, record.version, record.topic, record.data))
    report = verify_chain(ledger)
    assert report.broken_at == first


def test_a_sealer_behind_another_does_not_fork_the_chain(ledger: Ledger,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    filled_ledger(ledger, 3)
    seal(ledger)
    sealed_head = head(ledger)
    # A sealer that read the head before another one wrote: its insert conflicts, and it stops.
    monkeypatch.setattr("eventstore.chain.head", lambda _ledger: (0, GENESIS))
    assert seal(ledger) == 0
    monkeypatch.undo()
    assert head(ledger) == sealed_head and verify_chain(ledger).ok


def test_the_published_head_is_the_newest_seal_at_or_before_the_cutoff(ledger: Ledger) -> None:
    ensure_table(ledger)  # (as the public app does when it starts)
    times = [at(10 * i) for i in range(9)]
    positions = [ledger.store.append([an_order_filled(f"fill-head-{i}", recorded_at=t)]).positions[0]
                 for i, t in enumerate(times)]
    assert head_at(ledger, times[-1]) is None  # nothing sealed yet: nothing to show
    seal(ledger)
    with ledger.backend.snapshot() as tx:
        seals = dict(tx.execute("SELECT position, hash FROM ledger_chain"))

    for position, moment in zip(positions, times, strict=True):
        expected = PublishedHead(position, seals[position], moment)
        assert head_at(ledger, moment) == expected
        assert head_at(ledger, moment + timedelta(minutes=9)) == expected
    assert head_at(ledger, times[0] - timedelta(seconds=1)) is None

    # A newer record, old enough but not sealed yet, is not shown; once sealed it is.
    newest = ledger.store.append([an_order_filled("fill-head-new", recorded_at=at(200))])
    assert head_at(ledger, at(300)) == PublishedHead(positions[-1], seals[positions[-1]], times[-1])
    seal(ledger)
    published = head_at(ledger, at(300))
    assert published is not None and published.position == newest.positions[0]
    assert verify_chain(ledger).head == (published.position, published.hash)
