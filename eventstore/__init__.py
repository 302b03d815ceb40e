"""The event store: Milkbot's immutable ledger on the eventsourcing library's recorders.

``open_ledger(url)`` gives a ``Ledger``: the ``EventStore`` (append, read) and the read-model database
the projections write to, on Postgres or SQLite alike.
"""

from eventstore.errors import (
    BadDatabaseUrl,
    ConcurrencyConflict,
    CorruptEvent,
    EventStoreError,
    StoreUnavailable,
)
from eventstore.ledger import Ledger, open_ledger
from eventstore.store import Appended, EventStore, RecordedEvent, StoredRecord

__all__ = [
    "Appended", "BadDatabaseUrl", "ConcurrencyConflict", "CorruptEvent", "EventStore",
    "EventStoreError", "Ledger", "RecordedEvent", "StoreUnavailable", "StoredRecord", "open_ledger",
]
