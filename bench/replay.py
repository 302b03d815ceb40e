"""Replay benchmark: decision verification and projection rebuild over a ledger of a million events.

    python -m bench.replay [--events N] [--seed S] [--backend sqlite|postgres]
                           [--ledger PATH] [--database-url URL]

The ledger is ``bench.workload``'s traffic (market and weather snapshots, orders, fills,
settlements) with each synthetic ``DecisionMade`` replaced by real ones: ``domain.decision.decide``
run on that visit's recorded snapshots under the shipped configuration (recorded first, as a
``ConfigVersionRecorded``) with the positions the fills so far give, one decision per configured
strategy, so every decision replays. It is then sealed (hash chain) and its projections caught up,
as a running bot leaves its ledger. The workload's weather streams are ``weather:{city}``, not the
snapshotter's ``weather:{city}:{kind}``: replay finds inputs by event id, so that does not matter.

Building takes minutes. On SQLite the ledger goes to a temporary directory, or to ``--ledger PATH``
to be kept for the next run (a bench ledger built with other arguments is rebuilt there; any other
file is refused). On PostgreSQL it is built on a durable throwaway server, or in the database named
by ``--database-url``, which must be empty or hold a bench ledger of the same arguments (kept).

Timed on that ledger, in this order:

- baselines: reading and decoding every event (``store.iter_events()``), and every record decision
  replay reads (the inputs and the decisions), each decoded once;
- verify: ``replay_all`` over every decision (on every core, as it chooses for a log this size);
  the whole ``milkbot replay verify`` pass (records, hash chain, decisions); its records check
  and its hash-chain check alone;
- rebuild: a ``ProjectionRunner`` of every projection from position zero into memory tables, in
  this process (``rebuild_runner``: the rebuild's fold on one core); ``milkbot replay rebuild``
  of every projection, on every core (``rebuild_and_compare_all``: the figure the 60,000
  events/s target is for); then
  ``rebuild_and_compare`` of each projection alone, to say which ones cost the most;
- the baselines again.

One JSON object per figure goes to stdout once all are measured, each with ``bench``,
``backend``, ``figure``, the measured rate, ``baseline`` and ``ratio`` (measured / baseline):
decision figures against the decision baseline, event figures against reading and decoding every
event, each time the faster of its two runs (the load of a shared machine moves; ``cpu_s`` and
``load_avg`` on each line tell how much of the machine a phase had). Progress goes to stderr.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import io
import os
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import orjson
from rich.console import Console

from bench.workload import START, synthetic_commands
from domain.config import config_recorded, parse_config
from domain.decision import DECISION_CODE, DecisionInputs, Portfolio, decide
from domain.events import (
    DecisionMade,
    Event,
    MarketSnapshotted,
    OrderFilled,
    WeatherSnapshotted,
    deterministic_id,
)
from domain.positions import yes_terms
from eventstore import Ledger, open_ledger
from eventstore.chain import seal, verify_chain
from eventstore.throwaway_postgres import ThrowawayPostgres
from milkbot.settings import SHIPPED_CONFIG, Settings
from projections.registry import all_projections, projection_factories
from projections.runner import ProjectionRunner
from replay.decisions import DECISION_TYPE, INPUT_TYPE_NAMES, PARALLEL_FROM, replay_all
from replay.rebuild import (
    REBUILD_BATCH,
    RebuildResult,
    rebuild_and_compare,
    rebuild_and_compare_all,
)
from replay.verify import verify_ledger

DEFAULT_EVENTS = 1_000_000
#: The issue's targets.
TARGET_DECISIONS_PER_S = 2_000
TARGET_REBUILD_EVENTS_PER_S = 60_000
#: Cash the simulated bot decides with: $1,000 in micros.
BALANCE = 1_000 * 1_000_000
#: Commands appended per transaction while building.
GROUP_COMMIT = 64
#: Where a finished build records what it holds; bump ``FORMAT`` when the ledger's recipe changes.
META_TABLE = "bench_replay_meta"
FORMAT = 1
#: The fresh tables the timed projection runner folds into.
SCRATCH_PREFIX = "bench_rebuild_"
BACKENDS = ("sqlite", "postgres")


# -- the ledger -----------------------------------------------------------------------------------


def ledger_commands(events: int, seed: int, config_text: str) -> Iterator[list[Event]]:
    """The configuration, then the workload's commands with real decisions, until at least
    ``events`` events (the command that reaches the total is kept whole)."""
    config, version = parse_config(config_text)
    yield [config_recorded(config_text, source="bench.replay", recorded_at=START - timedelta(minutes=1),
                           correlation_id=deterministic_id("bench-replay-config", seed))]
    total = 1
    positions: dict[str, int] = {}
    for command in synthetic_commands(seed):
        if total >= events:
            return
        out: list[Event] = []
        market: MarketSnapshotted | None = None
        weather: WeatherSnapshotted | None = None
        for event in command:
            if isinstance(event, MarketSnapshotted):
                market = event
            elif isinstance(event, WeatherSnapshotted):
                weather = event
            elif isinstance(event, DecisionMade):
                assert market is not None, "the workload snapshots before it decides"
                portfolio = Portfolio(positions={t: p for t, p in positions.items() if p},
                                      balance=BALANCE)
                out.extend(decide(DecisionInputs(market=market, weather=weather, config=config,
                                                 config_version=version, portfolio=portfolio)))
                continue
            elif isinstance(event, OrderFilled):
                delta, _ = yes_terms(event.side, event.action, event.price, event.count)
                positions[event.ticker] = positions.get(event.ticker, 0) + delta
            out.append(event)
        total += len(out)
        yield out


@dataclass(frozen=True)
class Built:
    """What a finished build holds and what it took (``*_s``: seconds)."""

    events_requested: int
    seed: int
    config_version: str
    format: int
    events: int
    decisions: int
    append_s: float
    seal_s: float
    projections_s: float
    #: The decision code that made its decisions (``domain.decision.DECISION_CODE``; 1 for a build
    #: that did not record it): one built by another version is built again, since this code does
    #: not re-derive its decisions.
    decision_code: int = 1

    @property
    def build_s(self) -> float:
        return self.append_s + self.seal_s + self.projections_s


def build(ledger: Ledger, events: int, seed: int, config_text: str) -> Built:
    """Append the bench ledger, seal it and catch its projections up (an empty ledger first)."""
    assert ledger.store.max_position() == 0
    _, version = parse_config(config_text)
    appended = decisions = 0
    started = time.perf_counter()
    group: list[list[Event]] = []
    for command in ledger_commands(events, seed, config_text):
        group.append(command)
        appended += len(command)
        decisions += sum(isinstance(e, DecisionMade) for e in command)
        if len(group) == GROUP_COMMIT:
            ledger.store.append_many(group)
            group = []
        if appended % 100_000 < len(command):
            _progress(f"appended {appended} events ({decisions} decisions)")
    ledger.store.append_many(group)
    append_s = time.perf_counter() - started
    _progress(f"appended {appended} events, {decisions} decisions, in {append_s:.1f}s; sealing")
    started = time.perf_counter()
    seal(ledger)
    seal_s = time.perf_counter() - started
    _progress(f"sealed in {seal_s:.1f}s; catching the projections up")
    started = time.perf_counter()
    ProjectionRunner(ledger, all_projections()).catch_up()
    projections_s = time.perf_counter() - started
    built = Built(events_requested=events, seed=seed, config_version=version, format=FORMAT,
                  decision_code=DECISION_CODE,
                  events=appended, decisions=decisions, append_s=append_s, seal_s=seal_s,
                  projections_s=projections_s)
    with ledger.backend.transaction() as tx:
        tx.execute(f"CREATE TABLE IF NOT EXISTS {META_TABLE} (name TEXT PRIMARY KEY, value TEXT NOT NULL)")
        tx.execute(f"INSERT INTO {META_TABLE} (name, value) VALUES ('ledger', ?)",
                   (orjson.dumps(asdict(built)).decode(),))
    return built


def recorded_build(ledger: Ledger) -> Built | None:
    """What the bench build left in this ledger's database, or None if it holds none."""
    exists = ("SELECT name FROM sqlite_master WHERE type = 'table' AND name = ?"
              if ledger.backend.name == "sqlite" else "SELECT to_regclass(?)")
    with ledger.backend.transaction() as tx:
        if not [row for row in tx.execute(exists, (META_TABLE,)) if row[0] is not None]:
            return None
        rows = tx.execute(f"SELECT value FROM {META_TABLE} WHERE name = 'ledger'")
    if not rows:
        return None
    try:
        return Built(**orjson.loads(rows[0][0]))
    except TypeError:
        return None  # written by an older recipe


def _matches(built: Built | None, events: int, seed: int, version: str) -> bool:
    return built is not None and (built.events_requested, built.seed, built.config_version,
                                  built.format, built.decision_code) == (
        events, seed, version, FORMAT, DECISION_CODE)


class NotABenchLedger(RuntimeError):
    """The database already holds a ledger this benchmark did not build: it is left alone."""


@contextmanager
def bench_ledger(backend: str, events: int, seed: int, config_text: str, *,
                 path: Path | None = None, database_url: str | None = None) -> (
        Iterator[tuple[Ledger, Built, bool, str]]):
    """The ledger to time, how it was built, whether it was already there (cached), and its
    database URL (unredacted: the rebuild's worker processes open it)."""
    _, version = parse_config(config_text)
    with contextlib.ExitStack() as stack:
        if backend == "sqlite":
            if path is None:
                directory = stack.enter_context(tempfile.TemporaryDirectory(prefix="milkbot-bench-"))
                path = Path(directory) / "ledger.sqlite"
            url = f"sqlite:///{path.resolve()}"
        elif database_url is not None:
            url = database_url
        else:
            server = stack.enter_context(ThrowawayPostgres(durable=True))
            url = server.create_database("milkbot_bench_replay")
        ledger = stack.enter_context(open_ledger(url))
        known = recorded_build(ledger)
        if _matches(known, events, seed, version):
            assert known is not None
            _progress(f"{backend}: reusing the bench ledger at {ledger.url} ({known.events} events)")
            yield ledger, known, True, url
            return
        if ledger.store.max_position() != 0:
            if known is None or backend != "sqlite" or path is None:
                raise NotABenchLedger(f"{ledger.url} already holds a ledger that is not this "
                                      "benchmark's for these arguments; name an empty one")
            ledger.close()
            for suffix in ("", "-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)
            ledger = stack.enter_context(open_ledger(url))
        _progress(f"{backend}: building {events} events (seed {seed}) at {ledger.url}")
        built = build(ledger, events, seed, config_text)
        _progress(f"{backend}: built in {built.build_s:.1f}s")
        yield ledger, built, False, url


# -- the phases -----------------------------------------------------------------------------------


#: CPU seconds of this process in the last ``timed`` phase (replay's worker processes, children
#: of a fork server, are not counted: compare ``seconds`` there).
_last_cpu_s = [0.0]


def timed(fn: Callable[[], int]) -> tuple[int, float]:
    """What ``fn`` counted and the seconds it took (the collector run beforehand)."""
    gc.collect()
    cpu = time.process_time()
    started = time.perf_counter()
    count = fn()
    elapsed = time.perf_counter() - started
    _last_cpu_s[0] = time.process_time() - cpu
    return count, elapsed




def read_all(ledger: Ledger) -> int:
    """The baseline: every event read and decoded."""
    return sum(1 for _ in ledger.store.iter_events())


def read_decision_records(ledger: Ledger) -> int:
    """The decision baseline: every record replay reads (inputs, decisions), decoded once; returns
    how many decisions there are."""
    types = (*INPUT_TYPE_NAMES, DECISION_TYPE)
    after, decisions = 0, 0
    while True:
        records = ledger.store.read_records(after, 5_000, types=types)
        for record in records:
            record.decode()
            decisions += record.type_name == DECISION_TYPE
        if len(records) < 5_000:
            return decisions
        after = records[-1].position


def replay_decisions(ledger: Ledger) -> tuple[int, int]:
    """Decisions replayed and how many of them did not replay to their bytes."""
    replayed = mismatched = 0
    for result in replay_all(ledger.store):
        replayed += 1
        if not result.ok:  # (a decision of another decision code too: the ledger is built again)
            mismatched += 1
            if mismatched <= 3:
                _progress(f"decision {result.decision_id} at {result.position} does not replay: "
                          f"{result.differences()[:3]}")
    return replayed, mismatched


def verify_command(ledger: Ledger) -> int:
    """``milkbot replay verify`` itself (progress bars and all, into a discarded console)."""
    from milkbot import audit
    from milkbot.bootstrap import Milkbot

    app = Milkbot(settings=Settings(database_url=ledger.url), ledger=ledger, projections=[])
    out = Console(file=io.StringIO(), width=120)
    err = Console(file=io.StringIO(), width=120)
    status = audit.verify(app, out, err)
    if status != 0:
        _progress(f"milkbot replay verify exited {status}: {err.file.getvalue()[-2000:]}")  # type: ignore[attr-defined]
    return status


def verify_records(ledger: Ledger) -> int:
    report = verify_ledger(ledger)
    assert report.ok, report.problems
    return report.events


def verify_seals(ledger: Ledger) -> int:
    report = verify_chain(ledger)
    assert report.ok and report.unsealed == 0, report
    return report.sealed


def rebuild_all(ledger: Ledger) -> int:
    """Every projection folded from position zero in one runner, into memory (the rebuild's fold,
    in this process), and its rows sorted as a rebuild compares them."""
    projections = all_projections(prefix=SCRATCH_PREFIX)
    events, tables = ProjectionRunner(ledger, projections, batch_size=REBUILD_BATCH).fold_in_memory(
        ledger.store.max_position())
    for projection in projections:
        tables.rows(projection)
    return events


# -- the figures ----------------------------------------------------------------------------------


def run(backend: str, events: int, seed: int, *, path: Path | None = None,
        database_url: str | None = None, emit: Callable[[dict[str, Any]], None]) -> None:
    """Build (or reuse) the ledger, time every phase, then emit every figure.

    The baselines are taken first and again last, and each figure is compared with the faster
    of the two: on a shared machine the load moves, and a baseline read in a busy minute would
    flatter everything measured in a quiet one."""
    config_text = SHIPPED_CONFIG.read_text()
    with bench_ledger(backend, events, seed, config_text, path=path,
                      database_url=database_url) as (ledger, built, cached, url):
        n = built.events
        if cached:
            # A kept ledger's live projections may predate this code's (a schema version
            # changed): the runner brings them up to date first, as the command handler would.
            _progress(f"{backend}: catching the live projections up")
            ProjectionRunner(ledger, all_projections()).catch_up()
        lines: list[tuple[dict[str, Any], float | None, str]] = []

        def line(figure: str, rate: float | None, per: str, **fields: Any) -> None:
            """A figure and the rate compared with the ``per`` ("events"/"decisions") baseline;
            with the CPU seconds and load average that tell how much of the machine it had."""
            record = {"bench": "replay", "backend": backend, "figure": figure, **fields}
            record.setdefault("cpu_s", _s(_last_cpu_s[0]))
            record["load_avg"] = round(os.getloadavg()[0], 2)
            lines.append((record, rate, per))

        def baselines(when: str) -> None:
            _progress(f"{backend}: baseline ({when}): reading and decoding {n} events")
            read, read_s = timed(lambda: read_all(ledger))
            assert read == n, (read, n)
            line("baseline_read_events", _rate(n, read_s), "events", when=when, events=n,
                 seconds=_s(read_s), events_per_s=_rate(n, read_s))
            _progress(f"{backend}: baseline ({when}): reading and decoding inputs and decisions")
            decisions, inputs_s = timed(lambda: read_decision_records(ledger))
            assert decisions == built.decisions, (decisions, built.decisions)
            line("baseline_read_decisions", _rate(decisions, inputs_s), "decisions", when=when,
                 decisions=decisions, seconds=_s(inputs_s),
                 decisions_per_s=_rate(decisions, inputs_s))

        baselines("first")
        line("build", _rate(n, built.build_s), "events", events=n, decisions=built.decisions,
             cached=cached, build_s=_s(built.build_s), append_s=_s(built.append_s),
             seal_s=_s(built.seal_s), projections_s=_s(built.projections_s), cpu_s=None,
             events_per_s=_rate(n, built.build_s))

        _progress(f"{backend}: replaying {built.decisions} decisions")
        outcome: list[int] = []

        def replay_counted() -> int:
            replayed, mismatched = replay_decisions(ledger)
            outcome.append(mismatched)
            return replayed

        replayed, replay_s = timed(replay_counted)
        workers = (os.cpu_count() or 1) if n >= PARALLEL_FROM else 1  # as replay_all chooses
        line("verify_decisions", _rate(replayed, replay_s), "decisions", decisions=replayed,
             mismatched=outcome[0], workers=workers, seconds=_s(replay_s),
             decisions_per_s=_rate(replayed, replay_s),
             target_decisions_per_s=TARGET_DECISIONS_PER_S)

        _progress(f"{backend}: milkbot replay verify")
        status, verify_s = timed(lambda: verify_command(ledger))
        line("verify_command", _rate(n, verify_s), "events", events=n, decisions=built.decisions,
             exit_status=status, seconds=_s(verify_s), events_per_s=_rate(n, verify_s))
        for figure, check in (("verify_records", verify_records), ("verify_chain", verify_seals)):
            _progress(f"{backend}: {figure}")
            checked, check_s = timed(lambda check=check: check(ledger))  # type: ignore[misc]
            line(figure, _rate(checked, check_s), "events", events=checked, seconds=_s(check_s),
                 events_per_s=_rate(checked, check_s))

        _progress(f"{backend}: rebuilding every projection from position zero, in one runner")
        folded, rebuild_s = timed(lambda: rebuild_all(ledger))
        line("rebuild_runner", _rate(n, rebuild_s), "events", events=n, read=folded,
             projections=len(projection_factories()), workers=1, seconds=_s(rebuild_s),
             events_per_s=_rate(n, rebuild_s), target_events_per_s=TARGET_REBUILD_EVENTS_PER_S)

        workers = os.cpu_count() or 1
        _progress(f"{backend}: milkbot replay rebuild (every projection, {workers} processes)")
        compared: list[RebuildResult] = []

        def rebuild_command() -> int:
            compared.extend(rebuild_and_compare_all(ledger, database_url=url, workers=workers))
            return len(compared)

        _, command_s = timed(rebuild_command)
        line("rebuild_command", _rate(n, command_s), "events", events=n,
             projections=len(compared), workers=workers,
             matches=all(r.matches for r in compared), seconds=_s(command_s),
             events_per_s=_rate(n, command_s), target_events_per_s=TARGET_REBUILD_EVENTS_PER_S,
             meets_target=_rate(n, command_s) >= TARGET_REBUILD_EVENTS_PER_S)

        for name, factory in sorted(projection_factories().items()):
            _progress(f"{backend}: rebuild_and_compare {name}")
            results: list[RebuildResult] = []

            def compare(factory: Any = factory, results: list[RebuildResult] = results) -> int:
                results.append(rebuild_and_compare(ledger, factory))
                return results[0].position

            position, compare_s = timed(compare)
            line("rebuild_compare", _rate(n, compare_s), "events", projection=name, events=n,
                 position=position, read=results[0].events, matches=results[0].matches,
                 seconds=_s(compare_s), events_per_s=_rate(n, compare_s),
                 target_events_per_s=TARGET_REBUILD_EVENTS_PER_S)
        baselines("last")

    best = {per: max(rate for record, rate, kind in lines
                     if kind == per and record["figure"].startswith("baseline") and rate)
            for per in ("events", "decisions")}
    for record, rate, per in lines:
        emit({**record, "baseline": best[per], "ratio": _ratio(rate or 0.0, best[per])})


def _rate(count: int, seconds: float) -> float:
    return round(count / seconds, 1) if seconds > 0 else 0.0


def _ratio(measured: float, baseline: float) -> float:
    return round(measured / baseline, 3) if baseline else 0.0


def _s(seconds: float) -> float:
    return round(seconds, 3)


def _progress(message: str) -> None:
    print(f"[bench.replay] {message}", file=sys.stderr, flush=True)


def _emit(result: dict[str, Any]) -> None:
    sys.stdout.write(orjson.dumps(result).decode() + "\n")
    sys.stdout.flush()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.replay", description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=DEFAULT_EVENTS)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--backend", choices=BACKENDS, default=None,
                        help="sqlite (the default), or postgres (implied by --database-url)")
    parser.add_argument("--ledger", type=Path, default=None,
                        help="SQLite file to keep the bench ledger in between runs")
    parser.add_argument("--database-url", default=None,
                        help="postgresql:// database for the ledger (empty, or a bench ledger)")
    args = parser.parse_args(argv)
    if args.events < 2:
        parser.error("--events must be at least 2")
    backend = args.backend or ("postgres" if args.database_url else "sqlite")
    if args.database_url and backend != "postgres":
        parser.error("--database-url names a PostgreSQL database: use it with --backend postgres")
    if args.ledger and backend != "sqlite":
        parser.error("--ledger is a SQLite file: use it with --backend sqlite")
    try:
        run(backend, args.events, args.seed, path=args.ledger, database_url=args.database_url,
            emit=_emit)
    except NotABenchLedger as e:
        print(f"bench.replay: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
