"""``MemoryTables`` against the databases: the same writes leave the same rows, and what a database
refuses, memory refuses.

A rebuild folds its copies into memory and compares them with the live rows a database holds, so
any way the two differ on the same writes would be a false alarm, or a real difference hidden.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar

import psycopg
import pytest
from eventsourcing.persistence import IntegrityError
from hypothesis import given
from hypothesis import strategies as st

from domain.events import Event
from eventstore import Ledger, open_ledger
from eventstore.backend import ReadModelTx
from eventstore.codec import EventView
from projections.base import Projection
from projections.memory import NO_ROWS, MemoryTables, ReadModelRefused
from tests.property.test_ledger_properties import SQLITE_MEMORY, examples

REFUSED = (sqlite3.IntegrityError, psycopg.errors.IntegrityError, IntegrityError)


class _Tables(Projection):
    name = "memory_contract"
    consumes = frozenset()
    tables: ClassVar[dict[str, str]] = {
        "pairs": ("a TEXT NOT NULL, b BIGINT NOT NULL, v BIGINT NOT NULL, w TEXT, "
                  "x DOUBLE PRECISION, PRIMARY KEY (a, b)"),
        "single": "k TEXT PRIMARY KEY, v BIGINT, w TEXT NOT NULL",
    }
    keys: ClassVar[dict[str, tuple[str, ...]]] = {"pairs": ("a", "b")}

    def load(self, tx: ReadModelTx) -> None:
        pass

    def apply(self, event: Event | EventView, ledger_time: datetime) -> None:
        pass

    def flush(self, tx: ReadModelTx) -> None:
        pass


@dataclass(frozen=True)
class Write:
    """One call on a ``ReadModelTx``: its method and arguments."""

    method: str
    args: tuple[Any, ...]

    def to(self, tx: Any, projection: Projection) -> None:
        table, *rest = self.args
        getattr(tx, self.method)(projection.table(table), *rest)


texts = st.sampled_from(["x", "y", "zz"])
numbers = st.integers(-(2 ** 40), 2 ** 40)
doubles = st.floats(allow_nan=False, allow_infinity=False, width=64)
maybe = st.none()  # (a NULL where the column may or may not allow it)


def _unique(rows: Sequence[tuple[Any, ...]], width: int) -> list[tuple[Any, ...]]:
    """One row per key: an upsert naming a key twice is refused by PostgreSQL, not by SQLite."""
    return list({row[:width]: row for row in rows}.values())


pair_keys = st.tuples(texts, st.integers(0, 2))
pair_rows = st.builds(lambda k, v, w, x: (*k, v, w, x), pair_keys, numbers | maybe,
                      texts | maybe, doubles | maybe)
single_rows = st.tuples(texts, numbers | maybe, texts | maybe)

writes = st.one_of(
    st.builds(lambda rows: Write("insert_rows", ("pairs", ("a", "b", "v", "w", "x"), rows)),
              st.lists(pair_rows, max_size=4)),
    st.builds(lambda rows: Write("insert_rows", ("pairs", ("a", "b", "v", "w", "x"),
                                                 _unique(rows, 2), ("a", "b"))),
              st.lists(pair_rows, max_size=4)),
    st.builds(lambda rows: Write("insert_rows", ("pairs", ("b", "a", "v"),
                                                 _unique(rows, 2), ("a", "b"))),
              st.lists(st.tuples(st.integers(0, 2), texts, numbers), max_size=4)),
    st.builds(lambda rows: Write("insert_rows", ("single", ("k", "v", "w"), rows)),
              st.lists(single_rows, max_size=3)),
    st.builds(lambda rows: Write("insert_rows", ("single", ("k", "w"), _unique(rows, 1),
                                                 ("k",))),
              st.lists(st.tuples(texts, texts | maybe), max_size=3)),
    st.builds(lambda keys: Write("delete_keys", ("single", "k", keys)), st.lists(texts, max_size=2)),
    st.builds(lambda keys: Write("delete_rows", ("pairs", ("a", "b"), keys)),
              st.lists(pair_keys, max_size=2)),
    st.builds(lambda keys: Write("delete_rows", ("pairs", ("a",), [(k,) for k in keys])),
              st.lists(texts, max_size=1)),
    st.builds(lambda table: Write("clear", (table,)), st.sampled_from(["pairs", "single"])),
)


def check_same_rows(ledger: Ledger, steps: list[Write]) -> None:
    projection = _Tables("memory_test_")
    with ledger.backend.transaction() as tx:
        projection.create_tables(tx)
    memory = MemoryTables([projection])
    for step in steps:
        try:
            with ledger.backend.transaction() as tx:
                step.to(tx, projection)
            database_refused = False
        except REFUSED:
            database_refused = True
        try:
            step.to(memory, projection)
            memory_refused = False
        except ReadModelRefused:
            memory_refused = True
        assert memory_refused == database_refused, step
        if memory_refused:
            return  # (the rebuild stops at a refusal; what a half-written call leaves is moot)
        with ledger.backend.snapshot() as tx:
            assert memory.rows(projection) == projection.rows(tx), step


@examples(60)
@given(steps=st.lists(writes, min_size=1, max_size=12))
def test_memory_keeps_the_rows_sqlite_keeps(steps: list[Write]) -> None:
    with open_ledger(SQLITE_MEMORY) as ledger:
        check_same_rows(ledger, steps)


@pytest.mark.postgres
@examples(6)
@given(steps=st.lists(writes, min_size=4, max_size=12))
def test_memory_keeps_the_rows_postgres_keeps(postgres_server: Any, steps: list[Write]) -> None:
    with open_ledger(postgres_server.fresh_database_url()) as ledger:
        check_same_rows(ledger, steps)


# -- what memory refuses -----------------------------------------------------------------------

@pytest.fixture
def memory() -> MemoryTables:
    return MemoryTables([_Tables("m_")])


def test_an_upsert_that_names_only_some_columns_keeps_the_others(memory: MemoryTables) -> None:
    memory.insert_rows("m_single", ("k", "v", "w"), [("x", 1, "first")])

    memory.insert_rows("m_single", ("k", "w"), [("x", "second")], conflict_key=("k",))

    assert memory.rows(_Tables("m_"))["single"] == [("x", 1, "second")]


@pytest.mark.parametrize(("call", "says"), [
    (lambda m: m.insert_rows("m_single", ("k", "w"), [("x", "a"), ("x", "b")]),
     "a row with that key exists"),
    (lambda m: m.insert_rows("m_single", ("k", "w"), [("x", "a"), ("x", "b")], ("k",)),
     "names a key twice"),
    (lambda m: m.insert_rows("m_single", ("k", "v"), [("x", 1)]), "w cannot be NULL"),
    (lambda m: m.insert_rows("m_single", ("k", "w"), [(None, "secret-value")]),
     "k cannot be NULL"),
    (lambda m: m.insert_rows("m_single", ("k", "w"), [("x",)]), "a row of 1 values"),
    (lambda m: m.insert_rows("m_single", ("k", "nope"), [("x", 1)]), "no column nope"),
    (lambda m: m.insert_rows("m_pairs", ("a", "b", "v"), [("x", 1, 2)], ("a",)),
     "not its primary key"),
    (lambda m: m.clear("m_other"), "no table m_other"),
])
def test_memory_refuses_what_a_database_refuses_without_echoing_values(
        memory: MemoryTables, call: Any, says: str) -> None:
    with pytest.raises(ReadModelRefused, match=says) as refused:
        call(memory)
    assert "secret-value" not in str(refused.value)


def test_memory_takes_no_sql_and_empty_tables_answer_only_a_select(memory: MemoryTables) -> None:
    with pytest.raises(NotImplementedError):
        memory.execute("DELETE FROM m_single")
    assert NO_ROWS.execute("  select * from anything where x = ?", (1,)) == []
    with pytest.raises(NotImplementedError):
        NO_ROWS.execute("DELETE FROM m_single")
    with pytest.raises(NotImplementedError):
        NO_ROWS.clear("m_single")
