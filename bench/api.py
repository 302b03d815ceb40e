"""Public API benchmark: every public endpoint under 50 concurrent clients, over a ledger of a
million events, against a same-run baseline endpoint that answers a constant body.

    python -m bench.api [--events N] [--seconds S] [--clients C] [--workers W] [--ledger DIR]
                        [--endpoint PATH ...] [--no-browser] [--seed S] [--source DIR]

Cost on a 2-core machine: building the million-event ledger takes 4.5 minutes when the machine
is otherwise idle (2.5 appending, 2 catching up) and up to 13 when it is shared, so keep it with
``--ledger DIR``; the measurements take about 2.5 minutes.

The ledger: ``--events`` (default 1,000,000) events of ``bench.workload`` traffic (about eight
simulated days of the ten cities), appended with ``EventStore.append_many`` group commits into a
SQLite file, then every projection caught up from position zero (``ProjectionRunner.catch_up``,
timed). It is kept in ``--ledger DIR`` (default: a temporary directory, removed after) under a
name holding the event count, the seed and a digest of the workload's source, and reused by the
next run that names the same directory; a reused ledger reports the catch-up time it took when
it was built (``catch_up_reused``). The name knows the workload, not the projections: after
changing a projection, start from a new directory.

The server: ``milkbot serve --workers W`` as a subprocess on free loopback ports, as production
runs it (``W`` defaults to the machine's cores), measured once both apps answer, with
``MILKBOT_BENCH_BASELINE=1``, which adds the baseline route ``/_bench/baseline`` to the public
app (``api.public_app.BASELINE_PATH``; never there unless that variable asks for it). The baseline
lives in the public app itself rather than in a separate minimal app, so it runs in the same
processes, under the same uvicorn settings, through the same middleware and response path as a
cached answer; it is routed first, so it pays the least routing. ``--source DIR`` serves another
checkout of Milkbot (one that honours the same variable) to compare versions on one ledger.

The load: ``wrk`` (Debian's package; installed here with apt-get when missing and we are root),
``--clients`` keep-alive connections for ``--seconds`` per endpoint after a one-second warm-up
(which fills every worker's answer cache), its latency histogram read by a Lua ``done`` hook.
wrk is a closed loop: each connection sends its next request when the last answer came, so the
figures are service latency at saturation, the load generator's own CPU included in what the
machine shares.

Output, one JSON object per line: per endpoint ``p50_ms``, ``p99_ms``, ``max_ms``, ``rps``,
``cold_ms`` (the first request, one client, answer cache empty), ``baseline_p99_ms`` (the
baseline endpoint, same run, same load), ``ratio`` (``p99_ms / baseline_p99_ms``), ``target_ms``
(25) and ``meets_target``; then the baseline's own line; then ``dashboard_first_load``: headless
Chromium (Debian's, driven by Playwright, as ``tests/browser`` does) opening ``/`` in a fresh
context until the page drew its data (``performance.mark("milkbot:first-render")``), the median
(and ``max_ms``) of a few cold loads right after the server started, and again after the load
runs (``warm_server_ms``); its baseline is a navigation to the baseline endpoint. Without
Chromium or Playwright that line says why it was skipped. Progress goes to stderr.
"""

from __future__ import annotations

import argparse
import hashlib
import http.client
import os
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from api.public_app import BASELINE_PATH
from bench.workload import decision_batches
from domain.events import Event
from milkbot.bootstrap import bootstrap
from milkbot.serving import free_port
from milkbot.settings import Settings

DEFAULT_EVENTS = 1_000_000
DEFAULT_SECONDS = 10.0
DEFAULT_CLIENTS = 50
TARGET_MS = 25.0
DASHBOARD_TARGET_MS = 2_000.0
#: Commands per ``append_many`` transaction while the ledger is built.
GROUP_COMMIT = 256
WARM_UP_SECONDS = 1
#: Cold dashboard loads measured each time (the median is reported).
DASHBOARD_LOADS = 5
ENDPOINTS = (
    "/api/public/summary",
    "/api/public/cities",
    "/api/public/trades",
    "/api/public/trades?limit=500",
    "/api/public/equity",
    "/api/public/calibration",
    "/api/public/execution",
    "/healthz",
    "/",
)
WORKLOAD_SOURCE = Path(__file__).resolve().parent / "workload.py"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync")
#: Reads wrk's whole latency histogram when a run ends (microseconds), as one JSON line.
WRK_REPORT = """
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'MILKBOT_WRK {"requests":%d,"duration_us":%d,"socket_errors":%d,"non_2xx":%d,'
    .. '"p50_us":%d,"p90_us":%d,"p99_us":%d,"max_us":%d,"mean_us":%.1f,"bytes":%d}\\n',
    summary.requests, summary.duration, e.connect + e.read + e.write + e.timeout, e.status,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
    latency.mean, summary.bytes))
end
"""


# -- the ledger ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class BuiltLedger:
    url: str
    events: int
    #: Seconds to generate and append the events, and to catch every projection up from zero.
    append_s: float
    catch_up_s: float
    #: The ledger clock's span, in simulated days.
    simulated_days: float
    #: True when an earlier run built it (the figures above are that run's).
    reused: bool


def ledger_name(events: int, seed: int) -> str:
    digest = hashlib.sha256(WORKLOAD_SOURCE.read_bytes()).hexdigest()[:12]
    return f"ledger-{events}-seed{seed}-{digest}"


def build_ledger(directory: Path, events: int, seed: int) -> BuiltLedger:
    """The ledger of ``events`` workload events in ``directory``, built unless already there."""
    directory.mkdir(parents=True, exist_ok=True)
    name = ledger_name(events, seed)
    path, facts = directory / f"{name}.sqlite", directory / f"{name}.json"
    settings = Settings(database_url=f"sqlite:///{path}")
    if facts.exists() and path.exists():
        known = orjson.loads(facts.read_bytes())
        with bootstrap(settings) as app:
            if app.ledger.store.max_position() == events:
                app.runner().catch_up()  # nothing to do, unless a run was stopped mid-way
                _progress(f"reusing {path} ({events} events)")
                return BuiltLedger(url=settings.database_url, events=events, reused=True,
                                   **known)
    for stale in directory.glob(f"{name}.*"):
        stale.unlink()
    with bootstrap(settings) as app:
        _progress(f"building a ledger of {events} events in {path}")
        start = time.perf_counter()
        first = last = None
        group: list[list[Event]] = []
        appended, reported = 0, 0
        for batch in decision_batches(events, seed):
            first = first or batch[0].recorded_at
            last = batch[-1].recorded_at
            group.append(batch)
            if len(group) == GROUP_COMMIT:
                app.ledger.store.append_many(group)
                appended += sum(map(len, group))
                group = []
                if appended - reported >= events // 10:
                    reported = appended
                    _progress(f"  {appended} events appended")
        app.ledger.store.append_many(group)
        append_s = time.perf_counter() - start
        _progress(f"appended {events} events in {append_s:.1f}s; catching up the projections")
        start = time.perf_counter()
        folded = app.runner().catch_up()
        catch_up_s = time.perf_counter() - start
        _progress(f"caught up every projection over {folded} events in {catch_up_s:.1f}s")
    assert first is not None and last is not None
    known = {"append_s": round(append_s, 1), "catch_up_s": round(catch_up_s, 1),
             "simulated_days": round((last - first).total_seconds() / 86_400, 2)}
    facts.write_bytes(orjson.dumps(known))
    return BuiltLedger(url=settings.database_url, events=events, reused=False, **known)


# -- the server ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Server:
    base_url: str
    host: str
    port: int
    workers: int


@contextmanager
def milkbot_serve(database_url: str, workers: int, folder: Path, *,
                  source: Path | None = None) -> Iterator[Server]:
    """``milkbot serve`` in its own process, with the baseline route, until the block ends.
    ``source``: run the Milkbot checked out there (comparing with another version)."""
    public_port, operator_port = free_port(), free_port()
    env = {**os.environ, "MILKBOT_DATABASE_URL": database_url,
           "MILKBOT_OPERATOR_TOKEN": secrets.token_urlsafe(24),
           "MILKBOT_METRICS_FILE": str(folder / "metrics.prom"), "MILKBOT_BENCH_BASELINE": "1"}
    log = (folder / "serve.log").open("wb")
    command = [sys.executable, "-m", "milkbot.cli", "serve", "--public-port", str(public_port),
               "--operator-port", str(operator_port)]
    if workers > 1:
        command += ["--workers", str(workers)]
    process = subprocess.Popen(command, env=env, cwd=source, stdout=log, stderr=subprocess.STDOUT)
    server = Server(f"http://127.0.0.1:{public_port}", "127.0.0.1", public_port, workers)
    operator = Server(f"http://127.0.0.1:{operator_port}", "127.0.0.1", operator_port, 1)
    try:
        # Both apps: the operator app starts by folding the whole ledger's orders, work that
        # would otherwise overlap the first measurements.
        _wait_until_answering(server, process, folder / "serve.log")
        _wait_until_answering(operator, process, folder / "serve.log")
        yield server
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        log.close()


def _wait_until_answering(server: Server, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"milkbot serve exited ({process.returncode}):\n"
                               + log.read_text(errors="replace"))
        try:
            if get(server, BASELINE_PATH, timeout=2)[0] in (200, 401, 404):
                return  # the public app's baseline, or the operator app refusing without a token
        except OSError:
            pass  # not listening yet
        threading.Event().wait(0.1)
    raise RuntimeError("milkbot serve did not answer within 120 s")


def get(server: Server, path: str, *, timeout: float = 30) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection(server.host, server.port, timeout=timeout)
    try:
        conn.request("GET", path)
        answer = conn.getresponse()
        return answer.status, answer.read()
    finally:
        conn.close()


# -- the load ------------------------------------------------------------------------------------


def wrk_binary() -> str:
    """Debian's wrk, installed with apt-get when it is missing and we may."""
    found = shutil.which("wrk")
    if found:
        return found
    if os.geteuid() == 0 and shutil.which("apt-get"):
        _progress("wrk missing: installing Debian's wrk package")
        quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
        installed = (subprocess.run(["apt-get", "update", "-qq"], check=False, **quiet).returncode == 0
                     and subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=False,
                                        env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"},
                                        **quiet).returncode == 0)
        found = shutil.which("wrk") if installed else None
        if found:
            return found
    raise SystemExit("bench.api needs the HTTP load generator wrk: apt-get install wrk")


@dataclass(frozen=True)
class Load:
    requests: int
    seconds: float
    errors: int
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    mean_ms: float
    bytes_per_answer: float

    @property
    def rps(self) -> float:
        return self.requests / self.seconds


def drive(wrk: str, script: Path, url: str, *, clients: int, seconds: float,
          threads: int) -> Load:
    """``clients`` keep-alive connections asking ``url`` for ``seconds``."""
    command = [wrk, f"-t{threads}", f"-c{clients}", f"-d{seconds:g}s", "--timeout", "10s",
               "-s", str(script), url]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    lines = [line for line in done.stdout.splitlines() if line.startswith("MILKBOT_WRK ")]
    if done.returncode != 0 or not lines:
        raise RuntimeError(f"wrk failed ({done.returncode}): {done.stdout}{done.stderr}")
    figures = orjson.loads(lines[-1].removeprefix("MILKBOT_WRK "))
    requests = max(1, figures["requests"])
    return Load(requests=figures["requests"], seconds=figures["duration_us"] / 1e6,
                errors=figures["socket_errors"] + figures["non_2xx"],
                p50_ms=figures["p50_us"] / 1000, p90_ms=figures["p90_us"] / 1000,
                p99_ms=figures["p99_us"] / 1000, max_ms=figures["max_us"] / 1000,
                mean_ms=figures["mean_us"] / 1000, bytes_per_answer=figures["bytes"] / requests)


def cold_ms(server: Server, path: str) -> float:
    """One request, one client: the first answer for ``path`` (its build, when not cached)."""
    start = time.perf_counter()
    status, _ = get(server, path)
    elapsed = (time.perf_counter() - start) * 1000
    if status != 200:
        raise RuntimeError(f"GET {path} answered {status}")
    return elapsed


# -- the dashboard -------------------------------------------------------------------------------


def dashboard_loads(server: Server, loads: int = DASHBOARD_LOADS) -> dict[str, Any]:
    """Cold first loads of ``/`` in headless Chromium (each in a fresh context: empty cache)."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as e:
        return {"skipped": f"playwright is not installed ({e}); pip install -e '.[dev]'"}
    if not os.access(CHROMIUM, os.X_OK):
        return {"skipped": f"no {CHROMIUM} (apt-get install chromium; never playwright install)"}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM),
                                             args=list(CHROMIUM_ARGS), headless=True)
        try:
            baseline = [_navigation_ms(browser, server.base_url + BASELINE_PATH)
                        for _ in range(loads)]
            timings = [_first_load(browser, server.base_url + "/") for _ in range(loads)]
        finally:
            browser.close()
    drawn = [t["drawn_ms"] for t in timings]
    return {"ms": round(statistics.median(drawn), 1), "max_ms": round(max(drawn), 1),
            "load_event_ms": round(statistics.median(t["load_ms"] for t in timings), 1),
            "loads": loads, "baseline_ms": round(statistics.median(baseline), 1)}


def _first_load(browser: Any, url: str) -> dict[str, float]:
    context = browser.new_context(viewport={"width": 1440, "height": 900})
    try:
        page = context.new_page()
        page.goto(url, wait_until="load")
        page.wait_for_selector("html[data-state=ready]", timeout=30_000)
        timing = page.evaluate("""() => {
            const nav = performance.getEntriesByType("navigation")[0];
            const drawn = performance.getEntriesByName("milkbot:first-render")[0];
            return {load_ms: nav.loadEventEnd, drawn_ms: drawn.startTime};
        }""")
        return {"load_ms": float(timing["load_ms"]), "drawn_ms": float(timing["drawn_ms"])}
    finally:
        context.close()


def _navigation_ms(browser: Any, url: str) -> float:
    context = browser.new_context()
    try:
        page = context.new_page()
        page.goto(url, wait_until="load")
        return float(page.evaluate(
            "() => performance.getEntriesByType('navigation')[0].loadEventEnd"))
    finally:
        context.close()


# -- the run -------------------------------------------------------------------------------------


def run(args: argparse.Namespace) -> Iterator[dict[str, Any]]:
    wrk = wrk_binary()
    with ExitStack() as stack:
        scratch = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="milkbot-bench-api-")))
        ledger = build_ledger(args.ledger or scratch, args.events, args.seed)
        common = {"bench": "api", "backend": "sqlite", "events": ledger.events,
                  "simulated_days": ledger.simulated_days, "append_s": ledger.append_s,
                  "catch_up_s": ledger.catch_up_s, "catch_up_reused": ledger.reused,
                  "workers": args.workers, "clients": args.clients, "seconds": args.seconds}
        script = scratch / "report.lua"
        script.write_text(WRK_REPORT)
        server = stack.enter_context(milkbot_serve(ledger.url, args.workers, scratch,
                                                   source=args.source))
        _progress(f"milkbot serve --workers {args.workers} answering on {server.base_url}")
        paths = args.endpoint or ENDPOINTS
        colds = {path: cold_ms(server, path) for path in (BASELINE_PATH, *paths)}
        browser_cold = None if args.no_browser else dashboard_loads(server)

        def measure(path: str) -> Load:
            url = server.base_url + path
            drive(wrk, script, url, clients=args.clients, seconds=WARM_UP_SECONDS,
                  threads=args.wrk_threads)
            load = drive(wrk, script, url, clients=args.clients, seconds=args.seconds,
                         threads=args.wrk_threads)
            _progress(f"{path}: p50 {load.p50_ms:.2f} ms, p99 {load.p99_ms:.2f} ms, "
                      f"max {load.max_ms:.1f} ms, {load.rps:.0f} req/s, {load.errors} errors")
            return load

        baseline = measure(BASELINE_PATH)
        for path in paths:
            load = measure(path)
            yield {**common, "endpoint": path, **_figures(load), "cold_ms": round(colds[path], 2),
                   "baseline_p99_ms": round(baseline.p99_ms, 3),
                   "baseline_rps": round(baseline.rps, 1),
                   "ratio": round(load.p99_ms / baseline.p99_ms, 3), "target_ms": TARGET_MS,
                   "meets_target": load.p99_ms < TARGET_MS and load.errors == 0}
        yield {**common, "endpoint": BASELINE_PATH, **_figures(baseline),
               "cold_ms": round(colds[BASELINE_PATH], 2),
               "baseline_p99_ms": round(baseline.p99_ms, 3), "baseline_rps": round(baseline.rps, 1),
               "ratio": 1.0, "target_ms": TARGET_MS,
               "meets_target": baseline.p99_ms < TARGET_MS and baseline.errors == 0}
        if browser_cold is not None:
            yield _dashboard_line(common, browser_cold, dashboard_loads(server))


def _figures(load: Load) -> dict[str, Any]:
    return {"p50_ms": round(load.p50_ms, 3), "p90_ms": round(load.p90_ms, 3),
            "p99_ms": round(load.p99_ms, 3), "max_ms": round(load.max_ms, 3),
            "mean_ms": round(load.mean_ms, 3), "rps": round(load.rps, 1),
            "requests": load.requests, "errors": load.errors,
            "bytes_per_answer": round(load.bytes_per_answer)}


def _dashboard_line(common: dict[str, Any], cold: dict[str, Any],
                    warm: dict[str, Any]) -> dict[str, Any]:
    line = {key: common[key] for key in ("bench", "backend", "events", "workers")}
    line |= {"endpoint": "dashboard_first_load", "target_ms": DASHBOARD_TARGET_MS}
    if "skipped" in cold:
        return line | {"skipped": cold["skipped"], "ms": None, "baseline_ms": None, "ratio": None,
                       "meets_target": None}
    return line | {
        "ms": cold["ms"], "max_ms": cold["max_ms"], "load_event_ms": cold["load_event_ms"],
        "loads": cold["loads"], "warm_server_ms": warm.get("ms"),
        "baseline_ms": cold["baseline_ms"], "ratio": round(cold["ms"] / cold["baseline_ms"], 3),
        "meets_target": cold["max_ms"] < DASHBOARD_TARGET_MS,
    }


def _progress(message: str) -> None:
    print(f"[bench.api] {message}", file=sys.stderr, flush=True)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.api",
        description="Public endpoints' latency under concurrent clients, against a constant one.")
    parser.add_argument("--events", type=int, default=DEFAULT_EVENTS)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--ledger", type=Path, default=None,
                        help="keep the ledger in this directory and reuse it (default: a "
                             "temporary one, removed after)")
    parser.add_argument("--seconds", type=float, default=DEFAULT_SECONDS,
                        help="load per endpoint, after a one-second warm-up")
    parser.add_argument("--clients", type=int, default=DEFAULT_CLIENTS)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1,
                        help="public app processes (milkbot serve --workers)")
    parser.add_argument("--wrk-threads", type=int, default=1)
    parser.add_argument("--endpoint", action="append",
                        help="measure only this path (repeatable; default: every public one)")
    parser.add_argument("--no-browser", action="store_true", help="skip the dashboard's load")
    parser.add_argument("--source", type=Path, default=None,
                        help="serve the Milkbot checked out in this directory instead (to compare "
                             "versions; it must serve the baseline route too)")
    args = parser.parse_args(argv)
    if args.events < 1 or args.clients < 1 or args.workers < 1 or args.seconds <= 0:
        parser.error("--events, --clients, --workers and --seconds must be positive")
    started = time.perf_counter()
    for line in run(args):
        sys.stdout.write(orjson.dumps(line).decode() + "\n")
        sys.stdout.flush()
    _progress(f"done in {time.perf_counter() - started:.0f}s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
