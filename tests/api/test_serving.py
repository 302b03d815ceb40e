"""How the public app is served: the benchmark's baseline route only when asked for, one read of
the projections' positions shared by concurrent requests, cached answers that never go stale,
and ``milkbot serve --workers N``, whose worker processes answer what the in-thread app does."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from api.answers import Answers, PassVersions, Version, VersionWatch
from api.public_app import BASELINE_BODY, BASELINE_PATH, PUBLIC_CACHE
from api.read_model import SqliteReadModel, prepare
from api.serve import ClosingOnShutdown, PublicWorker, baseline_requested, serve_apps
from eventstore.errors import StoreUnavailable
from milkbot.bootstrap import bootstrap
from milkbot.cli import main
from milkbot.serving import HTTP, LOOP, free_port, server_config
from tests.api.conftest import TOKEN, Served, secret_settings
from tests.api.scenario import seed
from tests.api.test_serve_process import serve_process
from tests.builders import a_market_snapshot, at

CACHED_PATHS = ("/api/public/summary", "/api/public/cities", "/api/public/trades",
                "/api/public/trades?limit=1", "/api/public/equity", "/api/public/calibration",
                "/api/public/execution")


# -- the baseline route ----------------------------------------------------------------------------


def test_the_baseline_route_is_absent_unless_asked_for(served: Served) -> None:
    with served.public() as client:
        assert client.get(BASELINE_PATH).status_code == 404
    assert not baseline_requested({})
    assert not baseline_requested({"MILKBOT_BENCH_BASELINE": "0"})
    assert baseline_requested({"MILKBOT_BENCH_BASELINE": "1"})


def test_the_baseline_route_answers_a_constant_like_a_cached_answer(tmp_path: Path) -> None:
    settings = secret_settings(f"sqlite:///{tmp_path / 'ledger.sqlite'}", tmp_path)
    with serve_apps(settings, 0, 0, metrics_file=tmp_path / "metrics.prom",
                    baseline_route=True) as urls, \
            httpx.Client(base_url=urls.public_url, timeout=10) as client:
        baseline, summary = client.get(BASELINE_PATH), client.get("/api/public/summary")
    assert baseline.status_code == 200 and baseline.content == BASELINE_BODY
    assert baseline.headers["cache-control"] == PUBLIC_CACHE
    same = ("content-type", "cache-control", "x-content-type-options", "content-security-policy")
    assert {h: baseline.headers[h] for h in same} == {h: summary.headers[h] for h in same}


# -- the servers' settings -------------------------------------------------------------------------


def test_servers_run_on_httptools_and_uvloop_without_an_access_log() -> None:
    config = server_config(object(), host="127.0.0.1", port=1)
    assert (config.http, config.loop, config.access_log) == (HTTP, LOOP, False) == (
        "httptools", "uvloop", False)
    assert server_config(object(), host="h", port=1, workers=3).workers == 3


# -- one positions read for many requests ----------------------------------------------------------


async def next_pass() -> None:
    """Return in a later pass of the event loop than this one (no time involved)."""
    loop = asyncio.get_running_loop()
    turned = loop.create_future()
    loop.call_soon(turned.set_result, None)
    await turned


def test_one_pass_of_the_event_loop_shares_one_read_of_the_positions() -> None:
    reads: list[int] = []

    def read() -> Version:
        reads.append(len(reads) + 1)
        return (("reads", reads[-1]),)

    versions = PassVersions(read)

    async def scenario() -> tuple[list[Version], Version]:
        same_pass = [await versions.current() for _ in range(3)]
        await next_pass()
        return same_pass, await versions.current()

    same_pass, later = asyncio.run(scenario())
    assert same_pass == [(("reads", 1),)] * 3 and later == (("reads", 2),)
    assert reads == [1, 2]


class GatedReads:
    """A positions read that waits for the test to let it finish, counting the reads."""

    def __init__(self) -> None:
        self.count = 0
        self.started = [threading.Event() for _ in range(4)]
        self.release = [threading.Event() for _ in range(4)]
        self.fail_next = False

    def __call__(self) -> Version:
        number = self.count
        self.count += 1
        self.started[number].set()
        assert self.release[number].wait(10), "the test never released the read"
        if self.fail_next:
            self.fail_next = False
            raise StoreUnavailable("the database is away")
        return (("reads", number + 1),)


async def wait_for(event: threading.Event) -> None:
    assert await asyncio.get_running_loop().run_in_executor(None, event.wait, 10)


def test_callers_during_a_threaded_read_share_the_next_one() -> None:
    reads = GatedReads()
    watch = VersionWatch(reads)

    async def scenario() -> list[Version]:
        first = watch.current()
        await wait_for(reads.started[0])
        # These arrive while read 1 runs: it may predate them, so they wait for read 2, together.
        later = [watch.current() for _ in range(5)]
        reads.release[0].set()
        await wait_for(reads.started[1])
        reads.release[1].set()
        return [await first, *await asyncio.gather(*later)]

    versions = asyncio.run(scenario())
    assert versions == [(("reads", 1),)] + [(("reads", 2),)] * 5
    assert reads.count == 2


def test_a_failed_read_fails_its_callers_and_the_next_call_reads_again() -> None:
    reads = GatedReads()
    reads.fail_next = True
    for event in reads.release:
        event.set()
    watch = VersionWatch(reads)

    async def scenario() -> Version:
        with pytest.raises(StoreUnavailable):
            await watch.current()
        return await watch.current()

    assert asyncio.run(scenario()) == (("reads", 2),)


# -- cached answers ----------------------------------------------------------------------------------


def test_a_cached_answer_is_built_once_and_again_when_a_projection_moves(tmp_path: Path) -> None:
    database_url = f"sqlite:///{tmp_path / 'ledger.sqlite'}"
    with bootstrap(secret_settings(database_url, tmp_path)) as app:
        seed(app.ledger)
        app.runner().catch_up()
        prepare(app)
        read_model = SqliteReadModel(tmp_path / "ledger.sqlite")
        answers = Answers(read_model)
        builds: list[datetime | None] = []

        def build(tx: Any, as_of: datetime | None) -> dict[str, Any]:
            builds.append(as_of)
            return {"as_of": None if as_of is None else as_of.isoformat(), "n": len(builds)}

        async def scenario() -> tuple[bytes, bytes, bytes, bytes]:
            first = await answers.answer("key", build)
            await next_pass()
            again = await answers.answer("key", build)
            # The command handler commits; a request handled in a later pass reads the move.
            app.ledger.store.append([a_market_snapshot(version=9, recorded_at=at(600))])
            app.runner().catch_up()
            await next_pass()
            moved = await answers.answer("key", build)
            return first, again, moved, await answers.answer("key", build)

        try:
            first, again, moved, moved_again = asyncio.run(scenario())
        finally:
            read_model.close()
    assert first == again and moved == moved_again and moved != first
    assert builds == [at(180), at(600)]


def test_requests_missing_the_same_positions_share_one_build(tmp_path: Path) -> None:
    database_url = f"sqlite:///{tmp_path / 'ledger.sqlite'}"
    with bootstrap(secret_settings(database_url, tmp_path)) as app:
        seed(app.ledger)
        app.runner().catch_up()
        prepare(app)
    read_model = SqliteReadModel(tmp_path / "ledger.sqlite")
    answers = Answers(read_model)
    builds: list[datetime | None] = []

    def build(tx: Any, as_of: datetime | None) -> dict[str, Any]:
        builds.append(as_of)
        return {"built": len(builds)}

    async def many() -> list[bytes]:
        return await asyncio.gather(*(answers.answer("key", build) for _ in range(20)))

    try:
        bodies = asyncio.run(many())
    finally:
        read_model.close()
    assert builds == [at(180)] and set(bodies) == {b'{"built":1}'}


# -- worker processes ------------------------------------------------------------------------------


def answers_of(request: Callable[[str], httpx.Response]) -> dict[str, Any]:
    return {path: request(path).json() for path in CACHED_PATHS}


def test_a_worker_app_answers_what_the_in_thread_app_does(served: Served) -> None:
    with served.public() as client:
        expected = answers_of(client.get)
        health = client.get("/healthz").json()
    worker = PublicWorker(served.settings, datetime.now(UTC))()
    assert isinstance(worker, ClosingOnShutdown)

    async def scenario() -> tuple[dict[str, Any], dict[str, Any], int]:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=worker),
                                     base_url="http://public") as client:
            got = {path: (await client.get(path)).json() for path in CACHED_PATHS}
            return got, (await client.get("/healthz")).json(), \
                (await client.get(BASELINE_PATH)).status_code

    try:
        got, worker_health, baseline_status = asyncio.run(scenario())
    finally:
        asyncio.run(shut_down(worker))
    assert got == expected
    assert worker_health["status"] == health["status"]
    assert worker_health["ledger"] == health["ledger"]
    assert baseline_status == 404


async def shut_down(app: ClosingOnShutdown) -> None:
    """The lifespan protocol as uvicorn speaks it: start-up, then shut-down."""
    messages = iter([{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}])
    sent: list[str] = []

    async def receive() -> dict[str, str]:
        return next(messages)

    async def send(message: Any) -> None:
        sent.append(message["type"])

    await app({"type": "lifespan"}, receive, send)  # type: ignore[arg-type]
    assert sent == ["lifespan.startup.complete", "lifespan.shutdown.complete"]


def test_a_worker_app_closes_its_connections_at_shutdown(tmp_path: Path) -> None:
    closed: list[str] = []
    app = ClosingOnShutdown(object(), lambda: closed.append("closed"))  # type: ignore[arg-type]
    asyncio.run(shut_down(app))
    assert closed == ["closed"]


def test_zero_workers_is_refused(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("MILKBOT_DATABASE_URL", f"sqlite:///{tmp_path / 'ledger.sqlite'}")
    assert main(["serve", "--workers", "0"]) != 0


def look_again_later() -> None:
    """The interval between two looks from outside the process (a deadline bounds the polling)."""
    threading.Event().wait(0.2)


def workers_of(pid: int) -> set[int]:
    """The multiprocessing children of process ``pid`` (not its resource tracker)."""
    children = {int(child) for task in Path(f"/proc/{pid}/task").iterdir()
                for child in (task / "children").read_text().split()}
    return {child for child in children
            if b"spawn_main" in Path(f"/proc/{child}/cmdline").read_bytes()}


@pytest.mark.e2e
def test_serve_with_workers_answers_from_several_processes_until_sigterm(tmp_path: Path) -> None:
    with serve_process(tmp_path, "--workers", "2") as served:
        public, operator = served.public, served.operator
        workers = workers_of(served.process.pid)
        assert len(workers) == 2
        summary = public.get("/api/public/summary").json()
        assert summary["as_of"] == at(180).isoformat() and summary["trades"] == 2
        assert public.get(BASELINE_PATH).status_code == 404
        assert operator.get("/api/operator/risk",
                            headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200
        # Another process moves the ledger on: whichever worker answers next reads it, every time
        # (fresh connections, so the kernel hands them to either worker).
        with bootstrap(served.settings) as app:
            app.ledger.store.append([a_market_snapshot(version=9, recorded_at=at(600))])
            app.runner().catch_up()
        for _ in range(6):
            with httpx.Client(base_url=f"http://127.0.0.1:{served.public_port}", timeout=10) as fresh:
                assert fresh.get("/api/public/summary").json()["as_of"] == at(600).isoformat()
        out = served.stop()
    assert served.process.returncode == 0, out
    assert "public app http://127.0.0.1" in out and "2 worker processes" in out
    assert "stopped" in out and "Traceback" not in out
    assert all(not Path(f"/proc/{pid}").exists() for pid in workers)  # stopped and reaped


@pytest.mark.e2e
def test_serve_with_workers_stops_them_all_when_the_operator_app_cannot_listen(
    tmp_path: Path,
) -> None:
    database_url = f"sqlite:///{tmp_path / 'ledger.sqlite'}"
    with bootstrap(secret_settings(database_url, tmp_path)) as app:
        seed(app.ledger)
        app.runner().catch_up()
    env = {**os.environ, "MILKBOT_DATABASE_URL": database_url, "MILKBOT_OPERATOR_TOKEN": TOKEN,
           "MILKBOT_METRICS_FILE": str(tmp_path / "metrics.prom")}
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        done = subprocess.run(
            [sys.executable, "-m", "milkbot.cli", "serve", "--public-port", str(free_port()),
             "--operator-port", str(taken.getsockname()[1]), "--workers", "2"],
            env=env, capture_output=True, text=True, timeout=120, check=False)
    said = done.stdout + done.stderr
    assert done.returncode == 2, said
    assert "operator-app did not start" in said and "Traceback" not in said
