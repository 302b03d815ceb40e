"""The command handler's Prometheus metrics, served by the operator app's ``GET /metrics``.

``HandlerMetrics`` owns its ``CollectorRegistry``: nothing is registered in prometheus_client's
global one, so two handlers (or a test beside a demo) never collide and nothing happens at import.
The handler calls the methods below as things happen; ``render()`` gives the text exposition.

| metric | kind | labels | set by |
| --- | --- | --- | --- |
| ``milkbot_cycle_seconds`` | histogram | city | ``observe_cycle`` |
| ``milkbot_cycle_failures_total`` | counter | city | ``cycle_failed`` |
| ``milkbot_orders_placed_total`` | counter | city, strategy | ``order_placed`` |
| ``milkbot_orders_rejected_total`` | counter | city, strategy | ``order_rejected`` (by the venue) |
| ``milkbot_fills_total`` | counter | city, strategy | ``fill`` |
| ``milkbot_filled_contracts_total`` | counter | city, strategy | ``fill`` |
| ``milkbot_risk_refusals_total`` | counter | check | ``risk_refused`` |
| ``milkbot_feed_age_seconds`` | gauge | city, feed | ``feed_age`` (+Inf: never a snapshot) |
| ``milkbot_equity_dollars`` | gauge | | ``equity`` |
| ``milkbot_drawdown_ratio`` | gauge | period | ``drawdown`` (NaN: no start equity) |
| ``milkbot_drawdown_dollars`` | gauge | period | ``drawdown`` |
| ``milkbot_trading_state`` | gauge | scope | ``trading_state(s)`` (0 active, 1 reducing, 2 halted) |
| ``milkbot_alerts_sent`` / ``_failed`` / ``_dropped`` | gauge | | ``alerts``, ``track_alerts`` |

Plus the ``process_*`` metrics (memory, CPU, open files) of the process that owns the registry.

The handler (``milkbot run``) and the operator app (``milkbot serve``) are separate processes, so
the handler is to write its exposition to a file in its state directory (``write``, once a cycle)
that the operator app serves through ``TextfileMetrics``; in ``milkbot demo``, where both share a
process, the app can serve the ``HandlerMetrics`` itself. Anything with ``render() -> bytes``
will do (``MetricsSource``).

Values here are floats by nature (Prometheus has no other number); money is converted from the
ledger's integer micro-dollars only at this edge, and nothing read from a metric goes back in.
"""

from __future__ import annotations

import math
import os
import tempfile
from collections.abc import Iterable, Mapping
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Protocol

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, ProcessCollector
from prometheus_client.exposition import generate_latest

from domain.events.risk import TradingState
from domain.money import COUNT_SCALE, MONEY_SCALE
from domain.risk.state import ALL, TradingStates, city_scope

#: The text format ``render`` produces (our names are plain ASCII, so 0.0.4 is exact and every
#: Prometheus version reads it).
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

#: Per-city cycle latency: a pure decision takes tens of milliseconds (bench.decide), a cycle with
#: snapshots over the network up to seconds, one stuck behind retries tens of seconds.
CYCLE_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0)

#: The gauge's value for each trading state: larger is more restrictive, so ``max()`` is the worst.
STATE_VALUES: Mapping[TradingState, int] = {
    TradingState.ACTIVE: 0, TradingState.REDUCING: 1, TradingState.HALTED: 2,
}


class MetricsSource(Protocol):
    """What ``GET /metrics`` serves: the text exposition of some metrics."""

    def render(self) -> bytes: ...


class AlertCounts(Protocol):
    """The alert sender's running totals (``milkbot.alerts.AlertSink`` has them)."""

    @property
    def sent(self) -> int: ...
    @property
    def failed(self) -> int: ...
    @property
    def dropped(self) -> int: ...


class HandlerMetrics:
    """The command handler's metrics, in a registry of their own."""

    def __init__(self, *, process: bool = True) -> None:
        """``process=False`` leaves out the ``process_*`` metrics (for a registry that is not the
        process's own, e.g. several handlers in one test process)."""
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self._cycle = Histogram("milkbot_cycle_seconds", "Wall time of one city's trading cycle.",
                                ["city"], buckets=CYCLE_BUCKETS, registry=r)
        self._cycle_failures = Counter("milkbot_cycle_failures",
                                       "City cycles that ended in an exception (recorded as an event).",
                                       ["city"], registry=r)
        self._placed = Counter("milkbot_orders_placed", "Orders the venue accepted.",
                               ["city", "strategy"], registry=r)
        self._rejected = Counter("milkbot_orders_rejected", "Orders the venue rejected.",
                                 ["city", "strategy"], registry=r)
        self._fills = Counter("milkbot_fills", "Fills recorded (each venue trade once).",
                              ["city", "strategy"], registry=r)
        self._filled = Counter("milkbot_filled_contracts", "Contracts filled (fractions count).",
                               ["city", "strategy"], registry=r)
        self._refusals = Counter("milkbot_risk_refusals",
                                 "Intended orders refused by the risk engine, by the check that failed.",
                                 ["check"], registry=r)
        self._feed_age = Gauge("milkbot_feed_age_seconds",
                               "Age of the latest good snapshot of a city's feed (+Inf: none yet).",
                               ["city", "feed"], registry=r)
        self._equity = Gauge("milkbot_equity_dollars", "Cash plus open positions at their marks.",
                             registry=r)
        self._drawdown_ratio = Gauge("milkbot_drawdown_ratio",
                                     "Fall from the period's peak as a share of its start equity "
                                     "(NaN: the period began with none).", ["period"], registry=r)
        self._drawdown_dollars = Gauge("milkbot_drawdown_dollars", "Fall from the period's peak equity.",
                                       ["period"], registry=r)
        self._trading_state = Gauge("milkbot_trading_state",
                                    "Trading state per scope: 0 active, 1 reducing, 2 halted.",
                                    ["scope"], registry=r)
        self._alerts_sent = Gauge("milkbot_alerts_sent", "Alerts delivered to the webhook.", registry=r)
        self._alerts_failed = Gauge("milkbot_alerts_failed",
                                    "Alerts whose delivery failed after every retry.", registry=r)
        self._alerts_dropped = Gauge("milkbot_alerts_dropped",
                                     "Alerts dropped because the sender's queue was full.", registry=r)
        if process:
            ProcessCollector(registry=r)

    # -- the cycle ---------------------------------------------------------------------------------

    def observe_cycle(self, city: str, seconds: float) -> None:
        """One city's cycle took ``seconds`` of wall time (measure with ``time.perf_counter``, not
        the trading clock, which may be accelerated)."""
        self._cycle.labels(city=city).observe(seconds)

    def cycle_failed(self, city: str) -> None:
        self._cycle_failures.labels(city=city).inc()

    # -- orders and fills --------------------------------------------------------------------------

    def order_placed(self, city: str, strategy: str) -> None:
        self._placed.labels(city=city, strategy=strategy).inc()

    def order_rejected(self, city: str, strategy: str) -> None:
        """The venue refused an order (a risk engine refusal is ``risk_refused``)."""
        self._rejected.labels(city=city, strategy=strategy).inc()

    def fill(self, city: str, strategy: str, count: int) -> None:
        """A fill of ``count`` in the ledger's units (1/100 contract)."""
        self._fills.labels(city=city, strategy=strategy).inc()
        self._filled.labels(city=city, strategy=strategy).inc(count / COUNT_SCALE)

    def risk_refused(self, checks: Iterable[str]) -> None:
        """An intended order was refused; ``checks`` names every check that failed it."""
        for check in checks:
            self._refusals.labels(check=check).inc()

    # -- state -------------------------------------------------------------------------------------

    def feed_age(self, city: str, feed: str, seconds: float | None) -> None:
        """The age of ``city``'s latest good ``feed`` snapshot; None when there has never been one
        (shown as +Inf, so an alert on age fires for it too)."""
        self._feed_age.labels(city=city, feed=feed).set(math.inf if seconds is None else seconds)

    def equity(self, micros: int) -> None:
        self._equity.set(micros / MONEY_SCALE)

    def drawdown(self, period: str, *, loss_micros: int, share: Decimal | float | None) -> None:
        """One period's drawdown (``domain.risk.drawdown.Drawdown``'s ``loss`` and ``share``)."""
        self._drawdown_dollars.labels(period=period).set(loss_micros / MONEY_SCALE)
        self._drawdown_ratio.labels(period=period).set(math.nan if share is None else float(share))

    def trading_state(self, scope: str, state: TradingState | str) -> None:
        """``scope`` is ``all`` or ``city:{code}``, as in the ledger's trading state events."""
        self._trading_state.labels(scope=scope).set(STATE_VALUES[TradingState(state)])

    def trading_states(self, states: TradingStates, cities: Iterable[str], now: datetime) -> None:
        """The whole book's own state (``all``) and what each city may do (``city:{code}``: the
        worst of the book's, the city's and its breakers, as the risk engine sees it)."""
        self.trading_state(ALL, states.scope_state(ALL, now))
        for city in cities:
            self.trading_state(city_scope(city), states.state_for(city, now))

    def alerts(self, *, sent: int, failed: int, dropped: int) -> None:
        """The alert sender's running totals (it keeps them; these gauges mirror them)."""
        self._alerts_sent.set(sent)
        self._alerts_failed.set(failed)
        self._alerts_dropped.set(dropped)

    def track_alerts(self, sink: AlertCounts) -> None:
        """Read ``sink``'s totals at every ``render`` instead of being told them."""
        self._alerts_sent.set_function(lambda: sink.sent)
        self._alerts_failed.set_function(lambda: sink.failed)
        self._alerts_dropped.set_function(lambda: sink.dropped)

    # -- exposition --------------------------------------------------------------------------------

    def render(self) -> bytes:
        """Every metric in the Prometheus text format (``CONTENT_TYPE``)."""
        return generate_latest(self.registry)

    def write(self, path: Path) -> None:
        """Write ``render()`` to ``path`` atomically (a reader never sees half a file), for the
        operator app in another process to serve with ``TextfileMetrics``."""
        body = self.render()
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(body)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise


class TextfileMetrics:
    """Metrics another process wrote with ``HandlerMetrics.write``, served as they are."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def render(self) -> bytes:
        """The file's text; empty when the handler has not written one yet (Prometheus then sees
        no handler series, and ``absent(milkbot_cycle_seconds_count)`` can alert on it)."""
        try:
            return self.path.read_bytes()
        except FileNotFoundError:
            return b""
