"""Rebuild projections from event 1 into scratch tables and compare them with the live ones.

The live rows and the live position are read in one transaction, the scratch copy is folded to
exactly that position, and the two are compared table by table. Scratch tables are dropped after.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from eventstore.backend import Row
from eventstore.ledger import Ledger
from projections.base import Projection
from projections.runner import (
    TRACKING_TABLE,
    ProjectionRunner,
    ensure_tracking_table,
    read_position,
    tracking_key,
)

SCRATCH_PREFIX = "rebuild_"


@dataclass
class RebuildResult:
    name: str
    position: int
    events: int
    differences: dict[str, tuple[list[Row], list[Row]]] = field(default_factory=dict)

    @property
    def matches(self) -> bool:
        return not self.differences


def rebuild_and_compare(ledger: Ledger, build: Callable[[str], Projection], *,
                        batch_size: int = 5_000) -> RebuildResult:
    live = build("proj_")
    with ledger.backend.transaction() as tx:
        ensure_tracking_table(tx)
        live.create_tables(tx)
        position = read_position(tx, live)
        live_rows = live.rows(tx)
    scratch = build(SCRATCH_PREFIX)
    _drop(ledger, scratch)
    try:
        runner = ProjectionRunner(ledger, [scratch], batch_size=batch_size)
        events = runner.catch_up(stop=position)
        with ledger.backend.transaction() as tx:
            rebuilt_rows = scratch.rows(tx)
    finally:
        _drop(ledger, scratch)
    result = RebuildResult(name=live.name, position=position, events=events)
    for table, rows in live_rows.items():
        rebuilt = rebuilt_rows[table]
        if rows != rebuilt:
            live_set, rebuilt_set = set(rows), set(rebuilt)
            result.differences[table] = ([r for r in rows if r not in rebuilt_set],
                                         [r for r in rebuilt if r not in live_set])
    return result


def _drop(ledger: Ledger, projection: Projection) -> None:
    with ledger.backend.transaction() as tx:
        ensure_tracking_table(tx)
        projection.drop_tables(tx)
        tx.execute(f"DELETE FROM {TRACKING_TABLE} WHERE name = ?", (tracking_key(projection),))
