"""Tamper evidence: a hash chain over the global log.

Every record, in global order, is sealed with

    hash(p) = SHA-256( hash(previous sealed record) || "p\\0stream\\0version\\0topic\\0" || data )

(the first record's previous hash is 32 zero bytes), kept in ``ledger_chain`` beside the log.
Because a position, a stream slot and the exact stored bytes go into each link, and each link
into the next, editing a stored event, deleting one or swapping two changes the hash of that
position and of every one after it: ``verify_chain`` recomputes the chain from the first record
and names the first position where the stored log and its seals part.

Sealing is lazy: ``seal`` extends the chain over whatever was appended since the last seal (the
handler does it at every step, with its projections), so only the last few seconds of the log are
ever unsealed. The chain proves the log unchanged since it was sealed; it cannot stop someone who
rewrites both the log and the chain, which is why a head (position and hash) is also published
where others keep a copy: the public summary shows the newest link at least the public delay old
(``head_at``), and ``milkbot replay verify`` prints the head it checked. A rewritten history no
longer matches a head seen before.
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime

import psycopg.errors
from eventsourcing.persistence import IntegrityError

from eventstore.backend import ReadModelTx
from eventstore.codec import recorded_at_of
from eventstore.ledger import Ledger
from eventstore.store import StoredRecord

TABLE = "ledger_chain"
GENESIS = bytes(32)
_SEAL_BATCH = 10_000
#: What a backend raises when another process sealed the same positions first.
_TAKEN = (IntegrityError, sqlite3.IntegrityError, psycopg.errors.IntegrityError)


def link(previous: bytes, record: StoredRecord) -> bytes:
    """The hash sealing ``record`` after ``previous``."""
    digest = hashlib.sha256(previous)
    digest.update(f"{record.position}\0{record.stream}\0{record.version}\0{record.topic}\0".encode())
    digest.update(record.data)
    return digest.digest()


def _ensure_table(tx: ReadModelTx) -> None:
    tx.execute(f"CREATE TABLE IF NOT EXISTS {TABLE} (position BIGINT PRIMARY KEY, hash TEXT NOT NULL)")


def head(ledger: Ledger) -> tuple[int, bytes]:
    """The last sealed position and its hash (0 and the genesis hash before any seal)."""
    with ledger.backend.transaction() as tx:
        _ensure_table(tx)
        rows = tx.execute(f"SELECT position, hash FROM {TABLE} ORDER BY position DESC LIMIT 1")
    return (int(rows[0][0]), bytes.fromhex(rows[0][1])) if rows else (0, GENESIS)


def ensure_table(ledger: Ledger) -> None:
    """Create the chain's table if the log was never sealed (so readers find it empty)."""
    with ledger.backend.transaction() as tx:
        _ensure_table(tx)


@dataclass(frozen=True)
class PublishedHead:
    """A link of the chain that may be shown: its position, hash and the record's time."""

    position: int
    hash: str
    recorded_at: datetime


def head_at(ledger: Ledger, cutoff: datetime) -> PublishedHead | None:
    """The newest sealed record recorded at or before ``cutoff``, with its seal: a head a public
    page can show a delay late, revealing nothing newer (not even how long the log has grown
    since). None before the first such record.

    Found by bisection over the sealed positions, reading one record a step: ``recorded_at``
    follows the global order, to within the milliseconds two concurrent writers can swap, so the
    record found is at or before ``cutoff`` and at most those few milliseconds short of the
    newest. Read-only (a reader never takes the write lock), so the chain's table must exist
    (``ensure_table``: the public app makes it when it starts)."""
    with ledger.backend.snapshot() as tx:
        rows = tx.execute(f"SELECT position FROM {TABLE} ORDER BY position DESC LIMIT 1")
    if not rows:
        return None
    found: StoredRecord | None = None
    low, high = 1, int(rows[0][0])
    while low <= high:
        middle = (low + high) // 2
        records = ledger.store.read_records(middle - 1, 1, stop=high)
        if not records:
            high = middle - 1  # no record from middle to high (positions may have gaps)
            continue
        record = records[0]
        if recorded_at_of(record.topic, record.data, record.position) <= cutoff:
            found = record
            low = record.position + 1
        else:
            high = middle - 1
    if found is None:
        return None
    sealed = seal_at(ledger, found.position)
    if sealed is None:
        return None  # (cannot happen: every position up to the head is sealed)
    return PublishedHead(found.position, sealed, recorded_at_of(found.topic, found.data,
                                                                found.position))


def seal_at(ledger: Ledger, position: int) -> str | None:
    """The seal (hex) of the record at ``position``; None when it is not sealed."""
    with ledger.backend.snapshot() as tx:
        rows = tx.execute(f"SELECT hash FROM {TABLE} WHERE position = ?", (position,))
    return str(rows[0][0]) if rows else None


def seal(ledger: Ledger) -> int:
    """Seal everything appended since the last seal; returns how many records it sealed."""
    return Sealer(ledger).seal()


class Sealer:
    """Seals the log as it grows, keeping the chain's head in memory between seals. Two processes
    sealing at once cannot fork the chain: the later insert conflicts, and that sealer reads the
    head again and carries on from the other's seals next time."""

    def __init__(self, ledger: Ledger) -> None:
        self._ledger = ledger
        self._head: tuple[int, bytes] | None = None

    def seal(self) -> int:
        position, previous = self._head if self._head is not None else head(self._ledger)
        sealed = 0
        while True:
            records = self._ledger.store.read_records(position, _SEAL_BATCH)
            if not records:
                self._head = (position, previous)
                return sealed
            rows = []
            for record in records:
                previous = link(previous, record)
                rows.append((record.position, previous.hex()))
            try:
                with self._ledger.backend.transaction() as tx:
                    tx.insert_rows(TABLE, ("position", "hash"), rows)
            except _TAKEN:
                self._head = None  # another sealer got there first: read its head next time
                return sealed
            sealed += len(rows)
            position = records[-1].position


@dataclass
class ChainReport:
    sealed: int = 0
    unsealed: int = 0
    #: The first position where log and seals part, and how.
    broken_at: int | None = None
    problem: str | None = None
    head: tuple[int, str] = (0, GENESIS.hex())

    @property
    def ok(self) -> bool:
        return self.broken_at is None


def verify_chain(ledger: Ledger, progress: Callable[[int], None] | None = None) -> ChainReport:
    """Recompute the chain over the stored log and compare it with the seals."""
    report = ChainReport()
    previous = GENESIS
    records = ledger.store.iter_records(batch=_SEAL_BATCH)
    for seal_position, seal_hash in _seals(ledger):
        record = next(records, None)
        if record is None or record.position > seal_position:
            report.broken_at = seal_position
            report.problem = f"position {seal_position} was sealed but is no longer in the log"
            return report
        if record.position < seal_position:
            report.broken_at = record.position
            report.problem = (f"position {record.position} is in the log but was never sealed, "
                              f"although later positions were")
            return report
        previous = link(previous, record)
        if previous.hex() != seal_hash:
            report.broken_at = seal_position
            report.problem = (f"position {seal_position} ({record.topic}, stream {record.stream!r} "
                              f"v{record.version}) does not match its seal: the record or one "
                              "before it was changed")
            return report
        report.sealed += 1
        report.head = (seal_position, seal_hash)
        if progress is not None:
            progress(1)
    report.unsealed = sum(1 for _ in records)
    return report


def _seals(ledger: Ledger) -> Iterator[tuple[int, str]]:
    after = -1
    while True:
        with ledger.backend.transaction() as tx:
            _ensure_table(tx)
            rows = tx.execute(f"SELECT position, hash FROM {TABLE} WHERE position > ? "
                              f"ORDER BY position LIMIT {_SEAL_BATCH}", (after,))
        yield from ((int(p), h) for p, h in rows)
        if len(rows) < _SEAL_BATCH:
            return
        after = int(rows[-1][0])

