"""The embedded default: the ledger in one SQLite file (WAL mode), projections beside it.

The eventsourcing library's ``SQLiteApplicationRecorder`` creates the table and inserts; the reads
are ours (positions included, tuples instead of library objects), and so is an index of the topics
(``select_sparse``: a few trading states found among millions of events without a scan). SQLite
has no notifications, so followers poll.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from eventsourcing.persistence import PersistenceError, StoredEvent
from eventsourcing.sqlite import SQLiteApplicationRecorder, SQLiteDatastore

from eventstore.backend import (
    Row,
    topic_bounds,
    unavailable_on_operational_errors,
    upsert_clause,
)
from eventstore.errors import StoreUnavailable
from eventstore.store import StoredRecord
from eventstore.url import SqliteUrl

EVENTS_TABLE = "stored_events"
TOPIC_INDEX = "stored_events_topic"
LOCK_TIMEOUT_S = 30


class SqliteReadModelTx:
    def __init__(self, cursor: sqlite3.Cursor) -> None:
        self._cursor = cursor

    def execute(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        self._cursor.execute(sql, params)
        return [tuple(row) for row in self._cursor.fetchall()]

    def insert_rows(self, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]],
                    conflict_key: Sequence[str] = ()) -> None:
        # In-process, executemany is already the fast path.
        conflict = upsert_clause(columns, conflict_key) if conflict_key else ""
        self._cursor.executemany(
            f"INSERT INTO {table} ({', '.join(columns)}) "
            f"VALUES ({', '.join('?' * len(columns))}) {conflict}", rows)

    def delete_keys(self, table: str, column: str, keys: Sequence[Any]) -> None:
        self._cursor.executemany(f"DELETE FROM {table} WHERE {column} = ?", [(k,) for k in keys])

    def delete_rows(self, table: str, columns: Sequence[str], keys: Sequence[Sequence[Any]]) -> (
        None
    ):
        where = " AND ".join(f"{c} = ?" for c in columns)
        self._cursor.executemany(f"DELETE FROM {table} WHERE {where}", keys)

    def clear(self, table: str) -> None:
        self._cursor.execute(f"DELETE FROM {table}")


class SqliteBackend:
    name = "sqlite"

    def __init__(self, url: SqliteUrl) -> None:
        if url.in_memory:
            # One shared in-memory database for every connection of this process.
            db_name = f"file:milkbot-{id(self)}?mode=memory&cache=shared"
        else:
            path = Path(url.path)
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as e:
                raise StoreUnavailable(f"cannot create the folder for {url.path}: {e}") from None
            db_name = str(path)
        self._appended = threading.Condition()
        try:
            self._datastore = SQLiteDatastore(db_name, lock_timeout=LOCK_TIMEOUT_S,
                                              originator_id_type="text")
            self._recorder = SQLiteApplicationRecorder(self._datastore, EVENTS_TABLE)
            self._recorder.create_table()
            with self._datastore.transaction(commit=True) as c:
                c.execute(f"CREATE INDEX IF NOT EXISTS {TOPIC_INDEX} ON {EVENTS_TABLE} (topic)")
        except (PersistenceError, sqlite3.Error) as e:
            raise StoreUnavailable(f"cannot open the SQLite ledger {url.path}: {e}") from None

    # -- events --------------------------------------------------------------------------------

    def insert(self, records: Sequence[StoredEvent]) -> Sequence[int]:
        positions = self._recorder.insert_events(records)
        assert positions is not None
        with self._appended:
            self._appended.notify_all()
        return positions

    def select_records(self, after: int, limit: int, stop: int | None,
                       types: Sequence[str]) -> list[StoredRecord]:
        sql = f"SELECT rowid, originator_id, originator_version, topic, state FROM {EVENTS_TABLE} "
        sql += "WHERE rowid > ?"
        params: list[Any] = [after]
        if stop is not None:
            sql += " AND rowid <= ?"
            params.append(stop)
        if types:
            sql += f" AND rtrim(topic, '0123456789') IN ({','.join('?' * len(types))})"
            params.extend(f"{name}.v" for name in types)
        sql += " ORDER BY rowid LIMIT ?"
        params.append(limit)
        return self._select(sql, params)

    def select_sparse(self, types: Sequence[str], after: int) -> list[StoredRecord]:
        # The index is named: without statistics, SQLite would rather scan the log by position.
        sql = (f"SELECT rowid, originator_id, originator_version, topic, state FROM {EVENTS_TABLE} "
               f"INDEXED BY {TOPIC_INDEX} WHERE rowid > ? AND ("
               + " OR ".join(["topic >= ? AND topic < ?"] * len(types)) + ") ORDER BY rowid")
        return self._select(sql, [after, *topic_bounds(types)])

    def select_stream(self, stream: str, after_version: int, limit: int | None) -> (
        list[StoredRecord]
    ):
        sql = (f"SELECT rowid, originator_id, originator_version, topic, state FROM {EVENTS_TABLE}"
               " WHERE originator_id = ? AND originator_version > ? ORDER BY originator_version")
        params: list[Any] = [stream, after_version]
        if limit is not None:
            sql += " LIMIT ?"
            params.append(limit)
        return self._select(sql, params)

    def _select(self, sql: str, params: Sequence[Any]) -> list[StoredRecord]:
        with self._datastore.transaction(commit=False) as c:
            c.execute(sql, params)
            # (rowid, stream, version, topic, state): a record's fields in its order.
            return list(map(StoredRecord._make, c.fetchall()))

    def stream_version(self, stream: str) -> int:
        with self._datastore.transaction(commit=False) as c:
            c.execute(f"SELECT MAX(originator_version) FROM {EVENTS_TABLE} WHERE originator_id=?",
                      (stream,))
            return c.fetchone()[0] or 0

    def max_position(self) -> int:
        return self._recorder.max_notification_id() or 0

    def wait_for_append(self, timeout: float) -> bool:
        # Only appends made through this process are signalled; others are found by polling.
        with self._appended:
            return self._appended.wait(timeout)

    # -- read models ---------------------------------------------------------------------------

    @contextmanager
    def transaction(self) -> Iterator[SqliteReadModelTx]:
        with unavailable_on_operational_errors("a read-model transaction"), \
                self._datastore.get_connection(commit=True) as conn:
            cursor = conn.cursor().sqlite_cursor
            # IMMEDIATE takes the write lock now, so a reader-turned-writer never hits BUSY.
            cursor.execute("BEGIN IMMEDIATE")
            try:
                yield SqliteReadModelTx(cursor)
            except BaseException:
                conn.rollback()
                raise
            conn.commit()

    @contextmanager
    def snapshot(self) -> Iterator[SqliteReadModelTx]:
        # A deferred transaction: in WAL mode its first read fixes what it sees, and writers
        # carry on meanwhile.
        with unavailable_on_operational_errors("a read-only snapshot"), \
                self._datastore.transaction(commit=False) as cursor:
            yield SqliteReadModelTx(cursor.sqlite_cursor)

    def close(self) -> None:
        self._datastore.close()
