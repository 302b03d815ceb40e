"""The projection runner: follows the global log and folds it into read-model tables.

Each batch of events is folded in memory by every projection that is behind it, then the changed rows
and each projection's new position are written in one transaction. The position update is checked
against the position the runner started the batch from, so two runners on one projection cannot
both apply a batch: the second gets ``ProjectionConflict`` and its transaction rolls back.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

from eventstore.backend import ReadModelTx
from eventstore.codec import recorded_at_of, split_topic
from eventstore.ledger import Ledger
from eventstore.store import StoredRecord
from projections.base import Projection

TRACKING_TABLE = "milkbot_projection_tracking"
DEFAULT_BATCH = 5_000


class ProjectionConflict(RuntimeError):
    """Another runner moved this projection's position while we folded a batch."""


def ensure_tracking_table(tx: ReadModelTx) -> None:
    tx.execute(f"CREATE TABLE IF NOT EXISTS {TRACKING_TABLE} "
               "(name TEXT PRIMARY KEY, position BIGINT NOT NULL)")


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
        self._started = False

    def start(self) -> None:
        """Create missing tables, read each projection's position and rows."""
        with self.ledger.backend.transaction() as tx:
            ensure_tracking_table(tx)
            for projection in self.projections:
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
        wanted = frozenset().union(*(p.consumes for p in self.projections))
        total = 0
        for records in self._batches(stop):
            try:
                self._fold(records, wanted)
                self._commit(records[-1].position)
            except BaseException:
                # The batch is folded in memory but not committed: forget it, so the next call
                # starts again from what the tables hold.
                self._started = False
                raise
            total += len(records)
        return total

    def _batches(self, stop: int | None) -> Iterator[list[StoredRecord]]:
        """Batches from the current position. While one is folded, the next is fetched on a
        second connection, so the database's time and ours overlap; a follower that finds at
        most one batch waiting starts no thread."""
        read = self.ledger.store.read_records
        after = self.position
        if stop is not None and after >= stop:
            return
        records = read(after, self.batch_size, stop=stop)
        if len(records) < self.batch_size:
            if records:
                yield records
            return
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="prefetch") as prefetch:
            while records:
                last = records[-1].position
                more = len(records) == self.batch_size and (stop is None or last < stop)
                upcoming = prefetch.submit(read, last, self.batch_size, stop=stop) if more else None
                yield records
                records = upcoming.result() if upcoming is not None else []

    def _fold(self, records: Sequence[StoredRecord], wanted: frozenset[str]) -> None:
        # Only events some projection folds are decoded; the others just move the ledger clock.
        for record in records:
            if split_topic(record.topic)[0] in wanted:
                event = record.decode()
                recorded_at = event.recorded_at
            else:
                event, recorded_at = None, recorded_at_of(record.topic, record.data,
                                                          record.position)
            if self.ledger_time is None or recorded_at > self.ledger_time:
                self.ledger_time = recorded_at
            if event is None:
                continue
            for projection in self.projections:
                if record.position > self.positions[projection.name] and \
                        event.event_type in projection.consumes:
                    projection.apply(event, self.ledger_time)

    def _commit(self, last: int) -> None:
        assert self.ledger_time is not None
        behind = [p for p in self.projections if self.positions[p.name] < last]
        with self.ledger.backend.transaction() as tx:
            for projection in behind:
                projection.advance_clock(self.ledger_time)
                projection.flush(tx)
                self._save_position(tx, projection, self.positions[projection.name], last)
        for projection in behind:
            self.positions[projection.name] = last

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
