"""Rebuild projections from event 1 into scratch tables and compare them with the live ones.

The live rows and the live positions are read in one transaction, the scratch copies are folded to
exactly those positions, and the two are compared table by table. Scratch tables are dropped after.

``rebuild_and_compare_all`` (``milkbot replay rebuild``) rebuilds several projections at once. One
runner folding several projections reads and decodes the log once for all of them, so they are
folded in as few runners as there are processes to give them (``rebuild_groups``): on one core, a
single runner; on more, one runner per process, the projections shared out by the cost each
declares (``Projection.rebuild_weight``). A file or server database is opened by each worker
process; an in-memory one can only be rebuilt here.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field

from eventstore.backend import Row
from eventstore.ledger import Ledger, open_ledger
from eventstore.url import SqliteUrl, parse_database_url
from projections.base import Projection
from projections.registry import projection_factories
from projections.runner import (
    ProjectionRunner,
    ensure_tracking_table,
    forget,
    read_position,
    read_schema,
)

SCRATCH_PREFIX = "rebuild_"
#: Events per batch while rebuilding: a row that changes all the time (a mark, a total, a window
#: of recent intents) is written once per batch, so a rebuild writes in bigger batches than a
#: follower, which must commit often. 50,000 of ``bench.replay``'s events hold about 0.6 GB per
#: process (a batch and the next, read ahead), and fold about 6% faster than 20,000.
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
    live_rows, positions, stale = _read_live(ledger, [live])
    scratch = build(SCRATCH_PREFIX)
    _drop(ledger, [scratch])
    try:
        events = ProjectionRunner(ledger, [scratch], batch_size=batch_size).catch_up(
            stop=positions[live.name])
        rebuilt_rows = _read_rows(ledger, [scratch])
    finally:
        _drop(ledger, [scratch])
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
    live_rows, positions, stale = _read_live(ledger, live)
    if database_url is None or _in_memory(database_url):
        workers = 1
    elif workers is None:
        workers = os.cpu_count() or 1
    groups = rebuild_groups(live, positions, workers)
    scratch = [factories[n](SCRATCH_PREFIX) for n in names]
    _drop(ledger, scratch)
    try:
        jobs = [(group, positions[group[0]]) for group in groups]
        if workers > 1 and len(groups) > 1:
            assert database_url is not None
            context = multiprocessing.get_context("forkserver")
            with ProcessPoolExecutor(min(workers, len(groups)), mp_context=context) as pool:
                read = list(pool.map(_fold_in_worker, [database_url] * len(jobs),
                                     [group for group, _ in jobs], [stop for _, stop in jobs],
                                     [public_delay_minutes] * len(jobs),
                                     [batch_size] * len(jobs)))
        else:
            read = [_fold(ledger, group, stop, public_delay_minutes, batch_size)
                    for group, stop in jobs]
        events = {name: count for (group, _), count in zip(jobs, read, strict=True)
                  for name in group}
        rebuilt_rows = _read_rows(ledger, scratch)
    finally:
        _drop(ledger, scratch)
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


def _fold(ledger: Ledger, names: Sequence[str], stop: int, public_delay_minutes: int,
          batch_size: int) -> int:
    factories = projection_factories(public_delay_minutes)
    projections = [factories[n](SCRATCH_PREFIX) for n in names]
    return ProjectionRunner(ledger, projections, batch_size=batch_size).catch_up(stop=stop)


def _fold_in_worker(database_url: str, names: Sequence[str], stop: int,
                    public_delay_minutes: int, batch_size: int) -> int:
    with open_ledger(database_url) as ledger:
        return _fold(ledger, names, stop, public_delay_minutes, batch_size)


def _in_memory(database_url: str) -> bool:
    url = parse_database_url(database_url)
    return isinstance(url, SqliteUrl) and url.in_memory


def _read_live(ledger: Ledger, live: Sequence[Projection]) -> (
    tuple[dict[str, dict[str, list[Row]]], dict[str, int], dict[str, int]]
):
    """Every live row and position, in one transaction (so each row set is at its position),
    and the schema version of those whose rows are not the code's."""
    with ledger.backend.transaction() as tx:
        ensure_tracking_table(tx)
        stale = {p.name: version for p in live
                 if (version := read_schema(tx, p)) not in (None, p.schema_version)}
        for projection in live:
            projection.create_tables(tx)
        positions = {p.name: read_position(tx, p) for p in live}
        rows = {p.name: p.rows(tx) for p in live}
    return rows, positions, stale


def _read_rows(ledger: Ledger, projections: Sequence[Projection]) -> dict[str, dict[str, list[Row]]]:
    with ledger.backend.transaction() as tx:
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


def _drop(ledger: Ledger, projections: Sequence[Projection]) -> None:
    with ledger.backend.transaction() as tx:
        ensure_tracking_table(tx)
        for projection in projections:
            forget(tx, projection)
