"""What a projection is: state that is exactly its table rows, folded one event at a time.

A projection keeps its rows in memory while it folds a batch, then writes the rows that changed
and its position in the same transaction (the runner does that), so a crash never applies an event
twice or skips one. ``load`` reads the rows back, so a restarted projection resumes where its last
committed batch left it. Rebuilding into tables with another prefix gives rows to compare.
"""

from __future__ import annotations

import operator
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any, ClassVar

from domain.events import Event
from eventstore.backend import ReadModelTx, Row
from eventstore.codec import EventView


class Projection(ABC):
    #: Stable name; also the key of its position in ``projection_tracking``.
    name: ClassVar[str]
    #: Event types it folds (class names). Other events only advance its position.
    consumes: ClassVar[frozenset[str]]
    #: The version of what its rows mean: raise it when a change to the fold or the tables
    #: would make rows folded by the old code differ from a rebuild's. A runner that finds rows
    #: of another version drops them and folds the projection again from event 1.
    schema_version: ClassVar[int] = 1
    #: Table name (without prefix) -> column definitions, primary key included.
    tables: ClassVar[dict[str, str]]
    #: A table's primary key, when it is more than the first column: its leading columns.
    keys: ClassVar[Mapping[str, tuple[str, ...]]] = {}
    #: Whether its rows depend on the ledger clock (``apply``'s ``ledger_time``, ``advance_clock``).
    #: A runner of projections that all say no reads only the events they fold.
    uses_ledger_clock: ClassVar[bool] = True
    #: Event types it folds from a view (``eventstore.codec.EventView``) instead of the whole
    #: event: type name -> the view class ``apply`` then receives for it. Projections in one
    #: runner that name the same view share one parse of each record (``projections/views.py``).
    views: ClassVar[Mapping[str, type[EventView]]] = {}
    #: What folding the whole log costs, relative to the others: about the CPU seconds per
    #: million events of ``bench.replay``'s ledger its rebuild takes beyond reading the records
    #: (decoding its views, folding, writing), that is its ``rebuild_compare`` figure less what
    #: reading as many records costs. How a rebuild on several cores shares the projections out.
    rebuild_weight: ClassVar[float] = 1.0

    def __init__(self, prefix: str = "proj_") -> None:
        self.prefix = prefix

    def table(self, name: str) -> str:
        return f"{self.prefix}{name}"

    def create_tables(self, tx: ReadModelTx) -> None:
        for name, columns in self.tables.items():
            tx.execute(f"CREATE TABLE IF NOT EXISTS {self.table(name)} ({columns})")

    def drop_tables(self, tx: ReadModelTx) -> None:
        for name in self.tables:
            tx.execute(f"DROP TABLE IF EXISTS {self.table(name)}")

    def rows(self, tx: ReadModelTx) -> dict[str, list[Row]]:
        """Every row of every table, in primary-key order (for comparisons). Sorted here: a table
        read in its stored order comes twice as fast as through its key's index, and Python's
        order is the same on every backend."""
        return {name: self.ordered(name, tx.execute(f"SELECT * FROM {self.table(name)}"))
                for name in self.tables}

    def ordered(self, table: str, rows: Iterable[Row]) -> list[Row]:
        """A table's rows (its columns in their order) in primary-key order."""
        return sorted(rows, key=self._key(table))

    def _key(self, table: str) -> Callable[[Row], Any]:
        return operator.itemgetter(*range(len(self.keys.get(table, ("first column",)))))

    @abstractmethod
    def load(self, tx: ReadModelTx) -> None:
        """Read state back from the tables (empty tables: the initial state)."""

    @abstractmethod
    def apply(self, event: Event | EventView, ledger_time: datetime) -> None:
        """Fold one event (or its view, for the types in ``views``). ``ledger_time`` is the newest
        ``recorded_at`` seen so far."""

    def advance_clock(self, ledger_time: datetime) -> None:  # noqa: B027 - optional hook
        """The ledger clock moved (called once per batch, after the batch's events)."""

    @abstractmethod
    def flush(self, tx: ReadModelTx) -> None:
        """Write the rows changed since the last flush."""


def upsert(tx: ReadModelTx, table: str, columns: Sequence[str], key: Sequence[str],
           rows: Sequence[Sequence[Any]]) -> None:
    if rows:
        tx.insert_rows(table, columns, rows, conflict_key=key)


def insert_rows(tx: ReadModelTx, table: str, columns: Sequence[str],
                rows: Sequence[Sequence[Any]]) -> None:
    if rows:
        tx.insert_rows(table, columns, rows)


def delete_keys(tx: ReadModelTx, table: str, column: str, keys: Sequence[Any]) -> None:
    if keys:
        tx.delete_keys(table, column, keys)
