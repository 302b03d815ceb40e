"""The production ledger on PostgreSQL (psycopg 3, a connection pool), projections beside it.

The eventsourcing library's ``PostgresApplicationRecorder`` owns the schema. Appends go through one
server function instead of its pipeline (a single save of more than ~2,000 events over a Unix
socket hung forever in psycopg's pipeline sync): one round trip with binary arrays, which takes the
library's table lock (so positions are issued in commit order and a follower never passes a gap
that fills in later), NOTIFYs followers, inserts and commits.
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
from psycopg.sql import SQL, Identifier

from eventstore.backend import (
    Row,
    topic_bounds,
    unavailable_on_operational_errors,
    upsert_clause,
)
from eventstore.errors import StoreUnavailable
from eventstore.store import StoredRecord
from eventstore.url import PostgresUrl

EVENTS_TABLE = "stored_events"
CONNECT_TIMEOUT_S = 5
#: The advisory lock (an arbitrary constant) that lets one process at a time create the ledger's
#: tables and functions: two creating them at once fail with "tuple concurrently updated".
SCHEMA_LOCK = 0x6D696C6B  # "milk"


APPEND_FUNCTION = "milkbot_append_events"


class LedgerRecorder(PostgresApplicationRecorder):
    """The library's recorder and schema, appending through ``milkbot_append_events``."""

    def __init__(self, datastore: PostgresDatastore, *, events_table_name: str) -> None:
        super().__init__(datastore, events_table_name=events_table_name)
        self.sql_create_statements.append(SQL(
            "CREATE OR REPLACE FUNCTION {function}("
            "streams text[], versions bigint[], topics text[], states bytea[]) "
            "RETURNS SETOF bigint LANGUAGE plpgsql AS $body$ "
            "BEGIN "
            "SET LOCAL lock_timeout = '10s'; "
            "LOCK TABLE {table} IN EXCLUSIVE MODE; "
            "NOTIFY {channel}; "
            "RETURN QUERY INSERT INTO {table} (originator_id, originator_version, topic, state) "
            "SELECT * FROM unnest(streams, versions, topics, states) RETURNING notification_id; "
            "END $body$"
        ).format(function=Identifier(APPEND_FUNCTION), table=Identifier(events_table_name),
                 channel=Identifier(self.channel_name)))
        # Byte order ("C"), whatever the database's collation: a topic's versions are one range.
        self.sql_create_statements.append(SQL(
            'CREATE INDEX IF NOT EXISTS {index} ON {table} (topic COLLATE "C")'
        ).format(index=Identifier(f"{events_table_name}_topic"),
                 table=Identifier(events_table_name)))
        self._append = SQL("SELECT * FROM {}(%b, %b::bigint[], %b, %b)").format(
            Identifier(APPEND_FUNCTION))

    def insert_events(self, stored_events: Sequence[StoredEvent], **kwargs: Any) -> (
        Sequence[int] | None
    ):
        params = (
            [str(e.originator_id) for e in stored_events],
            [e.originator_version for e in stored_events],
            [e.topic for e in stored_events],
            [e.state for e in stored_events],
        )
        with self.datastore.get_connection() as conn, conn.cursor(row_factory=tuple_row) as cur:
            cur.execute(self._append, params, prepare=True)
            # Serial values are drawn in the order unnest yields the rows: ascending ids are the
            # command's events in order.
            return sorted(row[0] for row in cur.fetchall())


class PostgresReadModelTx:
    def __init__(self, cursor: psycopg.Cursor[Any]) -> None:
        self._cursor = cursor

    def execute(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        self._cursor.execute(_pg(sql), params)
        if self._cursor.description is None:
            return []
        return self._cursor.fetchall()

    def insert_rows(self, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]],
                    conflict_key: Sequence[str] = ()) -> None:
        # COPY streams the rows in one go; an upsert stages them in a temporary copy of the
        # table (emptied at commit) and merges with one INSERT ... ON CONFLICT.
        names = ", ".join(columns)
        target = table
        if conflict_key:
            target = f"milkbot_stage_{table}"
            self._cursor.execute(f"CREATE TEMPORARY TABLE IF NOT EXISTS {target} "
                                 f"(LIKE {table}) ON COMMIT DELETE ROWS")
        with self._cursor.copy(f"COPY {target} ({names}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        if conflict_key:
            self._cursor.execute(f"INSERT INTO {table} ({names}) SELECT {names} FROM {target} "
                                 f"{upsert_clause(columns, conflict_key)}")
            self._cursor.execute(f"TRUNCATE {target}")

    def delete_keys(self, table: str, column: str, keys: Sequence[Any]) -> None:
        self._cursor.execute(f"DELETE FROM {table} WHERE {column} = ANY(%s)", (list(keys),))

    def delete_rows(self, table: str, columns: Sequence[str], keys: Sequence[Sequence[Any]]) -> (
        None
    ):
        if keys:
            where = " AND ".join(f"{c} = %s" for c in columns)
            self._cursor.executemany(f"DELETE FROM {table} WHERE {where}", keys)

    def clear(self, table: str) -> None:
        self._cursor.execute(f"DELETE FROM {table}")


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
            # The lock is the session's: held until the connection closes, whatever happens.
            with psycopg.connect(self._conninfo, autocommit=True) as locked:
                locked.execute("SELECT pg_advisory_lock(%s)", (SCHEMA_LOCK,))
                self._recorder.create_table()
        except PersistenceError as e:
            raise StoreUnavailable(f"cannot prepare the ledger at {url.redacted()}: {e}") from None
        except psycopg.OperationalError as e:  # the lock's connection, after the check passed
            raise StoreUnavailable(f"cannot prepare the ledger at {url.redacted()}: "
                                   f"{type(e).__name__}") from None
        self._table = EVENTS_TABLE

    # -- events --------------------------------------------------------------------------------

    def insert(self, records: Sequence[StoredEvent]) -> Sequence[int]:
        positions = self._recorder.insert_events(records)
        assert positions is not None
        return positions

    def select_records(self, after: int, limit: int, stop: int | None,
                       types: Sequence[str]) -> list[StoredRecord]:
        sql = (f"SELECT notification_id, originator_id, originator_version, topic, state "
               f"FROM {self._table} WHERE notification_id > %s")
        params: list[Any] = [after]
        if stop is not None:
            sql += " AND notification_id <= %s"
            params.append(stop)
        if types:
            sql += " AND rtrim(topic, '0123456789') = ANY(%s)"
            params.append([f"{name}.v" for name in types])
        sql += " ORDER BY notification_id LIMIT %s"
        params.append(limit)
        return self._select(sql, params)

    def select_sparse(self, types: Sequence[str], after: int) -> list[StoredRecord]:
        sql = (f"SELECT notification_id, originator_id, originator_version, topic, state "
               f"FROM {self._table} WHERE notification_id > %s AND ("
               + " OR ".join(['topic COLLATE "C" >= %s AND topic COLLATE "C" < %s'] * len(types))
               + ") ORDER BY notification_id")
        return self._select(sql, [after, *topic_bounds(types)])

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
            # (position, stream, version, topic, state): a record's fields in its order.
            return list(map(StoredRecord._make, cur.fetchall()))

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

    @contextmanager
    def snapshot(self) -> Iterator[PostgresReadModelTx]:
        # Repeatable read: every statement sees the snapshot of the first; writers are not
        # blocked. Rolled back at the end, having written nothing.
        with unavailable_on_operational_errors("a read-only snapshot"), \
                self._datastore.get_connection() as conn, \
                conn.transaction(force_rollback=True), \
                conn.cursor(row_factory=tuple_row) as cur:
            cur.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
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
