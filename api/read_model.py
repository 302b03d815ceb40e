"""Read transactions on the projection tables, opened the way a reader should open them.

The projections' own ``Backend.transaction()`` is a read-write transaction (on SQLite it takes the
write lock at once, so readers would queue behind each other and behind the runner). The apps only
read, and may run in another process than the command handler that writes, so they open their own
connections:

- **SQLite file**: one read-only connection per thread (``mode=ro``, ``query_only``), each read a
  deferred transaction: in WAL mode a reader sees one consistent snapshot, never waits for the
  writer and never makes it wait.
- **PostgreSQL**: a small pool of connections whose transactions are read-only and repeatable-read
  (one snapshot for all of an answer's queries).
- **SQLite in memory** (tests, a throwaway demo): only this process's ledger can reach the
  database, so reads go through its backend's transactions.

``prepare(app)`` creates, once, with the ledger's own read-write transaction, every projection
table the apps read (empty until the projection runner fills them, so an app started before the
command handler answers empty rather than failing) and the indexes the public queries need.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any, Protocol

from eventstore.backend import Backend, ReadModelTx, unavailable_on_operational_errors
from eventstore.chain import ensure_table as ensure_chain_table
from eventstore.sqlite_backend import SqliteReadModelTx
from eventstore.url import PostgresUrl, parse_database_url
from milkbot.bootstrap import Milkbot
from projections.runner import ensure_tracking_table

READ = "a read of the projections"
#: The most connections the PostgreSQL reader keeps.
POSTGRES_READERS = 8


class ReadModel(Protocol):
    """Read-only transactions on the projection tables."""

    def read(self) -> AbstractContextManager[ReadModelTx]: ...

    def close(self) -> None: ...


def prepare(app: Milkbot) -> None:
    """Create the projection tables the apps read and the indexes their queries need."""
    with app.ledger.backend.transaction() as tx:
        ensure_tracking_table(tx)
        for projection in app.projections:
            projection.create_tables(tx)  # with the indexes the public queries need
    ensure_chain_table(app.ledger)  # (the summary shows the chain's head)


def open_read_model(app: Milkbot) -> ReadModel:
    """Readers for the database of ``app``'s ledger (see the module docstring for which)."""
    url = parse_database_url(app.settings.database_url)
    if isinstance(url, PostgresUrl):
        return PostgresReadModel(url)
    if url.in_memory:
        return BackendReadModel(app.ledger.backend)
    return SqliteReadModel(Path(url.path))


class SqliteReadModel:
    def __init__(self, path: Path) -> None:
        self._uri = f"{path.resolve().as_uri()}?mode=ro"
        self._local = threading.local()
        self._lock = threading.Lock()
        self._connections: list[sqlite3.Connection] = []

    def _connection(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "connection", None)
        if conn is None:
            # Used by its own thread only; ``close`` runs on another one.
            conn = sqlite3.connect(self._uri, uri=True, timeout=5, isolation_level=None,
                                   check_same_thread=False)
            conn.execute("PRAGMA query_only = ON")
            with self._lock:
                self._connections.append(conn)
            self._local.connection = conn
        return conn

    @contextmanager
    def read(self) -> Iterator[ReadModelTx]:
        with unavailable_on_operational_errors(READ):
            cursor = self._connection().cursor()
            cursor.execute("BEGIN")
            try:
                yield SqliteReadModelTx(cursor)
            finally:
                cursor.execute("COMMIT")
                cursor.close()

    def close(self) -> None:
        with self._lock:
            connections, self._connections = self._connections, []
        for conn in connections:
            conn.close()


class PostgresReadModel:
    def __init__(self, url: PostgresUrl, *, max_size: int = POSTGRES_READERS) -> None:
        import psycopg
        from psycopg_pool import ConnectionPool

        conninfo = psycopg.conninfo.make_conninfo(
            host=url.host, port=url.port, dbname=url.dbname, user=url.user,
            password=url.password or None, connect_timeout=5)

        def configure(conn: psycopg.Connection[Any]) -> None:
            conn.read_only = True
            conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ

        self._pool: ConnectionPool[Any] = ConnectionPool(
            conninfo, min_size=1, max_size=max_size, open=True, configure=configure,
            name="milkbot-readers")

    @contextmanager
    def read(self) -> Iterator[ReadModelTx]:
        from psycopg.rows import tuple_row

        from eventstore.postgres_backend import PostgresReadModelTx

        with unavailable_on_operational_errors(READ), self._pool.connection() as conn, \
                conn.transaction(), conn.cursor(row_factory=tuple_row) as cursor:
            yield PostgresReadModelTx(cursor)

    def close(self) -> None:
        self._pool.close()


class BackendReadModel:
    """Reads through the ledger backend's own transactions (an in-memory SQLite database)."""

    def __init__(self, backend: Backend) -> None:
        self._backend = backend

    def read(self) -> AbstractContextManager[ReadModelTx]:
        return self._backend.transaction()

    def close(self) -> None:
        pass
