"""The event store's contract, run against every backend (SQLite and a real PostgreSQL)."""

from __future__ import annotations

import threading
from typing import Any, ClassVar

import pytest

from domain.events import Event, OrderAccepted, deterministic_id
from domain.events.upcasting import _UPCASTERS, upcaster
from eventstore import ConcurrencyConflict, CorruptEvent, Ledger, open_ledger
from eventstore.codec import EventView, decode_view
from tests.builders import (
    a_market_snapshot,
    an_order_accepted,
    an_order_filled,
    an_order_submitted,
    envelope,
    every_event_type,
)


def test_appends_are_read_back_in_global_order(ledger: Ledger) -> None:
    first = ledger.store.append(every_event_type())
    second = ledger.store.append([an_order_filled("f-2")])

    assert list(first.positions) == sorted(first.positions)
    assert second.positions[0] > first.positions[-1]
    read = ledger.store.read()
    assert [r.position for r in read] == [*first.positions, *second.positions]
    assert [r.event for r in read] == [*every_event_type(), an_order_filled("f-2")]
    assert ledger.store.max_position() == second.positions[0]


def test_appending_the_same_command_twice_records_it_once(ledger: Ledger) -> None:
    command = every_event_type()
    ledger.store.append(command)

    again = ledger.store.append(command)

    assert again.already_recorded
    assert again.duplicates == len(command)
    assert len(ledger.store.read()) == len(command)


def test_a_command_partly_recorded_records_only_what_is_new(ledger: Ledger) -> None:
    submitted = an_order_submitted("c-1")
    ledger.store.append([submitted])

    result = ledger.store.append([submitted, an_order_accepted("c-1")])

    assert result.duplicates == 1
    assert len(result.positions) == 1
    assert [type(e) for e in ledger.store.read_stream("order:c-1")] == [
        type(submitted), OrderAccepted]


def test_a_taken_version_is_a_conflict_and_records_nothing_of_the_command(ledger: Ledger) -> None:
    ledger.store.append([an_order_submitted("c-1"), an_order_accepted("c-1")])
    rival = OrderAccepted(**{**envelope("order:c-1", 2, key="rival")}, client_order_id="c-1",
                          venue_order_id="other")
    innocent = an_order_submitted("c-2")

    with pytest.raises(ConcurrencyConflict) as caught:
        ledger.store.append([innocent, rival])

    assert (caught.value.stream, caught.value.version) == ("order:c-1", 2)
    assert ledger.store.stream_version("order:c-2") == 0
    assert ledger.store.read_stream("order:c-1")[1].venue_order_id == "v-c-1"


def test_concurrent_writers_to_one_stream_never_lose_or_duplicate(database_url: str) -> None:
    writers, rounds = 4, 15
    ledgers = [open_ledger(database_url) for _ in range(writers)]
    ledgers[0].store.append([an_order_submitted("shared")])
    outcomes: list[str] = []
    lock = threading.Lock()
    start = threading.Barrier(writers)

    def write(n: int) -> None:
        store = ledgers[n].store
        start.wait()
        for i in range(rounds):
            version = store.stream_version("order:shared") + 1
            event = OrderAccepted(**envelope("order:shared", version, key=(n, i)),
                                  client_order_id="shared", venue_order_id=f"w{n}-{i}")
            try:
                store.append([event])
                result = "won"
            except ConcurrencyConflict:
                result = "conflict"
            with lock:
                outcomes.append(result)

    threads = [threading.Thread(target=write, args=(n,)) for n in range(writers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    try:
        events = ledgers[0].store.read_stream("order:shared")
        assert [e.version for e in events] == list(range(1, len(events) + 1))
        assert len(events) == 1 + outcomes.count("won")
        assert len(outcomes) == writers * rounds
        assert len({e.event_id for e in events}) == len(events)
    finally:
        for opened in ledgers:
            opened.close()


def test_a_large_command_is_written_in_one_transaction_without_hanging(ledger: Ledger) -> None:
    # A single save of more than ~2,000 events once hung forever in psycopg's pipeline sync.
    command = [an_order_filled(f"bulk-{i}") for i in range(5_000)]
    done = threading.Event()

    def append() -> None:
        ledger.store.append(command)
        done.set()

    worker = threading.Thread(target=append, daemon=True)
    worker.start()
    worker.join(timeout=120)

    assert done.is_set(), "appending 5,000 events did not finish"
    assert ledger.store.max_position() >= 5_000
    assert sum(1 for _ in ledger.store.iter_records()) == 5_000


def test_streams_are_read_by_version(ledger: Ledger) -> None:
    ledger.store.append([a_market_snapshot(version=1), an_order_filled("f-1")])
    ledger.store.append([a_market_snapshot(version=2)])

    stream = "market:KXHIGHNY-26AUG28"
    assert ledger.store.stream_version(stream) == 2
    assert [e.version for e in ledger.store.read_stream(stream)] == [1, 2]
    assert [e.version for e in ledger.store.read_stream(stream, after_version=1)] == [2]
    assert ledger.store.stream_version("nothing:here") == 0


def test_the_schema_is_created_on_first_start_and_reopening_keeps_everything(
    database_url: str,
) -> None:
    with open_ledger(database_url) as first:
        first.store.append(every_event_type())
    with open_ledger(database_url) as second:
        assert len(second.store.read()) == len(every_event_type())


def test_a_corrupt_record_stops_the_reader_naming_its_position_and_type(ledger: Ledger) -> None:
    ledger.store.append([an_order_filled("f-1"), an_order_filled("f-2")])
    with ledger.backend.transaction() as tx:
        tx.execute("UPDATE stored_events SET state = ? WHERE originator_id = ?",
                   (b'{"event_id": "not json', "fill:f-2"))

    with pytest.raises(CorruptEvent) as caught:
        ledger.store.read()

    assert caught.value.position == 2
    assert caught.value.topic == "OrderFilled.v1"
    assert "position 2" in str(caught.value)


def test_an_unknown_event_type_is_corrupt_never_skipped(ledger: Ledger) -> None:
    ledger.store.append([an_order_filled("f-1")])
    with ledger.backend.transaction() as tx:
        tx.execute("UPDATE stored_events SET topic = ?", ("OrderTeleported.v1",))

    with pytest.raises(CorruptEvent, match="unknown event type 'OrderTeleported'"):
        list(ledger.store.iter_events())


def test_a_record_that_breaks_its_schema_is_corrupt(ledger: Ledger) -> None:
    ledger.store.append([an_order_filled("f-1", price=4300)])
    with ledger.backend.transaction() as tx:
        (state,) = tx.execute("SELECT state FROM stored_events")[0]
        tx.execute("UPDATE stored_events SET state = ?",
                   (bytes(state).replace(b'"price":4300', b'"price":43000'),))

    with pytest.raises(CorruptEvent, match="price"):
        ledger.store.read()


class Renamed(Event):
    """A test event whose v1 had ``old_name``; v2 calls it ``new_name``."""

    SCHEMA_VERSION: ClassVar[int] = 2
    new_name: str


@pytest.fixture
def renamed_upcaster():
    @upcaster("Renamed", from_version=1)
    def v1_to_v2(data: dict) -> dict:
        data = dict(data)
        data["new_name"] = data.pop("old_name")
        return data

    yield
    del _UPCASTERS[("Renamed", 1)]


@pytest.mark.usefixtures("renamed_upcaster")
def test_old_schema_versions_are_upcast_on_read(ledger: Ledger) -> None:
    from eventsourcing.persistence import StoredEvent

    fields = envelope("renamed:1")
    v1_state = (b'{"event_id":"%s","stream":"renamed:1","version":1,'
                b'"recorded_at":"2026-08-28T14:00:00Z","venue_time":null,'
                b'"correlation_id":"%s","causation_id":null,"old_name":"kept"}'
                % (str(fields["event_id"]).encode(), str(fields["correlation_id"]).encode()))
    ledger.backend.insert([StoredEvent(originator_id="renamed:1", originator_version=1,
                                       topic="Renamed.v1", state=v1_state)])

    (recorded,) = ledger.store.read()

    assert isinstance(recorded.event, Renamed)
    assert recorded.event.new_name == "kept"
    assert recorded.event.event_id == deterministic_id("test", "renamed:1", 1, None)
    # Selected by type, an old record is found; a view of it is taken of the upcast event.
    (record,) = ledger.store.read_records(types=["Renamed"])
    assert record.type_name == "Renamed"
    assert ledger.store.read_records(types=["OrderFilled"]) == []
    view = decode_view(NewNameRead, record.topic, record.data, record.position)
    assert (view.new_name, view.stream) == ("kept", "renamed:1")


def test_sparse_types_are_found_through_the_topic_index_in_every_version(ledger: Ledger) -> None:
    from eventsourcing.persistence import StoredEvent

    ledger.store.append([a_market_snapshot()])
    first = ledger.store.append([an_order_submitted("s-1"), an_order_accepted("s-1")]).positions[0]
    # Another schema version (a newer one than the code's too), and names that begin alike.
    ledger.backend.insert([StoredEvent(originator_id=f"raw:{n}", originator_version=1,
                                       topic=topic, state=b"{}")
                           for n, topic in enumerate(["OrderSubmitted.v7", "Order.v1",
                                                      "OrderSubmittedLater.v1", "Order.v2"])])
    wanted = ["OrderSubmitted", "Order"]

    found = ledger.store.sparse_records(wanted)

    assert [r.topic for r in found] == ["OrderSubmitted.v1", "OrderSubmitted.v7", "Order.v1",
                                        "Order.v2"]
    assert found == ledger.store.read_records(types=wanted)
    assert [r.position for r in found] == sorted(r.position for r in found)
    assert ledger.store.sparse_records(wanted, after=first)[0].topic == "OrderSubmitted.v7"
    assert ledger.store.sparse_records([]) == []
    with ledger.backend.transaction() as tx:
        indexed = tx.execute(
            "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'stored_events'"
            if ledger.backend.name == "sqlite" else
            "SELECT indexname FROM pg_indexes WHERE tablename = 'stored_events'")
    assert ("stored_events_topic",) in [tuple(row) for row in indexed]


class NewNameRead(EventView):
    new_name: str


def test_a_group_commit_records_each_command_as_append_would(ledger: Ledger) -> None:
    first, second = [an_order_submitted("g-1")], [an_order_submitted("g-2"),
                                                   an_order_accepted("g-2")]

    results = ledger.store.append_many([first, [], second])

    assert [len(r.positions) for r in results] == [1, 2]
    assert [r.event for r in ledger.store.read()] == [*first, *second]


def test_a_group_commit_with_a_retried_command_falls_back_to_one_by_one(ledger: Ledger) -> None:
    ledger.store.append([an_order_submitted("g-1")])
    rival = OrderAccepted(**envelope("order:g-1", 1, key="rival"), client_order_id="g-1",
                          venue_order_id="x")

    retried, fresh = ledger.store.append_many([[an_order_submitted("g-1")],
                                               [an_order_submitted("g-3")]])
    assert retried.already_recorded
    assert len(fresh.positions) == 1

    with pytest.raises(ConcurrencyConflict):
        ledger.store.append_many([[rival]])
    assert ledger.store.stream_version("order:g-1") == 1


@pytest.mark.postgres
def test_processes_opening_a_new_postgres_ledger_at_once_all_open_it(postgres_server: Any) -> None:
    """Each creates the tables and functions if missing; they take turns (an advisory lock), so
    none fails on another's half-made schema ("tuple concurrently updated")."""
    import multiprocessing

    url = postgres_server.fresh_database_url()
    context = multiprocessing.get_context("forkserver")
    with context.Pool(4) as pool:
        positions = pool.map(_open_and_count, [url] * 8)
    assert positions == [0] * 8


def _open_and_count(url: str) -> int:
    with open_ledger(url) as ledger:
        return ledger.store.max_position()


def test_a_snapshot_sees_one_state_and_blocks_no_writer(database_url: str) -> None:
    with open_ledger(database_url) as reader, open_ledger(database_url) as writer:
        with writer.backend.transaction() as tx:
            tx.execute("CREATE TABLE IF NOT EXISTS snap_t (k TEXT PRIMARY KEY, v BIGINT NOT NULL)")
            tx.insert_rows("snap_t", ("k", "v"), [("a", 1)])
        with reader.backend.snapshot() as snap:
            assert snap.execute("SELECT k, v FROM snap_t") == [("a", 1)]
            # Another connection writes while the snapshot is open (a rebuild's workers, a live
            # runner): it is not kept waiting...
            with writer.backend.transaction() as tx:
                tx.execute("UPDATE snap_t SET v = 2")
                tx.insert_rows("snap_t", ("k", "v"), [("b", 3)])
            # ...and the snapshot still reads the state of its first read.
            assert snap.execute("SELECT k, v FROM snap_t ORDER BY k") == [("a", 1)]
        with reader.backend.snapshot() as after:
            assert after.execute("SELECT k, v FROM snap_t ORDER BY k") == [("a", 2), ("b", 3)]
