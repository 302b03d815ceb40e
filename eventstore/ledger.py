"""Opening the ledger named by a database URL."""

from __future__ import annotations

from dataclasses import dataclass

from eventstore.backend import Backend
from eventstore.store import EventStore
from eventstore.url import PostgresUrl, parse_database_url


@dataclass
class Ledger:
    """The event store and the database its projections live in (the same database)."""

    store: EventStore
    backend: Backend
    url: str

    def close(self) -> None:
        self.store.close()

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_ledger(database_url: str) -> Ledger:
    """Open (and on first use create) the ledger. Raises ``BadDatabaseUrl`` or ``StoreUnavailable``."""
    url = parse_database_url(database_url)
    backend: Backend
    if isinstance(url, PostgresUrl):
        from eventstore.postgres_backend import PostgresBackend

        backend = PostgresBackend(url)
    else:
        from eventstore.sqlite_backend import SqliteBackend

        backend = SqliteBackend(url)
    return Ledger(store=EventStore(backend), backend=backend, url=url.redacted())
