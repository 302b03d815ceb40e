"""What a projection declares of its tables holds: rows are compared in primary-key order, so the
key columns a projection names must lead its table's columns."""

from __future__ import annotations

import pytest

from projections.base import Projection
from projections.registry import all_projections


def _columns(definition: str) -> list[str]:
    return [part.split()[0] for part in definition.split(",")
            if part.split() and part.split()[0].upper() != "PRIMARY"]


@pytest.mark.parametrize("projection", all_projections(), ids=lambda p: p.name)
def test_a_tables_named_key_leads_its_columns(projection: Projection) -> None:
    assert set(projection.keys) <= set(projection.tables)
    for table, key in projection.keys.items():
        definition = projection.tables[table]
        assert _columns(definition)[:len(key)] == list(key), table
        assert f"PRIMARY KEY ({', '.join(key)})" in definition or (
            len(key) == 1 and f"{key[0]} TEXT PRIMARY KEY" in definition), table


@pytest.mark.parametrize("projection", all_projections(), ids=lambda p: p.name)
def test_a_table_without_a_named_key_is_keyed_by_its_first_column(projection: Projection) -> None:
    for table, definition in projection.tables.items():
        if table not in projection.keys:
            first = definition.split(",")[0].split()
            assert "PRIMARY" in first and "KEY" in first, (table, first)
