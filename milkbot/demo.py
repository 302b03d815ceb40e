"""``milkbot demo``: the ledger, its live projections and synthetic trading traffic, on one screen.

Until the exchange and NWS simulators, the strategies and the dashboard land (issues 3-8), the
traffic is the deterministic synthetic workload the benchmarks use (10 cities: ladders, forecasts,
decisions, orders, fills, settlements), paced on an accelerated clock. Because its ids are
deterministic, a second run regenerates the commands already recorded, skips them, and carries on:
the same ledger resumes.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from decimal import Decimal

from rich.console import Console

from bench.workload import START, synthetic_commands
from domain.events import Event
from eventstore import EventStore
from milkbot.bootstrap import Milkbot, bootstrap, record_config
from milkbot.settings import Settings
from milkbot.status import read_status

STATUS_EVERY_S = 2.0


def run_demo(settings: Settings, *, speed: float, days: float | None, console: Console) -> int:
    if speed <= 0:
        console.print("[red]milkbot: --speed must be positive[/]")
        return 2
    with bootstrap(settings) as app:
        _, version, new = record_config(app)
        console.print(f"milkbot demo: ledger [bold]{app.ledger.url}[/] "
                      f"({app.ledger.store.backend_name}), clock x{speed:g}, config "
                      f"{version[:12]}{' (recorded)' if new else ''}")
        console.print("  watch it:  milkbot status   ·   audit it:  milkbot replay verify   ·   "
                      "stop: Ctrl-C (a second run resumes)")
        runner = app.runner()
        stop = threading.Event()
        follower = threading.Thread(target=runner.follow, args=(stop,), name="projections",
                                    daemon=True)
        follower.start()
        try:
            _trade(app, speed=speed, days=days, console=console, follower=follower)
        except KeyboardInterrupt:
            console.print("\nstopping: finishing the current command and the projections...")
        finally:
            stop.set()
            follower.join(timeout=30)
        runner.catch_up()
        _print_status(app, console, prefix="stopped")
    return 0


def _trade(app: Milkbot, *, speed: float, days: float | None, console: Console,
           follower: threading.Thread) -> None:
    store = app.ledger.store
    commands = _resume(synthetic_commands(seed=0), store, console)
    end = START + timedelta(days=days) if days is not None else None
    real_start, sim_start = time.monotonic(), None
    last_status = 0.0
    for command in commands:
        moment = _time_of(command)
        if end is not None and moment >= end:
            console.print(f"reached {days:g} simulated days")
            return
        sim_start = sim_start or moment
        # Pace the simulated clock against the real one; when the machine is slower, go flat out.
        wait = (moment - sim_start).total_seconds() / speed - (time.monotonic() - real_start)
        if wait > 0:
            time.sleep(min(wait, 1.0))
        store.append(command)
        if not follower.is_alive():
            raise RuntimeError("the projection follower stopped")
        if time.monotonic() - last_status >= STATUS_EVERY_S:
            last_status = time.monotonic()
            _print_status(app, console, prefix=moment.strftime("%Y-%m-%d %H:%M"))


def _resume(commands: Iterator[list[Event]], store: EventStore, console: Console) -> (
    Iterator[list[Event]]
):
    """Skip the commands a previous run recorded: their first event already holds its slot."""
    skipped = 0
    for command in commands:
        first = command[0]
        if store.stream_version(first.stream) >= first.version:
            skipped += 1
            continue
        if skipped:
            console.print(f"resumed after {skipped} recorded commands")
        yield command
        yield from commands
        return


def _time_of(command: list[Event]) -> datetime:
    return command[0].recorded_at


def _print_status(app: Milkbot, console: Console, *, prefix: str) -> None:
    status = read_status(app)
    portfolio = status["pnl"].get("portfolio", {})
    behind = max((p["behind"] for p in status["projections"].values()), default=0)
    def dollars(key: str) -> str:
        return f"{Decimal(portfolio.get(key, '0')):,.2f}"

    console.print(
        f"[dim]{prefix}[/] events {status['events']:>8}  open markets "
        f"{len(status['positions']):>3}  realized ${dollars('realized')}  "
        f"unrealized ${dollars('unrealized')}  fees ${dollars('fees')}  "
        f"projections behind {behind}",
        highlight=False, soft_wrap=True,
    )
