"""The production ledger on PostgreSQL (psycopg 3, a connection pool), projections beside it.

The eventsourcing library's ``PostgresApplicationRecorder`` owns the schema. We insert without its
pipeline (a single save of more than ~2,000 events over a Unix socket hung forever in psycopg's
pipeline sync), still taking its table lock so positions are issued in commit order and a follower
never passes a gap that fills in later. Followers are woken by the recorder's NOTIFY.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import psycopg
from eventsourcing.persistence import PersistenceError, StoredEvent
from eventsourcing.postgres import PostgresApplicationRecorder, PostgresDatastore
from psycopg.rows import tuple_row

from eventstore.backend import Row, unavailable_on_operational_errors
from eventstore.errors import StoreUnavailable
from eventstore.store import StoredRecord
from eventstore.url import PostgresUrl

EVENTS_TABLE = "stored_events"
CONNECT_TIMEOUT_S = 5


class LedgerRecorder(PostgresApplicationRecorder):
    """The library's recorder, inserting in one plain transaction instead of a pipeline."""

    def insert_events(self, stored_events: Sequence[StoredEvent], **kwargs: Any) -> (
        Sequence[int] | None
    ):
        rows = [
            self.construct_pg_stored_event(e.originator_id, e.originator_version, e.topic, e.state)
            for e in stored_events
        ]
        with self.datastore.transaction(commit=True) as curs:
            self._lock_table(curs)
            self._notify_channel(curs)
            curs.execute(self.insert_events_statement, (rows,), prepare=True)
            return [row["notification_id"] for row in curs.fetchall()]


class PostgresReadModelTx:
    def __init__(self, cursor: psycopg.Cursor[Any]) -> None:
        self._cursor = cursor

    def execute(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        self._cursor.execute(_pg(sql), params)
        if self._cursor.description is None:
            return []
        return self._cursor.fetchall()

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        self._cursor.executemany(_pg(sql), rows)


def _pg(sql: str) -> str:
    # Read-model SQL is written once with sqlite's ``?``; our statements hold no literal ``?``.
    return sql.replace("?", "%s")


class PostgresBackend:
    name = "postgres"

    def __init__(self, url: PostgresUrl, *, pool_size: int = 2, max_overflow: int = 8) -> None:
        self._url = url
        self._conninfo = psycopg.conninfo.make_conninfo(
            host=url.host, port=url.port, dbname=url.dbname, user=url.user,
            password=url.password or None, connect_timeout=CONNECT_TIMEOUT_S,
        )
        _check_reachable(self._conninfo, url)
        self._listener: psycopg.Connection[Any] | None = None
        self._listener_lock = threading.Lock()
        try:
            self._datastore = PostgresDatastore(
                dbname=url.dbname, host=url.host, port=url.port, user=url.user,
                password=url.password, pool_size=pool_size,
                max_overflow=max_overflow, connect_timeout=CONNECT_TIMEOUT_S,
                originator_id_type="text", lock_timeout=10,
            )
            self._recorder = LedgerRecorder(self._datastore, events_table_name=EVENTS_TABLE)
            self._recorder.create_table()
        except PersistenceError as e:
            raise StoreUnavailable(f"cannot prepare the ledger at {url.redacted()}: {e}") from None
        self._table = EVENTS_TABLE

    # -- events --------------------------------------------------------------------------------

    def insert(self, records: Sequence[StoredEvent]) -> Sequence[int]:
        positions = self._recorder.insert_events(records)
        assert positions is not None
        return positions

    def select_records(self, after: int, limit: int, stop: int | None,
                       topics: Sequence[str]) -> list[StoredRecord]:
        sql = (f"SELECT notification_id, originator_id, originator_version, topic, state "
               f"FROM {self._table} WHERE notification_id > %s")
        params: list[Any] = [after]
        if stop is not None:
            sql += " AND notification_id <= %s"
            params.append(stop)
        if topics:
            sql += " AND topic = ANY(%s)"
            params.append(list(topics))
        sql += " ORDER BY notification_id LIMIT %s"
        params.append(limit)
        return self._select(sql, params)

    def select_stream(self, stream: str, after_version: int, limit: int | None) -> (
        list[StoredRecord]
    ):
        sql = (f"SELECT notification_id, originator_id, originator_version, topic, state "
               f"FROM {self._table} WHERE originator_id = %s AND originator_version > %s "
               "ORDER BY originator_version")
        params: list[Any] = [stream, after_version]
        if limit is not None:
            sql += " LIMIT %s"
            params.append(limit)
        return self._select(sql, params)

    def _select(self, sql: str, params: Sequence[Any]) -> list[StoredRecord]:
        with self._datastore.get_connection() as conn, conn.cursor(
            row_factory=tuple_row, binary=True
        ) as cur:
            cur.execute(sql, params, prepare=True)
            return [StoredRecord(r[0], r[1], r[2], r[3], r[4]) for r in cur.fetchall()]

    def stream_version(self, stream: str) -> int:
        with self._datastore.get_connection() as conn, conn.cursor(row_factory=tuple_row) as cur:
            cur.execute(f"SELECT MAX(originator_version) FROM {self._table} "
                        "WHERE originator_id = %s", (stream,))
            row = cur.fetchone()
            return (row[0] if row else None) or 0

    def max_position(self) -> int:
        return self._recorder.max_notification_id() or 0

    def wait_for_append(self, timeout: float) -> bool:
        with self._listener_lock:
            if self._listener is None or self._listener.closed:
                self._listener = psycopg.connect(self._conninfo, autocommit=True)
                self._listener.execute(f'LISTEN "{self._recorder.channel_name}"')
            listener = self._listener
        for _ in listener.notifies(timeout=timeout, stop_after=1):
            return True
        return False

    # -- read models ---------------------------------------------------------------------------

    @contextmanager
    def transaction(self) -> Iterator[PostgresReadModelTx]:
        with unavailable_on_operational_errors("a read-model transaction"), \
                self._datastore.get_connection() as conn, conn.transaction(), \
                conn.cursor(row_factory=tuple_row) as cur:
            yield PostgresReadModelTx(cur)

    def close(self) -> None:
        with self._listener_lock:
            if self._listener is not None:
                with contextlib.suppress(psycopg.Error):
                    self._listener.close()
                self._listener = None
        self._datastore.close()


def _check_reachable(conninfo: str, url: PostgresUrl) -> None:
    """Fail in seconds with a clear message, rather than after the pool's long retries."""
    try:
        with psycopg.connect(conninfo):
            pass
    except psycopg.OperationalError as e:
        reason = " ".join(line.strip() for line in str(e).splitlines() if line.strip())
        reason = reason or type(e).__name__
        if url.password:
            reason = reason.replace(url.password, "***")
        raise StoreUnavailable(f"cannot reach PostgreSQL at {url.redacted()}: {reason}") from None
