"""The projection runner: follows the global log and folds it into read-model tables.

Each batch of events is folded in memory by every projection that is behind it, then the changed rows
and each projection's new position are written in one transaction. The position update is checked
against the position the runner started the batch from, so two runners on one projection cannot
both apply a batch: the second gets ``ProjectionConflict`` and its transaction rolls back.
"""

from __future__ import annotations

import gc
import logging
import threading
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import datetime

from eventstore.backend import ReadModelTx
from eventstore.codec import EventView, decode_view, recorded_at_of, split_topic
from eventstore.ledger import Ledger
from eventstore.store import StoredRecord
from projections.base import Projection
from projections.memory import NO_ROWS, MemoryTables

TRACKING_TABLE = "milkbot_projection_tracking"
#: Each projection's schema version (``Projection.schema_version``) its rows were folded under.
SCHEMA_TABLE = "milkbot_projection_schema"
DEFAULT_BATCH = 5_000
#: Records read at a time by a fold into memory, whatever its batch (``fold_in_memory``).
READ_PIECE = 5_000
#: A topic's readers: for the whole event (``None``) or each view of it, the projections (by name).
Route = tuple[tuple[type[EventView] | None, tuple[tuple[str, Projection], ...]], ...]


@contextmanager
def collection_paused() -> Iterator[None]:
    """The cyclic garbage collector off while a batch is folded. Folding allocates an object or
    more per field of every event, and each few hundred allocations start a collection that
    walks the projections' whole state: a quarter of a rebuild's time on a big ledger. The
    events and rows a fold makes hold no cycles; what little it leaves is collected after."""
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


log = logging.getLogger(__name__)


class ProjectionConflict(RuntimeError):
    """Another runner moved this projection's position while we folded a batch."""


def ensure_tracking_table(tx: ReadModelTx) -> None:
    tx.execute(f"CREATE TABLE IF NOT EXISTS {TRACKING_TABLE} "
               "(name TEXT PRIMARY KEY, position BIGINT NOT NULL)")
    tx.execute(f"CREATE TABLE IF NOT EXISTS {SCHEMA_TABLE} "
               "(name TEXT PRIMARY KEY, version BIGINT NOT NULL)")


def read_schema(tx: ReadModelTx, projection: Projection) -> int | None:
    """The schema version the projection's rows were folded under: None when it has folded
    nothing yet; 1 when it folded before versions were recorded."""
    rows = tx.execute(f"SELECT version FROM {SCHEMA_TABLE} WHERE name = ?",
                      (tracking_key(projection),))
    if rows:
        return int(rows[0][0])
    return 1 if read_position(tx, projection) > 0 else None


def forget(tx: ReadModelTx, projection: Projection) -> None:
    """Drop the projection's tables and what the runner recorded of it (a scratch copy's)."""
    projection.drop_tables(tx)
    for table in (TRACKING_TABLE, SCHEMA_TABLE):
        tx.execute(f"DELETE FROM {table} WHERE name = ?", (tracking_key(projection),))


def settle_schema(tx: ReadModelTx, projection: Projection) -> bool:
    """Make the projection's rows its current schema's: rows folded under another version are
    dropped with its position, so it folds again from event 1. True when it was reset."""
    stored = read_schema(tx, projection)
    if stored == projection.schema_version:
        return False
    key = tracking_key(projection)
    if stored is not None:
        log.warning("projection %s: its rows are schema %d, the code's is %d: folding it again "
                    "from event 1", key, stored, projection.schema_version)
        projection.drop_tables(tx)
        tx.execute(f"DELETE FROM {TRACKING_TABLE} WHERE name = ?", (key,))
    tx.insert_rows(SCHEMA_TABLE, ("name", "version"), [(key, projection.schema_version)],
                   conflict_key=("name",))
    return stored is not None


def tracking_key(projection: Projection) -> str:
    return f"{projection.prefix}{projection.name}"


def read_position(tx: ReadModelTx, projection: Projection) -> int:
    rows = tx.execute(f"SELECT position FROM {TRACKING_TABLE} WHERE name = ?",
                      (tracking_key(projection),))
    return int(rows[0][0]) if rows else 0


class ProjectionRunner:
    def __init__(self, ledger: Ledger, projections: Sequence[Projection], *,
                 batch_size: int = DEFAULT_BATCH) -> None:
        self.ledger = ledger
        self.projections = list(projections)
        self.batch_size = batch_size
        self.positions: dict[str, int] = {}
        self.ledger_time: datetime | None = None
        #: Topic -> the projections that fold it, with their names.
        self._routes: dict[str, Route] = {}
        self._started = False

    def start(self) -> None:
        """Create missing tables, reset a projection whose schema changed (``settle_schema``),
        read each projection's position and rows."""
        self._routes = {}
        with self.ledger.backend.transaction() as tx:
            ensure_tracking_table(tx)
            for projection in self.projections:
                settle_schema(tx, projection)
                projection.create_tables(tx)
                self.positions[projection.name] = read_position(tx, projection)
                projection.load(tx)
        self._started = True

    @property
    def position(self) -> int:
        """The position every projection has reached (the slowest one's)."""
        return min(self.positions.values(), default=0)

    def catch_up(self, stop: int | None = None) -> int:
        """Fold everything recorded so far (up to ``stop``); returns how many events were read."""
        if not self._started:
            self.start()
        total = 0
        for records, reached in self._batches(stop):
            try:
                with collection_paused():
                    self._fold(records)
                self._commit(reached)
            except BaseException:
                # The batch is folded in memory but not committed: forget it, so the next call
                # starts again from what the tables hold.
                self._started = False
                raise
            total += len(records)
        return total

    def types(self) -> tuple[str, ...]:
        """The event types to read (every stored schema version of each) when no projection here
        reads the ledger clock; empty (read everything) when one does: the clock is the newest
        ``recorded_at`` of every event, folded or not. A record of a schema newer than the code
        knows is read, and fails to decode, rather than being skipped."""
        if any(p.uses_ledger_clock for p in self.projections):
            return ()
        return tuple(sorted(frozenset().union(*(p.consumes for p in self.projections))))

    def _batches(self, stop: int | None, size: int | None = None) -> (
        Iterator[tuple[list[StoredRecord], int]]
    ):
        """Batches of ``size`` records (the runner's batch size if not given) from the current
        position, each with the position it brings the projections to. While one is folded, the
        next is fetched on a second connection, so the database's time and ours overlap; a
        follower that finds at most one batch waiting starts no thread.

        Reading only some types, the last batch reaches the log's end as it was before the
        first read (appends come in position order, so nothing can land behind it later)."""
        types = self.types()
        if types:
            end = self.ledger.store.max_position()
            stop = end if stop is None else min(stop, end)

        size = size or self.batch_size

        def read(after: int) -> list[StoredRecord]:
            return self.ledger.store.read_records(after, size, stop=stop, types=types)

        after = self.position
        if stop is not None and after >= stop:
            return
        records = read(after)
        if len(records) == size:
            with ThreadPoolExecutor(max_workers=1, thread_name_prefix="prefetch") as prefetch:
                while len(records) == size:
                    after = records[-1].position
                    upcoming = prefetch.submit(read, after) if stop is None or after < stop else None
                    yield records, after
                    records = upcoming.result() if upcoming is not None else []
        if types:
            # Everything up to ``stop`` has been read, the last records maybe all skipped.
            assert stop is not None
            if records or after < stop:
                yield records, stop
        elif records:
            yield records, records[-1].position

    def _route(self, topic: str) -> Route:
        """Which projections fold ``topic``, grouped by what each reads of it: the whole event
        (``None``) or a view. Each is decoded once per record for all its readers."""
        name = split_topic(topic)[0]
        readers: dict[type[EventView] | None, list[tuple[str, Projection]]] = {}
        for p in self.projections:
            if name in p.consumes:
                readers.setdefault(p.views.get(name), []).append((p.name, p))
        # The whole event first: when a view and the event are both read, the event gives the
        # clock, and its decode is the one that names a corrupt record.
        return tuple(sorted(((view, tuple(folders)) for view, folders in readers.items()),
                            key=lambda route: route[0] is not None))

    def _fold(self, records: Sequence[StoredRecord]) -> None:
        # Only events some projection folds are decoded; the others just move the ledger clock.
        # Which projections fold a topic is worked out once per topic (an event's type is its
        # topic's class name), not once per event and projection.
        routes = self._routes
        positions = self.positions
        ledger_time = self.ledger_time
        try:
            for record in records:
                topic = record.topic
                route = routes.get(topic)
                if route is None:
                    route = routes[topic] = self._route(topic)
                if not route:
                    recorded_at = recorded_at_of(topic, record.data, record.position)
                    if ledger_time is None or recorded_at > ledger_time:
                        ledger_time = recorded_at
                    continue
                position = record.position
                for view, folders in route:
                    event = record.decode() if view is None else decode_view(
                        view, topic, record.data, position)
                    recorded_at = event.recorded_at
                    if ledger_time is None or recorded_at > ledger_time:
                        ledger_time = recorded_at
                    for name, projection in folders:
                        if position > positions[name]:
                            projection.apply(event, ledger_time)
        finally:
            self.ledger_time = ledger_time

    def fold_in_memory(self, stop: int) -> tuple[int, MemoryTables]:
        """Fold every projection from event 1 to ``stop`` into tables held in memory
        (``projections.memory``), flushed once per batch as ``catch_up`` folds into the database;
        returns the events read and the tables. What a rebuild compares with the live rows: the
        read model is neither read nor written. The runner starts again from its tables after.

        The log is read in pieces of ``READ_PIECE`` records however big the batch: a batch read
        whole is a few hundred megabytes of records allocated at once, then freed, and faulted in
        again for the next one (a tenth of the time of reading a big ledger)."""
        tables = MemoryTables(self.projections)
        self._routes = {}
        self.ledger_time = None
        for projection in self.projections:
            projection.load(NO_ROWS)
            self.positions[projection.name] = 0
        self._started = True
        total = 0
        unflushed: int | None = None  # records folded since the last flush; None: nothing read
        try:
            for records, reached in self._batches(stop, min(READ_PIECE, self.batch_size)):
                with collection_paused():
                    self._fold(records)
                for projection in self.projections:
                    self.positions[projection.name] = reached
                total += len(records)
                unflushed = (unflushed or 0) + len(records)
                if unflushed >= self.batch_size:
                    self._flush(tables, self.projections)
                    unflushed = None
            if unflushed is not None:
                self._flush(tables, self.projections)
        finally:
            self._started = False
            self.ledger_time = None
        return total, tables

    def _commit(self, last: int) -> None:
        behind = [p for p in self.projections if self.positions[p.name] < last]
        with self.ledger.backend.transaction() as tx:
            self._flush(tx, behind)
            for projection in behind:
                self._save_position(tx, projection, self.positions[projection.name], last)
        for projection in behind:
            self.positions[projection.name] = last

    def _flush(self, tx: ReadModelTx, projections: Sequence[Projection]) -> None:
        for projection in projections:
            if self.ledger_time is not None:  # (only None when nothing was read: no clock)
                projection.advance_clock(self.ledger_time)
            projection.flush(tx)

    def _save_position(self, tx: ReadModelTx, projection: Projection, old: int, new: int) -> None:
        key = tracking_key(projection)
        if old == 0:
            rows = tx.execute(f"INSERT INTO {TRACKING_TABLE} (name, position) VALUES (?, ?) "
                              "ON CONFLICT (name) DO NOTHING RETURNING position", (key, new))
        else:
            rows = tx.execute(f"UPDATE {TRACKING_TABLE} SET position = ? "
                              "WHERE name = ? AND position = ? RETURNING position", (new, key, old))
        if not rows:
            raise ProjectionConflict(
                f"projection {key} was moved past position {old} by another runner")

    def follow(self, stop: threading.Event, *, poll_interval: float = 0.2) -> None:
        """Keep up with the log until ``stop`` is set; new events are folded within a second."""
        while not stop.is_set():
            if self.catch_up() == 0:
                self.ledger.backend.wait_for_append(poll_interval)
