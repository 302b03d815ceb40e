"""The audit commands: ``milkbot replay verify|decision|rebuild|export|import``, ``milkbot explain``
and ``milkbot backtest``. Each prints to ``out`` (stdout) and its complaints to ``err`` (stderr),
and answers the exit status: 0 good, 1 a mismatch found, 2 a usage or input error."""

from __future__ import annotations

import argparse
import re
import uuid
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import orjson
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from domain.decision import DECISION_CODE
from eventstore.errors import EventStoreError
from eventstore.store import EventStore
from milkbot.bootstrap import Milkbot
from replay.exchange import SliceError

EXIT_MISMATCH = 1
EXIT_ERROR = 2


def day_or_time(text: str) -> datetime:
    """``2026-08-28`` (midnight UTC) or an ISO time (UTC when it names no offset)."""
    try:
        if len(text) == 10:
            return datetime.combine(date.fromisoformat(text), time(), UTC)
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is neither a date (YYYY-MM-DD) nor an ISO time") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


#: A published chain head as ``replay verify --head`` takes it: ``POSITION:HASH``.
_HEAD = re.compile(r"([1-9][0-9]*):([0-9a-fA-F]{64})")


def chain_head(text: str) -> tuple[int, str]:
    """``POSITION:HASH``: the public summary's ``ledger.position`` and ``ledger.hash``."""
    matched = _HEAD.fullmatch(text.strip())
    if matched is None:
        raise argparse.ArgumentTypeError(
            "a head is POSITION:HASH (the public summary's ledger.position and its 64 hex digit "
            "ledger.hash)")
    return int(matched[1]), matched[2].lower()


def decision_id(text: str) -> uuid.UUID:
    try:
        return uuid.UUID(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a decision id (a UUID)") from None


@contextmanager
def _bar(err: Console, what: str, total: int | None) -> Iterator[Progress]:
    with Progress(TextColumn(what), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                  console=err, transient=True) as progress:
        yield progress


# -- replay verify -----------------------------------------------------------------------------------

def verify(app: Milkbot, out: Console, err: Console, *, since: datetime | None = None,
           heads: Sequence[tuple[int, str]] = ()) -> int:
    """The ledger's integrity, its hash chain (and the ``heads`` published before: the chain
    must still give each one's hash at its position), then every decision (after ``since``)
    replayed."""
    from eventstore.chain import seal, seal_at, verify_chain
    from replay.decisions import replay_all
    from replay.verify import verify_ledger

    ledger = app.ledger
    total = ledger.store.max_position()
    with _bar(err, "records", total) as progress:
        task = progress.add_task("records", total=total)
        report = verify_ledger(ledger, lambda n: progress.advance(task, n))
    if not report.ok:
        for problem in report.problems:
            err.print(f"[red]{problem}[/]", highlight=False)
        err.print(f"[bold red]ledger verification failed after {report.events} good events[/]")
        return EXIT_MISMATCH
    out.print(f"records: {report.events} events decode and sit in their streams "
              f"(last position {report.last_position})", highlight=False)

    with _bar(err, "hash chain", total) as progress:
        task = progress.add_task("chain", total=total)
        chain = verify_chain(ledger, lambda n: progress.advance(task, n))
    if not chain.ok:
        err.print(f"[bold red]hash chain broken at position {chain.broken_at}: {chain.problem}[/]",
                  highlight=False, soft_wrap=True)
        return EXIT_MISMATCH
    sealed_now = seal(ledger) if chain.unsealed else 0
    out.print(f"hash chain: {chain.sealed} records match their seals (head {chain.head[0]} "
              f"{chain.head[1][:16]}...)" + (f"; sealed the {sealed_now} newer ones" if sealed_now else ""),
              highlight=False)
    for position, published in heads:
        sealed = seal_at(ledger, position)
        if sealed != published:
            err.print(f"[bold red]the published head at position {position} does not match: "
                      + ("the ledger has no record there[/]" if sealed is None else
                         f"the chain gives {sealed[:16]}..., not {published[:16]}...: the ledger "
                         "up to it is not the one that was published[/]"),
                      highlight=False, soft_wrap=True)
            return EXIT_MISMATCH
        out.print(f"published head {position} {published[:16]}...: matches", highlight=False)

    replayed = mismatched = 0
    other_code: Counter[int] = Counter()
    with _bar(err, "decisions", None) as progress:
        task = progress.add_task("decisions", total=None)
        for result in replay_all(ledger.store, since=since):
            progress.advance(task)
            if result.made_by is not None:
                other_code[result.made_by] += 1
                continue
            replayed += 1
            if not result.ok:
                mismatched += 1
                if mismatched <= 10:
                    err.print(f"[red]decision {result.decision_id} (position {result.position}) does not "
                              f"replay:[/]", highlight=False)
                    for line in result.differences()[:6]:
                        err.print(f"  {line}", highlight=False, soft_wrap=True)
    scope = f" since {since.isoformat()}" if since else ""
    if mismatched:
        err.print(f"[bold red]{mismatched} of {replayed} decisions{scope} do not replay to the bytes "
                  "recorded[/]")
        return EXIT_MISMATCH
    out.print(f"decisions: {replayed}{scope} replayed from their recorded inputs, byte for byte identical",
              highlight=False)
    if other_code:
        made = ", ".join(f"{n} by v{v}" for v, n in sorted(other_code.items()))
        out.print(f"decisions made by another version of the decision code ({made}; this is "
                  f"v{DECISION_CODE}): not re-derived here, a release of that version does",
                  highlight=False, soft_wrap=True)
    return 0


def replay_decision(app: Milkbot, which: uuid.UUID, out: Console, err: Console) -> int:
    from replay.decisions import replay_one

    try:
        results = replay_one(app.ledger.store, which)
    except LookupError as e:
        err.print(f"[bold red]milkbot: {e}[/]", highlight=False)
        return EXIT_ERROR
    failed = False
    for result in results:
        if result.made_by is not None:
            failed = True
            err.print(f"[bold red]decision {result.decision_id} (position {result.position}) was "
                      f"made by decision code v{result.made_by}; this Milkbot's is "
                      f"v{DECISION_CODE}: a release of v{result.made_by} re-derives it[/]",
                      highlight=False, soft_wrap=True)
            continue
        if result.ok:
            out.print(f"decision {result.decision_id} (position {result.position}): replayed from its "
                      f"recorded inputs, {len(result.recorded)} bytes identical", highlight=False)
            continue
        failed = True
        err.print(f"[bold red]decision {result.decision_id} (position {result.position}) does not "
                  "replay[/]", highlight=False)
        for line in result.differences():
            err.print(f"  {line}", highlight=False, soft_wrap=True)
        out.print("recorded:", highlight=False)
        out.print(result.recorded.decode(), highlight=False, soft_wrap=True)
        out.print("replayed:", highlight=False)
        out.print(result.replayed.decode() if result.replayed else "(nothing: it could not be replayed)",
                  highlight=False, soft_wrap=True)
    return EXIT_MISMATCH if failed else 0


def rebuild(app: Milkbot, name: str | None, out: Console, err: Console) -> int:
    from projections.registry import projection_factories
    from replay.rebuild import rebuild_and_compare_all

    names = [name] if name else sorted(projection_factories())
    with err.status(f"rebuilding {len(names)} projection{'s' if len(names) > 1 else ''} "
                    "from event 1"):
        results = rebuild_and_compare_all(
            app.ledger, names, public_delay_minutes=app.settings.public_delay_minutes,
            database_url=app.settings.database_url)
    failed = False
    for result in results:
        projection_name = result.name
        if result.matches:
            out.print(f"{projection_name}: rebuilt from {result.events} events up to position "
                      f"{result.position}: identical")
            continue
        failed = True
        if result.live_schema is not None:
            err.print(f"[bold red]{projection_name}: the live rows were folded under schema "
                      f"{result.live_schema}; this code folds them again from event 1 when the "
                      "command handler next starts[/]")
            continue
        err.print(f"[bold red]{projection_name}: rebuilt rows differ from the live ones "
                  f"at position {result.position}[/]")
        for table, (live_only, rebuilt_only) in result.differences.items():
            err.print(f"  table {table}: {len(live_only)} rows only live, {len(rebuilt_only)} only rebuilt")
            for row in live_only[:5]:
                err.print(f"    live:    {row}", highlight=False)
            for row in rebuilt_only[:5]:
                err.print(f"    rebuilt: {row}", highlight=False)
    return EXIT_MISMATCH if failed else 0


# -- explain, export, import ---------------------------------------------------------------------------

def explain(app: Milkbot, which: uuid.UUID, out: Console, err: Console) -> int:
    from replay.explain import explain as story

    app.runner().catch_up()  # the fills it tells come from the portfolio projection
    try:
        lines = story(app.ledger, which)
    except LookupError as e:
        err.print(f"[bold red]milkbot: {e}[/]", highlight=False)
        return EXIT_ERROR
    for line in lines:
        out.print(line, highlight=False, soft_wrap=True)
    return 0


def export(app: Milkbot, path: Path, out: Console, *, since: datetime | None, until: datetime | None) -> int:
    from replay.exchange import export_slice

    with path.open("wb") as f:
        summary = export_slice(app.ledger.store, f, since=since, until=until)
    out.print(f"exported {summary.events} events (positions {summary.first}..{summary.last}) and "
              f"{summary.inputs_before} older inputs they cite to {path}", highlight=False)
    return 0


def import_(app: Milkbot, path: Path, out: Console, err: Console, *,
            heads: Sequence[tuple[int, str]] = ()) -> int:
    """Append an exported slice; with ``heads`` (published before), first check that the
    export's own chain gives each one, and import nothing if one does not match."""
    from replay.exchange import SliceError, import_slice, slice_seals

    try:
        if heads:
            with path.open("rb") as f:
                seals = slice_seals(f)
            for position, published in heads:
                if seals.get(position) != published:
                    err.print(f"[bold red]the published head at position {position} does not "
                              f"match {path}: " + ("it has no record there" if position not in seals
                                                   else f"its chain gives {seals[position][:16]}..., "
                                                        f"not {published[:16]}...")
                              + "; nothing was imported[/]", highlight=False, soft_wrap=True)
                    return EXIT_MISMATCH
                out.print(f"published head {position} {published[:16]}...: matches {path}",
                          highlight=False)
        with path.open("rb") as f:
            appended, skipped = import_slice(app.ledger.store, f)
    except OSError as e:
        err.print(f"[bold red]milkbot: cannot read {path}: {e.strerror}[/]", highlight=False)
        return EXIT_ERROR
    except SliceError as e:
        err.print(f"[bold red]milkbot: {path}: {e}; nothing was imported[/]", highlight=False)
        return EXIT_ERROR
    out.print(f"imported {appended} events from {path} ({skipped} already in this ledger)",
              highlight=False)
    return 0


# -- backtest -----------------------------------------------------------------------------------------

def backtest(app: Milkbot, args: argparse.Namespace, out: Console, err: Console) -> int:
    import tempfile

    from milkbot.settings import load_config
    from replay.backtest import BacktestReport, run_backtest

    config, _ = load_config(app.settings)
    text = app.settings.config.read_text(encoding="utf-8")
    start, end = args.from_, day_or_time(args.to_text)
    if len(args.to_text) == 10:
        end += timedelta(days=1)  # --to 2026-08-28 includes that day
    if end <= start:
        err.print("[bold red]milkbot: --to must come after --from[/]")
        return EXIT_ERROR
    cities = [c.strip().upper() for c in args.cities.split(",")] if args.cities else None
    with tempfile.TemporaryDirectory(prefix="milkbot-backtest-") as scratch, ExitStack() as stack:
        try:
            source = stack.enter_context(_source(app, args.source, Path(scratch), out))
        except (OSError, SliceError, EventStoreError) as e:
            reason = e.strerror if isinstance(e, OSError) and e.strerror else str(e)
            err.print(f"[bold red]milkbot: the source {args.source}: {reason}[/]", highlight=False,
                      soft_wrap=True)
            return EXIT_ERROR
        progress = stack.enter_context(_bar(err, "backtest", 100))
        task = progress.add_task("backtest", total=100)
        try:
            report = run_backtest(source, f"sqlite:///{scratch}/backtest.sqlite", config, text,
                                  start=start, end=end, cities=cities, strategy=args.strategy,
                                  progress=lambda done: progress.update(task, completed=done * 100))
        except ValueError as e:
            err.print(f"[bold red]milkbot: {e}[/]", highlight=False)
            return EXIT_ERROR
    _print_backtest(report, out)
    if args.json:
        args.json.write_bytes(orjson.dumps(report.as_json(), option=orjson.OPT_INDENT_2))
        out.print(f"JSON report: {args.json}", highlight=False)
    if args.csv:
        args.csv.write_text(report.trades_csv())
        out.print(f"per-trade diff (CSV): {args.csv}", highlight=False)
    assert isinstance(report, BacktestReport)
    return 0


@contextmanager
def _source(app: Milkbot, source: str | None, scratch: Path, out: Console) -> Iterator[EventStore]:
    """The recorded run to backtest: this ledger, another one by URL, or an exported slice (imported
    into a scratch ledger first)."""
    from eventstore import open_ledger
    from replay.exchange import import_slice

    if source is None:
        yield app.ledger.store
        return
    if "://" in source:
        with open_ledger(source) as ledger:
            yield ledger.store
        return
    with open_ledger(f"sqlite:///{scratch}/source.sqlite") as ledger, Path(source).open("rb") as f:
        appended, _ = import_slice(ledger.store, f)
        out.print(f"imported {appended} events from {source}", highlight=False)
        yield ledger.store


def _print_backtest(report: object, out: Console) -> None:
    from replay.backtest import BacktestReport

    assert isinstance(report, BacktestReport)
    out.print(f"backtest {report.start:%Y-%m-%d %H:%M} to {report.end:%Y-%m-%d %H:%M} UTC, "
              f"{len(report.cities)} cities, strategy {report.strategy or 'all configured'}: "
              f"{report.steps} steps over {report.records_read} recorded snapshots and reports",
              highlight=False)
    table = Table(title="results for the period", title_justify="left")
    table.add_column("figure")
    table.add_column("backtest", justify="right")
    table.add_column("recorded run", justify="right")
    for name, backtest_value in vars(report.backtest).items():
        table.add_row(name.replace("_", " "), _cell(backtest_value), _cell(getattr(report.source, name)))
    out.print(table)
    trades = report.trades
    out.print(f"trades compared: {len(trades)}; same decision {sum(t.same_decision for t in trades)}, "
              f"same price {sum(t.same_price for t in trades)}, same fill {sum(t.same_fill for t in trades)}",
              highlight=False)
    differing = [t for t in trades if not (t.same_decision and t.same_fill)]
    if differing:
        diff = Table(title="trades that differ (first 20)", title_justify="left")
        for column in ("at", "strategy", "event", "recorded run", "backtest", "filled (rec/bt)"):
            diff.add_column(column)
        for t in differing[:20]:
            diff.add_row(t.at, t.strategy, t.event_ticker, t.source_orders, t.backtest_orders,
                         f"{t.source_filled:g}/{t.backtest_filled:g}")
        out.print(diff)


def _cell(value: object) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)
