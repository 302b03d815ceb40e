"""``milkbot demo``: the whole system on one machine, on an accelerated clock.

The NWS simulator and the Kalshi exchange simulator are served on loopback (in this process, on
background threads), sharing one accelerated clock with the command handler, which trades all 10
cities against the exchange exactly as it would against Kalshi's demo environment: snapshots,
decisions, risk verdicts, orders, fills, settlements, P&L, all in the ledger. The simulators keep
their state and the clock under ``var/demo``, so a second run resumes the same ledger, the same
exchange account and the same simulated time.
"""

from __future__ import annotations

import os
import secrets
import signal
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import Console

from milkbot.bootstrap import Milkbot, bootstrap, record_config
from milkbot.settings import Settings, load_config
from milkbot.simulators import AcceleratedClock, client_key
from milkbot.status import read_status

if TYPE_CHECKING:
    from milkbot.handler import CommandHandler

STATUS_EVERY_S = 2.0
DEMO_STATE = Path("var/demo")
SEED = 7
USER_AGENT = "milkbot-demo (localhost)"


def run_demo(settings: Settings, *, speed: float, days: float | None, console: Console,
             state_dir: Path = DEMO_STATE, mode: str = "paper", public_port: int = 8000,
             operator_port: int = 8001) -> int:
    """``mode``: ``paper`` fills our orders with the paper model on the simulator's books (nothing
    is sent to it); ``demo`` sends them to the exchange simulator, as to Kalshi's demo. The public
    dashboard and the operator app are served on ``public_port``/``operator_port`` (0: any free
    port) for as long as the demo runs."""
    from adapters.kalshi.client import KalshiClient
    from adapters.kalshi.rate_limit import RateLimiter
    from adapters.kalshi.signing import Credentials, load_private_key
    from adapters.kalshi.simulator import PREFIX
    from adapters.kalshi.simulator import create_app as exchange_app
    from adapters.nws.client import NwsClient
    from adapters.nws.simulator.app import create_app as nws_app
    from adapters.nws.simulator.weather import WeatherGenerator
    from api.serve import serve_apps
    from milkbot.handler import CommandHandler
    from milkbot.metrics import HandlerMetrics
    from milkbot.paper import PaperVenue
    from milkbot.serving import serving

    if speed <= 0:
        console.print("[red]milkbot: --speed must be positive[/]")
        return 2
    config, _ = load_config(settings)
    clock_file = state_dir / "clock.json"
    start = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    clock = AcceleratedClock.resume(clock_file, start=start, speed=speed)
    began = clock()
    key_file, public_key = client_key(state_dir / "exchange")
    # The ledger is opened first so that it closes last: the apps and simulators on the stack
    # stop (finishing the requests in flight) before it does.
    with bootstrap(settings) as app, ExitStack() as stack:
        exchange = exchange_app(config, seed=SEED, clock=clock, public_key=public_key,
                                weather=WeatherGenerator(config.cities, seed=SEED),
                                state_dir=state_dir / "exchange")
        exchange_url = stack.enter_context(serving(exchange, name="exchange-simulator"))
        nws_url = stack.enter_context(serving(nws_app(config, seed=SEED, clock=clock), name="nws-simulator"))
        kalshi = stack.enter_context(KalshiClient(
            exchange_url + PREFIX, Credentials("demo", load_private_key(key_file.read_bytes())),
            limiter=RateLimiter(1_000, 1_000)))  # the simulator sets no limit; Kalshi's are 20/10
        nws = stack.enter_context(NwsClient(nws_url, USER_AGENT, clock=clock))
        _, version, new = record_config(app)
        console.print(f"milkbot demo: ledger [bold]{app.ledger.url}[/] ({app.ledger.store.backend_name}), "
                      f"config {version[:12]}{' (recorded)' if new else ''}", highlight=False)
        console.print(f"  exchange simulator {exchange_url}{PREFIX}   NWS simulator {nws_url}",
                      highlight=False)
        console.print(f"  trading mode [bold]{mode}[/]"
                      + (" (paper fills on the simulator's books)" if mode == "paper" else
                         " (orders sent to the exchange simulator)"), highlight=False)
        console.print(f"  simulated clock x{speed:g} from {began:%Y-%m-%d %H:%M} UTC   ·   watch it: "
                      "milkbot status   ·   audit it: milkbot replay verify   ·   stop: Ctrl-C "
                      "(a second run resumes)", highlight=False)
        venue = PaperVenue(kalshi, clock, starting_balance=config.trading.paper_balance) \
            if mode == "paper" else None
        metrics = HandlerMetrics()
        handler = CommandHandler(app, config, version, clock=clock, kalshi=kalshi, nws=nws, venue=venue,
                                 metrics=metrics)
        handler.announce(mode, venue=exchange_url + PREFIX)
        token_file, token = operator_token(settings, state_dir)
        try:
            served = stack.enter_context(serve_apps(settings, public_port, operator_port, app=app,
                                                    metrics=metrics, operator_token=token))
        except RuntimeError as e:  # a port taken: say which, and how to pick others
            console.print(f"[bold red]milkbot: {e}; choose other ports with --public-port and "
                          "--operator-port (0: any free port)[/]", highlight=False, soft_wrap=True)
            return 2
        console.print(f"  [bold]dashboard {served.public_url}/[/]   operator API {served.operator_url}"
                      f"/api/operator/risk (bearer token in {token_file})", highlight=False,
                      soft_wrap=True)
        try:
            with _stop_on_ctrl_c() as stop:
                handler.start()
                _loop(app, handler, clock, began, days, console, stop)
            if stop.is_set():
                console.print("\nstopping: the current step is finished")
        except KeyboardInterrupt:  # (a second Ctrl-C, or one before trading began)
            console.print("\nstopping")
        finally:
            clock.save(clock_file)
        handler.runner.catch_up()
        _print_status(app, console, prefix="stopped")
    return 0


def operator_token(settings: Settings, state_dir: Path) -> tuple[str, str]:
    """The operator app's token: ``MILKBOT_OPERATOR_TOKEN`` when set, else one made for the demo
    and kept (mode 0600) under the demo's state, so it is never printed."""
    if settings.operator_token is not None:
        return "MILKBOT_OPERATOR_TOKEN", settings.operator_token.get_secret_value()
    path = state_dir / "operator-token"
    if not path.exists():
        state_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_hex(32))
    return str(path), path.read_text().strip()


@contextmanager
def _stop_on_ctrl_c() -> Iterator[threading.Event]:
    """An event Ctrl-C sets, so the loop stops between steps: a ``KeyboardInterrupt`` would land
    wherever the handler happened to be (mid-order), or be lost in a finalizer that ran just
    then. A second Ctrl-C interrupts at once."""
    stop = threading.Event()

    def first(signum: int, frame: object) -> None:
        stop.set()
        signal.signal(signal.SIGINT, signal.default_int_handler)

    previous = signal.signal(signal.SIGINT, first)
    try:
        yield stop
    finally:
        signal.signal(signal.SIGINT, previous)


def _loop(app: Milkbot, handler: CommandHandler, clock: AcceleratedClock, began: datetime,
          days: float | None, console: Console, stop: threading.Event) -> None:
    end = began + timedelta(days=days) if days is not None else None
    last_status = 0.0
    while not stop.is_set() and (end is None or clock() < end):
        handler.step()
        if time.monotonic() - last_status >= STATUS_EVERY_S:
            last_status = time.monotonic()
            handler.runner.catch_up()
            _print_status(app, console, prefix=f"{clock():%Y-%m-%d %H:%M}")
        stop.wait(0.05)
    if not stop.is_set():
        console.print(f"reached {days:g} simulated days")


def _print_status(app: Milkbot, console: Console, *, prefix: str) -> None:
    status = read_status(app)
    portfolio = status["pnl"].get("portfolio", {})

    def dollars(key: str) -> str:
        return f"{Decimal(portfolio.get(key, '0')):,.2f}"

    console.print(
        f"[dim]{prefix}[/] events {status['events']:>8}  positions {len(status['positions']):>3}  "
        f"realized ${dollars('realized')}  unrealized ${dollars('unrealized')}  "
        f"fees ${dollars('fees')}  trading {status['trading']['state']}",
        highlight=False, soft_wrap=True)
