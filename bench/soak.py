"""Soak benchmark: the whole system for days of simulated time, with faults switched on at random.

    python -m bench.soak [--hours 72] [--seed 0] [--step-minutes 2.5] [--faults-per-hour 1.5]
                         [--database-url URL]

What runs: as in ``milkbot demo``, the NWS simulator and the Kalshi exchange simulator on loopback
threads and the command handler trading all 10 shipped cities through the real HTTP clients, into
a fresh ledger (SQLite in a temporary directory; ``--database-url`` names another, which must be
empty). The clock is stepped, not accelerated: one clock object, shared by both simulators and the
handler, moves ``--step-minutes`` of simulated time before each ``handler.step()``, so a run is
deterministic in what it asks for and as fast as the machine can go. It starts at ``START`` (late
January, so snow markets trade and the monthly ladders settle on 1 February within 72 hours).

Faults, from a schedule drawn from ``--seed`` (``schedule_faults``), none in the last tenth of the
run (at least an hour) so reconciliation can settle what they left in doubt:

- exchange, through the simulator's own switches (``Simulator.faults``): the next N requests 500,
  429, time out (carried out, never answered), order creations whose answer is lost (504); fills
  reported twice or oldest first, and added latency, for a while;
- NWS, through its simulator's switches (``app.state.set_faults``), for some or all cities, for a
  while: 500 problem+json, HTML 502 pages, expired forecast grids, stale forecasts, missing
  observations;
- both clients, through a fault-injecting httpx transport: connections refused before a request
  leaves, and connections dropped after the request was sent (the answer lost).

Figures (one JSON line on stdout; a summary on stderr):

- ``crashes``: exceptions escaping ``handler.step`` (caught, counted, and the run goes on);
- ``unhandled``: ``AlertRaised(kind="cycle_error")`` events, the exceptions the handler caught;
- ``duplicates``: client order ids placed more than once, by any of three witnesses: the exchange
  simulator's own order records, the ledger's ``OrderSubmitted`` events, and the create requests
  seen on the wire (a request answered 429, or refused before it left, does not count as sent);
- ``rss_start_mb``/``rss_end_mb`` (VmRSS, after start-up and at the end), ``step_ms_p50/p99`` (each
  ``handler.step``), ``cycle_ms_p50/p99`` (each city cycle, from the handler's ``observe_cycle``),
  events, orders, fills, settled markets, simulated hours reached, wall seconds; and, to look at
  rather than targets, what the venue holds that the ledger never heard of (orders, fills).

Baseline and ratio: ``baseline`` is the p99 step latency in the first quarter of the run and
``ratio`` the last quarter's p99 over it (latency drift), both over *clean* steps only (no fault
window open and no fault counter pending when the step began) and leaving out the first simulated
hour (cold start: the first sweep of a week of CLI reports), so the ratio measures work that grows
with the ledger, the positions or the venue's history, or a leak, rather than where the random
timeouts landed. The quarters' mean step latencies are given too. ``rss_ratio`` is
``rss_end_mb / rss_start_mb``.

Targets: the exit status is 1 when crashes, unhandled exceptions or duplicates are above zero or
the resident memory at the end is above ``RSS_LIMIT_MB``.

Cost: the default 72 hours take 6.5-7.5 minutes of wall time on a 2-core machine (one core's worth
of CPU: each request waits for its answer), most of it the per-city cycles' HTTP round trips;
``--hours 6`` takes under a minute.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import random
import sys
import tempfile
import time
import traceback
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import orjson
from rich.console import Console
from rich.table import Table

from adapters.kalshi.client import KalshiClient
from adapters.kalshi.rate_limit import RateLimiter
from adapters.kalshi.signing import Credentials, load_private_key
from adapters.kalshi.simulator import PREFIX, Simulator
from adapters.kalshi.simulator import Faults as ExchangeFaults
from adapters.kalshi.simulator import create_app as exchange_app
from adapters.nws.client import NwsClient
from adapters.nws.simulator.app import create_app as nws_app
from adapters.nws.simulator.faults import Faults as NwsFaults
from adapters.nws.simulator.weather import WeatherGenerator
from domain.events import AlertRaised, Event, MarketSettled, OrderFilled, OrderSubmitted
from eventstore import EventStore
from eventstore.url import parse_database_url
from milkbot.bootstrap import bootstrap, record_config
from milkbot.handler import CommandHandler
from milkbot.metrics import HandlerMetrics
from milkbot.serving import serving
from milkbot.settings import SHIPPED_CONFIG, Settings, load_config
from milkbot.simulators import client_key

DEFAULT_HOURS = 72.0
#: The longest step under 3 minutes that divides every period of the handler's ``Cadence`` (5, 15,
#: 30, 60 minutes), so each job runs on the minute it is due, as it would in real time.
DEFAULT_STEP_MINUTES = 2.5
DEFAULT_FAULTS_PER_HOUR = 1.5
START = datetime(2027, 1, 29, 18, 0, tzinfo=UTC)
RSS_LIMIT_MB = 300.0
#: Long enough for any honest answer of the simulators on a busy 2-core machine; each injected
#: timeout costs this much wall time.
KALSHI_TIMEOUT_S = 1.0
NWS_TIMEOUT_S = 5.0
USER_AGENT = "milkbot-soak (localhost)"
PROGRESS_EVERY_S = 10.0

# -- the fault schedule (pure) ---------------------------------------------------------------------

#: Exchange faults counted in requests: (fewest, most) requests affected.
EXCHANGE_COUNTERS = {"server_error_next": (1, 6), "rate_limit_next": (1, 8), "timeout_next": (1, 2),
                     "lose_create_answer_next": (1, 3)}
#: Exchange faults that stay on for a while (``latency_ms``: milliseconds added to every request).
EXCHANGE_WINDOWS = {"duplicate_fills": (0, 0), "out_of_order_fills": (0, 0), "latency_ms": (2, 15)}
#: NWS simulator faults, on for some cities (or all) for a while.
NWS_WINDOWS = ("server_error", "html_502", "grid_expired", "stale_forecasts", "missing_observations")
#: Transport faults on each client, counted in requests: refused before sending, dropped after.
TRANSPORT_COUNTERS = {"kalshi.refused": (1, 3), "kalshi.dropped": (1, 3), "nws.refused": (1, 4),
                      "nws.dropped": (1, 4)}
KINDS = (*(f"exchange.{k}" for k in (*EXCHANGE_COUNTERS, *EXCHANGE_WINDOWS)),
         *(f"nws.{k}" for k in NWS_WINDOWS), *TRANSPORT_COUNTERS)


@dataclass(frozen=True)
class Fault:
    """One fault switched on before step ``step``: ``amount`` requests (counters) or milliseconds
    (latency); windows stay on for ``steps`` steps; NWS faults concern ``cities`` (empty: all)."""

    step: int
    kind: str
    amount: int = 0
    steps: int = 0
    cities: tuple[str, ...] = ()

    def open_at(self, step: int) -> bool:
        return self.steps > 0 and self.step <= step < self.step + self.steps


def schedule_faults(seed: int, steps: int, *, step_minutes: float, per_hour: float,
                    cities: Sequence[str]) -> list[Fault]:
    """The run's faults, a pure function of its arguments. Windows last 2-30 simulated minutes,
    one in five 1-3 hours (long enough to trip the stale-data breakers); none is open in the last
    tenth of the run (at least an hour of it)."""
    rng = random.Random(f"soak faults {seed}")
    last = quiet_from(steps, step_minutes)
    chance = min(1.0, per_hour * step_minutes / 60)
    faults: list[Fault] = []
    for step in range(max(last, 0)):
        if rng.random() >= chance:
            continue
        kind = rng.choice(KINDS)
        where, name = kind.split(".", 1)
        minutes = rng.uniform(60, 180) if rng.random() < 0.2 else rng.uniform(2, 30)
        span = min(max(1, round(minutes / step_minutes)), last - step)
        if kind in TRANSPORT_COUNTERS or name in EXCHANGE_COUNTERS:
            low, high = TRANSPORT_COUNTERS.get(kind) or EXCHANGE_COUNTERS[name]
            faults.append(Fault(step, kind, amount=rng.randint(low, high)))
        elif where == "exchange":
            low, high = EXCHANGE_WINDOWS[name]
            faults.append(Fault(step, kind, amount=rng.randint(low, high), steps=span))
        else:
            chosen = () if rng.random() < 0.3 else tuple(sorted(rng.sample(list(cities), rng.randint(1, 3))))
            faults.append(Fault(step, kind, steps=span, cities=chosen))
    return faults


def quiet_from(steps: int, step_minutes: float) -> int:
    """The first step of the fault-free end of the run: its last tenth, at least an hour."""
    return max(0, steps - max(steps // 10, round(60 / step_minutes)))


def percentile(values: Sequence[float], q: float) -> float | None:
    """The ``q``-th percentile (0-100), interpolated linearly between the closest ranks; None for
    no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


# -- the clock, the faulty transport, the switches -------------------------------------------------


@dataclass
class SteppedClock:
    """Simulated now, moved only by ``advance``."""

    now: datetime

    def __call__(self) -> datetime:
        return self.now

    def advance(self, by: timedelta) -> None:
        self.now += by


class FaultyTransport(httpx.BaseTransport):
    """An httpx transport that refuses the next ``refusals`` requests before they leave and drops
    the connection of the next ``drops`` after they were sent (the server did the work; the answer
    is lost). It also counts, per client order id, the order creations that reached the server."""

    def __init__(self, inner: httpx.BaseTransport | None = None) -> None:
        self.inner = inner or httpx.HTTPTransport()
        self.refusals = self.drops = 0
        self.created: Counter[str] = Counter()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if self.refusals:
            self.refusals -= 1
            raise httpx.ConnectError("soak: connection refused", request=request)
        response = self.inner.handle_request(request)
        if request.method == "POST" and request.url.path.endswith(("/events/orders", "/orders/batched")):
            response.read()
            if response.status_code != 429:  # refused before anything was done: not sent
                self.created.update(_client_order_ids(request.content))
        if self.drops:
            self.drops -= 1
            response.close()
            raise httpx.RemoteProtocolError("soak: server disconnected", request=request)
        return response

    def close(self) -> None:
        self.inner.close()


def _client_order_ids(body: bytes) -> list[str]:
    data = orjson.loads(body) if body else {}
    items = data.get("orders", [data]) if isinstance(data, dict) else []
    return [i["client_order_id"] for i in items if isinstance(i, dict) and i.get("client_order_id")]


@dataclass
class FaultSwitch:
    """Switches the scheduled faults on and off before each step, through each simulator's own
    switches and the clients' transports."""

    schedule: list[Fault]
    exchange: Simulator
    set_nws_faults: Callable[[NwsFaults], None]
    transports: dict[str, FaultyTransport]
    quiet_from: int
    started: Counter[str] = field(default_factory=Counter)

    def before(self, step: int) -> bool:
        """Apply what is due at ``step``; True when the step runs with a fault open or pending
        (an order creation's lost answer aside: it waits for an order and costs no time)."""
        if step >= self.quiet_from:  # whatever is left over is switched off: the run settles
            self.exchange.faults = ExchangeFaults()
            self.set_nws_faults(NwsFaults())
            for transport in self.transports.values():
                transport.refusals = transport.drops = 0
            return False
        exchange = self.exchange.faults
        changes: dict[str, Any] = {name: False for name in EXCHANGE_WINDOWS if name != "latency_ms"}
        changes["latency_ms"] = 0
        nws: dict[str, Any] = {}
        for fault in self.schedule:
            where, name = fault.kind.split(".", 1)
            if fault.step == step:
                self.started[fault.kind] += 1
                if fault.kind in TRANSPORT_COUNTERS:
                    transport = self.transports[where]
                    attribute = "refusals" if name == "refused" else "drops"
                    setattr(transport, attribute, getattr(transport, attribute) + fault.amount)
                elif name in EXCHANGE_COUNTERS:
                    changes[name] = changes.get(name, getattr(exchange, name)) + fault.amount
            if fault.open_at(step):
                if where == "exchange":
                    changes[name] = fault.amount if name == "latency_ms" else True
                else:
                    known = nws.get(name, frozenset())
                    nws[name] = True if known is True or not fault.cities else known | set(fault.cities)
        exchange = self.exchange.faults = dataclasses.replace(exchange, **changes)
        self.set_nws_faults(NwsFaults(**{k: v if v is True else frozenset(v) for k, v in nws.items()}))
        pending = any(getattr(exchange, name) for name in (*EXCHANGE_COUNTERS, *EXCHANGE_WINDOWS)
                      if name != "lose_create_answer_next")
        pending |= any(t.refusals or t.drops for t in self.transports.values())
        return pending or bool(nws)


# -- the run ---------------------------------------------------------------------------------------


@dataclass
class Run:
    """What a run measured, before it is reduced to figures."""

    backend: str
    seed: int
    step_minutes: float
    #: Steps of the first simulated hour (first sweeps of a week of CLI reports, cold caches):
    #: left out of the quarters compared for drift.
    warmup: int = 0
    steps: int = 0
    hours: float = 0.0
    wall_s: float = 0.0
    step_s: list[float] = field(default_factory=list)
    clean: list[bool] = field(default_factory=list)
    cycle_s: list[float] = field(default_factory=list)
    rss_mb: list[float] = field(default_factory=list)
    rss_warm_mb: float | None = None
    #: One line each (simulated time, the exception), and the first traceback of each kind.
    crashes: list[str] = field(default_factory=list)
    unhandled: list[str] = field(default_factory=list)
    tracebacks: dict[str, str] = field(default_factory=dict)
    duplicates: dict[str, list[str]] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    faults: Counter[str] = field(default_factory=Counter)
    log_errors: Counter[str] = field(default_factory=Counter)

    def crash(self, at: datetime, error: Exception) -> None:
        line = f"{type(error).__name__}: {str(error)[:300]}"
        self.crashes.append(f"{at:%Y-%m-%d %H:%M} {line}")
        self.tracebacks.setdefault(line, "".join(traceback.format_exception(error)))


class CycleTimes(HandlerMetrics):
    """The handler's metrics, keeping every city cycle's wall time as well."""

    def __init__(self, seconds: list[float]) -> None:
        super().__init__(process=False)
        self.seconds = seconds

    def observe_cycle(self, city: str, seconds: float) -> None:
        super().observe_cycle(city, seconds)
        self.seconds.append(seconds)


def rss_mb() -> float:
    """This process's resident set size (VmRSS), in MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


def soak(*, hours: float, seed: int, step_minutes: float, faults_per_hour: float,
         database_url: str | None, progress: Callable[[str], None]) -> Run:
    """Run the whole system for ``hours`` of simulated time and measure it."""
    began = time.perf_counter()
    step = timedelta(minutes=step_minutes)
    steps = round(hours * 60 / step_minutes)
    clock = SteppedClock(START)
    with ExitStack() as stack:
        folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="milkbot-soak-")))
        url = database_url or f"sqlite:///{folder / 'ledger.sqlite'}"
        settings = Settings(database_url=url, config=SHIPPED_CONFIG)
        config, _ = load_config(settings)
        app = stack.enter_context(bootstrap(settings))
        run = Run(backend=app.ledger.store.backend_name, seed=seed, step_minutes=step_minutes,
                  warmup=round(60 / step_minutes))
        if app.ledger.store.max_position():
            raise SystemExit(f"bench.soak: {parse_database_url(url).redacted()} is not empty; "
                             "a soak needs a fresh ledger")
        key_file, public_key = client_key(folder / "exchange")
        exchange = exchange_app(config, seed=seed, clock=clock, public_key=public_key,
                                weather=WeatherGenerator(config.cities, seed=seed))
        nws_server = nws_app(config, seed=seed, clock=clock)
        exchange_url = stack.enter_context(serving(exchange, name="exchange-simulator"))
        nws_url = stack.enter_context(serving(nws_server, name="nws-simulator"))
        stack.enter_context(_counting_errors(run.log_errors))
        transports = {"kalshi": FaultyTransport(), "nws": FaultyTransport()}
        kalshi = stack.enter_context(KalshiClient(
            exchange_url + PREFIX, Credentials("soak", load_private_key(key_file.read_bytes())),
            transport=transports["kalshi"], timeout=KALSHI_TIMEOUT_S, sleep=lambda _s: None,
            limiter=RateLimiter(1_000, 1_000)))
        nws = stack.enter_context(NwsClient(nws_url, USER_AGENT, clock=clock, transport=transports["nws"],
                                            timeout=NWS_TIMEOUT_S, sleep=lambda _s: None))
        _, version, _ = record_config(app, now=clock())
        handler = CommandHandler(app, config, version, clock=clock, kalshi=kalshi, nws=nws,
                                 metrics=CycleTimes(run.cycle_s))
        switch = FaultSwitch(
            schedule_faults(seed, steps, step_minutes=step_minutes, per_hour=faults_per_hour,
                            cities=[c.code for c in config.enabled_cities]),
            exchange.state.sim, nws_server.state.set_faults, transports, quiet_from(steps, step_minutes))
        progress(f"{run.backend} ledger, {len(config.enabled_cities)} cities, {steps} steps of "
                 f"{step_minutes:g} simulated minutes from {START:%Y-%m-%d %H:%M} UTC, "
                 f"{len(switch.schedule)} faults scheduled (seed {seed})")
        try:
            handler.start()
        except Exception as e:
            run.crash(clock(), e)
        run.rss_mb.append(rss_mb())
        shown = time.monotonic()
        for i in range(steps):
            clock.advance(step)
            run.clean.append(not switch.before(i))
            started = time.perf_counter()
            try:
                handler.step()
            except Exception as e:
                run.crash(clock(), e)
            run.step_s.append(time.perf_counter() - started)
            run.steps = i + 1
            if run.steps == run.warmup:
                run.rss_warm_mb = rss_mb()
            if time.monotonic() - shown >= PROGRESS_EVERY_S:
                shown = time.monotonic()
                run.rss_mb.append(rss_mb())
                progress(f"{clock():%Y-%m-%d %H:%M} step {i + 1}/{steps}, "
                         f"{app.ledger.store.max_position()} events, rss {run.rss_mb[-1]:.0f} MB, "
                         f"crashes {len(run.crashes)}")
        handler.runner.catch_up()
        run.rss_mb.append(rss_mb())
        run.hours = (clock() - START) / timedelta(hours=1)
        run.faults = switch.started
        _tally(run, app.ledger.store, exchange.state.sim, transports["kalshi"])
    run.wall_s = time.perf_counter() - began
    return run


def _tally(run: Run, store: EventStore, exchange: Simulator, wire: FaultyTransport) -> None:
    """Count what the ledger recorded (decoding only the kinds counted) and compare it with what
    the exchange simulator holds and what went over the wire."""
    submitted: list[str] = []
    fill_ids: list[str] = []
    settled: set[str] = set()
    alerts = events = 0
    wanted = {t.__name__ for t in (AlertRaised, MarketSettled, OrderFilled, OrderSubmitted)}
    for record in store.iter_records():
        events += 1
        if record.type_name not in wanted:
            continue
        event: Event = record.decode()
        if isinstance(event, AlertRaised):
            alerts += 1
            if event.kind == "cycle_error":
                run.unhandled.append(f"{event.recorded_at:%Y-%m-%d %H:%M} {event.message}")
                run.tracebacks.setdefault(event.message, event.context.get("traceback", ""))
        elif isinstance(event, OrderSubmitted):
            submitted.append(event.client_order_id)
        elif isinstance(event, OrderFilled):
            fill_ids.append(event.fill_id)
        elif isinstance(event, MarketSettled):
            settled.add(event.ticker)
    venue_orders = [o.client_order_id for o in exchange.exchange.orders.values() if o.client_order_id]
    venue_fills = [f.fill_id for f in exchange.exchange.fills]
    run.duplicates = {"exchange": _repeated(venue_orders), "ledger": _repeated(submitted),
                      "wire": _repeated(list(wire.created.elements()))}
    run.counts.update(
        events=events, orders=len(submitted), fills=len(fill_ids), settled_markets=len(settled),
        alerts=alerts, exchange_orders=len(venue_orders), exchange_fills=len(venue_fills),
        order_creations_sent=sum(wire.created.values()),
        # not targets, but worth a look: what the venue has that the ledger never heard of
        exchange_orders_not_in_ledger=len(set(venue_orders) - set(submitted)),
        exchange_fills_not_in_ledger=len(set(venue_fills) - set(fill_ids)),
        repeated_fill_ids=len(_repeated(fill_ids)))


def _repeated(values: Sequence[str]) -> list[str]:
    return sorted(v for v, n in Counter(values).items() if n > 1)


class _ErrorCounter(logging.Handler):
    """Counts error log records by logger (the handler's caught exceptions, a simulator's 500s)."""

    def __init__(self, counts: Counter[str]) -> None:
        super().__init__(logging.ERROR)
        self.counts = counts

    def emit(self, record: logging.LogRecord) -> None:
        self.counts[record.name] += 1


@contextmanager
def _counting_errors(counts: Counter[str]) -> Iterator[None]:
    """Count error records instead of printing them; the uvicorn loggers keep their own handlers
    and do not propagate, so they are counted (and silenced) too."""
    counter = _ErrorCounter(counts)
    loggers = [logging.getLogger(), logging.getLogger("uvicorn")]
    kept = [(lg, lg.handlers[:]) for lg in loggers]
    for lg in loggers:
        lg.handlers = [counter]
    try:
        yield
    finally:
        for lg, handlers in kept:
            lg.handlers = handlers


# -- figures and the report ------------------------------------------------------------------------


def figures(run: Run) -> dict[str, Any]:
    """The run as one flat dict: the JSON line."""
    clean = [s for s, ok in zip(run.step_s, run.clean, strict=True) if ok]
    settled = list(zip(run.step_s, run.clean, strict=True))[run.warmup:]
    quarter = max(1, len(settled) // 4)
    first = [s for s, ok in settled[:quarter] if ok]
    last = [s for s, ok in settled[-quarter:] if ok]
    baseline, drift = percentile(first, 99), percentile(last, 99)
    duplicates = set().union(*run.duplicates.values()) if run.duplicates else set()

    def ms(value: float | None) -> float | None:
        return None if value is None else round(value * 1000, 1)

    return {
        "bench": "soak", "backend": run.backend,
        "crashes": len(run.crashes), "unhandled": len(run.unhandled), "duplicates": len(duplicates),
        "duplicates_exchange": len(run.duplicates.get("exchange", [])),
        "duplicates_ledger": len(run.duplicates.get("ledger", [])),
        "duplicates_wire": len(run.duplicates.get("wire", [])),
        "rss_start_mb": round(run.rss_mb[0], 1), "rss_end_mb": round(run.rss_mb[-1], 1),
        "rss_max_mb": round(max(run.rss_mb), 1),
        "rss_after_first_hour_mb": None if run.rss_warm_mb is None else round(run.rss_warm_mb, 1),
        "step_ms_p50": ms(percentile(run.step_s, 50)), "step_ms_p99": ms(percentile(run.step_s, 99)),
        "clean_step_ms_p99": ms(percentile(clean, 99)),
        "cycle_ms_p50": ms(percentile(run.cycle_s, 50)), "cycle_ms_p99": ms(percentile(run.cycle_s, 99)),
        "events": run.counts.get("events", 0), "orders": run.counts.get("orders", 0),
        "fills": run.counts.get("fills", 0), "settled_markets": run.counts.get("settled_markets", 0),
        "exchange_orders": run.counts.get("exchange_orders", 0),
        "exchange_fills": run.counts.get("exchange_fills", 0),
        **{k: run.counts.get(k, 0) for k in ("order_creations_sent", "exchange_orders_not_in_ledger",
                                             "exchange_fills_not_in_ledger", "repeated_fill_ids")},
        "alerts": run.counts.get("alerts", 0), "faults": sum(run.faults.values()),
        "seed": run.seed, "step_minutes": run.step_minutes, "steps": run.steps, "clean_steps": len(clean),
        "simulated_hours": round(run.hours, 2), "wall_s": round(run.wall_s, 1),
        "baseline": ms(baseline), "baseline_kind": "clean step p99 ms, first quarter after the first hour",
        "last_quarter_step_ms_p99": ms(drift),
        "first_quarter_step_ms_mean": ms(sum(first) / len(first) if first else None),
        "last_quarter_step_ms_mean": ms(sum(last) / len(last) if last else None),
        "rss_ratio": round(run.rss_mb[-1] / run.rss_mb[0], 3),
        "ratio": round(drift / baseline, 3) if drift is not None and baseline else None,
    }


def failures(result: dict[str, Any]) -> list[str]:
    """The targets the run missed."""
    missed = [f"{name} = {result[name]} (target 0)" for name in ("crashes", "unhandled", "duplicates")
              if result[name]]
    if result["rss_end_mb"] > RSS_LIMIT_MB:
        missed.append(f"rss_end_mb = {result['rss_end_mb']} (target <= {RSS_LIMIT_MB:g})")
    return missed


def summary(run: Run, result: dict[str, Any]) -> None:
    console = Console(stderr=True, highlight=False, soft_wrap=True)
    table = Table(title=f"soak: {result['simulated_hours']:g} simulated hours in {result['wall_s']:g} s "
                        f"({result['backend']})", show_header=False)
    for key, value in result.items():
        if key not in ("bench", "backend"):
            table.add_row(key, str(value))
    console.print(table)
    console.print("faults switched on: " + ", ".join(f"{k} {n}" for k, n in sorted(run.faults.items())))
    if run.log_errors:
        console.print("error log records: " + ", ".join(f"{k} {n}" for k, n in run.log_errors.most_common()))
    for title, lines in (("crashes", run.crashes), ("unhandled (cycle_error alerts)", run.unhandled)):
        if not lines:
            continue
        console.print(f"[bold red]{title}[/]: {len(lines)}")
        examples: dict[str, str] = {}
        kinds: Counter[str] = Counter()
        for line in lines:  # "<date> <time> <what> failed: <exception type>: <message>"
            message = line.split(" ", 2)[-1]
            kind = ": ".join(message.split(": ")[:2])
            kinds[kind] += 1
            examples.setdefault(kind, message)
        for kind, n in kinds.most_common():
            console.print(f"  {n} x {kind}   e.g. {examples[kind]}", markup=False)
        for kind, _ in kinds.most_common(5):
            console.print(run.tracebacks.get(examples[kind], "").strip()[-1_500:], markup=False, style="dim")
    for witness, ids in run.duplicates.items():
        if ids:
            console.print(f"[bold red]duplicate client order ids ({witness})[/]: {', '.join(ids[:20])}")
    missed = failures(result)
    console.print("[bold red]targets missed[/]: " + "; ".join(missed) if missed else
                  "[bold green]targets met[/]: no crash, no unhandled exception, no duplicate order, "
                  f"rss under {RSS_LIMIT_MB:g} MB")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.soak", description=__doc__.split("\n")[0])
    parser.add_argument("--hours", type=float, default=DEFAULT_HOURS, help="simulated hours (default 72)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--step-minutes", type=float, default=DEFAULT_STEP_MINUTES,
                        help="simulated minutes per handler step (default 2.5)")
    parser.add_argument("--faults-per-hour", type=float, default=DEFAULT_FAULTS_PER_HOUR,
                        help="faults switched on per simulated hour, on average (default 1.5)")
    parser.add_argument("--database-url", help="an empty ledger to use (default: SQLite in a temp dir)")
    args = parser.parse_args(argv)
    if args.hours <= 0 or args.step_minutes <= 0:
        parser.error("--hours and --step-minutes must be positive")
    run = soak(hours=args.hours, seed=args.seed, step_minutes=args.step_minutes,
               faults_per_hour=args.faults_per_hour, database_url=args.database_url, progress=_progress)
    result = figures(run)
    sys.stdout.write(orjson.dumps(result).decode() + "\n")
    sys.stdout.flush()
    summary(run, result)
    return 1 if failures(result) else 0


def _progress(message: str) -> None:
    print(f"[bench.soak] {message}", file=sys.stderr, flush=True)


if __name__ == "__main__":
    raise SystemExit(main())
