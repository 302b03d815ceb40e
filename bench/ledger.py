"""Ledger benchmark: append, projection rebuild and read throughput, against raw-driver baselines.

    python -m bench.ledger [--events N] [--backend sqlite|postgres|both] [--seed S]

Each backend gets a fresh database: SQLite a temporary file; PostgreSQL a database on a durable
throwaway server started here, or, when ``MILKBOT_BENCH_DATABASE_URL`` names a server (over TCP; its
user must be able to CREATE DATABASE), a new database on it that is dropped afterwards.

Phases, on the same ``bench.workload`` traffic:

- append: the first half of the decision-sized commands through ``EventStore.append``, one
  transaction each (encoding included); the second half through ``EventStore.append_many`` in
  groups of ``GROUP_COMMIT`` commands (group commit: one transaction, one fsync per group);
- rebuild: ``ProjectionRunner(ledger, all_projections()).catch_up()`` from position zero;
- read: ``iter_records()`` over the whole log, decoding every record;
- baselines, same database and run: the same serialized rows (stream, version, topic, state),
  encoded before the clock starts, into a bare table keyed like the ledger's: one ``executemany``
  transaction, and on PostgreSQL a binary ``COPY`` too.

One JSON object per backend goes to stdout; progress goes to stderr.
"""

from __future__ import annotations

import argparse
import gc
import os
import sqlite3
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any
from urllib.parse import quote

import orjson
import psycopg
from psycopg import sql

from bench.workload import decision_batches
from domain.events import Event
from eventstore import Ledger, open_ledger
from eventstore.codec import encode
from eventstore.throwaway_postgres import ThrowawayPostgres
from eventstore.url import PostgresUrl, parse_database_url
from projections.registry import all_projections
from projections.runner import ProjectionRunner

BENCH_URL_VARIABLE = "MILKBOT_BENCH_DATABASE_URL"
DEFAULT_EVENTS = 100_000
BACKENDS = ("sqlite", "postgres")
EXECUTEMANY_TABLE = "bench_baseline_executemany"
COPY_TABLE = "bench_baseline_copy"

#: One stored record as the ledger's table holds it: stream, version, topic, encoded state.
Row = tuple[str, int, str, bytes]


@dataclass(frozen=True)
class Baselines:
    """Seconds each raw-driver baseline took to write all the rows (None: not on this backend)."""

    executemany_s: float
    copy_s: float | None


class SqliteDatabase:
    """A fresh SQLite ledger file; the baseline table goes into the same file (WAL mode)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.ledger_url = f"sqlite:///{path}"

    def baselines(self, rows: Sequence[Row]) -> Baselines:
        with _closing_sqlite(self.path) as conn:
            conn.execute(f"CREATE TABLE {EXECUTEMANY_TABLE} (stream TEXT NOT NULL, "
                         "version INTEGER NOT NULL, topic TEXT NOT NULL, state BLOB NOT NULL, "
                         "PRIMARY KEY (stream, version))")
            start = time.perf_counter()
            conn.execute("BEGIN")
            conn.executemany(f"INSERT INTO {EXECUTEMANY_TABLE} (stream, version, topic, state) "
                             "VALUES (?, ?, ?, ?)", rows)
            conn.execute("COMMIT")
            return Baselines(executemany_s=time.perf_counter() - start, copy_s=None)


class PostgresDatabase:
    """A fresh PostgreSQL database reached over TCP; baseline tables go beside the ledger's."""

    def __init__(self, url: str) -> None:
        parsed = _tcp_postgres_url(url)
        self.ledger_url = url
        self.conninfo = psycopg.conninfo.make_conninfo(
            host=parsed.host, port=parsed.port, dbname=parsed.dbname, user=parsed.user,
            password=parsed.password or None,
        )

    def baselines(self, rows: Sequence[Row]) -> Baselines:
        return Baselines(executemany_s=self._timed(EXECUTEMANY_TABLE, _pg_executemany, rows),
                         copy_s=self._timed(COPY_TABLE, _pg_copy, rows))

    def _timed(self, table: str, write: Callable[[psycopg.Cursor[Any], str, Sequence[Row]], None],
               rows: Sequence[Row]) -> float:
        """Seconds to write ``rows`` into a new bare ``table`` in one committed transaction."""
        with psycopg.connect(self.conninfo) as conn:
            conn.execute(sql.SQL(
                "CREATE TABLE {} (id bigserial, stream text NOT NULL, version bigint NOT NULL, "
                "topic text NOT NULL, state bytea NOT NULL, PRIMARY KEY (stream, version))"
            ).format(sql.Identifier(table)))
            conn.commit()
            start = time.perf_counter()
            with conn.cursor() as cur:
                write(cur, table, rows)
            conn.commit()
            return time.perf_counter() - start


def _pg_executemany(cur: psycopg.Cursor[Any], table: str, rows: Sequence[Row]) -> None:
    cur.executemany(sql.SQL("INSERT INTO {} (stream, version, topic, state) "
                            "VALUES (%s, %s, %s, %s)").format(sql.Identifier(table)), rows)


def _pg_copy(cur: psycopg.Cursor[Any], table: str, rows: Sequence[Row]) -> None:
    statement = sql.SQL("COPY {} (stream, version, topic, state) FROM STDIN (FORMAT BINARY)")
    with cur.copy(statement.format(sql.Identifier(table))) as copy:
        copy.set_types(["text", "int8", "text", "bytea"])
        for row in rows:
            copy.write_row(row)


# -- fresh databases ---------------------------------------------------------------------------


@contextmanager
def fresh_database(backend: str) -> Iterator[SqliteDatabase | PostgresDatabase]:
    """A new, empty database for ``backend``, removed (with any server started for it) after."""
    if backend == "sqlite":
        with tempfile.TemporaryDirectory(prefix="milkbot-bench-") as directory:
            yield SqliteDatabase(Path(directory) / "ledger.sqlite")
    elif backend == "postgres":
        configured = os.environ.get(BENCH_URL_VARIABLE)
        with _database_on(configured) if configured else _throwaway_database() as url:
            yield PostgresDatabase(url)
    else:
        raise ValueError(f"unknown backend {backend!r}; expected one of {', '.join(BACKENDS)}")


@contextmanager
def _throwaway_database() -> Iterator[str]:
    server = ThrowawayPostgres(durable=True)
    try:
        _progress("starting a durable throwaway PostgreSQL")
        server.start()
        yield server.create_database("milkbot_bench")
    finally:
        server.stop()


@contextmanager
def _database_on(server_url: str) -> Iterator[str]:
    """A new database on the configured server, dropped afterwards."""
    admin = _tcp_postgres_url(server_url)
    fresh = replace(admin, dbname=f"milkbot_bench_{os.getpid()}_{time.time_ns()}")
    name = sql.Identifier(fresh.dbname)
    with _admin_connection(admin) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(name))
    try:
        yield _url_text(fresh)
    finally:
        with _admin_connection(admin) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(name))


def _admin_connection(url: PostgresUrl) -> psycopg.Connection[Any]:
    return psycopg.connect(host=url.host, port=url.port, dbname=url.dbname, user=url.user,
                           password=url.password or None, autocommit=True)


def _tcp_postgres_url(url: str) -> PostgresUrl:
    parsed = parse_database_url(url)
    if not isinstance(parsed, PostgresUrl):
        raise ValueError(f"{BENCH_URL_VARIABLE} must be a postgresql:// URL")
    if parsed.host.startswith("/"):
        raise ValueError("the benchmark connects to PostgreSQL over TCP, not a Unix socket")
    return parsed


def _url_text(url: PostgresUrl) -> str:
    password = f":{quote(url.password, safe='')}" if url.password else ""
    return (f"postgresql://{quote(url.user, safe='')}{password}@{url.host}:{url.port}/"
            f"{quote(url.dbname, safe='')}")


@contextmanager
def _closing_sqlite(path: Path) -> Iterator[sqlite3.Connection]:
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        yield conn
    finally:
        conn.close()


# -- the phases --------------------------------------------------------------------------------


GROUP_COMMIT = 64


def time_appends(ledger: Ledger, batches: Sequence[Sequence[Event]]) -> float:
    """Seconds to append every command, one ``append`` each (the events encoded inside)."""
    with _frozen_heap():
        start = time.perf_counter()
        for batch in batches:
            ledger.store.append(batch)
        return time.perf_counter() - start


def time_group_appends(ledger: Ledger, batches: Sequence[Sequence[Event]]) -> float:
    """Seconds to append every command in groups of ``GROUP_COMMIT`` via ``append_many``."""
    with _frozen_heap():
        start = time.perf_counter()
        for first in range(0, len(batches), GROUP_COMMIT):
            ledger.store.append_many(batches[first : first + GROUP_COMMIT])
        return time.perf_counter() - start


def time_rebuild(ledger: Ledger) -> tuple[int, float]:
    """Events folded and seconds taken by every projection catching up from position zero."""
    runner = ProjectionRunner(ledger, all_projections())
    with _frozen_heap():
        start = time.perf_counter()
        folded = runner.catch_up()
        return folded, time.perf_counter() - start


def time_read(ledger: Ledger) -> tuple[int, float]:
    """Records read and seconds taken to fetch and decode the whole log."""
    with _frozen_heap():
        start = time.perf_counter()
        count = 0
        for record in ledger.store.iter_records():
            record.decode()
            count += 1
        return count, time.perf_counter() - start


@contextmanager
def _frozen_heap() -> Iterator[None]:
    """Keep the pre-generated workload (and its encoded rows, kept for the baselines) out of the
    collector's way while a phase is timed: it is the benchmark's baggage, not the system's."""
    gc.collect()
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def run_backend(backend: str, events: int = DEFAULT_EVENTS, seed: int = 0) -> dict[str, Any]:
    """Run every phase on a fresh ``backend`` database; the figures as one flat dict."""
    _progress(f"{backend}: generating {events} events (seed {seed})")
    batches = list(decision_batches(events, seed))
    rows: list[Row] = [(e.stream, e.version, e.topic(), encode(e)) for b in batches for e in b]
    with fresh_database(backend) as database:
        ledger = open_ledger(database.ledger_url)
        try:
            half = len(batches) // 2
            single, grouped = batches[:half], batches[half:]
            append_s = time_appends(ledger, single)
            group_s = time_group_appends(ledger, grouped)
            appends = (sum(map(len, single)), append_s, sum(map(len, grouped)), group_s)
            _progress(f"{backend}: appended {appends[0]} events one command per transaction in "
                      f"{append_s:.2f}s, {appends[2]} in groups of {GROUP_COMMIT} in {group_s:.2f}s")
            del batches
            rebuilt, rebuild_s = time_rebuild(ledger)
            _progress(f"{backend}: rebuilt projections from {rebuilt} events in {rebuild_s:.2f}s")
            read, read_s = time_read(ledger)
            _progress(f"{backend}: read and decoded {read} events in {read_s:.2f}s")
        finally:
            ledger.close()
        baselines = database.baselines(rows)
        _progress(f"{backend}: baselines {baselines}")
    return _figures(backend, rows, appends, (rebuilt, rebuild_s), (read, read_s), baselines)


def _figures(backend: str, rows: Sequence[Row], appends: tuple[int, float, int, float],
             rebuild: tuple[int, float],
             read: tuple[int, float], baselines: Baselines) -> dict[str, Any]:
    count = len(rows)
    append = _rate(appends[0], appends[1])
    grouped = _rate(appends[2], appends[3])
    executemany = _rate(count, baselines.executemany_s)
    ratio = round(append / executemany, 3)
    return {
        "bench": "ledger",
        "backend": backend,
        "events": count,
        "append_events_per_s": append,
        "group_commit_events_per_s": grouped,
        "group_commit_size": GROUP_COMMIT,
        "rebuild_events_per_s": _rate(*rebuild),
        "read_events_per_s": _rate(*read),
        "bytes_per_event": round(sum(len(r[3]) for r in rows) / count, 1),
        "baseline_executemany_rows_per_s": executemany,
        "baseline_copy_rows_per_s": (None if baselines.copy_s is None
                                     else _rate(count, baselines.copy_s)),
        "ratio_vs_executemany": ratio,
        "group_commit_ratio_vs_executemany": round(grouped / executemany, 3),
        "ratio": ratio,
    }


def _rate(count: int, seconds: float) -> float:
    return round(count / seconds, 1)


def _progress(message: str) -> None:
    print(f"[bench.ledger] {message}", file=sys.stderr, flush=True)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.ledger",
        description="Ledger append, rebuild and read throughput against raw-driver baselines.")
    parser.add_argument("--events", type=int, default=DEFAULT_EVENTS)
    parser.add_argument("--backend", choices=(*BACKENDS, "both"), default="both")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if args.events < 1:
        parser.error("--events must be at least 1")
    backends = BACKENDS if args.backend == "both" else (args.backend,)
    for backend in backends:
        result = run_backend(backend, args.events, args.seed)
        sys.stdout.write(orjson.dumps(result).decode() + "\n")
        sys.stdout.flush()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
