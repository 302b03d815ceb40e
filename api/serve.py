"""Serving both apps: ``milkbot serve``, and ``serve_apps`` for code that runs them in-process
(``milkbot demo``, the tests).

Two uvicorn servers in one process, each on its own thread and port (``milkbot.serving``). The
public app listens on ``host``; the operator app on ``operator_host``, loopback unless asked
otherwise, so opening the public app to the world never opens the operator app with it.

Neither app runs the projections: the command handler folds them (``milkbot run``/``demo``), and
the apps read what it wrote, from this process or another.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from rich.console import Console

from api.auth import required_token
from api.operator_app import create_operator_app
from api.public_app import create_public_app
from api.read_model import open_read_model, prepare
from milkbot.bootstrap import Milkbot, bootstrap
from milkbot.metrics import MetricsSource, TextfileMetrics
from milkbot.serving import serving
from milkbot.settings import Settings, load_config

PUBLIC_PORT = 8000
OPERATOR_PORT = 8001
LOOPBACK = "127.0.0.1"


@dataclass(frozen=True)
class ServedApps:
    public_url: str
    operator_url: str


@contextmanager
def serve_apps(settings: Settings, public_port: int = PUBLIC_PORT,
               operator_port: int = OPERATOR_PORT, host: str = LOOPBACK, *,
               operator_host: str = LOOPBACK, app: Milkbot | None = None,
               metrics: MetricsSource | None = None, metrics_file: Path | None = None,
               operator_token: str | None = None) -> Iterator[ServedApps]:
    """Serve the public and operator apps until the block ends; yields their base URLs.

    ``app``: an already bootstrapped Milkbot to read through (needed for an in-memory SQLite
    ledger; otherwise one is opened here and closed after). ``metrics``: what ``/metrics`` serves
    (the handler's own ``HandlerMetrics`` in the same process); default: the file the command
    handler writes, ``metrics_file`` or else ``MILKBOT_METRICS_FILE``. ``operator_token``: default
    ``MILKBOT_OPERATOR_TOKEN``. A port of 0 picks a free one. Raises ``OperatorTokenMissing``
    (before opening anything) without a token.
    """
    token = required_token(operator_token if operator_token is not None else (
        settings.operator_token.get_secret_value() if settings.operator_token else None))
    config, _ = load_config(settings)
    started_at = datetime.now(UTC)
    with ExitStack() as stack:
        if app is None:
            app = stack.enter_context(bootstrap(settings))
        prepare(app)
        read_model = open_read_model(app)
        stack.callback(read_model.close)
        position = app.ledger.store.max_position
        public = create_public_app(read_model, config=config,
                                   delay_minutes=settings.public_delay_minutes,
                                   ledger_position=position, started_at=started_at)
        operator = create_operator_app(app.ledger.store, read_model, config=config, token=token,
                                       metrics=metrics or TextfileMetrics(
                                           metrics_file or settings.metrics_file),
                                       ledger_position=position, started_at=started_at)
        public_url = stack.enter_context(serving(public, host=host, port=public_port or None,
                                                 name="public-app"))
        operator_url = stack.enter_context(serving(operator, host=operator_host,
                                                   port=operator_port or None, name="operator-app"))
        yield ServedApps(public_url=public_url, operator_url=operator_url)


def run_serve(settings: Settings, *, public_port: int, operator_port: int, host: str,
              operator_host: str, metrics_file: Path | None, console: Console) -> int:
    """``milkbot serve``: both apps until SIGTERM or Ctrl-C."""
    stop = threading.Event()
    metrics_file = metrics_file or settings.metrics_file
    try:
        with serve_apps(settings, public_port, operator_port, host, operator_host=operator_host,
                        metrics_file=metrics_file) as served:
            console.print(f"milkbot serve: public app {served.public_url} (delayed "
                          f"{settings.public_delay_minutes} min), operator app "
                          f"{served.operator_url} (bearer token); metrics from {metrics_file}; "
                          "stop: Ctrl-C", highlight=False, soft_wrap=True)
            for signum in (signal.SIGTERM, signal.SIGINT):
                signal.signal(signum, lambda *_: stop.set())
            while not stop.wait(0.5):
                pass
    except RuntimeError as e:  # a port already taken: uvicorn could not listen
        console.print(f"[bold red]milkbot: {e}[/]", highlight=False, soft_wrap=True)
        return 2
    console.print("milkbot serve: stopped", highlight=False)
    return 0
