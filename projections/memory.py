"""Read-model tables held in memory: where a rebuild folds the copies it compares.

A rebuild folds projections from event 1 only to compare their rows with the live tables. Writing
those rows to the database, reading them back and dropping them was a fifth of its time, and
checked the database's upserts against themselves. ``MemoryTables`` takes a projection's flushes
as the database takes them:

- an insert names some of a table's columns; the others are NULL;
- an upsert (``conflict_key``, which must be the primary key) replaces the columns it names of a
  row whose key exists, and keeps the others;
- a NULL in a NOT NULL or key column, an insert of a key that exists, an upsert that names one
  key twice (PostgreSQL refuses it), or an unknown table or column is refused
  (``ReadModelRefused``), so a fold that only works in memory fails here too;

and gives each table's rows back as ``Projection.rows`` reads them: tuples in column order, in
primary-key order. The table definitions are the projections' own ``tables``: a column is its
definition's first word, and the key its ``PRIMARY KEY``.

It takes no SQL. A projection writes through ``insert_rows``, ``delete_keys``, ``delete_rows``
and ``clear``, which the database backends implement too; it reads only in ``load``, which a
projection folded from event 1 makes from ``NO_ROWS``: tables that are empty.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any

from eventstore.backend import Row
from projections.base import Projection

#: Commas between a table's column definitions (not those inside ``PRIMARY KEY (a, b)``).
_DEFINITIONS = re.compile(r",\s*(?![^()]*\))")


class ReadModelRefused(Exception):
    """A write the database would refuse (the message names the table and column, no value)."""


class _Table:
    __slots__ = ("_shapes", "columns", "key", "name", "required", "rows")

    def __init__(self, name: str, definition: str) -> None:
        self.name = name
        columns: list[str] = []
        key: tuple[str, ...] = ()
        required: set[str] = set()
        for part in _DEFINITIONS.split(definition.strip()):
            upper = part.upper()
            if upper.startswith("PRIMARY KEY"):
                key = tuple(c.strip() for c in part[part.index("(") + 1:part.rindex(")")].split(","))
                continue
            column = part.split()[0]
            columns.append(column)
            if "PRIMARY KEY" in upper:
                key = (column,)
            if "NOT NULL" in upper:
                required.add(column)
        if not key:
            raise ValueError(f"table {name} has no primary key")
        self.columns = tuple(columns)
        self.key = key
        self.required = required | set(key)
        #: Primary key -> row (a tuple in column order).
        self.rows: dict[Any, Row] = {}
        self._shapes: dict[tuple[str, ...], _Shape] = {}

    def shape(self, columns: Sequence[str]) -> _Shape:
        named = tuple(columns)
        shape = self._shapes.get(named)
        if shape is None:
            shape = self._shapes[named] = _Shape(self, named)
        return shape

    def places(self, columns: Sequence[str]) -> list[int]:
        """Where ``columns`` are in a row."""
        unknown = [c for c in columns if c not in self.columns]
        if unknown:
            raise ReadModelRefused(f"table {self.name} has no column {', '.join(unknown)}")
        return [self.columns.index(c) for c in columns]


class _Shape:
    """How rows of some of a table's columns become rows of the table."""

    __slots__ = ("key", "missing", "places", "required", "whole", "width")

    def __init__(self, table: _Table, columns: tuple[str, ...]) -> None:
        self.places = table.places(columns)
        if len(set(columns)) != len(columns):
            raise ReadModelRefused(f"table {table.name}: a column named twice")
        #: Columns a row must have that these leave NULL (refused once there is a row).
        self.missing = sorted(table.required - set(columns))
        self.width = len(columns)
        self.whole = columns == table.columns
        key_places = [columns.index(c) if c in columns else -1 for c in table.key]
        self.key: int | list[int] = key_places[0] if len(key_places) == 1 else key_places
        self.required = [(i, c) for i, c in enumerate(columns) if c in table.required]


class MemoryTables:
    """The tables of some projections, in memory (a ``ReadModelTx``)."""

    def __init__(self, projections: Iterable[Projection]) -> None:
        self._tables = {projection.table(name): _Table(projection.table(name), definition)
                        for projection in projections
                        for name, definition in projection.tables.items()}

    def execute(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        raise NotImplementedError("memory tables take no SQL: a flush writes through "
                                  "insert_rows, delete_keys, delete_rows and clear")

    def insert_rows(self, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]],
                    conflict_key: Sequence[str] = ()) -> None:
        held = self._table(table)
        shape = held.shape(columns)
        if conflict_key and set(conflict_key) != set(held.key):
            raise ReadModelRefused(f"table {table}: an upsert on ({', '.join(conflict_key)}), "
                                   f"which is not its primary key")
        stored = held.rows
        blank = (None,) * len(held.columns)
        key_at = shape.key
        named: set[Any] = set()
        if rows and shape.missing:
            raise ReadModelRefused(f"table {table}: {', '.join(shape.missing)} cannot be NULL")
        for row in rows:
            if len(row) != shape.width:
                raise ReadModelRefused(f"table {table}: a row of {len(row)} values for "
                                       f"{shape.width} columns")
            if None in row:
                for i, column in shape.required:
                    if row[i] is None:
                        raise ReadModelRefused(f"table {table}: {column} cannot be NULL")
            key = row[key_at] if isinstance(key_at, int) else tuple(row[i] for i in key_at)
            old = stored.get(key)
            if conflict_key:
                if key in named:
                    raise ReadModelRefused(f"table {table}: one upsert names a key twice")
                named.add(key)
            elif old is not None:
                raise ReadModelRefused(f"table {table}: a row with that key exists")
            if shape.whole:
                stored[key] = tuple(row)
            else:
                new = list(old or blank)
                for place, value in zip(shape.places, row, strict=True):
                    new[place] = value
                stored[key] = tuple(new)

    def delete_keys(self, table: str, column: str, keys: Sequence[Any]) -> None:
        self.delete_rows(table, (column,), [(k,) for k in keys])

    def delete_rows(self, table: str, columns: Sequence[str], keys: Sequence[Sequence[Any]]) -> (
        None
    ):
        held = self._table(table)
        stored = held.rows
        if tuple(columns) == held.key:
            single = len(held.key) == 1
            for key in keys:
                stored.pop(key[0] if single else tuple(key), None)
            return
        places = held.places(columns)
        wanted = {tuple(k) for k in keys}
        for key, row in list(stored.items()):
            if tuple(row[p] for p in places) in wanted:
                del stored[key]

    def clear(self, table: str) -> None:
        self._table(table).rows.clear()

    def rows(self, projection: Projection) -> dict[str, list[Row]]:
        """A projection's rows as ``Projection.rows`` reads them from the database."""
        return {name: projection.ordered(name, self._table(projection.table(name)).rows.values())
                for name in projection.tables}

    def _table(self, name: str) -> _Table:
        try:
            return self._tables[name]
        except KeyError:
            raise ReadModelRefused(f"no table {name}") from None


class _NoRows:
    """The read model before the first event: every table empty (what ``load`` reads from)."""

    def execute(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        if not sql.lstrip().upper().startswith("SELECT"):
            raise NotImplementedError("empty tables only answer a SELECT")
        return []

    def insert_rows(self, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]],
                    conflict_key: Sequence[str] = ()) -> None:
        raise NotImplementedError("empty tables take no write")

    def delete_keys(self, table: str, column: str, keys: Sequence[Any]) -> None:
        raise NotImplementedError("empty tables take no write")

    def delete_rows(self, table: str, columns: Sequence[str], keys: Sequence[Sequence[Any]]) -> (
        None
    ):
        raise NotImplementedError("empty tables take no write")

    def clear(self, table: str) -> None:
        raise NotImplementedError("empty tables take no write")


NO_ROWS = _NoRows()
