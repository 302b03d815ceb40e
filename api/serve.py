"""Serving both apps: ``milkbot serve``, and ``serve_apps`` for code that runs them in-process
(``milkbot demo``, the tests).

By default, two uvicorn servers in one process, each on its own thread and port
(``milkbot.serving``). The public app listens on ``host``; the operator app on ``operator_host``,
loopback unless asked otherwise, so opening the public app to the world never opens the operator
app with it. The public app answers first: building the operator app folds every order in the
ledger (seconds per million events).

``milkbot serve --workers N`` (N > 1) runs the public app in N worker processes instead, sharing
one listening socket, so its requests are no longer served by one interpreter's single core: the
main process binds the socket and supervises the workers with uvicorn's own supervisor, on the
main thread, which the signals need (a worker that dies is replaced; one that cannot start stops
the server; SIGTERM or Ctrl-C stops them all), while another thread builds and serves the operator
app. Each worker builds its app from a ``PublicWorker`` (pickled to it, settings included, as an
environment would carry them): its own ledger connection and its own read-only connections, so a
worker answers exactly what the in-thread public app would.

Either way, once a server's long-lived objects are built they are frozen out of the garbage
collector's way (``milkbot.serving.settle_heap``).

Neither app runs the projections: the command handler folds them (``milkbot run``/``demo``), and
the apps read what it wrote, from this process or another.
"""

from __future__ import annotations

import functools
import logging
import os
import signal
import socket
import sys
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from rich.console import Console
from starlette.applications import Starlette
from starlette.types import ASGIApp, Receive, Scope, Send
from uvicorn.config import STARTUP_FAILURE
from uvicorn.supervisors import Multiprocess

from api.auth import required_token
from api.operator_app import create_operator_app
from api.public_app import create_public_app, with_baseline_route
from api.read_model import ReadModel, open_read_model, prepare
from domain.config import MilkbotConfig
from eventstore.chain import head_at
from eventstore.url import SqliteUrl, parse_database_url
from milkbot.bootstrap import Milkbot, bootstrap
from milkbot.metrics import MetricsSource, TextfileMetrics
from milkbot.serving import server_config, serving, settle_heap
from milkbot.settings import Settings, SettingsError, load_config

PUBLIC_PORT = 8000
OPERATOR_PORT = 8001
LOOPBACK = "127.0.0.1"
#: ``1`` adds the benchmark's baseline route to the public app (``bench.api`` sets it).
BASELINE_VARIABLE = "MILKBOT_BENCH_BASELINE"
#: Connections the kernel queues for the public workers (uvicorn's default).
BACKLOG = 2048

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ServedApps:
    public_url: str
    operator_url: str


def baseline_requested(environ: Mapping[str, str] = os.environ) -> bool:
    """Whether ``MILKBOT_BENCH_BASELINE=1`` asks for the benchmark's baseline route."""
    return environ.get(BASELINE_VARIABLE, "").strip() == "1"


def public_app_over(app: Milkbot, read_model: ReadModel, *, started_at: datetime,
                    baseline_route: bool = False) -> Starlette:
    """The public app over ``app``'s ledger and ``read_model``, as every server builds it."""
    config, _ = load_config(app.settings)
    public = create_public_app(read_model, config=config,
                               delay_minutes=app.settings.public_delay_minutes,
                               ledger_position=app.ledger.store.max_position,
                               chain_head=functools.partial(head_at, app.ledger),
                               started_at=started_at)
    return with_baseline_route(public) if baseline_route else public


class ClosingOnShutdown:
    """An ASGI app that closes what it owns when its server shuts down (the lifespan protocol);
    every other request goes straight to ``app``."""

    def __init__(self, app: ASGIApp, close: Callable[[], None]) -> None:
        self.app = app
        self.close = close

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "lifespan":
            await self.app(scope, receive, send)
            return
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                self.close()
                await send({"type": "lifespan.shutdown.complete"})
                return


@dataclass(frozen=True)
class PublicWorker:
    """Builds the public app in a worker process of ``milkbot serve --workers N``.

    uvicorn pickles it to each worker and calls it there once (an app factory). The worker opens
    its own ledger and read-only connections and closes them when it stops. A worker that cannot
    build its app exits with uvicorn's start-up failure code, which stops the whole server rather
    than restarting the worker forever.
    """

    settings: Settings
    started_at: datetime
    baseline_route: bool = False

    def __call__(self) -> ClosingOnShutdown:
        try:
            return self.build()
        except Exception as e:
            # Only the type: a message may hold the database URL.
            log.error("the public app could not start: %s", type(e).__name__)
            sys.exit(STARTUP_FAILURE)

    def build(self) -> ClosingOnShutdown:
        """The app, owning its connections (closed when its server shuts down)."""
        with ExitStack() as stack:
            app = stack.enter_context(bootstrap(self.settings))
            read_model = open_read_model(app)
            stack.callback(read_model.close)
            public = public_app_over(app, read_model, started_at=self.started_at,
                                     baseline_route=self.baseline_route)
            settle_heap()
            return ClosingOnShutdown(public, stack.pop_all().close)


@contextmanager
def serve_apps(settings: Settings, public_port: int = PUBLIC_PORT,
               operator_port: int = OPERATOR_PORT, host: str = LOOPBACK, *,
               operator_host: str = LOOPBACK, app: Milkbot | None = None,
               metrics: MetricsSource | None = None, metrics_file: Path | None = None,
               operator_token: str | None = None,
               baseline_route: bool = False) -> Iterator[ServedApps]:
    """Serve the public and operator apps until the block ends; yields their base URLs.

    ``app``: an already bootstrapped Milkbot to read through (needed for an in-memory SQLite
    ledger; otherwise one is opened here and closed after). ``metrics``: what ``/metrics`` serves
    (the handler's own ``HandlerMetrics`` in the same process); default: the file the command
    handler writes, ``metrics_file`` or else ``MILKBOT_METRICS_FILE``. ``operator_token``: default
    ``MILKBOT_OPERATOR_TOKEN``. A port of 0 picks a free one. Raises ``OperatorTokenMissing``
    (before opening anything) without a token. ``baseline_route``: the benchmark's constant route.
    """
    started_at = datetime.now(UTC)
    with _opened(settings, app=app, operator_token=operator_token) as opened:
        public = public_app_over(opened.app, opened.read_model, started_at=started_at,
                                 baseline_route=baseline_route)
        with serving(public, host=host, port=public_port or None, name="public-app") as public_url:
            # The public app answers while the operator app is built: it first folds every order
            # in the ledger (``api.operator_ledger``), seconds per million events.
            operator = _operator_app(opened, metrics=metrics,
                                     metrics_file=metrics_file or settings.metrics_file,
                                     started_at=started_at)
            with serving(operator, host=operator_host, port=operator_port or None,
                         name="operator-app") as operator_url:
                yield ServedApps(public_url=public_url, operator_url=operator_url)


@dataclass(frozen=True)
class _Opened:
    """A prepared ledger, read-only connections to its projections, the configuration and the
    operator's token: what both apps are built from."""

    app: Milkbot
    read_model: ReadModel
    config: MilkbotConfig
    token: str


@contextmanager
def _opened(settings: Settings, *, app: Milkbot | None = None,
            operator_token: str | None = None) -> Iterator[_Opened]:
    token = required_token(operator_token if operator_token is not None else (
        settings.operator_token.get_secret_value() if settings.operator_token else None))
    config, _ = load_config(settings)
    with ExitStack() as stack:
        if app is None:
            app = stack.enter_context(bootstrap(settings))
        prepare(app)
        read_model = open_read_model(app)
        stack.callback(read_model.close)
        yield _Opened(app, read_model, config, token)


def _operator_app(opened: _Opened, *, metrics: MetricsSource | None, metrics_file: Path,
                  started_at: datetime) -> Starlette:
    return create_operator_app(opened.app.ledger.store, opened.read_model, config=opened.config,
                               token=opened.token,
                               metrics=metrics or TextfileMetrics(metrics_file),
                               ledger_position=opened.app.ledger.store.max_position,
                               started_at=started_at)


def run_serve(settings: Settings, *, public_port: int, operator_port: int, host: str,
              operator_host: str, metrics_file: Path | None, console: Console,
              workers: int = 1, baseline_route: bool | None = None) -> int:
    """``milkbot serve``: both apps until SIGTERM or Ctrl-C; the public app in ``workers``
    processes when more than one. ``baseline_route``: default ``MILKBOT_BENCH_BASELINE``."""
    if workers < 1:
        raise SettingsError("--workers must be at least 1")
    if baseline_route is None:
        baseline_route = baseline_requested()
    metrics_file = metrics_file or settings.metrics_file
    if workers > 1:
        return _run_workers(settings, workers=workers, public_port=public_port,
                            operator_port=operator_port, host=host, operator_host=operator_host,
                            metrics_file=metrics_file, console=console,
                            baseline_route=baseline_route)
    stop = threading.Event()
    try:
        with serve_apps(settings, public_port, operator_port, host, operator_host=operator_host,
                        metrics_file=metrics_file, baseline_route=baseline_route) as served:
            _started(console, settings, served.public_url, served.operator_url, metrics_file,
                     workers)
            settle_heap()
            for signum in (signal.SIGTERM, signal.SIGINT):
                signal.signal(signum, lambda *_: stop.set())
            while not stop.wait(0.5):
                pass
    except RuntimeError as e:  # a port already taken: uvicorn could not listen
        console.print(f"[bold red]milkbot: {e}[/]", highlight=False, soft_wrap=True)
        return 2
    console.print("milkbot serve: stopped", highlight=False)
    return 0


def _run_workers(settings: Settings, *, workers: int, public_port: int, operator_port: int,
                 host: str, operator_host: str, metrics_file: Path, console: Console,
                 baseline_route: bool) -> int:
    url = parse_database_url(settings.database_url)
    if isinstance(url, SqliteUrl) and url.in_memory:
        raise SettingsError("MILKBOT_DATABASE_URL: --workers needs a database the workers can "
                            "open (a SQLite file or PostgreSQL), not an in-memory one")
    started_at = datetime.now(UTC)
    try:
        with _opened(settings) as opened, _listening(host, public_port) as listener:
            port = listener.getsockname()[1]
            public = server_config(PublicWorker(settings, started_at, baseline_route), host=host,
                                   port=port, factory=True, workers=workers, lifespan="on",
                                   backlog=BACKLOG)
            # Signals from here on go to the supervisor (Ctrl-C, SIGTERM: stop every worker).
            supervisor = Multiprocess(public, sockets=[listener])
            public_url = f"http://{f'[{host}]' if ':' in host else host}:{port}"
            operator = _OperatorThread(
                opened, host=operator_host, port=operator_port, metrics_file=metrics_file,
                started_at=started_at, stop_all=supervisor.should_exit,
                announce=lambda operator_url: _started(console, settings, public_url,
                                                       operator_url, metrics_file, workers))
            operator.start()
            try:
                supervisor.run()
            finally:
                operator.stop()
            if operator.error is not None:
                raise operator.error
    except RuntimeError as e:  # the operator app's port already taken
        console.print(f"[bold red]milkbot: {e}[/]", highlight=False, soft_wrap=True)
        return 2
    except OSError as e:  # the public app's port already taken
        console.print(f"[bold red]milkbot: the public app cannot listen on {host}:{public_port}: "
                      f"{e.strerror}[/]", highlight=False, soft_wrap=True)
        return 2
    if any(worker.exitcode == STARTUP_FAILURE for worker in supervisor.processes):
        console.print("[bold red]milkbot: a public app worker could not start (see its log)[/]",
                      highlight=False, soft_wrap=True)
        return 2
    console.print("milkbot serve: stopped", highlight=False)
    return 0


class _OperatorThread(threading.Thread):
    """The operator app, built and served beside the public workers' supervisor (which must
    have the main thread, for the signals): building it folds every order in the ledger first,
    and the public workers need not wait for that. When it cannot serve, it stops everything."""

    def __init__(self, opened: _Opened, *, host: str, port: int, metrics_file: Path,
                 started_at: datetime, stop_all: threading.Event,
                 announce: Callable[[str], None]) -> None:
        super().__init__(name="operator-app-owner", daemon=True)
        self._opened, self._host, self._port = opened, host, port
        self._metrics_file, self._started_at = metrics_file, started_at
        self._stop_all, self._announce = stop_all, announce
        self._stopping = threading.Event()
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            operator = _operator_app(self._opened, metrics=None, metrics_file=self._metrics_file,
                                     started_at=self._started_at)
            with serving(operator, host=self._host, port=self._port or None,
                         name="operator-app") as url:
                self._announce(url)
                settle_heap()
                self._stopping.wait()
        except BaseException as e:
            self.error = e
            self._stop_all.set()

    def stop(self) -> None:
        self._stopping.set()
        self.join()


@contextmanager
def _listening(host: str, port: int) -> Iterator[socket.socket]:
    """The public app's socket, bound and listening before any worker is up (connections queue
    rather than being refused); its workers inherit it. Port 0 picks a free one."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as listener:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((host, port))
        listener.listen(BACKLOG)
        listener.set_inheritable(True)
        yield listener


def _started(console: Console, settings: Settings, public_url: str, operator_url: str,
             metrics_file: Path, workers: int) -> None:
    processes = f", {workers} worker processes" if workers > 1 else ""
    console.print(f"milkbot serve: public app {public_url} (delayed "
                  f"{settings.public_delay_minutes} min{processes}), operator app "
                  f"{operator_url} (bearer token); metrics from {metrics_file}; "
                  "stop: Ctrl-C", highlight=False, soft_wrap=True)
