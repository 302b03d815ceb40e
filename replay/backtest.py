"""``milkbot backtest``: the same strategies and risk over the recorded snapshots of a period.

The backtest is the command handler itself (``milkbot.handler``), run on a stepped clock through
the period against a scratch ledger, with three things swapped:

* its feeds are **recorded** ones (``RecordedFeeds``): at each step they hand on the market
  snapshots, weather snapshots, feed failures and CLI reports the source ledger recorded up to
  that time, as they were recorded (same ids, same bytes), and nothing when nothing new came;
* its venue is the **paper** venue (``milkbot.paper``), filling orders from those books by the
  paper fill model;
* settlements come from the source's own ``MarketSettled`` records.

Everything else is the code that trades: decisions, the 13 risk checks, drawdown and stale-data
breakers, the order manager, reconciliation, the projections. Its results are read from the
scratch ledger and the source's from its own, for the same period, by the same function
(``period_results``), and every decision that wanted orders in either is paired with its
counterpart (same strategy and market snapshot): same decision? same prices? same fills?
"""

from __future__ import annotations

import csv
import io
import uuid
from collections import defaultdict, deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from adapters.kalshi.wire.markets import Market
from domain.config import CityConfig, MilkbotConfig
from domain.events import (
    ClimateReportRecorded,
    DecisionMade,
    EquityMarked,
    Event,
    ForecastScored,
    MarketFeedFailed,
    MarketKind,
    MarketSettled,
    MarketSnapshotted,
    OrderFilled,
    OrderSubmitted,
    WeatherSnapshotted,
    deterministic_id,
)
from domain.events.weather import ClimateReportRejected, WeatherFeedFailed
from domain.money import PRICE_SCALE, money_to_dollars
from domain.positions import MarketPosition
from eventstore.codec import recorded_at_of
from eventstore.store import EventStore, StoredRecord

FEED_TYPES: tuple[type[Event], ...] = (MarketSnapshotted, MarketFeedFailed, WeatherSnapshotted,
                                       WeatherFeedFailed, ClimateReportRecorded, ClimateReportRejected,
                                       MarketSettled)
FEED_TYPE_NAMES = tuple(t.__name__ for t in FEED_TYPES)
_TYPE = {t.__name__: t for t in FEED_TYPES}
Record = Callable[[Sequence[Event]], object]
#: The recorded feeds are asked at every step: they answer None when nothing new was recorded.
_ALWAYS = timedelta(0)


class RecordedSource:
    """The source ledger's feed records, read forward once as the backtest clock moves.

    Before the period starts, only what a decision at its start could use is kept: each city's
    latest weather, every CLI report, every settlement. Market snapshots are handed on from the
    start of the period."""

    def __init__(self, store: EventStore, config: MilkbotConfig, start: datetime, end: datetime) -> None:
        self._records = _feed_records(store)
        self._start, self._end = start, end
        self._next: StoredRecord | None = None
        self._next_at: datetime | None = None
        self._kinds = {source.series: (city.code, kind) for city in config.cities for kind in MarketKind
                       if (source := city.source(kind)) is not None}
        #: Pending records by feed: ("market", city, kind), ("weather", city, kind), ("cli", site).
        self.pending: dict[tuple[str, ...], deque[Event]] = defaultdict(deque)
        self.settled: dict[str, MarketSettled] = {}
        self.read = 0

    def advance(self, now: datetime) -> None:
        """Take every record made at or before ``now``."""
        while True:
            if self._next is None:
                self._next = next(self._records, None)
                if self._next is None:
                    return
                self._next_at = recorded_at_of(self._next.topic, self._next.data, self._next.position)
            assert self._next_at is not None
            if self._next_at > now or self._next_at >= self._end:
                return
            self._take(self._next, self._next_at)
            self._next = None

    def next_time(self) -> datetime | None:
        """When the next record not taken yet was made (None: no more before the end)."""
        if self._next is None:
            self._next = next(self._records, None)
            if self._next is None:
                return None
            self._next_at = recorded_at_of(self._next.topic, self._next.data, self._next.position)
        assert self._next_at is not None
        return self._next_at if self._next_at < self._end else None

    def _take(self, record: StoredRecord, at: datetime) -> None:
        self.read += 1
        kind = _TYPE[record.type_name]
        if kind in (MarketSnapshotted, MarketFeedFailed):
            if at < self._start:
                return
            event = record.decode()
            series = getattr(event, "series_ticker", None) or ""
            city_kind = self._kinds.get(series)
            if city_kind is not None:
                self.pending[("market", city_kind[0], city_kind[1].value)].append(event)
        elif kind in (WeatherSnapshotted, WeatherFeedFailed):
            _, city, kind_name = [*record.stream.split(":"), "", ""][:3]
            queue = self.pending[("weather", city, kind_name)]
            if at < self._start:
                queue.clear()  # only the latest before the start matters
            queue.append(record.decode())
        elif kind is MarketSettled:
            event = record.decode()
            assert isinstance(event, MarketSettled)
            self.settled[event.ticker] = event
        else:
            event = record.decode()
            station = getattr(event, "station", None) or getattr(event, "site", None) or ""
            self.pending[("cli", str(station))].append(event)

    def take(self, *key: str) -> list[Event]:
        queue = self.pending.get(tuple(key))
        if not queue:
            return []
        taken = list(queue)
        queue.clear()
        return taken


def _feed_records(store: EventStore) -> Iterator[StoredRecord]:
    after = 0
    while True:
        records = store.read_records(after, 5_000, types=FEED_TYPE_NAMES)
        yield from records
        if len(records) < 5_000:
            return
        after = records[-1].position


class RecordedMarkets:
    def __init__(self, source: RecordedSource, clock: Callable[[], datetime]) -> None:
        self._source, self._clock = source, clock

    def snapshot(self, city: CityConfig, kind: MarketKind, *, correlation_id: uuid.UUID
                 ) -> list[MarketSnapshotted] | MarketFeedFailed | None:
        self._source.advance(self._clock())
        taken = self._source.take("market", city.code, kind.value)
        if not taken:
            return None
        failures = [e for e in taken if isinstance(e, MarketFeedFailed)]
        snapshots = [e for e in taken if isinstance(e, MarketSnapshotted)]
        if failures and (not snapshots or failures[-1].recorded_at > snapshots[-1].recorded_at):
            return failures[-1]  # the latest word was a failure
        return snapshots


class RecordedWeather:
    def __init__(self, source: RecordedSource, clock: Callable[[], datetime]) -> None:
        self._source, self._clock = source, clock

    def snapshot(self, city: CityConfig, kind: MarketKind, *, version: int,
                 correlation_id: uuid.UUID) -> Event | None:
        self._source.advance(self._clock())
        taken = self._source.take("weather", city.code, kind.value)
        return taken[-1] if taken else None


class RecordedReports:
    def __init__(self, source: RecordedSource, clock: Callable[[], datetime], record: Record) -> None:
        self._source, self._clock, self._record = source, clock, record

    def sweep(self, site: str) -> list[Event]:
        self._source.advance(self._clock())
        taken = self._source.take("cli", site)
        for event in taken:
            self._record([event])
        return taken


class RecordedMarketData:
    """``market(ticker)`` for the paper venue's settlements: determined once the source says so."""

    def __init__(self, source: RecordedSource, clock: Callable[[], datetime]) -> None:
        self._source, self._clock = source, clock

    def market(self, ticker: str) -> Market:
        self._source.advance(self._clock())
        settled = self._source.settled.get(ticker)
        now = self._clock()
        return Market(
            ticker=ticker, event_ticker=settled.event_ticker if settled else ticker.rsplit("-", 1)[0],
            status="determined" if settled else "active", strike_type=None, floor_strike=None,
            cap_strike=None, open_time=now, close_time=now, yes_bid=0, yes_ask=0, no_bid=0, no_ask=0,
            last_price=0, volume=0, open_interest=0, result=settled.result if settled else "",
            yes_sub_title="", rules_primary="",
            settlement_value=settled.settlement_value if settled else None)


# -- results -------------------------------------------------------------------------------------------

@dataclass
class PeriodResults:
    """What one ledger did in a period (money in dollars)."""

    decisions: int = 0
    decisions_with_orders: int = 0
    orders: int = 0
    contracts_ordered: float = 0.0
    fills: int = 0
    contracts_filled: float = 0.0
    fees: Decimal = Decimal(0)
    realized_pnl: Decimal = Decimal(0)
    #: What the positions still open at the end cost (YES and NO alike).
    open_cost: Decimal = Decimal(0)
    settled_markets: int = 0
    max_drawdown: Decimal = Decimal(0)
    fill_rate: float | None = None
    #: Mean of (fill price - order price) per contract, in cents; negative is better for a buyer.
    slippage_cents: float | None = None
    brier: float | None = None
    market_brier: float | None = None
    scored: int = 0


def period_results(store: EventStore, start: datetime, end: datetime, *, strategy: str | None = None,
                   cities: frozenset[str] | None = None) -> PeriodResults:
    """The same figures for any ledger: events recorded in ``[start, end)`` (settlements to ``end``)."""
    results = PeriodResults()
    positions: dict[str, MarketPosition] = {}
    ordered: dict[str, OrderSubmitted] = {}
    ours: set[uuid.UUID] = set()
    slippage: list[tuple[int, int]] = []
    briers: list[tuple[float, float | None]] = []
    peak = None
    for recorded in store.iter_events():
        event = recorded.event
        if not start <= event.recorded_at < end:
            continue
        if isinstance(event, DecisionMade):
            if (strategy and event.strategy != strategy) or (cities and event.city not in cities):
                continue
            ours.add(event.decision_id)
            results.decisions += 1
            results.decisions_with_orders += bool(event.intended_orders)
        elif isinstance(event, OrderSubmitted) and event.decision_id in ours:
            ordered[event.client_order_id] = event
            results.orders += 1
            results.contracts_ordered += event.count / 100
        elif isinstance(event, OrderFilled) and event.client_order_id in ordered:
            results.fills += 1
            results.contracts_filled += event.count / 100
            results.fees += money_to_dollars(event.fee)
            held = positions.get(event.ticker) or MarketPosition(ticker=event.ticker)
            positions[event.ticker] = held.fill(event.side, event.action, event.price, event.count, event.fee)
            slippage.append((event.price - ordered[event.client_order_id].price, event.count))
        elif isinstance(event, MarketSettled) and event.ticker in positions:
            positions[event.ticker] = positions[event.ticker].settle(event.settlement_value)
            results.settled_markets += 1
        elif isinstance(event, ForecastScored) and (cities is None or event.city in cities):
            briers.append((event.ours.brier, event.market.brier if event.market else None))
        elif isinstance(event, EquityMarked):
            peak = event.equity if peak is None else max(peak, event.equity)
            if peak > 0:
                results.max_drawdown = max(results.max_drawdown,
                                           Decimal(peak - event.equity) / Decimal(peak))
    results.realized_pnl = money_to_dollars(sum(p.realized for p in positions.values()))
    results.open_cost = money_to_dollars(sum(
        p.cost if p.position > 0 else p.cost - p.position * PRICE_SCALE
        for p in positions.values() if p.settled_value is None and p.position))
    results.fees = results.fees.quantize(Decimal("0.01"))
    results.max_drawdown = results.max_drawdown.quantize(Decimal("0.0001"))
    if results.contracts_ordered:
        results.fill_rate = round(results.contracts_filled / results.contracts_ordered, 4)
    if slippage:
        total = sum(c for _, c in slippage)
        results.slippage_cents = round(sum(d * c for d, c in slippage) / total / 100, 3)
    if briers:
        results.scored = len(briers)
        results.brier = round(sum(b for b, _ in briers) / len(briers), 5)
        markets = [m for _, m in briers if m is not None]
        results.market_brier = round(sum(markets) / len(markets), 5) if markets else None
    return results


# -- the per-trade diff --------------------------------------------------------------------------------

@dataclass(frozen=True)
class TradeRow:
    """One decision that wanted orders in either run, beside its counterpart."""

    at: str
    strategy: str
    event_ticker: str
    market_snapshot_id: str
    source_orders: str
    backtest_orders: str
    source_filled: float
    backtest_filled: float
    same_decision: bool
    same_price: bool
    same_fill: bool


def _wanted(store: EventStore, start: datetime, end: datetime, strategy: str | None,
            cities: frozenset[str] | None) -> tuple[dict[tuple[str, str], DecisionMade], dict[str, float]]:
    decisions: dict[tuple[str, str], DecisionMade] = {}
    filled: dict[str, float] = defaultdict(float)
    for recorded in store.iter_events():
        event = recorded.event
        if isinstance(event, DecisionMade) and start <= event.recorded_at < end and event.intended_orders:
            if (strategy and event.strategy != strategy) or (cities and event.city not in cities):
                continue
            decisions[(event.strategy, str(event.market_snapshot_id))] = event
        elif isinstance(event, OrderFilled) and event.client_order_id:
            filled[event.client_order_id] += event.count / 100
    return decisions, filled


def _orders(decision: DecisionMade | None) -> str:
    if decision is None:
        return "-"
    return "; ".join(f"{o.action.value} {o.count / 100:g} {o.side.value.upper()} "
                     f"{o.ticker.rsplit('-', 1)[-1]} @{o.price * 100 / PRICE_SCALE:g}c"
                     for o in decision.intended_orders)


def trade_diff(source: EventStore, backtest: EventStore, start: datetime, end: datetime, *,
               strategy: str | None = None, cities: frozenset[str] | None = None) -> list[TradeRow]:
    theirs, their_fills = _wanted(source, start, end, strategy, cities)
    ours, our_fills = _wanted(backtest, start, end, strategy, cities)
    rows = []
    for key in sorted(set(theirs) | set(ours), key=lambda k: ((theirs.get(k) or ours[k]).recorded_at, k)):
        a, b = theirs.get(key), ours.get(key)
        either = a or b
        assert either is not None

        def legs(d: DecisionMade | None) -> list[tuple[str, str, str, int, int]]:
            return sorted((o.ticker, o.side.value, o.action.value, o.price, o.count)
                          for o in (d.intended_orders if d else ()))

        def filled(d: DecisionMade | None, fills: dict[str, float]) -> float:
            return round(sum(fills.get(o.client_order_id, 0.0) for o in (d.intended_orders if d else ())), 2)

        src_filled, bt_filled = filled(a, their_fills), filled(b, our_fills)
        rows.append(TradeRow(
            at=either.recorded_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M"), strategy=key[0],
            event_ticker=either.event_ticker, market_snapshot_id=key[1], source_orders=_orders(a),
            backtest_orders=_orders(b), source_filled=src_filled, backtest_filled=bt_filled,
            same_decision=a is not None and b is not None and legs(a) == legs(b),
            same_price=a is not None and b is not None
            and [leg[:4] for leg in legs(a)] == [leg[:4] for leg in legs(b)],
            same_fill=src_filled == bt_filled))
    return rows


# -- the run ---------------------------------------------------------------------------------------------

@dataclass
class BacktestReport:
    start: datetime
    end: datetime
    strategy: str | None
    cities: list[str]
    steps: int
    records_read: int
    backtest: PeriodResults
    source: PeriodResults
    trades: list[TradeRow] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        def plain(value: Any) -> Any:
            if isinstance(value, Decimal):
                return str(value)
            if isinstance(value, datetime):
                return value.isoformat()
            if isinstance(value, dict):
                return {k: plain(v) for k, v in value.items()}
            if isinstance(value, list):
                return [plain(v) for v in value]
            return value

        same = [t for t in self.trades if t.same_decision]
        answer: dict[str, Any] = plain({
            "start": self.start, "end": self.end, "strategy": self.strategy, "cities": self.cities,
            "steps": self.steps, "records_read": self.records_read,
            "backtest": asdict(self.backtest), "source": asdict(self.source),
            "trades": {"compared": len(self.trades), "same_decision": len(same),
                       "same_price": sum(t.same_price for t in self.trades),
                       "same_fill": sum(t.same_fill for t in self.trades)},
            "trade_diff": [asdict(t) for t in self.trades]})
        return answer

    def trades_csv(self) -> str:
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=list(TradeRow.__dataclass_fields__))
        writer.writeheader()
        for row in self.trades:
            writer.writerow(asdict(row))
        return out.getvalue()


class StepClock:
    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now


def backtest_config(config: MilkbotConfig, *, cities: Sequence[str] | None, strategy: str | None
                    ) -> MilkbotConfig:
    """The configuration narrowed to some cities and one strategy (``ValueError`` naming an unknown one)."""
    update: dict[str, Any] = {}
    if cities:
        known = {c.code for c in config.cities}
        unknown = sorted(set(cities) - known)
        if unknown:
            raise ValueError(f"unknown cities {unknown}; configured: {sorted(known)}")
        update["cities"] = tuple(c.model_copy(update={"enabled": c.enabled and c.code in cities})
                                 for c in config.cities)
    if strategy:
        chosen = tuple(s for s in config.strategies if s.name == strategy)
        if not chosen:
            raise ValueError(f"unknown strategy {strategy!r}; configured: "
                             f"{sorted(s.name for s in config.strategies)}")
        update["strategies"] = chosen
    return config.model_copy(update=update) if update else config


def run_backtest(source: EventStore, scratch_url: str, config: MilkbotConfig, config_text: str, *,
                 start: datetime, end: datetime, cities: Sequence[str] | None = None,
                 strategy: str | None = None, step: timedelta = timedelta(minutes=5),
                 progress: Callable[[float], None] | None = None) -> BacktestReport:
    """Run the handler over ``[start, end)`` of ``source`` into the ledger at ``scratch_url``."""
    from domain.config import config_recorded
    from eventstore import open_ledger
    from milkbot.bootstrap import Milkbot
    from milkbot.handler import Cadence, CommandHandler
    from milkbot.paper import PaperVenue
    from milkbot.settings import Settings
    from projections.registry import all_projections

    narrowed = backtest_config(config, cities=cities, strategy=strategy)
    clock = StepClock(start)
    recorded = RecordedSource(source, narrowed, start, end)
    with open_ledger(scratch_url) as scratch:
        app = Milkbot(settings=Settings(database_url=scratch_url), ledger=scratch,
                      projections=all_projections())
        event = config_recorded(config_text, source="backtest", recorded_at=start,
                                correlation_id=deterministic_id("backtest config", start.isoformat()))
        scratch.store.append([event])
        version = event.config_version

        def feeds(record: Record) -> tuple[RecordedMarkets, RecordedWeather, RecordedReports]:
            return (RecordedMarkets(recorded, clock), RecordedWeather(recorded, clock),
                    RecordedReports(recorded, clock, record))

        venue = PaperVenue(RecordedMarketData(recorded, clock), clock,
                           starting_balance=narrowed.trading.paper_balance)
        handler = CommandHandler(app, narrowed, version, clock=clock, kalshi=None, nws=None, venue=venue,
                                 feeds=feeds, cadence=Cadence(
                                     daily_high=_ALWAYS, monthly=_ALWAYS, fills=step,
                                     reconcile=timedelta(hours=1), climate_reports=_ALWAYS))
        handler.start()
        steps = 0
        span = (end - start).total_seconds() or 1.0
        while clock.now < end:
            handler.step()
            steps += 1
            if progress is not None:
                progress(min((clock.now - start).total_seconds() / span, 1.0))
            # On to the next recording (so the handler acts when the live one did), at most a step.
            following = recorded.next_time()
            target = clock.now + step
            if following is not None and clock.now < following < target:
                target = following
            clock.now = min(target, end)
        handler.step()
        handler.runner.catch_up()
        chosen = frozenset(c.code for c in narrowed.enabled_cities)
        report = BacktestReport(
            start=start, end=end, strategy=strategy, cities=sorted(chosen), steps=steps,
            records_read=recorded.read,
            backtest=period_results(scratch.store, start, end, strategy=strategy, cities=chosen),
            source=period_results(source, start, end, strategy=strategy, cities=chosen),
            trades=trade_diff(source, scratch.store, start, end, strategy=strategy, cities=chosen))
    return report
