"""What the operator app follows in the log itself: our orders as the order manager sees them, the
alerts, the risk limit breaches and the venue's balance.

No projection keeps the order book: it is the order manager's own fold (``domain.oms.OrderBook``,
with its lifecycle table and its findings), which rows could not restore without re-implementing
it, and the operator must see exactly what the order manager sees. So the operator app folds the
same events, incrementally: each refresh reads only the records appended since the last one, picked
out by topic in the database (a refresh with nothing new costs one indexed query), never the whole
log again. The public app never does this: it reads projection tables only.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from dataclasses import dataclass
from datetime import datetime

from domain.events import AlertRaised, Event, ReconciliationCompleted, RiskLimitBreached
from domain.oms import OrderBook
from domain.oms.book import Order
from domain.strategies import RestingOrder
from eventstore import EventStore
from eventstore.store import READ_BATCH

_FOLDED: tuple[type[Event], ...] = (*OrderBook.FOLDS, RiskLimitBreached)
TYPES = tuple(sorted({t.__name__ for t in _FOLDED}))
ALERTS_KEPT = 500
BREACHES_KEPT = 100

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Balance:
    micros: int
    read_at: datetime


@dataclass(frozen=True, slots=True)
class OperatorView:
    """One consistent look at what the follower has folded."""

    position: int
    open_orders: tuple[Order, ...]
    resting: tuple[RestingOrder, ...]
    cities: dict[str, str]
    alerts: tuple[AlertRaised, ...]
    breaches: tuple[RiskLimitBreached, ...]
    balance: Balance | None


class LedgerFollower:
    def __init__(self, store: EventStore) -> None:
        self._store = store
        self._lock = threading.Lock()
        self._book = OrderBook()
        self._position = 0
        self._alerts: deque[AlertRaised] = deque(maxlen=ALERTS_KEPT)
        self._breaches: deque[RiskLimitBreached] = deque(maxlen=BREACHES_KEPT)
        self._balance: Balance | None = None

    def warm_up(self) -> threading.Thread:
        """Fold the log so far in a background thread (seconds per million events), so the app
        answers at once: ``view`` waits for the fold, what needs no orders (``/healthz``,
        ``/metrics``) never does. A fold that fails is logged and retried by the next ``view``."""
        thread = threading.Thread(target=self._warm, name="operator-fold", daemon=True)
        thread.start()
        return thread

    def _warm(self) -> None:
        try:
            with self._lock:
                self._catch_up()
        except Exception as e:  # the next view() retries, and raises to its request
            log.warning("the operator app could not read the ledger yet: %s", type(e).__name__)

    def view(self) -> OperatorView:
        """Fold what was appended since the last look, then take a look (blocking)."""
        with self._lock:
            self._catch_up()
            open_orders = self._book.open_orders()
            tickers = {o.ticker for o in open_orders}
            return OperatorView(
                position=self._position, open_orders=open_orders, resting=self._book.resting(),
                cities={t: c for t in tickers if (c := self._book.city_of(t)) is not None},
                alerts=tuple(self._alerts), breaches=tuple(self._breaches), balance=self._balance)

    def _catch_up(self) -> None:
        # Up to the position the log had when we looked: records of other topics after the last
        # one we folded are never read twice.
        top = self._store.max_position()
        while self._position < top:
            records = self._store.read_records(self._position, READ_BATCH, stop=top, types=TYPES)
            for record in records:
                event = record.decode()
                self._book.apply(event)
                if isinstance(event, AlertRaised):
                    self._alerts.append(event)
                elif isinstance(event, RiskLimitBreached):
                    self._breaches.append(event)
                elif isinstance(event, ReconciliationCompleted) and event.venue_balance is not None:
                    self._balance = Balance(event.venue_balance, event.recorded_at)
            if len(records) < READ_BATCH:
                self._position = top
            else:
                self._position = records[-1].position
