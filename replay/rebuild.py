"""Rebuild projections from event 1, in memory, and compare them with the live ones.

The live rows and the live positions are read in one read-only snapshot (``Backend.snapshot``),
copies of the projections are folded from event 1 to exactly those positions, and the two are
compared table by table. The copies are folded into tables held in memory
(``ProjectionRunner.fold_in_memory``): the database is only read, and what the live runners'
upserts wrote is checked against a fold that did not go through them. With workers, the live rows
are read while they fold.

``rebuild_and_compare_all`` (``milkbot replay rebuild``) rebuilds several projections at once. One
runner folding several projections reads and decodes the log once for all of them, so they are
folded in as few runners as there are processes to give them (``rebuild_groups``): on one core, a
single runner; on more, one runner per process, the projections shared out by the cost each
declares (``Projection.rebuild_weight``). A file or server database is opened by each worker
process; an in-memory one can only be rebuilt here.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field

from eventstore.backend import ReadModelTx, Row
from eventstore.ledger import Ledger, open_ledger
from eventstore.url import SqliteUrl, parse_database_url
from projections.base import Projection
from projections.registry import projection_factories
from projections.runner import ProjectionRunner, ensure_tracking_table, read_position, read_schema

#: The copies' table prefix (their tables are in memory, never in the database).
SCRATCH_PREFIX = "rebuild_"
#: What a runner's rebuild gives back: the events it read, and each projection's rows by table.
Folded = tuple[int, dict[str, dict[str, list[Row]]]]
#: Events per batch while rebuilding: a row that changes all the time (a mark, a total, a window
#: of recent intents) is made again once per batch, so a rebuild flushes in bigger batches than a
#: follower, which must commit often. The log is still read a few thousand records at a time
#: (``runner.READ_PIECE``): a worker holds about 0.37 GB on ``bench.replay``'s ledger.
REBUILD_BATCH = 50_000


@dataclass
class RebuildResult:
    name: str
    position: int
    events: int
    differences: dict[str, tuple[list[Row], list[Row]]] = field(default_factory=dict)
    #: The schema version of the live rows when it is not the code's (a runner folds them again
    #: when it next starts: the command handler's, at its start-up); None when it is.
    live_schema: int | None = None

    @property
    def matches(self) -> bool:
        return not self.differences and self.live_schema is None


def rebuild_and_compare(ledger: Ledger, build: Callable[[str], Projection], *,
                        batch_size: int = REBUILD_BATCH) -> RebuildResult:
    """One projection (``build(prefix)`` makes it) rebuilt in this process and compared."""
    live = build("proj_")
    _make_tables(ledger, [live])
    with ledger.backend.snapshot() as tx:
        positions, stale = _live_state(tx, [live])
        live_rows = _rows(tx, [live])
    events, rebuilt_rows = _rebuild(ledger, [build(SCRATCH_PREFIX)], positions[live.name],
                                    batch_size)
    return _compare(live.name, positions[live.name], events, live_rows[live.name],
                    rebuilt_rows[live.name], stale.get(live.name))


def rebuild_and_compare_all(ledger: Ledger, names: Sequence[str] | None = None, *,
                            public_delay_minutes: int = 60, database_url: str | None = None,
                            workers: int | None = None,
                            batch_size: int = REBUILD_BATCH) -> list[RebuildResult]:
    """The named projections (default: all) rebuilt together and compared, by name.

    ``database_url`` (the ledger's, unredacted) lets worker processes open the database; without
    it, or for an in-memory database, everything folds here. ``workers`` defaults to the cores."""
    factories = projection_factories(public_delay_minutes)
    names = sorted(factories) if names is None else list(names)
    unknown = [n for n in names if n not in factories]
    if unknown:
        raise KeyError(f"no projection named {', '.join(unknown)}")
    live = [factories[n]("proj_") for n in names]
    _make_tables(ledger, live)
    if database_url is None or _in_memory(database_url):
        workers = 1
    elif workers is None:
        workers = os.cpu_count() or 1
    with contextlib.ExitStack() as stack:  # (the workers' pool, when there is one)
        with ledger.backend.snapshot() as tx:
            positions, stale = _live_state(tx, live)
            jobs = [(group, positions[group[0]])
                    for group in rebuild_groups(live, positions, workers)]
            futures = []
            if workers > 1 and len(jobs) > 1:
                assert database_url is not None
                pool = stack.enter_context(ProcessPoolExecutor(
                    min(workers, len(jobs)), mp_context=multiprocessing.get_context("forkserver")))
                futures = [pool.submit(_fold_in_worker, database_url, group, stop,
                                       public_delay_minutes, batch_size)
                           for group, stop in jobs]
            # Read while the workers fold: the snapshot keeps the rows at those positions.
            live_rows = _rows(tx, live)
        folded = [f.result() for f in futures] if futures else [
            _fold(ledger, group, stop, public_delay_minutes, batch_size)
            for group, stop in jobs]
    events = {name: count for (group, _), (count, _) in zip(jobs, folded, strict=True)
              for name in group}
    rebuilt_rows = {name: rows for _, by_name in folded for name, rows in by_name.items()}
    return [_compare(n, positions[n], events[n], live_rows[n], rebuilt_rows[n], stale.get(n))
            for n in names]


def rebuild_groups(projections: Sequence[Projection], positions: Mapping[str, int],
                   workers: int) -> list[list[str]]:
    """Projection names in runners: on one worker, one runner per live position (a runner folds
    its projections to one stop); on more, each position's projections shared among up to
    ``workers`` runners by their ``rebuild_weight``, heaviest first into the lightest runner.

    The projections that follow the ledger clock go together while there are fewer workers than
    projections to share: each reads every record, so two runners of them would both pay for
    reading the whole log."""
    by_position: dict[int, list[Projection]] = {}
    for p in projections:
        by_position.setdefault(positions[p.name], []).append(p)
    groups: list[list[str]] = []
    for _, members in sorted(by_position.items()):
        clocked = [p for p in members if p.uses_ledger_clock]
        units = [[p] for p in members if not p.uses_ledger_clock]
        if clocked and len(units) + 1 >= workers:
            units.append(clocked)
        else:
            units += [[p] for p in clocked]
        runners = max(1, min(workers, len(units)))
        names: list[list[str]] = [[] for _ in range(runners)]
        loads = [0.0] * runners
        for unit in sorted(units, key=lambda u: (-sum(p.rebuild_weight for p in u), u[0].name)):
            lightest = loads.index(min(loads))
            names[lightest] += [p.name for p in unit]
            loads[lightest] += sum(p.rebuild_weight for p in unit)
        groups += names
    return groups


def _rebuild(ledger: Ledger, scratch: Sequence[Projection], stop: int, batch_size: int) -> Folded:
    """Fold the copies from event 1 to ``stop`` in one runner, in memory, and give back their
    rows (sorted in the worker that folded them, so the parent only compares)."""
    runner = ProjectionRunner(ledger, scratch, batch_size=batch_size)
    events, tables = runner.fold_in_memory(stop)
    return events, {p.name: tables.rows(p) for p in scratch}


def _fold(ledger: Ledger, names: Sequence[str], stop: int, public_delay_minutes: int,
          batch_size: int) -> Folded:
    factories = projection_factories(public_delay_minutes)
    return _rebuild(ledger, [factories[n](SCRATCH_PREFIX) for n in names], stop, batch_size)


def _fold_in_worker(database_url: str, names: Sequence[str], stop: int,
                    public_delay_minutes: int, batch_size: int) -> Folded:
    with open_ledger(database_url) as ledger:
        return _fold(ledger, names, stop, public_delay_minutes, batch_size)


def _in_memory(database_url: str) -> bool:
    url = parse_database_url(database_url)
    return isinstance(url, SqliteUrl) and url.in_memory


def _make_tables(ledger: Ledger, live: Sequence[Projection]) -> None:
    """The live projections' tables, empty if they were never folded (a snapshot writes nothing)."""
    with ledger.backend.transaction() as tx:
        ensure_tracking_table(tx)
        for projection in live:
            projection.create_tables(tx)


def _live_state(tx: ReadModelTx, live: Sequence[Projection]) -> (
    tuple[dict[str, int], dict[str, int]]
):
    """Each live projection's position, and the schema version of those whose rows are not the
    code's. Read in the snapshot its rows are read in, so each row set is at its position."""
    stale = {p.name: version for p in live
             if (version := read_schema(tx, p)) not in (None, p.schema_version)}
    return {p.name: read_position(tx, p) for p in live}, stale


def _rows(tx: ReadModelTx, projections: Sequence[Projection]) -> dict[str, dict[str, list[Row]]]:
    return {p.name: p.rows(tx) for p in projections}


def _compare(name: str, position: int, events: int, live: dict[str, list[Row]],
             rebuilt: dict[str, list[Row]], live_schema: int | None) -> RebuildResult:
    result = RebuildResult(name=name, position=position, events=events, live_schema=live_schema)
    for table, rows in live.items():
        again = rebuilt[table]
        if rows != again:
            live_set, rebuilt_set = set(rows), set(again)
            result.differences[table] = ([r for r in rows if r not in rebuilt_set],
                                         [r for r in again if r not in live_set])
    return result
