"""``milkbot run --mode paper|demo|live``: the command handler against configured endpoints.

``paper`` reads market data from ``MILKBOT_KALSHI_BASE_URL`` (no key needed) and sends no order:
``milkbot.paper.PaperVenue`` fills our orders from the recorded books. ``demo`` trades Kalshi's
demo environment (or any wire-compatible exchange, such as the simulator) at
``MILKBOT_KALSHI_BASE_URL``. ``live`` is refused until every prerequisite holds, and the refusal
names each one missing: at least ``LIVE_AFTER_DAYS`` days of paper or demo trading in the ledger,
``[trading] live_confirmed = true`` in the configuration, and ``--confirm-live`` on the command
line. SIGTERM or Ctrl-C finishes the current step, records it, and exits 0.
"""

from __future__ import annotations

import signal
import threading
from datetime import UTC, date, datetime
from functools import partial
from pathlib import Path

from rich.console import Console

from domain.config import MilkbotConfig
from domain.events import (
    AlertRaised,
    BreakerCleared,
    BreakerTripped,
    DecisionMade,
    Event,
    KillSwitchEngaged,
    ReconciliationFailed,
    RiskLimitBreached,
    TradingResumed,
    TradingStateChanged,
)
from domain.events.risk import HandlerStarted
from eventstore import EventStore
from eventstore.codec import recorded_at_of
from milkbot.bootstrap import bootstrap, record_config
from milkbot.metrics import HandlerMetrics
from milkbot.settings import Settings, SettingsError, load_config

LIVE_AFTER_DAYS = 10
#: The events that go to the alert sink (log and webhook) as they are recorded.
INCIDENTS = (AlertRaised, RiskLimitBreached, TradingStateChanged, KillSwitchEngaged, TradingResumed,
             BreakerTripped, BreakerCleared, ReconciliationFailed)
PRACTICE_MODES = frozenset({"paper", "demo"})


def practice_days(store: EventStore) -> int:
    """Distinct UTC days on which decisions were recorded while the handler ran in paper or demo.

    A decision counts under the mode of the last handler start before it. The starts are few and
    found through the topic index; of the decisions only the time is read."""
    starts = store.sparse_records([HandlerStarted.__name__])
    days: set[date] = set()
    for i, start in enumerate(starts):
        end = starts[i + 1].position if i + 1 < len(starts) else None
        started = start.decode()
        assert isinstance(started, HandlerStarted)
        if started.mode not in PRACTICE_MODES:
            continue
        for record in store.iter_records(start.position, stop=end,
                                         types=(DecisionMade.__name__,)):
            days.add(recorded_at_of(record.topic, record.data, record.position).astimezone(UTC).date())
    return len(days)


def live_refusals(store: EventStore, config: MilkbotConfig, *, confirmed_on_command_line: bool) -> list[str]:
    """Everything that stands between this ledger and live trading (empty: nothing does)."""
    missing = []
    days = practice_days(store)
    if days < LIVE_AFTER_DAYS:
        missing.append(f"the ledger shows {days} day(s) of paper or demo trading; live needs "
                       f"{LIVE_AFTER_DAYS}")
    if not config.trading.live_confirmed:
        missing.append("the configuration does not confirm live trading ([trading] live_confirmed = true)")
    if not confirmed_on_command_line:
        missing.append("the command line does not confirm it (--confirm-live)")
    return missing


def write_metrics(metrics: HandlerMetrics, path: Path) -> None:
    """The metrics for the operator app (another process) to serve; atomic, so never half read."""
    path.parent.mkdir(parents=True, exist_ok=True)
    metrics.write(path)


def run_handler(settings: Settings, *, mode: str, confirm_live: bool, console: Console) -> int:
    from adapters.kalshi.client import KalshiClient
    from adapters.kalshi.signing import load_credentials
    from adapters.nws.client import NwsClient
    from milkbot.advisory import Advisor
    from milkbot.alerts import AlertSink
    from milkbot.handler import CommandHandler
    from milkbot.logs import configure_logging
    from milkbot.orders import StartupReconciliationFailed
    from milkbot.paper import PaperVenue

    config, _ = load_config(settings)
    with bootstrap(settings) as app:
        if mode == "live":
            refusals = live_refusals(app.ledger.store, config, confirmed_on_command_line=confirm_live)
            if refusals:
                console.print("[bold red]milkbot: live trading refused:[/]", highlight=False)
                for reason in refusals:
                    console.print(f"  - {reason}", highlight=False)
                return 2
        key_id = settings.kalshi_key_id.get_secret_value() if settings.kalshi_key_id else None
        # Paper trading reads public market data only: a key is used when one is set.
        credentials = (load_credentials(key_id, settings.kalshi_private_key_file)
                       if mode != "paper" or key_id else None)
        if not settings.nws_user_agent:
            raise SettingsError("MILKBOT_NWS_USER_AGENT is not set (api.weather.gov requires one, "
                                "e.g. 'milkbot (you@example.com)')")
        configure_logging()
        _, version, _ = record_config(app)
        sink = AlertSink.from_settings(settings)
        metrics = HandlerMetrics()

        def on_event(event: Event) -> None:
            if isinstance(event, INCIDENTS):
                sink.send(event)

        stop = threading.Event()
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: stop.set())
        with KalshiClient(settings.kalshi_base_url, credentials) as kalshi, \
                NwsClient(settings.nws_base_url, settings.nws_user_agent) as nws:
            def clock() -> datetime:
                return datetime.now(UTC)

            venue = (PaperVenue(kalshi, clock, starting_balance=config.trading.paper_balance)
                     if mode == "paper" else None)
            handler = CommandHandler(app, config, version, clock=clock, kalshi=kalshi, nws=nws,
                                     on_event=on_event, metrics=metrics,
                                     advisor=Advisor.from_settings(settings), venue=venue)
            handler.announce(mode, venue=settings.kalshi_base_url)
            try:
                handler.start()
            except StartupReconciliationFailed as e:
                console.print(f"[bold red]milkbot: {e}[/]", highlight=False)
                sink.close(10)
                return 2
            where = (f"paper fills on market data from {settings.kalshi_base_url}" if mode == "paper"
                     else f"{mode} against {settings.kalshi_base_url}")
            console.print(f"milkbot run: {where}; SIGTERM or Ctrl-C stops after the current step",
                          highlight=False)
            try:
                handler.run(stop, idle=1.0, after_step=partial(write_metrics, metrics,
                                                                settings.metrics_file))
            finally:
                handler.runner.catch_up()
                write_metrics(metrics, settings.metrics_file)
                sink.close(10)
        console.print("milkbot run: stopped cleanly", highlight=False)
    return 0
