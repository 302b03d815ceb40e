"""The command handler: ingest -> decide -> risk -> order -> fills -> P&L, around the clock.

One ``step`` does what is due at the injected clock's time (a simulated clock runs it many times
faster than real time):

- per enabled city and market kind, at its cadence: a weather snapshot and the city's ladders from
  the exchange, recorded; one decision per ladder and strategy (``domain.decision``); each intended
  order through the risk checks (``domain.risk``), whose verdicts are recorded; the approved ones
  through the order manager (``milkbot.orders``), intent before request, answer after;
- fills polled, the venue reconciled on a schedule, CLI reports archived (month to date, settled
  values), stale-data breakers moved, projections caught up, the accountant run (scores, learned
  model state, the edge alert);
- a kill switch or halt recorded by anyone (``milkbot kill``) is seen at the next step and the
  resting orders it concerns are cancelled.

An exception in one city's cycle is recorded as an ``AlertRaised`` with its traceback and never
stops the other cities or the process. Every event the handler records is also handed to
``on_event`` (the alert sink, metrics).
"""

from __future__ import annotations

import logging
import threading
import time
import traceback
import uuid
from collections import Counter, defaultdict, deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import partial
from typing import Literal, Protocol

from adapters.kalshi.client import KalshiClient
from adapters.kalshi.errors import KalshiError, KalshiUnavailable, RateLimited
from adapters.kalshi.snapshots import MarketSnapshotter
from adapters.nws.archive import ClimateReportArchive
from adapters.nws.client import NwsClient
from adapters.nws.errors import NwsError
from adapters.nws.snapshots import WeatherSnapshotter, weather_stream
from domain.book import mark_price
from domain.climate_day import climate_day_of, climate_day_start
from domain.config import CityConfig, MilkbotConfig
from domain.decision import DecisionInputs, Portfolio, decide
from domain.events import (
    Action,
    AlertRaised,
    ClimateReportRecorded,
    DecisionMade,
    EquityMarked,
    Event,
    MarketFeedFailed,
    MarketKind,
    MarketSettled,
    MarketSnapshotted,
    ModelStateRecorded,
    OrderFilled,
    OrderRejected,
    OrderRiskChecked,
    OrderSubmitted,
    ReconciliationFailed,
    TradingState,
    WeatherSnapshotted,
    deterministic_id,
)
from domain.events.advisory import advisory_stream
from domain.events.risk import HandlerStarted
from domain.ladder import Ladder
from domain.money import PRICE_SCALE
from domain.oms import OrderBook
from domain.positions import MarketPosition
from domain.risk import (
    FeedReading,
    Held,
    RiskContext,
    breaker_events,
    check_orders,
    drawdown_events,
    markets_of,
)
from domain.risk.breakers import market_feed, weather_feed
from domain.risk.drawdown import EquitySeries
from domain.risk.state import ALL, TradingStates, city_scope
from eventstore.chain import Sealer
from milkbot.accountant import Accountant
from milkbot.advisory import Advisor, DaySummary
from milkbot.bootstrap import Milkbot
from milkbot.metrics import HandlerMetrics
from milkbot.operator import STATE_TYPES
from milkbot.orders import BOOK_TYPES, OrderManager, Venue
from milkbot.paper import PaperVenue

log = logging.getLogger(__name__)

#: Market feed failures that mean the exchange itself is not answering.
UNREACHABLE = frozenset({KalshiUnavailable.__name__, RateLimited.__name__})
KINDS = (MarketKind.DAILY_HIGH, MarketKind.MONTHLY_RAIN, MarketKind.MONTHLY_SNOW)
EventSink = Callable[[Event], None]


class MarketFeed(Protocol):
    def snapshot(self, city: CityConfig, kind: MarketKind, *, correlation_id: uuid.UUID
                 ) -> list[MarketSnapshotted] | MarketFeedFailed | None:
        """The city's open ladders of ``kind``, or the failure; None: nothing new (a recorded
        feed between two recordings: the feed's freshness is left to age)."""
        ...


class WeatherFeed(Protocol):
    def snapshot(self, city: CityConfig, kind: MarketKind, *, version: int,
                 correlation_id: uuid.UUID) -> Event | None:
        """A ``WeatherSnapshotted`` or a failure event at ``version``; None: nothing new."""
        ...


class ReportFeed(Protocol):
    def sweep(self, site: str) -> list[Event]:
        """Record the site's CLI reports not recorded yet (through the handler's ``record``)."""
        ...


#: Builds the three feeds, given the handler's ``record``.
FeedFactory = Callable[[Callable[[Sequence[Event]], object]], tuple[MarketFeed, WeatherFeed, ReportFeed]]


@dataclass(frozen=True)
class Cadence:
    """How often each job runs, in the handler's (possibly simulated) time.

    A city's ladders are snapshotted faster when it matters most (``next_run``): a daily-high
    ladder every ``near_close_daily_high`` in the ``near_close`` before its climate day closes
    (local standard midnight, when trading stops), and right after each hour's routine observation
    (METARs are issued at about :51-:54, so a run at ``observation_minute`` sees the new high);
    a monthly ladder every ``near_close_monthly`` on the last climate day of its month."""

    daily_high: timedelta = timedelta(minutes=15)
    monthly: timedelta = timedelta(hours=1)
    fills: timedelta = timedelta(minutes=5)
    reconcile: timedelta = timedelta(minutes=30)
    climate_reports: timedelta = timedelta(hours=1)
    equity: timedelta = timedelta(minutes=15)
    near_close: timedelta = timedelta(hours=2)
    near_close_daily_high: timedelta = timedelta(minutes=5)
    near_close_monthly: timedelta = timedelta(minutes=15)
    observation_minute: int | None = 55

    def of(self, kind: MarketKind) -> timedelta:
        return self.daily_high if kind is MarketKind.DAILY_HIGH else self.monthly

    def next_run(self, kind: MarketKind, zone: str, now: datetime) -> datetime:
        """When a city's ``kind`` cycle that ran at ``now`` runs next."""
        if self.of(kind) <= timedelta(0):
            return now
        day = climate_day_of(zone, now)
        if kind is not MarketKind.DAILY_HIGH:
            last_day = (day + timedelta(days=1)).month != day.month
            return now + (self.near_close_monthly if last_day else self.monthly)
        closes = climate_day_start(zone, day + timedelta(days=1))
        if closes - now <= self.near_close:
            return now + self.near_close_daily_high
        following = now + self.daily_high
        if self.observation_minute is not None:
            observed = now.replace(minute=self.observation_minute, second=0, microsecond=0)
            if observed <= now:
                observed += timedelta(hours=1)
            following = min(following, observed)
        return following


@dataclass
class _Feeds:
    """When each city's feeds last gave good data, and which failed on their latest try."""

    good: dict[tuple[str, str], datetime] = field(default_factory=dict)
    failing: set[tuple[str, str]] = field(default_factory=set)


class CommandHandler:
    def __init__(self, app: Milkbot, config: MilkbotConfig, config_version: str, *,
                 clock: Callable[[], datetime], kalshi: KalshiClient | None, nws: NwsClient | None,
                 cadence: Cadence = Cadence(), on_event: EventSink | None = None,
                 metrics: HandlerMetrics | None = None, advisor: Advisor | None = None,
                 venue: Venue | None = None, feeds: FeedFactory | None = None) -> None:
        """``kalshi`` gives the market data; ``venue`` takes the orders and keeps the account
        (default: the same exchange; ``milkbot.paper.PaperVenue`` for paper trading). ``feeds``
        replaces the live feeds (markets, weather, CLI reports) with others, such as recorded
        ones for a backtest; it is given the handler's ``record``."""
        self.app, self.config, self.version = app, config, config_version
        self.store = app.ledger.store
        self.clock = clock
        self.kalshi, self.nws = kalshi, nws
        if (venue is None and kalshi is None) or (feeds is None and (kalshi is None or nws is None)):
            raise ValueError("the handler needs an exchange (kalshi or venue) and feeds (kalshi and "
                             "nws, or feeds)")
        self.venue: Venue = venue if venue is not None else kalshi  # type: ignore[assignment]
        self.paper = venue if isinstance(venue, PaperVenue) else None
        self.cadence = cadence
        self._sink = on_event or (lambda _e: None)
        self.metrics = metrics
        #: The optional daily advisory note (``milkbot.advisory``): advice for the operator only.
        self.advisor = advisor
        self._days: dict[date, Counter[str]] = defaultdict(Counter)
        self._day_alerts: dict[date, list[str]] = defaultdict(list)
        #: Marked-to-market equity after each step (micros), for the drawdown limits; recorded
        #: as ``EquityMarked`` every ``Cadence.equity`` and read back at start-up.
        self.equity = EquitySeries(config.risk.drawdown_timezone)
        self.marks: dict[str, int] = {}
        self.cities = {c.code: c for c in config.enabled_cities}
        self.latest_weather: dict[tuple[str, MarketKind], WeatherSnapshotted] = {}
        self.reports: dict[str, ClimateReportRecorded] = {}
        self.model_states: dict[tuple[str, MarketKind], ModelStateRecorded] = {}
        self.positions: dict[str, MarketPosition] = {}
        book = self._fold_history()
        self.orders = OrderManager(self.store, self.venue, clock, cities={}, book=book)
        if self.paper is not None:
            self.paper.restore(book, self.positions)
        self.markets: MarketFeed
        self.weather: WeatherFeed
        self.archive: ReportFeed
        if feeds is None:
            assert kalshi is not None and nws is not None
            self.markets = MarketSnapshotter(kalshi, clock, self._next_version)
            self.weather = WeatherSnapshotter(nws, clock)
            self.archive = ClimateReportArchive(nws, append=self.record, clock=clock,
                                                is_recorded=lambda s: self.store.stream_version(s) > 0)
        else:
            self.markets, self.weather, self.archive = feeds(self.record)
        self.runner = app.runner()
        #: Extends the log's hash chain (``eventstore.chain``) at every catch-up.
        self.sealer = Sealer(app.ledger)
        self.accountant = Accountant(app, config)
        self.feeds = _Feeds()
        self._recent_orders: deque[datetime] = deque(maxlen=1_000)
        self._due: dict[str, datetime] = {}
        self._balance_now: int | None = None
        #: Since when the exchange has not answered (None: it answers).
        self.exchange_down_since: datetime | None = None
        self._recovered = False

    # -- recording --------------------------------------------------------------------------------

    def record(self, events: Sequence[Event]) -> object:
        """Append one command and let everything that watches see it."""
        if not events:
            return None
        appended = self.store.append(events)
        for event in events:
            self._observe(event)
            self._on_event(event)
        return appended

    def _on_event(self, event: Event) -> None:
        self._sink(event)
        day = event.recorded_at.astimezone(UTC).date()
        if isinstance(event, DecisionMade):
            self._days[day]["decisions"] += 1
        elif isinstance(event, OrderFilled):
            self._days[day]["trades"] += 1
            self._days[day]["fees"] += event.fee
        elif isinstance(event, AlertRaised):
            self._day_alerts[day].append(event.message[:200])
        if self.metrics is not None:
            count_event(self.metrics, event)

    def _observe(self, event: Event) -> None:
        if isinstance(event, MarketSnapshotted):
            for quote in event.markets:
                mark = mark_price(quote)
                if mark is not None:
                    self.marks[quote.ticker] = mark
        if isinstance(event, OrderFilled):
            held = self.positions.get(event.ticker) or MarketPosition(ticker=event.ticker, city=event.city)
            self.positions[event.ticker] = held.fill(event.side, event.action, event.price, event.count,
                                                     event.fee)
        elif isinstance(event, MarketSettled) and event.ticker in self.positions:
            self.positions[event.ticker] = self.positions[event.ticker].settle(event.settlement_value)
        elif isinstance(event, ClimateReportRecorded) and not event.preliminary:
            known = self.reports.get(event.station)
            if known is None or event.climate_date >= known.climate_date:
                self.reports[event.station] = event
        elif isinstance(event, ModelStateRecorded):
            self.model_states[(event.city, event.kind)] = event
        elif isinstance(event, EquityMarked):
            self.equity.add(event.recorded_at, event.equity)

    def _fold_history(self) -> OrderBook:
        """One read of the log at start-up for every fold: the order book, the trading states
        and what ``_observe`` keeps (positions, reports, model states)."""
        kept = {t.__name__ for t in (OrderFilled, MarketSettled, ClimateReportRecorded,
                                    ModelStateRecorded, EquityMarked)}
        book, self.states = OrderBook(), TradingStates()
        # Only those types are read (the snapshots and decisions, most of the log, are not), up to
        # the log's end as it was before the first read: nothing lands behind it later.
        self._seen = self.store.max_position()
        for record in self.store.iter_records(stop=self._seen,
                                              types=sorted(kept | BOOK_TYPES | STATE_TYPES)):
            name = record.type_name
            event = record.decode()
            if name in BOOK_TYPES:
                book.apply(event)
            if name in STATE_TYPES:
                self.states = self.states.apply(event)
            if name in kept:
                self._observe(event)
        return book

    def _next_version(self, stream: str) -> int:
        return self.store.stream_version(stream) + 1

    # -- the loop ---------------------------------------------------------------------------------

    def announce(self, mode: str, *, venue: str) -> None:
        """Record that the handler starts trading in ``mode`` (what the live gate counts)."""
        now = self.clock()
        stream = f"handler:{now.isoformat()}"
        self.record([HandlerStarted(
            event_id=deterministic_id("handler", stream), stream=stream, version=1, recorded_at=now,
            correlation_id=deterministic_id("handler start", stream), mode=mode,
            config_version=self.version, venue=venue)])

    def start(self) -> None:
        """Start-up reconciliation: if it cannot complete, this raises and nothing trades."""
        self._emit(self.orders.reconcile("startup", trading_states=self._scope_states()))
        self._refresh_states()
        self._catch_up()

    def run(self, stop: threading.Event, *, idle: float = 0.05,
            after_step: Callable[[], None] | None = None) -> None:
        """Step until ``stop`` is set; between steps wait ``idle`` seconds (``after_step``, say
        writing the metrics, runs after each)."""
        while not stop.is_set():
            self.step()
            if after_step is not None:
                self._guarded("after step", after_step)
            stop.wait(idle)

    def step(self) -> None:
        now = self.clock()
        self._balance_now = None
        self._refresh_states()
        self._cancel_halted()
        for city in self.cities.values():
            for kind in KINDS:
                if city.source(kind) is not None and self._is_due_at(
                        f"{city.code}:{kind.value}", now,
                        partial(self.cadence.next_run, kind, city.timezone, now)):
                    started = time.perf_counter()
                    self._guarded(f"{city.code} {kind.value} cycle", partial(self._cycle, city, kind))
                    if self.metrics is not None:
                        self.metrics.observe_cycle(city.code, time.perf_counter() - started)
        if self._is_due("fills", now, self.cadence.fills):
            self._guarded("fill poll", self._poll_fills)
        if self._is_due("reconcile", now, self.cadence.reconcile):
            self._guarded("reconciliation", self._reconcile)
        if self._is_due("cli", now, self.cadence.climate_reports):
            self._guarded("climate reports", self._sweep_reports)
        self._guarded("breakers", self._move_breakers)
        self._guarded("accounting", self._account)
        self._guarded("drawdown", self._mark_equity)
        if self.advisor is not None and self._is_due("advisory", now, timedelta(hours=1)):
            self._guarded("advisory note", self._advise)

    def _is_due(self, job: str, now: datetime, every: timedelta) -> bool:
        due = self._due.get(job)
        if due is not None and now < due:
            return False
        self._due[job] = now + every
        return True

    def _is_due_at(self, job: str, now: datetime, next_run: Callable[[], datetime]) -> bool:
        due = self._due.get(job)
        if due is not None and now < due:
            return False
        self._due[job] = next_run()
        return True

    def _guarded(self, what: str, job: Callable[[], object]) -> None:
        """Run one job; an exception is recorded with its traceback, and the loop goes on."""
        try:
            job()
        except Exception as e:
            log.exception("%s failed", what)
            text = "".join(traceback.format_exception(e))[-4_000:]
            self._alert(f"cycle:{what.replace(' ', '-')}", "critical", "cycle_error",
                        f"{what} failed: {type(e).__name__}: {str(e)[:300]}", {"traceback": text})

    def _alert(self, topic: str, severity: Literal["info", "warning", "critical"], kind: str,
               message: str, context: dict[str, str] | None = None) -> None:
        """Record an ``AlertRaised`` in its own stream ``alert:{topic}:{now}``."""
        now = self.clock()
        stream = f"alert:{topic}:{now.isoformat()}"
        self.record([AlertRaised(
            event_id=deterministic_id("alert", stream), stream=stream, version=1, recorded_at=now,
            correlation_id=deterministic_id(kind, stream), severity=severity, kind=kind, message=message,
            context=context or {})])

    # -- one city's cycle -------------------------------------------------------------------------

    def _cycle(self, city: CityConfig, kind: MarketKind) -> None:
        now = self.clock()
        correlation = deterministic_id("cycle", city.code, kind.value, now.isoformat())
        version = self._next_version(weather_stream(city.code, kind))
        weather = self.weather.snapshot(city, kind, version=version, correlation_id=correlation)
        feed = (city.code, weather_feed(kind))
        if weather is None:
            pass  # a recorded feed with nothing new: the last snapshot stands, and ages
        elif isinstance(weather, WeatherSnapshotted):
            self.record([weather])
            self.latest_weather[(city.code, kind)] = weather
            self._feed_good(feed, now)
        else:
            self.record([weather])
            self.feeds.failing.add(feed)
        ladders = self.markets.snapshot(city, kind, correlation_id=correlation)
        feed = (city.code, market_feed(kind))
        if ladders is None:
            return  # a recorded feed with nothing new
        if isinstance(ladders, MarketFeedFailed):
            self.record([ladders])
            self.feeds.failing.add(feed)
            if ladders.error in UNREACHABLE:
                self._exchange_unreachable(f"{city.code} {kind.value} market data", ladders.error)
            return
        self._exchange_answered()
        self._feed_good(feed, now)
        for ladder in ladders:
            self.record([ladder])
            if self.paper is not None:
                self.paper.observe(ladder)
                self._record_paper_fills()
            self._decide(city, kind, ladder)

    def _feed_good(self, feed: tuple[str, str], now: datetime) -> None:
        """A feed gave good data. One whose breaker is tripped (or that had never answered) moves
        the breakers at once, so the breaker clears before this cycle decides, not a step later."""
        breaker = self.states.breaker(*feed)
        recovered = feed not in self.feeds.good or (breaker is not None and breaker.tripped)
        self.feeds.good[feed] = now
        self.feeds.failing.discard(feed)
        if recovered:
            self._move_breakers()

    def _decide(self, city: CityConfig, kind: MarketKind, snapshot: MarketSnapshotted) -> None:
        source = city.source(kind)
        monthly = source is not None and kind is not MarketKind.DAILY_HIGH
        report = self.reports.get(source.cli_site) if monthly and source is not None else None
        balance = self._balance()
        portfolio = Portfolio(positions={t: p.position for t, p in self.positions.items() if p.position},
                              resting=self.orders.book.resting(), balance=balance)
        decisions = decide(DecisionInputs(
            market=snapshot, config=self.config, config_version=self.version,
            weather=self.latest_weather.get((city.code, kind)), report=report,
            model_state=self.model_states.get((city.code, kind)), portfolio=portfolio))
        self.record(list(decisions))
        for decision in decisions:
            if decision.intended_orders:
                self._trade(city, kind, snapshot, decision, balance)

    def _trade(self, city: CityConfig, kind: MarketKind, snapshot: MarketSnapshotted,
               decision: DecisionMade, balance: int) -> None:
        now = decision.recorded_at
        ladder = Ladder.of(snapshot)
        book = self.orders.book
        tickers = {*self.positions, *(o.ticker for o in book.open_orders()), *(r.ticker for r in ladder)}
        city_of = {t: self._city_of(t) or city.code for t in tickers}
        context = RiskContext(
            markets=markets_of(ladder),
            positions={t: Held.of(p) for t, p in self.positions.items() if p.position},
            resting=book.resting(), city_of=city_of,
            cluster_of={c.code: c.cluster for c in self.config.cities},
            balance=balance, equity=balance + sum(max(p.cost, 0) for p in self.positions.values()),
            open_orders=len(book.open_orders()),
            recent_orders=tuple(t for t in self._recent_orders if now - t < timedelta(minutes=1)),
            state=self.states.state_for(city.code, now, kind),
            state_reason=self.states.why(city.code, now, kind), now=now)
        verdicts = check_orders(list(decision.intended_orders), context, self.config.risk,
                                correlation_id=decision.correlation_id, causation_id=decision.event_id)
        self.record(verdicts)
        approved = {v.client_order_id for v in verdicts if v.approved}
        orders = [o for o in decision.intended_orders if o.client_order_id in approved]
        if orders:
            for event in self.orders.place(orders, decision_id=decision.decision_id, city=city.code,
                                           correlation_id=decision.correlation_id,
                                           causation_id=decision.event_id):
                self._observe(event)
                self._on_event(event)
            self._recent_orders.extend(now for _ in orders)
            self._balance_now = None  # what the orders took or hold: read again before the next
            self._record_paper_fills()

    def _record_paper_fills(self) -> None:
        """Paper fills are known the moment they happen: recorded at once, not at the next poll."""
        if self.paper is None:
            return
        fills = self.paper.drain()
        if fills:
            self._balance_now = None
            self._emit(self.orders.record_fills(fills, correlation_id=uuid.uuid4()))

    def _city_of(self, ticker: str) -> str | None:
        held = self.positions.get(ticker)
        if held is not None and held.city:
            return held.city
        return self.orders.book.city_of(ticker)

    # -- the rest of a step -----------------------------------------------------------------------

    def _balance(self) -> int:
        """The venue's available balance, read once per step; 0 when it cannot be read, so
        nothing is bought on a balance we do not know."""
        balance = self._read_balance()
        return 0 if balance is None else balance

    def _read_balance(self) -> int | None:
        if self._balance_now is None:
            try:
                self._balance_now = self.venue.balance().balance
            except KalshiError:
                return None
        return self._balance_now

    def _poll_fills(self) -> None:
        since = self.clock() - timedelta(hours=1)
        try:
            fills = self.venue.fills(min_ts=int(since.timestamp()))
        except (KalshiUnavailable, RateLimited) as e:
            self._exchange_unreachable("fill poll", type(e).__name__)
            return
        self._exchange_answered()
        for event in self.orders.record_fills(fills, correlation_id=uuid.uuid4()):
            self._observe(event)
            self._on_event(event)

    def _reconcile(self) -> None:
        trigger, self._recovered = ("recovered" if self._recovered else "scheduled"), False
        events = self.orders.reconcile(trigger, trading_states=self._scope_states())
        self._emit(events)
        failed = next((e for e in events if isinstance(e, ReconciliationFailed)), None)
        if failed is not None:
            self._exchange_unreachable("reconciliation", failed.error)

    def _exchange_unreachable(self, what: str, error: str) -> None:
        """The exchange did not answer: one warning for the outage, and a reconciliation as soon
        as it answers again (orders in doubt, fills missed). Trading stops meanwhile by itself:
        the market feeds go stale and their breakers trip."""
        if self.exchange_down_since is not None:
            return
        self.exchange_down_since = self.clock()
        self._alert("exchange-unreachable", "warning", "exchange_unreachable",
                    f"the exchange did not answer ({what}: {error}); reconciling when it returns")

    def _exchange_answered(self) -> None:
        if self.exchange_down_since is None:
            return
        down_since, self.exchange_down_since = self.exchange_down_since, None
        self._alert("exchange-returned", "info", "exchange_returned",
                    f"the exchange answers again after {self.clock() - down_since}; reconciling now")
        self._recovered = True
        self._due.pop("reconcile", None)  # due at once: at this step's reconciliation

    def _sweep_reports(self) -> None:
        sites = sorted({s.cli_site for c in self.cities.values()
                        for s in (c.daily_high, c.monthly_rain, c.monthly_snow) if s is not None})
        for site in sites:
            self._guarded(f"CLI {site}", partial(self._sweep_site, site))

    def _sweep_site(self, site: str) -> None:
        """One site's CLI reports. The NWS not answering is weather, not a fault of ours: logged,
        and tried again at the next sweep (reports stay up about a week); a month-to-date figure
        that ages meanwhile is what the weather breakers watch."""
        try:
            self.archive.sweep(site)
        except NwsError as e:
            log.warning("CLI sweep of %s: the NWS did not answer (%s); trying again next sweep",
                        site, type(e).__name__)

    def _move_breakers(self) -> None:
        now = self.clock()
        readings = [FeedReading(city=city.code, feed=feed, last_good=self.feeds.good.get((city.code, feed)),
                                failing=(city.code, feed) in self.feeds.failing)
                    for city in self.cities.values() for kind in KINDS if city.source(kind) is not None
                    for feed in (weather_feed(kind), market_feed(kind))]
        self.record(breaker_events(readings, self.states, self.config.risk, now,
                                   correlation_id=deterministic_id("breakers", now.isoformat())))
        self._refresh_states()

    def _mark_equity(self) -> None:
        """Cash (with what resting buys hold) plus every open position at its latest mark; a
        drawdown past a limit puts the book in REDUCING for the rest of its period
        (``domain.risk.drawdown``). Recorded every ``Cadence.equity``, so a restart keeps the
        periods' start equity and peak."""
        now = self.clock()
        last = self.equity.last
        if last is not None and last[0] > now:
            return
        value = 0
        for ticker, held in self.positions.items():
            mark = self.marks.get(ticker)
            if held.position == 0 or mark is None or held.settled_value is not None:
                continue
            value += held.position * mark if held.position > 0 else -held.position * (PRICE_SCALE - mark)
        held_by_orders = sum(o.price * o.remaining for o in self.orders.book.open_orders()
                             if o.action is Action.BUY)
        self._balance_now = None  # fills and settlements of this step moved it
        balance = self._read_balance()
        if balance is None:
            return  # no reading: an unknown balance is not a loss
        cash = balance + held_by_orders
        equity = cash + value
        if self._is_due("equity", now, self.cadence.equity):
            stream = f"equity:{now.astimezone(UTC).date().isoformat()}"
            version = self._next_version(stream)
            self.record([EquityMarked(
                event_id=deterministic_id("event", stream, version), stream=stream, version=version,
                recorded_at=now, correlation_id=deterministic_id("equity", now.isoformat()),
                equity=equity, cash=cash, positions_value=value)])
        else:
            self.equity.add(now, equity)
        if self.metrics is not None:
            self.metrics.equity(equity)
        self.record(drawdown_events(self.equity.points(), self.states, self.config.risk, now,
                                    correlation_id=deterministic_id("drawdown", now.isoformat())))
        self._refresh_states()

    def _advise(self) -> None:
        """Once a day, after 06:00 UTC, yesterday's advisory note (never more than one a day), from
        what this process saw of it: decisions, trades, fees, alerts, equity, and the day's scores."""
        now = self.clock()
        day = (now - timedelta(days=1)).astimezone(UTC).date()
        if self.advisor is None or now.astimezone(UTC).hour < 6 or self.store.stream_version(
                advisory_stream(day)) > 0:
            return
        points = [e for _, e in self.equity.on(day)]
        counts = self._days.get(day, Counter())
        if not points and not counts:
            return  # this process saw nothing of that day: nothing to review
        with self.app.ledger.backend.transaction() as tx:
            scores = tx.execute("SELECT AVG(brier), AVG(log_loss), AVG(market_brier) "
                                "FROM proj_forecast_scores WHERE climate_date = ?", (day.isoformat(),))
        brier, log_loss, market_brier = scores[0] if scores else (None, None, None)
        summary = DaySummary(
            day=day, decisions=counts["decisions"], trades=counts["trades"],
            pnl_cents=(points[-1] - points[0]) // 10_000 if points else 0,
            fees_cents=counts["fees"] // 10_000, alerts=tuple(self._day_alerts.get(day, ())[:5]),
            brier=brier, log_loss=log_loss, market_brier=market_brier)
        self.record([self.advisor.review(summary, recorded_at=now)])

    def _account(self) -> None:
        self._catch_up()
        for event in self.accountant.run(self.clock()):
            self._observe(event)
            self._on_event(event)

    def _catch_up(self) -> None:
        self.runner.catch_up()
        self.sealer.seal()

    def _refresh_states(self) -> None:
        """Fold the state events recorded since the last look, ours (breakers, reconciliation
        halts) and anyone else's (a kill switch from the command line)."""
        for record in self.store.iter_records(after=self._seen):
            if record.type_name in STATE_TYPES:
                self.states = self.states.apply(record.decode())
            self._seen = record.position

    def _scope_states(self) -> dict[str, TradingState]:
        now = self.clock()
        scopes = {ALL, *(city_scope(c) for c in self.cities)}
        return {s: self.states.scope_state(s, now) for s in scopes}

    def _cancel_halted(self) -> None:
        now = self.clock()
        if self.states.scope_state(ALL, now) is TradingState.HALTED:
            if self.orders.book.open_orders():
                self._emit(self.orders.cancel_open("trading halted"))
            return
        for code in self.cities:
            halted = self.states.scope_state(city_scope(code), now) is TradingState.HALTED
            if halted and any(o.city == code for o in self.orders.book.open_orders()):
                self._emit(self.orders.cancel_open(f"{code} halted", city=code))

    def _emit(self, events: Iterable[Event]) -> None:
        for event in events:
            self._observe(event)
            self._on_event(event)


def count_event(metrics: HandlerMetrics, event: Event) -> None:
    """What the metrics count of one recorded event."""
    if isinstance(event, OrderSubmitted):
        metrics.order_placed(event.city or "?", "all")
    elif isinstance(event, OrderRejected):
        metrics.order_rejected("?", "all")
    elif isinstance(event, OrderFilled):
        metrics.fill(event.city or "?", "all", event.count)
    elif isinstance(event, OrderRiskChecked) and not event.approved:
        metrics.risk_refused([c.name for c in event.checks if not c.passed])
