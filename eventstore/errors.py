"""Errors of the event store, translated from the database drivers at this boundary.

    EventStoreError
    ├── BadDatabaseUrl        MILKBOT_DATABASE_URL cannot be understood (the password is never shown)
    ├── StoreUnavailable      the database cannot be reached or refused us
    ├── ConcurrencyConflict   another writer already holds a (stream, version) this append wanted
    └── CorruptEvent          a stored record cannot be decoded; names its position and topic
"""

from __future__ import annotations


class EventStoreError(Exception):
    """Base of every event-store error."""


class BadDatabaseUrl(EventStoreError):
    pass


class StoreUnavailable(EventStoreError):
    pass


class ConcurrencyConflict(EventStoreError):
    def __init__(self, stream: str, version: int) -> None:
        super().__init__(
            f"stream {stream!r} already has a different event at version {version}: "
            "another writer got there first; reload the stream and decide again"
        )
        self.stream = stream
        self.version = version


class CorruptEvent(EventStoreError):
    def __init__(self, position: int | None, topic: str, reason: str) -> None:
        where = f"position {position}" if position is not None else "an unpositioned record"
        super().__init__(f"corrupt event at {where} (topic {topic!r}): {reason}")
        self.position = position
        self.topic = topic
        self.reason = reason
