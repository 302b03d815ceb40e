"""Execution quality per order and per city: the book when we decided, slippage, fill rate, times,
fees (see ``domain.execution`` for each measure and its sign).

What it folds:

- ``MarketSnapshotted``: each market's best YES bid and ask, per snapshot. A decision names the
  snapshot it used, so the latest book per market is not enough: the book must be that
  snapshot's. Only snapshots a decision names matter, but the decision comes after its snapshot,
  so a bounded window of recent snapshots is kept: the last ``BOOKS_PER_LADDER`` of each ladder
  (event ticker), and at most ``BOOKS_KEPT`` in all (the oldest goes first). A decision normally
  follows its snapshot within the same command; one naming a snapshot outside the window gets no
  mid or spread (NULL), never a guess from another book.
- ``DecisionMade``: each intended order's decision price, with the mid and spread of its market
  in the named snapshot, waiting for the order's submission. Intents the risk engine refused are
  never submitted: the last ``INTENTS_KEPT`` are kept, the oldest go first.
- ``OrderSubmitted``: the order's row starts, joined to its intent by ``client_order_id``. An
  order without one (placed by the operator, or its decision out of the window) has no decision
  price, mid, spread or slippage; its fills, fill rate, times and fees still count.
- ``OrderFilled``: each fill id once. A fill of an order never submitted here (no client order id,
  or one we have no ``OrderSubmitted`` for) is not ours to measure and is left out.
- ``OrderCanceled``, ``OrderExpired``, ``OrderRejected``: the order's end (the first one stays; a
  fill after it still counts, and a complete fill reads ``filled`` whatever ended it).

Amendments are not folded: the fill rate is against the count first submitted.

Tables (prefix ``proj_``):

- ``execution_books``, ``execution_intents``, ``execution_fills``, ``execution_counters``: the
  windows (each row with its place in arrival order), the fill ids seen and how many snapshots
  and intents came, so a restart resumes from the rows alone; all are functions of the event
  order only, so a rebuild holds the same rows.
- ``execution_orders``: one row per ``client_order_id``.
- ``execution_summary``: per city and ``all`` (orders, contracts ordered and filled, fill rate,
  mean slippage per filled contract, median seconds to the first and to the complete fill, fees).

Every event costs O(1) (a fill O(log n) for the medians' sorted lists); a flush writes only what
changed, and the windows' rows at most once per batch, whatever the number of snapshots in it.
"""

from __future__ import annotations

import json
import uuid
from collections import OrderedDict, deque
from collections.abc import Mapping
from datetime import datetime
from typing import ClassVar, TypeVar

import msgspec

from domain.events import (
    Action,
    Event,
    OrderCanceled,
    OrderExpired,
    OrderRejected,
    Side,
)
from domain.execution import (
    Contribution,
    DecisionContext,
    OrderExecution,
    OrderStatus,
    ScopeTotals,
    TopOfBook,
    scopes_of,
)
from eventstore.backend import ReadModelTx, Row
from eventstore.codec import EventView
from projections.base import Projection, delete_keys, insert_rows, upsert
from projections.timefmt import from_text, to_text
from projections.views import FillView, LadderView, Price, QuoteView, SubmittedView

#: Snapshots kept per ladder, and in all: a decision naming an older one gets no mid or spread.
BOOKS_PER_LADDER = 8
BOOKS_KEPT = 1_024
#: Intended orders kept while they wait for their submission.
INTENTS_KEPT = 4_096

#: A window's key: a snapshot id, or a client order id.
_Key = TypeVar("_Key", uuid.UUID, str)
#: Market ticker -> its best YES bid and ask in one snapshot.
Books = dict[str, TopOfBook]
#: A kept snapshot's books, or its quotes until a flush writes them: a decision reads only the
#: rungs it trades, and most snapshots leave the window within the batch they came in, so reading
#: every book on arrival would be wasted work.
Kept = Books | tuple[QuoteView, ...]

BOOK_COLUMNS = ("snapshot_id", "event_ticker", "seq", "books")
INTENT_COLUMNS = ("client_order_id", "seq", "decision_id", "city", "price", "mid", "spread")
FILL_COLUMNS = ("fill_id", "client_order_id")
ORDER_COLUMNS = (
    "client_order_id", "decision_id", "city", "ticker", "side", "action", "price",
    "decision_price", "mid", "spread", "ordered", "filled", "fill_rate", "fill_cost",
    "avg_fill_price", "slippage", "fees", "fills", "submitted_at", "first_fill_at",
    "last_fill_at", "complete_at", "seconds_to_first_fill", "seconds_to_complete", "status",
)
SUMMARY_COLUMNS = ("city", "orders", "ordered", "filled", "fill_rate", "mean_slippage",
                   "median_seconds_to_first_fill", "median_seconds_to_complete", "fees")


class IntentRead(msgspec.Struct, frozen=True, gc=False, kw_only=True):
    """What execution reads of an ``IntendedOrder``."""

    client_order_id: str
    ticker: str
    side: Side
    price: Price


class DecisionIntents(EventView, frozen=True, kw_only=True):
    """What execution reads of a ``DecisionMade``: the orders it meant, on which snapshot. Its
    probabilities, models and edges, most of its bytes, are skipped: a third of the time of
    parsing the decision as ``views.DecisionView`` (which calibration reads)."""

    decision_id: uuid.UUID
    city: str
    market_snapshot_id: uuid.UUID
    intended_orders: tuple[IntentRead, ...] = ()


class ExecutionProjection(Projection):
    name = "execution"
    rebuild_weight = 24.0
    consumes = frozenset({"MarketSnapshotted", "DecisionMade", "OrderSubmitted", "OrderFilled",
                          "OrderCanceled", "OrderExpired", "OrderRejected"})
    uses_ledger_clock = False  # what it folds is timed by the events themselves
    views: ClassVar[Mapping[str, type[EventView]]] = {
        "MarketSnapshotted": LadderView, "DecisionMade": DecisionIntents,
        "OrderSubmitted": SubmittedView, "OrderFilled": FillView,
    }
    # The books come first: they are the rows an ordinary trading day always has.
    tables: ClassVar[dict[str, str]] = {
        "execution_books": (
            "snapshot_id TEXT PRIMARY KEY, event_ticker TEXT NOT NULL, seq BIGINT NOT NULL, "
            "books TEXT NOT NULL"
        ),
        "execution_orders": (
            "client_order_id TEXT PRIMARY KEY, decision_id TEXT, city TEXT NOT NULL, "
            "ticker TEXT NOT NULL, side TEXT NOT NULL, action TEXT NOT NULL, "
            "price BIGINT NOT NULL, decision_price BIGINT, mid DOUBLE PRECISION, spread BIGINT, "
            "ordered BIGINT NOT NULL, filled BIGINT NOT NULL, fill_rate DOUBLE PRECISION, "
            "fill_cost BIGINT NOT NULL, avg_fill_price DOUBLE PRECISION, "
            "slippage DOUBLE PRECISION, fees BIGINT NOT NULL, fills BIGINT NOT NULL, "
            "submitted_at TEXT NOT NULL, first_fill_at TEXT, last_fill_at TEXT, complete_at TEXT, "
            "seconds_to_first_fill DOUBLE PRECISION, seconds_to_complete DOUBLE PRECISION, "
            "status TEXT NOT NULL"
        ),
        "execution_summary": (
            "city TEXT PRIMARY KEY, orders BIGINT NOT NULL, ordered BIGINT NOT NULL, "
            "filled BIGINT NOT NULL, fill_rate DOUBLE PRECISION, mean_slippage DOUBLE PRECISION, "
            "median_seconds_to_first_fill DOUBLE PRECISION, "
            "median_seconds_to_complete DOUBLE PRECISION, fees BIGINT NOT NULL"
        ),
        "execution_intents": (
            "client_order_id TEXT PRIMARY KEY, seq BIGINT NOT NULL, decision_id TEXT NOT NULL, "
            "city TEXT NOT NULL, price BIGINT NOT NULL, mid DOUBLE PRECISION, spread BIGINT"
        ),
        "execution_fills": "fill_id TEXT PRIMARY KEY, client_order_id TEXT NOT NULL",
        # How many snapshots and intents were ever kept: the next one's seq. (The windows cannot
        # tell: an intent leaves when it is submitted, so the newest is often gone.)
        "execution_counters": "name TEXT PRIMARY KEY, value BIGINT NOT NULL",
    }

    def __init__(self, prefix: str = "proj_") -> None:
        super().__init__(prefix)
        self._clear()

    def _clear(self) -> None:
        # Snapshot id -> (event ticker, seq, books), oldest first; each ladder's ids, oldest first.
        self.books: OrderedDict[uuid.UUID, tuple[str, int, Kept]] = OrderedDict()
        self._ladders: dict[str, deque[uuid.UUID]] = {}
        self._book_seq = self._written_book_seq = 0
        # Client order id -> (seq, context), oldest first.
        self.intents: OrderedDict[str, tuple[int, DecisionContext]] = OrderedDict()
        self._intent_seq = self._written_intent_seq = 0
        self.orders: dict[str, OrderExecution] = {}
        # What each order adds to its scopes' totals now (taken out again when it changes).
        self._parts: dict[str, Contribution] = {}
        self.fill_ids: set[str] = set()
        self.totals: dict[str, ScopeTotals] = {}
        # What the next flush writes: window rows added (not yet written) and dropped (written).
        self._new_books: set[uuid.UUID] = set()
        self._gone_books: set[uuid.UUID] = set()
        self._new_intents: set[str] = set()
        self._gone_intents: set[str] = set()
        self._new_fills: list[Row] = []
        self._dirty_orders: set[str] = set()
        self._dirty_scopes: set[str] = set()

    # -- reading back -------------------------------------------------------------------------

    def load(self, tx: ReadModelTx) -> None:
        self._clear()
        for snapshot_id, event_ticker, seq, books in tx.execute(
                f"SELECT * FROM {self.table('execution_books')} ORDER BY seq"):
            self._keep_book(uuid.UUID(snapshot_id), event_ticker, seq,
                            {t: TopOfBook(bid, ask) for t, bid, ask in json.loads(books)})
        for coid, seq, decision_id, city, price, mid, spread in tx.execute(
                f"SELECT * FROM {self.table('execution_intents')} ORDER BY seq"):
            self.intents[coid] = (seq, DecisionContext(decision_id, city, price, mid, spread))
        counters: dict[str, int] = dict(tx.execute(
            f"SELECT name, value FROM {self.table('execution_counters')}"))
        self._book_seq = self._written_book_seq = counters.get("snapshots", 0)
        self._intent_seq = self._written_intent_seq = counters.get("intents", 0)
        self.fill_ids = {r[0] for r in tx.execute(
            f"SELECT fill_id FROM {self.table('execution_fills')}")}
        for row in tx.execute(f"SELECT * FROM {self.table('execution_orders')}"):
            order = _order_of(row)
            self.orders[order.client_order_id] = order
            self._count(None, order)
        self._forget_dirt()

    # -- folding --------------------------------------------------------------------------------

    def apply(self, event: Event | EventView, ledger_time: datetime) -> None:
        if isinstance(event, LadderView):
            self._snapshot(event)
        elif isinstance(event, DecisionIntents):
            self._decision(event)
        elif isinstance(event, SubmittedView):
            self._submitted(event)
        elif isinstance(event, FillView):
            self._filled(event)
        elif isinstance(event, OrderCanceled):
            self._ended(event.client_order_id, OrderStatus.CANCELED)
        elif isinstance(event, OrderExpired):
            self._ended(event.client_order_id, OrderStatus.EXPIRED)
        elif isinstance(event, OrderRejected):
            self._ended(event.client_order_id, OrderStatus.REJECTED)

    def _snapshot(self, event: LadderView) -> None:
        snapshot_id = event.event_id
        if snapshot_id in self.books:
            return
        self._keep_book(snapshot_id, event.event_ticker, self._book_seq, event.markets)
        self._book_seq += 1
        self._new_books.add(snapshot_id)
        ladder = self._ladders[event.event_ticker]
        if len(ladder) > BOOKS_PER_LADDER:
            self._drop_book(ladder[0])
        if len(self.books) > BOOKS_KEPT:
            self._drop_book(next(iter(self.books)))

    def _keep_book(self, snapshot_id: uuid.UUID, event_ticker: str, seq: int, books: Kept) -> None:
        self.books[snapshot_id] = (event_ticker, seq, books)
        self._ladders.setdefault(event_ticker, deque()).append(snapshot_id)

    def _drop_book(self, snapshot_id: uuid.UUID) -> None:
        # Whichever cap dropped it, it is its ladder's oldest: the ladder's first id.
        event_ticker, _, _ = self.books.pop(snapshot_id)
        ladder = self._ladders[event_ticker]
        ladder.popleft()
        if not ladder:
            del self._ladders[event_ticker]
        self._forget(snapshot_id, self._new_books, self._gone_books)

    def _decision(self, decision: DecisionIntents) -> None:
        if not decision.intended_orders:
            return
        snapshot_id = decision.market_snapshot_id
        decision_id = str(decision.decision_id)
        for intended in decision.intended_orders:
            coid = intended.client_order_id
            if coid in self.intents or coid in self.orders:
                continue  # the same decision recorded again: its first record stands
            context = DecisionContext.of(decision_id, decision.city, intended.price, intended.side,
                                         self._top(snapshot_id, intended.ticker))
            self.intents[coid] = (self._intent_seq, context)
            self._intent_seq += 1
            self._new_intents.add(coid)
            if len(self.intents) > INTENTS_KEPT:
                self._drop_intent(next(iter(self.intents)))

    def _top(self, snapshot_id: uuid.UUID, ticker: str) -> TopOfBook | None:
        """One market's book in a kept snapshot; None if the snapshot is not kept or lacks it.
        A decision trades a rung or two of a dozen: only theirs are read."""
        kept = self.books.get(snapshot_id)
        if kept is None:
            return None
        books = kept[2]
        if isinstance(books, dict):
            return books.get(ticker)
        for quote in books:
            if quote.ticker == ticker:
                return TopOfBook.of(quote)
        return None

    def _books(self, snapshot_id: uuid.UUID) -> Books:
        """A kept snapshot's books, read from its quotes (once) when they are first written."""
        event_ticker, seq, books = self.books[snapshot_id]
        if isinstance(books, tuple):
            books = {quote.ticker: TopOfBook.of(quote) for quote in books}
            self.books[snapshot_id] = (event_ticker, seq, books)
        return books

    def _drop_intent(self, coid: str) -> None:
        del self.intents[coid]
        self._forget(coid, self._new_intents, self._gone_intents)

    def _submitted(self, event: SubmittedView) -> None:
        coid = event.client_order_id
        if coid in self.orders:
            return  # recorded twice; submitted once
        intent = self.intents.get(coid)
        if intent is not None:
            self._drop_intent(coid)
        order = OrderExecution.submitted(event, None if intent is None else intent[1])
        self._replace(None, order)

    def _filled(self, fill: FillView) -> None:
        order = None if fill.client_order_id is None else self.orders.get(fill.client_order_id)
        if order is None or fill.fill_id in self.fill_ids:
            return
        self.fill_ids.add(fill.fill_id)
        self._new_fills.append((fill.fill_id, order.client_order_id))
        self._replace(order, order.fill(fill))

    def _ended(self, coid: str, status: OrderStatus) -> None:
        order = self.orders.get(coid)
        if order is not None and order.ended is None:
            self._replace(order, order.end(status))

    def _replace(self, old: OrderExecution | None, new: OrderExecution) -> None:
        self._count(old, new)
        self.orders[new.client_order_id] = new
        self._dirty_orders.add(new.client_order_id)

    def _count(self, old: OrderExecution | None, new: OrderExecution) -> None:
        before = None if old is None else self._parts[old.client_order_id]
        after = self._parts[new.client_order_id] = Contribution.of(new)
        for scope in scopes_of(new):
            totals = self.totals.get(scope)
            if totals is None:
                totals = self.totals[scope] = ScopeTotals()
            totals.replace(before, after)
            self._dirty_scopes.add(scope)

    @staticmethod
    def _forget(key: _Key, new: set[_Key], gone: set[_Key]) -> None:
        """A window row dropped: never written if it came in this batch, else to delete."""
        if key in new:
            new.discard(key)
        else:
            gone.add(key)

    # -- writing --------------------------------------------------------------------------------

    def flush(self, tx: ReadModelTx) -> None:
        delete_keys(tx, self.table("execution_books"), "snapshot_id",
                    [str(s) for s in sorted(self._gone_books)])
        upsert(tx, self.table("execution_books"), BOOK_COLUMNS, BOOK_COLUMNS[:1],
               [self._book_row(s) for s in sorted(self._new_books)])
        delete_keys(tx, self.table("execution_intents"), "client_order_id",
                    sorted(self._gone_intents))
        upsert(tx, self.table("execution_intents"), INTENT_COLUMNS, INTENT_COLUMNS[:1],
               [_intent_row(c, *self.intents[c]) for c in sorted(self._new_intents)])
        insert_rows(tx, self.table("execution_fills"), FILL_COLUMNS, self._new_fills)
        upsert(tx, self.table("execution_orders"), ORDER_COLUMNS, ORDER_COLUMNS[:1],
               [_order_row(self.orders[c]) for c in sorted(self._dirty_orders)])
        upsert(tx, self.table("execution_summary"), SUMMARY_COLUMNS, SUMMARY_COLUMNS[:1],
               [_summary_row(scope, self.totals[scope]) for scope in sorted(self._dirty_scopes)])
        if (self._book_seq, self._intent_seq) != (self._written_book_seq, self._written_intent_seq):
            upsert(tx, self.table("execution_counters"), ("name", "value"), ("name",),
                   [("intents", self._intent_seq), ("snapshots", self._book_seq)])
            self._written_book_seq, self._written_intent_seq = self._book_seq, self._intent_seq
        self._forget_dirt()

    def _book_row(self, snapshot_id: uuid.UUID) -> Row:
        event_ticker, seq, _ = self.books[snapshot_id]
        quotes = [[ticker, top.yes_bid, top.yes_ask]
                  for ticker, top in self._books(snapshot_id).items()]
        return (str(snapshot_id), event_ticker, seq, json.dumps(quotes, separators=(",", ":")))

    def _forget_dirt(self) -> None:
        for dirty in (self._new_books, self._gone_books, self._new_intents, self._gone_intents,
                      self._dirty_orders, self._dirty_scopes):
            dirty.clear()
        self._new_fills = []


def _intent_row(coid: str, seq: int, context: DecisionContext) -> Row:
    return (coid, seq, context.decision_id, context.city, context.price, context.mid,
            context.spread)


def _text(moment: datetime | None) -> str | None:
    return None if moment is None else to_text(moment)


def _moment(text: str | None) -> datetime | None:
    return None if text is None else from_text(text)


def _order_row(o: OrderExecution) -> Row:
    return (
        o.client_order_id, o.decision_id, o.city, o.ticker, o.side.value, o.action.value, o.price,
        o.decision_price, o.mid, o.spread, o.ordered, o.filled, o.fill_rate, o.fill_cost,
        o.avg_fill_price, o.slippage, o.fees, o.fills, to_text(o.submitted_at),
        _text(o.first_fill_at), _text(o.last_fill_at), _text(o.complete_at),
        o.seconds_to_first_fill, o.seconds_to_complete, o.status.value,
    )


def _order_of(row: Row) -> OrderExecution:
    (coid, decision_id, city, ticker, side, action, price, decision_price, mid, spread, ordered,
     filled, _fill_rate, fill_cost, _avg, _slippage, fees, fills, submitted_at, first_fill_at,
     last_fill_at, _complete_at, _to_first, _to_complete, status) = row
    ended = OrderStatus(status)
    return OrderExecution(
        client_order_id=coid, city=city, ticker=ticker, side=Side(side), action=Action(action),
        price=price, ordered=ordered, submitted_at=from_text(submitted_at),
        decision_id=decision_id, decision_price=decision_price, mid=mid, spread=spread,
        filled=filled, fill_cost=fill_cost, fees=fees, fills=fills,
        first_fill_at=_moment(first_fill_at), last_fill_at=_moment(last_fill_at),
        # A complete order's end no longer shows, and no longer matters: filled is filled.
        ended=ended if ended in (OrderStatus.CANCELED, OrderStatus.EXPIRED,
                                 OrderStatus.REJECTED) else None,
    )


def _summary_row(scope: str, totals: ScopeTotals) -> Row:
    s = totals.summary(scope)
    return (scope, s.orders, s.ordered, s.filled, s.fill_rate, s.mean_slippage,
            s.median_seconds_to_first_fill, s.median_seconds_to_complete, s.fees)
