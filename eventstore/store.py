"""``EventStore``: append commands atomically and idempotently; read streams and the global log.

Each event is one stored record: ``originator_id`` is the event's stream, ``originator_version`` its
version, ``topic`` its type and schema version, ``state`` its orjson bytes. The primary key
``(stream, version)`` is the optimistic-concurrency check; the event's own deterministic id is the
idempotency check: appending a command whose events are already recorded changes nothing.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import NamedTuple

import orjson
from eventsourcing.persistence import IntegrityError, StoredEvent

from domain.events import Event
from eventstore.backend import Backend, unavailable_on_operational_errors
from eventstore.codec import decode, encode
from eventstore.errors import ConcurrencyConflict, CorruptEvent

#: How many records one read of the global log fetches.
READ_BATCH = 5_000


class StoredRecord(NamedTuple):
    """One raw record of the global log, before decoding. A tuple made straight from the row a
    backend reads (a frozen dataclass took five times as long to build, a rebuild builds a
    million)."""

    position: int
    stream: str
    version: int
    topic: str
    data: bytes

    @property
    def type_name(self) -> str:
        """The event type's class name, whatever schema version the record was stored in (what
        to select records by: a stored ``OrderFilled.v1`` is still an ``OrderFilled`` once the
        class is at v2, upcast on decode)."""
        return self.topic.rpartition(".v")[0]

    def decode(self) -> Event:
        return decode(self.topic, self.data, self.position)


@dataclass(frozen=True, slots=True)
class RecordedEvent:
    """A decoded event and its position in the global log (1-based, increasing, maybe gapped)."""

    position: int
    event: Event


@dataclass(frozen=True, slots=True)
class Appended:
    """What ``append`` did: the positions it wrote, and how many events were already recorded."""

    positions: tuple[int, ...]
    duplicates: int = 0

    @property
    def already_recorded(self) -> bool:
        return not self.positions and self.duplicates > 0


class EventStore:
    def __init__(self, backend: Backend) -> None:
        self._backend = backend

    @property
    def backend_name(self) -> str:
        return self._backend.name

    # -- writing -------------------------------------------------------------------------------

    def append(self, events: Sequence[Event]) -> Appended:
        """Record one command's events in one transaction.

        Events already recorded (same stream, version and event id) are left as they are, so a
        retried command records nothing twice. A (stream, version) held by a different event raises
        ``ConcurrencyConflict`` and nothing of the command is recorded.
        """
        if not events:
            return Appended(())
        _check_command(events)
        pending = [_stored(e) for e in events]
        duplicates = 0
        # A concurrent writer can take a slot between our look and our retry; each pass removes
        # at least one event or raises, so this ends.
        while pending:
            try:
                with unavailable_on_operational_errors("an append"):
                    positions = self._backend.insert(pending)
            except IntegrityError:
                still_pending = self._drop_recorded(events, pending)
                duplicates += len(pending) - len(still_pending)
                pending = still_pending
                continue
            return Appended(tuple(positions), duplicates)
        return Appended((), duplicates)

    def append_many(self, commands: Sequence[Sequence[Event]]) -> list[Appended]:
        """Group commit: record several commands in one transaction (one fsync for them all).

        Each command keeps its meaning: when any of them holds an event already recorded or a
        taken slot, they are appended one by one instead, each with ``append``'s idempotency and
        conflict rules.
        """
        commands = [command for command in commands if command]
        for command in commands:
            _check_command(command)
        records = [_stored(e) for command in commands for e in command]
        if not records:
            return []
        try:
            with unavailable_on_operational_errors("an append"):
                positions = list(self._backend.insert(records))
        except IntegrityError:
            return [self.append(command) for command in commands]
        results, start = [], 0
        for command in commands:
            results.append(Appended(tuple(positions[start : start + len(command)])))
            start += len(command)
        return results

    def _drop_recorded(self, events: Sequence[Event], pending: list[StoredEvent]) -> (
        list[StoredEvent]
    ):
        by_slot = {(e.stream, e.version): e for e in events}
        remaining = []
        for record in pending:
            stream, version = str(record.originator_id), record.originator_version
            existing = self._backend.select_stream(stream, after_version=version - 1, limit=1)
            if not existing or existing[0].version != version:
                remaining.append(record)
                continue
            recorded_id = _event_id_of(existing[0])
            if recorded_id != str(by_slot[(stream, version)].event_id):
                raise ConcurrencyConflict(stream, version)
        if len(remaining) == len(pending):
            # Nothing was recorded yet the insert failed: an integrity error we do not understand.
            raise ConcurrencyConflict(str(pending[0].originator_id), pending[0].originator_version)
        return remaining

    # -- reading -------------------------------------------------------------------------------

    def read_records(
        self, after: int = 0, limit: int = READ_BATCH, *, stop: int | None = None,
        types: Sequence[str] = (),
    ) -> list[StoredRecord]:
        """Raw records with ``after < position [<= stop]``, in global order; of ``types`` only
        (event class names, every stored schema version of each), if given."""
        with unavailable_on_operational_errors("a read"):
            return self._backend.select_records(after, limit, stop, types)

    def read(self, after: int = 0, limit: int = READ_BATCH, *, stop: int | None = None) -> (
        list[RecordedEvent]
    ):
        return [RecordedEvent(r.position, r.decode()) for r in self.read_records(after, limit,
                                                                                  stop=stop)]

    def sparse_records(self, types: Sequence[str], after: int = 0) -> list[StoredRecord]:
        """Every record after ``after`` of ``types`` (event class names, every stored schema
        version of each), in global order, found through the log's topic index: for types that
        are few in the log (trading states, an operator's commands, the handler's starts), so
        that reading them costs what they hold, not a scan of the whole log."""
        if not types:
            return []
        with unavailable_on_operational_errors("a read"):
            return self._backend.select_sparse(types, after)

    def iter_records(self, after: int = 0, *, stop: int | None = None, batch: int = READ_BATCH,
                     types: Sequence[str] = ()) -> Iterator[StoredRecord]:
        """Every record after ``after`` (up to ``stop``; of ``types`` only, if given), fetched in
        batches. While one batch is consumed the next is fetched on a second connection, so the
        database's time and the caller's overlap; a log of one batch starts no thread."""
        records = self.read_records(after, batch, stop=stop, types=types)
        if len(records) < batch:
            yield from records
            return
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="read-ahead") as ahead:
            while len(records) == batch:
                upcoming = ahead.submit(self.read_records, records[-1].position, batch,
                                        stop=stop, types=types)
                yield from records
                records = upcoming.result()
        yield from records

    def iter_events(self, after: int = 0, *, stop: int | None = None) -> Iterator[RecordedEvent]:
        for record in self.iter_records(after, stop=stop):
            yield RecordedEvent(record.position, record.decode())

    def read_stream(self, stream: str, after_version: int = 0) -> list[Event]:
        return [r.decode() for r in self.read_stream_records(stream, after_version)]

    def read_stream_records(self, stream: str, after_version: int = 0) -> list[StoredRecord]:
        """A stream's raw records (with their global positions), oldest first."""
        with unavailable_on_operational_errors("a read"):
            return self._backend.select_stream(stream, after_version, None)

    def stream_version(self, stream: str) -> int:
        """The stream's last version, 0 when it has none."""
        return self._backend.stream_version(stream)

    def max_position(self) -> int:
        return self._backend.max_position()

    def close(self) -> None:
        self._backend.close()


def _stored(event: Event) -> StoredEvent:
    return StoredEvent(originator_id=event.stream, originator_version=event.version,
                       topic=event.topic(), state=encode(event))


def _check_command(events: Sequence[Event]) -> None:
    slots = {(e.stream, e.version) for e in events}
    if len(slots) != len(events):
        raise ValueError("a command holds two events for the same stream and version")


def _event_id_of(record: StoredRecord) -> str:
    try:
        return str(orjson.loads(record.data)["event_id"])
    except (orjson.JSONDecodeError, KeyError, TypeError) as e:
        raise CorruptEvent(None, record.topic, f"cannot read its event id: {e}") from None
