"""The public portfolio: positions, P&L, an hourly equity curve and execution quality, as the public
may see them: every fill and every order counts only once it is at least the public delay old.

The delay is the public feed's (``projections.public_feed``) and is enforced the same way, here,
where the data is produced: a fill waits until the ledger clock (the newest ``recorded_at`` in the
log) reaches its execution time (``venue_time``, else ``recorded_at``) plus the delay; an order until
the clock reaches its submission plus the delay. Until then it changes no row of this projection,
so nothing here (positions, P&L, trade counts, fees, fill rates, the curve) can reveal a position or
an order younger than the delay. What is not ours is not delayed: marks come from the venue's public
books, settlements from the venue's public results.

Equity is what trading made: the cash fills, fees and settlements moved, plus the open positions at
their marks (``realized + unrealized - fees``), so it starts at zero. The account's balance (what
was deposited) is the venue's business and not public.

The curve is one point per ledger hour ``H`` (UTC): the delayed portfolio as of ``H``, that is
after every event folded while the ledger clock stood at or before ``H`` (one recorded at exactly
``H`` included) and every fill and order due at or before ``H``. So the point at ``H`` is what the
summary said when the ledger clock stood at ``H``. The events at ``H`` are all in only once the
clock has passed ``H``, so the point is written then: the curve's points are always older than the
clock (the portfolio at the clock itself is the summary's). A point is written only when it differs
from the one before (a flat stretch is one point, however long), so a ledger with years between two
events costs no more rows than one without. Points are emitted while folding the events in log
order, never at a batch's end, so the rows do not depend on where batches are cut: a rebuild writes
the same ones.

Execution quality counts an order once it is public (its submission at least the delay old) and its
fills as they become public: contracts ordered and filled, slippage per filled contract against the
price we submitted at (signed so that positive is worse for us; for orders a decision placed), and
the time from submission to the first fill (``domain.execution`` has the same definitions; amendments
are not folded, as there).

Tables (prefix ``proj_``):

- ``public_positions``: per market, the delayed position (YES terms) and its P&L (micros), the
  settlement and when it was recorded. A settlement closes the position (it reads zero after); the
  contracts it closed are the market's released fills, netted (``public_portfolio_fills``, indexed
  by market for that).
- ``public_stats``: per scope (``all`` and each city): P&L, open positions, trades, settled and
  winning markets (a market is won when its realized P&L after fees is positive), and execution
  sums (slippage in price units x count units, first-fill times in microseconds).
- ``public_equity``: the hourly points.
- ``public_marks``, ``public_portfolio_fills``, ``public_portfolio_orders``,
  ``public_portfolio_clock``: what a restart needs to resume (the fills and orders waiting for their
  delay are the rows with ``released = 0``).
"""

from __future__ import annotations

import heapq
import operator
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import ClassVar

from domain.book import mark_price
from domain.events import (
    Action,
    Event,
    MarketSettled,
    Side,
)
from domain.positions import MarketPosition
from eventstore.backend import ReadModelTx, Row
from eventstore.codec import EventView
from projections.base import Projection, insert_rows, upsert
from projections.public_feed import MINIMUM_DELAY_MINUTES, check_delay
from projections.timefmt import from_text, to_text
from projections.views import FillView, LadderView, QuoteView, SubmittedView

UNKNOWN_CITY = "?"
ALL = "all"
HOUR = timedelta(hours=1)
_MICROSECOND = timedelta(microseconds=1)

STAT_COLUMNS = (
    "realized", "unrealized", "fees", "cash", "open_positions", "open_contracts", "trades",
    "settled", "wins", "orders", "ordered", "filled", "slippage_sum", "slippage_contracts",
    "first_fill_us", "first_filled_orders",
)
POSITION_COLUMNS = ("ticker", "city", "position", "cost", "realized", "fees", "fills", "cash",
                    "settled_value", "settled_at", "unrealized")
FILL_COLUMNS = ("fill_id", "ts", "due", "city", "ticker", "side", "action", "price", "count", "fee",
                "client_order_id", "released")
ORDER_COLUMNS = ("client_order_id", "city", "side", "action", "price", "ordered", "submitted_at",
                 "due", "decided", "released", "filled", "slippage_sum", "slippage_contracts",
                 "first_fill_at")
POINT_COLUMNS = ("hour", "equity", "realized", "unrealized", "fees", "trades")

_ZERO = (0,) * len(STAT_COLUMNS)
_NO_MARK = object()


@dataclass(slots=True)
class _Order:
    """One order's public quality so far. Changed in place (a fill, its release): the totals
    keep what it added as a tuple (``_parts``), never the order, and ``dataclasses.replace`` was
    a tenth of the fold."""

    client_order_id: str
    city: str
    side: Side
    action: Action
    price: int
    ordered: int
    submitted_at: datetime
    due: datetime
    decided: bool
    released: bool = False
    filled: int = 0
    slippage_sum: int = 0
    slippage_contracts: int = 0
    first_fill_at: datetime | None = None

    def fill(self, fill: Row, at: datetime) -> None:
        _id, _ts, _due, _city, _ticker, side, _action, price, count, *_ = fill
        if self.decided and side == self.side.value:
            # In the order's own side's prices: positive is worse for us.
            per_contract = price - self.price if self.action is Action.BUY else self.price - price
            self.slippage_sum += per_contract * count
            self.slippage_contracts += count
        self.filled += count
        self.first_fill_at = at if self.first_fill_at is None else min(self.first_fill_at, at)

    def part(self) -> tuple[int, ...]:
        if not self.released:
            return _ZERO
        first_us = 0 if self.first_fill_at is None else (
            (self.first_fill_at - self.submitted_at) // _MICROSECOND)
        return (0, 0, 0, 0, 0, 0, 0, 0, 0, 1, self.ordered, self.filled, self.slippage_sum,
                self.slippage_contracts, first_us, int(self.first_fill_at is not None))

    def row(self) -> Row:
        return (self.client_order_id, self.city, self.side.value, self.action.value, self.price,
                self.ordered, to_text(self.submitted_at), to_text(self.due), int(self.decided),
                int(self.released), self.filled, self.slippage_sum, self.slippage_contracts,
                None if self.first_fill_at is None else to_text(self.first_fill_at))

    @classmethod
    def of_row(cls, row: Row) -> _Order:
        (coid, city, side, action, price, ordered, submitted_at, due, decided, released, filled,
         slippage_sum, slippage_contracts, first_fill_at) = row
        return cls(coid, city, Side(side), Action(action), price, ordered, from_text(submitted_at),
                   from_text(due), bool(decided), bool(released), filled, slippage_sum,
                   slippage_contracts, None if first_fill_at is None else from_text(first_fill_at))


def position_part(held: MarketPosition, mark: int | None) -> tuple[int, ...]:
    """What one market adds to its scopes' totals (a settlement we never traded adds nothing)."""
    if held.fills == 0:
        return _ZERO
    settled = held.settled_value is not None
    return (held.realized, held.unrealized(mark), held.fees, held.cash, int(held.position != 0),
            abs(held.position), held.fills, int(settled),
            int(settled and held.realized - held.fees > 0), 0, 0, 0, 0, 0, 0, 0)


def floor_hour(moment: datetime) -> datetime:
    """The UTC hour ``moment`` falls in (offsets that are not whole hours exist)."""
    return moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def ceil_hour(moment: datetime) -> datetime:
    floor = floor_hour(moment)
    return floor if floor == moment else floor + HOUR


class PublicPortfolioProjection(Projection):
    name = "public_portfolio"
    rebuild_weight = 16.0
    consumes = frozenset({"OrderFilled", "OrderSubmitted", "MarketSnapshotted", "MarketSettled"})
    views: ClassVar[Mapping[str, type[EventView]]] = {
        "MarketSnapshotted": LadderView, "OrderSubmitted": SubmittedView, "OrderFilled": FillView,
    }
    tables: ClassVar[dict[str, str]] = {
        "public_positions": (
            "ticker TEXT PRIMARY KEY, city TEXT NOT NULL, position BIGINT NOT NULL, "
            "cost BIGINT NOT NULL, realized BIGINT NOT NULL, fees BIGINT NOT NULL, "
            "fills BIGINT NOT NULL, cash BIGINT NOT NULL, settled_value BIGINT, settled_at TEXT, "
            "unrealized BIGINT NOT NULL"
        ),
        "public_stats": "scope TEXT PRIMARY KEY, " + ", ".join(
            f"{c} BIGINT NOT NULL" for c in STAT_COLUMNS),
        "public_equity": (
            "hour TEXT PRIMARY KEY, equity BIGINT NOT NULL, realized BIGINT NOT NULL, "
            "unrealized BIGINT NOT NULL, fees BIGINT NOT NULL, trades BIGINT NOT NULL"
        ),
        "public_marks": "ticker TEXT PRIMARY KEY, mark BIGINT",
        "public_portfolio_fills": (
            "fill_id TEXT PRIMARY KEY, ts TEXT NOT NULL, due TEXT NOT NULL, city TEXT NOT NULL, "
            "ticker TEXT NOT NULL, side TEXT NOT NULL, action TEXT NOT NULL, price BIGINT NOT NULL, "
            "count BIGINT NOT NULL, fee BIGINT NOT NULL, client_order_id TEXT, "
            "released BIGINT NOT NULL"
        ),
        "public_portfolio_orders": (
            "client_order_id TEXT PRIMARY KEY, city TEXT NOT NULL, side TEXT NOT NULL, "
            "action TEXT NOT NULL, price BIGINT NOT NULL, ordered BIGINT NOT NULL, "
            "submitted_at TEXT NOT NULL, due TEXT NOT NULL, decided BIGINT NOT NULL, "
            "released BIGINT NOT NULL, filled BIGINT NOT NULL, slippage_sum BIGINT NOT NULL, "
            "slippage_contracts BIGINT NOT NULL, first_fill_at TEXT"
        ),
        "public_portfolio_clock": "name TEXT PRIMARY KEY, value TEXT NOT NULL",
    }

    def __init__(self, delay_minutes: int = MINIMUM_DELAY_MINUTES, prefix: str = "proj_") -> None:
        super().__init__(prefix)
        self.delay = timedelta(minutes=check_delay(delay_minutes))
        self._clear()

    def create_tables(self, tx: ReadModelTx) -> None:
        super().create_tables(tx)
        # A city's latest settled markets, newest first, without reading the others.
        tx.execute(f"CREATE INDEX IF NOT EXISTS {self.table('public_positions_settled')} "
                   f"ON {self.table('public_positions')} (city, settled_at)")
        # The public fills of a few markets (the contracts a settlement closed), by market.
        tx.execute(f"CREATE INDEX IF NOT EXISTS {self.table('public_portfolio_fills_by_ticker')} "
                   f"ON {self.table('public_portfolio_fills')} (ticker, released)")

    def _clear(self) -> None:
        self.clock: datetime | None = None
        self.peak = 0
        self.max_drawdown = 0
        self.last_point: tuple[int, ...] = (0, 0, 0, 0, 0)
        self.marks: dict[str, int | None] = {}
        self.positions: dict[str, MarketPosition] = {}
        self.settled_at: dict[str, str] = {}
        self.fill_ids: set[str] = set()
        self.waiting_fills: dict[str, Row] = {}
        self.orders: dict[str, _Order] = {}
        self._fill_queue: list[tuple[datetime, str]] = []
        self._order_queue: list[tuple[datetime, str]] = []
        # What each market and order adds to its scopes now (taken out again when it changes).
        self._parts: dict[str, tuple[str, tuple[int, ...]]] = {}
        self.totals: dict[str, list[int]] = {}
        # Markets whose part of the totals is not counted since their position or mark changed.
        self._uncounted: set[str] = set()
        # Each market's latest quote whose mark is not read yet.
        self._quotes: dict[str, QuoteView] = {}
        self._dirty_marks: set[str] = set()
        self._dirty_positions: set[str] = set()
        self._dirty_fills: dict[str, Row] = {}
        self._dirty_orders: set[str] = set()
        self._dirty_scopes: set[str] = set()
        self._new_points: list[Row] = []
        self._clock_moved = False

    # -- reading back -------------------------------------------------------------------------

    def load(self, tx: ReadModelTx) -> None:
        self._clear()
        state: dict[str, str] = dict(tx.execute(
            f"SELECT name, value FROM {self.table('public_portfolio_clock')}"))
        if "clock" in state:
            self.clock = from_text(state["clock"])
            self.peak = int(state["peak"])
            self.max_drawdown = int(state["max_drawdown"])
        last = tx.execute(f"SELECT equity, realized, unrealized, fees, trades "
                          f"FROM {self.table('public_equity')} ORDER BY hour DESC LIMIT 1")
        if last:
            self.last_point = tuple(int(v) for v in last[0])
        self.marks = dict(tx.execute(f"SELECT ticker, mark FROM {self.table('public_marks')}"))
        for (ticker, city, position, cost, realized, fees, fills, cash, settled_value, settled_at,
             _unrealized) in tx.execute(
                f"SELECT {', '.join(POSITION_COLUMNS)} FROM {self.table('public_positions')}"):
            self.positions[ticker] = MarketPosition(
                ticker=ticker, city=city, position=position, cost=cost, realized=realized,
                fees=fees, fills=fills, cash=cash, settled_value=settled_value)
            if settled_at is not None:
                self.settled_at[ticker] = settled_at
        for row in tx.execute(
                f"SELECT {', '.join(FILL_COLUMNS)} FROM {self.table('public_portfolio_fills')}"):
            self.fill_ids.add(row[0])
            if not row[-1]:
                self.waiting_fills[row[0]] = tuple(row)
                heapq.heappush(self._fill_queue, (from_text(row[2]), row[0]))
        for row in tx.execute(
                f"SELECT {', '.join(ORDER_COLUMNS)} FROM {self.table('public_portfolio_orders')}"):
            order = _Order.of_row(tuple(row))
            self.orders[order.client_order_id] = order
            if not order.released:
                heapq.heappush(self._order_queue, (order.due, order.client_order_id))
        self._uncounted.update(self.positions)
        for coid in self.orders:
            self._count_order(coid)
        self._count_positions()
        self._forget_dirt()

    # -- folding --------------------------------------------------------------------------------

    def apply(self, event: Event | EventView, ledger_time: datetime) -> None:
        # The clock moves first: the hours it passes are the portfolio before this event.
        self._advance(ledger_time)
        if isinstance(event, FillView):
            self._fill(event)
        elif isinstance(event, SubmittedView):
            self._submitted(event)
        elif isinstance(event, LadderView):
            self._marks(event)
        elif isinstance(event, MarketSettled):
            self._settled(event)

    def advance_clock(self, ledger_time: datetime) -> None:
        self._advance(ledger_time)

    def _advance(self, now: datetime) -> None:
        if self.clock is None:
            self.clock = now
            self._clock_moved = True
            self._release(now)
            return
        if now <= self.clock:
            return  # the clock never runs backwards
        # The first hour whose point is not written: the clock's own hour when it stands on one
        # (the events recorded at that instant belong to it), else the next. Its point is due
        # now that the clock passes it; the event that moved the clock is not in it.
        hour = ceil_hour(self.clock)
        while hour < now:
            self._release(hour)
            self._point(hour)
            # Until the next release or event the portfolio stands still: the hours in between
            # would repeat this point, so they are skipped rather than compared one by one.
            due = self._next_due()
            hour = max(hour + HOUR, ceil_hour(due) if due is not None and due < now
                       else ceil_hour(now))
        self._release(now)
        self.clock = now
        self._clock_moved = True

    def _next_due(self) -> datetime | None:
        dues = [queue[0][0] for queue in (self._fill_queue, self._order_queue) if queue]
        return min(dues, default=None)

    def _release(self, until: datetime) -> None:
        while self._order_queue and self._order_queue[0][0] <= until:
            _, coid = heapq.heappop(self._order_queue)
            order = self.orders[coid]
            order.released = True
            self._changed_order(order)
        while self._fill_queue and self._fill_queue[0][0] <= until:
            _, fill_id = heapq.heappop(self._fill_queue)
            self._publish(self.waiting_fills.pop(fill_id))

    def _point(self, hour: datetime) -> None:
        self._count_positions()
        totals = self.totals.get(ALL, list(_ZERO))
        realized, unrealized, fees, trades = totals[0], totals[1], totals[2], totals[6]
        value = (realized + unrealized - fees, realized, unrealized, fees, trades)
        if value == self.last_point:
            return
        self._new_points.append((to_text(hour), *value))
        self.last_point = value
        self.peak = max(self.peak, value[0])
        self.max_drawdown = max(self.max_drawdown, self.peak - value[0])

    def _fill(self, fill: FillView) -> None:
        if fill.fill_id in self.fill_ids:
            return  # the venue told us twice; it happened once
        self.fill_ids.add(fill.fill_id)
        ts = fill.venue_time or fill.recorded_at
        due = ts + self.delay
        row = (fill.fill_id, to_text(ts), to_text(due), fill.city or UNKNOWN_CITY, fill.ticker,
               fill.side.value, fill.action.value, fill.price, fill.count, fill.fee,
               fill.client_order_id, 0)
        if self.clock is not None and due <= self.clock:
            self._publish(row)  # recorded late: already old enough
            return
        self.waiting_fills[fill.fill_id] = row
        self._dirty_fills[fill.fill_id] = row
        heapq.heappush(self._fill_queue, (due, fill.fill_id))

    def _publish(self, row: Row) -> None:
        """A fill old enough to be public: it enters the positions and its order's quality."""
        fill_id, ts, _due, city, ticker, side, action, price, count, fee, coid, _ = row
        self._dirty_fills[fill_id] = (*row[:-1], 1)
        held = self.positions.get(ticker) or MarketPosition(ticker=ticker, city=city)
        if held.city == UNKNOWN_CITY and city != UNKNOWN_CITY:
            held = replace(held, city=city)
        held = held.fill(Side(side), Action(action), price, count, fee)
        if held.settled_value is not None:
            held = held.settle(held.settled_value)  # traded before the close, public after it
        self.positions[ticker] = held
        self._dirty_positions.add(ticker)
        self._uncounted.add(ticker)
        order = self.orders.get(coid) if coid is not None else None
        if order is not None:
            order.fill(row, from_text(ts))
            self._changed_order(order)

    def _submitted(self, event: SubmittedView) -> None:
        if event.client_order_id in self.orders:
            return  # recorded twice; submitted once
        due = event.recorded_at + self.delay
        order = _Order(event.client_order_id, event.city or UNKNOWN_CITY, event.side, event.action,
                       event.price, event.count, event.recorded_at, due,
                       decided=event.decision_id is not None)
        if self.clock is not None and due <= self.clock:
            order.released = True
        else:
            heapq.heappush(self._order_queue, (due, order.client_order_id))
        self._changed_order(order)

    def _marks(self, event: LadderView) -> None:
        # Only each market's latest quote is kept: its mark is read when the totals or the rows
        # need it (``_read_marks``), not at every snapshot, most of which the next one replaces.
        quotes = self._quotes
        for quote in event.markets:
            quotes[quote.ticker] = quote

    def _read_marks(self) -> None:
        """The marks of the markets quoted since they were last read. A held market whose mark
        moved is counted again; one whose position changed meanwhile already is."""
        for ticker, quote in self._quotes.items():
            mark = mark_price(quote)
            if self.marks.get(ticker, _NO_MARK) == mark:
                continue
            self.marks[ticker] = mark
            self._dirty_marks.add(ticker)
            held = self.positions.get(ticker)
            if held is not None and held.position != 0:
                self._dirty_positions.add(ticker)
                self._uncounted.add(ticker)
        self._quotes.clear()

    def _settled(self, event: MarketSettled) -> None:
        # Kept even before any public fill: a fill that becomes public later settles on arrival.
        held = self.positions.get(event.ticker) or MarketPosition(ticker=event.ticker,
                                                                  city=UNKNOWN_CITY)
        if held.settled_value is not None:
            return
        self.positions[event.ticker] = held.settle(event.settlement_value)
        self.settled_at[event.ticker] = to_text(event.recorded_at)
        self._dirty_positions.add(event.ticker)
        self._uncounted.add(event.ticker)

    # -- totals ---------------------------------------------------------------------------------

    def _changed_order(self, order: _Order) -> None:
        self.orders[order.client_order_id] = order
        self._dirty_orders.add(order.client_order_id)
        self._count_order(order.client_order_id)

    def _count_positions(self) -> None:
        """Count again what each market whose position or mark changed adds to the totals. Marks
        move with every snapshot and the totals are read only by an hour's point and a flush, so
        a market is counted then, once, rather than at every change."""
        self._read_marks()
        for ticker in self._uncounted:
            held = self.positions[ticker]
            self._count(f"p:{ticker}", held.city or UNKNOWN_CITY,
                        position_part(held, self.marks.get(ticker)))
        self._uncounted.clear()

    def _count_order(self, coid: str) -> None:
        order = self.orders[coid]
        self._count(f"o:{coid}", order.city, order.part())

    def _count(self, key: str, city: str, part: tuple[int, ...]) -> None:
        old = self._parts.get(key)
        if old == (city, part):
            return
        if old is not None:
            for scope in (ALL, old[0]):
                totals = self.totals[scope]
                totals[:] = map(operator.sub, totals, old[1])
                self._dirty_scopes.add(scope)
        if part == _ZERO:
            self._parts.pop(key, None)
            return
        self._parts[key] = (city, part)
        for scope in (ALL, city):
            totals = self.totals.setdefault(scope, list(_ZERO))
            totals[:] = map(operator.add, totals, part)
            self._dirty_scopes.add(scope)

    # -- writing --------------------------------------------------------------------------------

    def flush(self, tx: ReadModelTx) -> None:
        self._count_positions()
        upsert(tx, self.table("public_marks"), ("ticker", "mark"), ("ticker",),
               [(t, self.marks[t]) for t in sorted(self._dirty_marks)])
        upsert(tx, self.table("public_positions"), POSITION_COLUMNS, POSITION_COLUMNS[:1],
               [self._position_row(t) for t in sorted(self._dirty_positions)])
        upsert(tx, self.table("public_portfolio_fills"), FILL_COLUMNS, FILL_COLUMNS[:1],
               [self._dirty_fills[f] for f in sorted(self._dirty_fills)])
        upsert(tx, self.table("public_portfolio_orders"), ORDER_COLUMNS, ORDER_COLUMNS[:1],
               [self.orders[c].row() for c in sorted(self._dirty_orders)])
        upsert(tx, self.table("public_stats"), ("scope", *STAT_COLUMNS), ("scope",),
               [(s, *self.totals[s]) for s in sorted(self._dirty_scopes)])
        insert_rows(tx, self.table("public_equity"), POINT_COLUMNS, self._new_points)
        if self._clock_moved and self.clock is not None:
            upsert(tx, self.table("public_portfolio_clock"), ("name", "value"), ("name",), [
                ("clock", to_text(self.clock)), ("max_drawdown", str(self.max_drawdown)),
                ("peak", str(self.peak))])
        self._forget_dirt()

    def _position_row(self, ticker: str) -> Row:
        p = self.positions[ticker]
        return (ticker, p.city or UNKNOWN_CITY, p.position, p.cost, p.realized, p.fees, p.fills,
                p.cash, p.settled_value, self.settled_at.get(ticker),
                p.unrealized(self.marks.get(ticker)))

    def _forget_dirt(self) -> None:
        for dirty in (self._dirty_marks, self._dirty_positions, self._dirty_fills,
                      self._dirty_orders, self._dirty_scopes):
            dirty.clear()
        self._new_points = []
        self._clock_moved = False
