"""What the event store and the projections need from a database, whichever it is.

Two implementations: ``eventstore.sqlite_backend`` and ``eventstore.postgres_backend``. Both wrap
the eventsourcing library's application recorder for the stored events and add the reads that the
library's recorder does not offer fast enough, plus the read-model transactions for projections.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from typing import TYPE_CHECKING, Any, Protocol

from eventsourcing.persistence import StoredEvent

if TYPE_CHECKING:
    from eventstore.store import StoredRecord

Row = tuple[Any, ...]


class ReadModelTx(Protocol):
    """A transaction on the read-model tables. SQL uses ``?`` placeholders on every backend."""

    def execute(self, sql: str, params: Sequence[Any] = ()) -> list[Row]: ...

    def insert_rows(self, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]],
                    conflict_key: Sequence[str] = ()) -> None:
        """Insert many rows the fastest way the backend has; with ``conflict_key``, rows whose
        key exists replace the other columns (an upsert)."""

    def delete_keys(self, table: str, column: str, keys: Sequence[Any]) -> None: ...

    def delete_rows(self, table: str, columns: Sequence[str], keys: Sequence[Sequence[Any]]) -> (
        None
    ):
        """Delete the rows whose ``columns`` hold one of ``keys`` (a key of several columns)."""

    def clear(self, table: str) -> None:
        """Delete every row of ``table``."""


class Backend(Protocol):
    name: str

    def insert(self, records: Sequence[StoredEvent]) -> Sequence[int]:
        """Insert atomically; raise eventsourcing's ``IntegrityError`` if a slot is taken."""

    def select_records(self, after: int, limit: int, stop: int | None,
                       types: Sequence[str]) -> list[StoredRecord]:
        """Records after ``after`` (to ``stop``), of the event class names ``types`` if any, in
        every stored schema version (a topic ``Name.vN`` less its digits is ``Name.v``)."""

    def select_sparse(self, types: Sequence[str], after: int) -> list[StoredRecord]:
        """Every record after ``after`` of the event class names ``types`` (in every stored
        schema version, a newer one than the code knows included), in global order, found
        through the log's topic index instead of a scan of the log."""

    def select_stream(self, stream: str, after_version: int, limit: int | None) -> (
        list[StoredRecord]
    ): ...

    def stream_version(self, stream: str) -> int: ...

    def max_position(self) -> int: ...

    def transaction(self) -> AbstractContextManager[ReadModelTx]:
        """A read-write transaction for projections (committed on success)."""

    def snapshot(self) -> AbstractContextManager[ReadModelTx]:
        """A read-only transaction whose statements all see the database as it was at its first
        read, and which blocks no writer (rolled back at the end)."""

    def wait_for_append(self, timeout: float) -> bool:
        """Block up to ``timeout`` seconds for a new append; True if one was signalled.

        Backends without notifications return False after the timeout (callers then poll)."""

    def close(self) -> None: ...


def topic_bounds(types: Sequence[str]) -> list[str]:
    """For each event class name, the topics of its every schema version as one range,
    ``[low, high)`` in byte order: ``Name.v1``, ``Name.v2``... all start with ``Name.v``, and no
    other type's topic does (a longer name has a letter where this one has its dot)."""
    return [bound for name in types for bound in (f"{name}.v", f"{name}.w")]


def upsert_clause(columns: Sequence[str], key: Sequence[str]) -> str:
    updates = ", ".join(f"{c} = excluded.{c}" for c in columns if c not in key)
    return f"ON CONFLICT ({', '.join(key)}) DO UPDATE SET {updates}"


@contextmanager
def unavailable_on_operational_errors(where: str) -> Iterator[None]:
    """Translate a lost or refused database connection into ``StoreUnavailable`` at the boundary."""
    import sqlite3

    import psycopg
    from eventsourcing.persistence import InterfaceError, OperationalError

    from eventstore.errors import StoreUnavailable

    try:
        yield
    except (OperationalError, InterfaceError, sqlite3.OperationalError,
            psycopg.OperationalError) as e:
        raise StoreUnavailable(f"the ledger database failed during {where}: "
                               f"{' '.join(str(e).split())}") from e
