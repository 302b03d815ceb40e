"""The order manager: our orders at Kalshi, every step recorded before and after it happens.

The protocol that makes a duplicate order impossible, whatever crashes where:

1. An order's ``client_order_id`` comes from its decision and leg (``domain.decision``), so a
   retry or a restart names the same order.
2. ``OrderSubmitted`` is appended *before* the request leaves. An id the ledger already knows is
   never sent again: ``domain.oms.order_submitted`` answers ``None`` and the store's idempotent
   append confirms it. (Kalshi itself refuses a repeated ``client_order_id`` with 409.)
3. The answer is recorded after: ``OrderAccepted`` or ``OrderRejected``. An ambiguous outcome (a
   timeout, a 5xx or a reset after sending, a crash before the answer was recorded) leaves the
   order in flight; only a read resolves it, in reconciliation, never a resend.
4. Reconciliation (at start-up, and on a schedule) reads the venue's resting orders, looks up every
   order of ours in doubt, reads fills since the last run, positions, settlements and balance, and
   appends what ``domain.oms.reconcile`` decides: missing fills, resolutions, unknown venue orders,
   alerts, city halts. A start-up reconciliation that cannot complete means no trading.

``checkpoint`` is called at the moments a crash is most interesting ("intent recorded", about to
send; "answer received", about to record it; "venue read", about to record a reconciliation), so
the chaos tests can kill the process there.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, Protocol

from adapters.kalshi.errors import DuplicateOrder, KalshiError, KalshiRejected, OrderInFlight
from adapters.kalshi.wire.orders import NewOrder, OrderChange, Placement, VenueOrder
from adapters.kalshi.wire.portfolio import Balance, MarketPosition, Settlement, VenueFill
from domain.events import (
    Event,
    IntendedOrder,
    OrderFilled,
    TradingState,
    deterministic_id,
)
from domain.oms import (
    OrderBook,
    VenueFillView,
    VenueOrderView,
    VenueSettlementView,
    VenueView,
    fill_event,
    order_accepted,
    order_canceled,
    order_rejected,
    order_submitted,
    orders_to_look_up,
    reconcile,
    reconciliation_failed,
)
from eventstore import EventStore

#: Every event type the order book folds, by name (``StoredRecord.type_name``).
BOOK_TYPES = frozenset(t.__name__ for t in OrderBook.FOLDS)
#: Fills are read from the last reconciliation less this, for the venue's clock and ours.
FILL_MARGIN = timedelta(minutes=5)

Checkpoint = Callable[[str, str], None]


class Venue(Protocol):
    """Where orders go and the account is read: ``KalshiClient``, or ``milkbot.paper.PaperVenue``."""

    def create_order(self, order: NewOrder) -> Placement: ...
    def cancel_order(self, order_id: str, ticker: str) -> OrderChange: ...
    def orders(self, *, status: str | None = None) -> list[VenueOrder]: ...
    def find_order(self, ticker: str, client_order_id: str) -> VenueOrder | None: ...
    def fills(self, *, min_ts: int | None = None) -> list[VenueFill]: ...
    def positions(self) -> tuple[list[MarketPosition], Sequence[Any]]: ...
    def settlements(self) -> list[Settlement]: ...
    def balance(self) -> Balance: ...


class StartupReconciliationFailed(RuntimeError):
    """The venue could not be compared with the ledger at start-up: the handler must not trade."""


class OrderManager:
    def __init__(self, store: EventStore, client: Venue, clock: Callable[[], datetime], *,
                 cities: Mapping[str, str] | None = None, checkpoint: Checkpoint | None = None,
                 in_flight_grace: timedelta = timedelta(seconds=60), book: OrderBook | None = None
                 ) -> None:
        """``book``: the order book already folded from ``store`` (the caller read the log once
        for several folds); None: fold it here."""
        self._store = store
        self._client = client
        self._clock = clock
        self._cities = dict(cities or {})
        self._checkpoint = checkpoint or (lambda _point, _id: None)
        self._in_flight_grace = in_flight_grace
        self.book = book if book is not None else OrderBook.fold(
            r.decode() for r in store.iter_records(types=sorted(BOOK_TYPES)))

    # -- recording --------------------------------------------------------------------------------

    def _record(self, events: Sequence[Event]) -> bool:
        """Append one command and fold it; False when the ledger already held it."""
        if not events:
            return False
        appended = self._store.append(events)
        for event in events:
            self.book.apply(event)
        return bool(appended.positions)

    # -- placing and cancelling -------------------------------------------------------------------

    def place(self, intents: Iterable[IntendedOrder], *, decision_id: uuid.UUID | None, city: str | None,
              correlation_id: uuid.UUID, causation_id: uuid.UUID | None = None) -> list[Event]:
        """Send each intent the ledger does not know yet, recording it before and its answer after.
        Taker orders go immediate-or-cancel; post-only orders rest until cancelled."""
        recorded: list[Event] = []
        for intent in intents:
            submitted = order_submitted(self.book, intent, decision_id=decision_id, city=city,
                                        recorded_at=self._clock(), correlation_id=correlation_id,
                                        causation_id=causation_id)
            if submitted is None or not self._record([submitted]):
                continue  # known already: in flight, placed or refused; never sent twice
            recorded.append(submitted)
            if city is not None:
                self._cities.setdefault(intent.ticker, city)
            self._checkpoint("intent recorded", intent.client_order_id)
            order = NewOrder(ticker=intent.ticker, client_order_id=intent.client_order_id,
                             side=intent.side, action=intent.action, price=intent.price,
                             count=intent.count, post_only=intent.post_only,
                             time_in_force="good_till_canceled" if intent.post_only
                             else "immediate_or_cancel")
            try:
                placement = self._client.create_order(order)
            except DuplicateOrder:
                continue  # the venue has it, though no read confirmed it yet: reconciliation will
            except KalshiRejected as e:
                self._checkpoint("answer received", intent.client_order_id)
                outcome: Event = order_rejected(self.book, intent.client_order_id, e.message or str(e),
                                                code=e.code or None, recorded_at=self._clock(),
                                                correlation_id=correlation_id)
            except (OrderInFlight, KalshiError):
                continue  # sent or maybe sent: in flight until reconciliation reads the venue
            else:
                self._checkpoint("answer received", intent.client_order_id)
                outcome = order_accepted(self.book, intent.client_order_id, placement.order_id,
                                         recorded_at=self._clock(), correlation_id=correlation_id)
            if self._record([outcome]):
                recorded.append(outcome)
        return recorded

    def cancel_open(self, reason: str, *, city: str | None = None,
                    correlation_id: uuid.UUID | None = None) -> list[Event]:
        """Cancel every open order (of ``city``, or all); one that cannot be cancelled now stays
        open and is tried again next time (reconciliation tells what became of it)."""
        correlation = correlation_id or deterministic_id("cancel", reason, self._clock().isoformat())
        recorded: list[Event] = []
        for order in self.book.open_orders():
            if order.venue_order_id is None or (city is not None and order.city != city):
                continue
            try:
                change = self._client.cancel_order(order.venue_order_id, order.ticker)
            except KalshiError:
                continue
            event = order_canceled(self.book, order.client_order_id, reason,
                                   venue_order_id=order.venue_order_id, canceled_count=change.reduced_by,
                                   recorded_at=self._clock(), correlation_id=correlation)
            if self._record([event]):
                recorded.append(event)
        return recorded

    def record_fills(self, fills: Iterable[VenueFill], *, correlation_id: uuid.UUID) -> list[Event]:
        """Fills heard live (a poll or the socket): each recorded once; one the book cannot place
        yet (its acceptance not recorded) is left to the next reconciliation."""
        recorded: list[Event] = []
        for fill in fills:
            event = fill_event(self.book, fill_view(fill), recorded_at=self._clock(),
                               correlation_id=correlation_id)
            if isinstance(event, OrderFilled) and self._record([event]):
                recorded.append(event)
        return recorded

    # -- reconciliation ---------------------------------------------------------------------------

    def reconcile(self, trigger: str, *,
                  trading_states: Mapping[str, TradingState] | None = None) -> list[Event]:
        """Compare the venue's account with the ledger and record the difference (one command).
        A read that fails records ``ReconciliationFailed``; at start-up it raises as well."""
        started = self._clock()
        try:
            view = self._read_venue()
        except KalshiError as e:
            failed = reconciliation_failed(trigger=trigger, now=started, error=type(e).__name__,
                                           message=str(e))
            self._record([failed])
            if trigger == "startup":
                raise StartupReconciliationFailed(
                    f"start-up reconciliation could not read Kalshi ({e}); not trading") from e
            return [failed]
        events = reconcile(self.book, view, trigger=trigger, now=started, cities=self._cities,
                           trading_states=trading_states, in_flight_grace=self._in_flight_grace)
        self._checkpoint("venue read", trigger)
        self._record(events)
        return events

    def _read_venue(self) -> VenueView:
        resting = [order_view(o) for o in self._client.orders(status="resting")]
        searched: set[str] = set()
        found: list[VenueOrderView] = []
        for order in orders_to_look_up(self.book, resting):
            searched.add(order.client_order_id)
            venue = self._client.find_order(order.ticker, order.client_order_id)
            if venue is not None:
                found.append(order_view(venue))
        since = self.book.reconciled_until
        min_ts = int((since - FILL_MARGIN).timestamp()) if since is not None else None
        fills = tuple(fill_view(f) for f in self._client.fills(min_ts=min_ts))
        market_positions, _ = self._client.positions()
        settlements = tuple(settlement_view(s) for s in self._client.settlements())
        balance = self._client.balance().balance
        return VenueView(orders=(*resting, *found), searched=frozenset(searched), fills=fills,
                         positions={p.ticker: p.position for p in market_positions if p.position},
                         settlements=settlements, balance=balance)


# -- the adapter's reading, as the domain sees it ----------------------------------------------------

def order_view(order: VenueOrder) -> VenueOrderView:
    return VenueOrderView(order_id=order.order_id, client_order_id=order.client_order_id or None,
                          ticker=order.ticker, status=order.status, side=order.side,
                          action=order.action, price=order.price, fill_count=order.fill_count,
                          remaining_count=order.remaining_count, initial_count=order.initial_count,
                          created_time=order.created_time)


def fill_view(fill: VenueFill) -> VenueFillView:
    return VenueFillView(fill_id=fill.fill_id, order_id=fill.order_id, ticker=fill.ticker,
                         side=fill.side, action=fill.action, price=fill.price, count=fill.count,
                         fee=fill.fee, is_taker=fill.is_taker, created_time=fill.created_time)


def settlement_view(settlement: Settlement) -> VenueSettlementView:
    return VenueSettlementView(ticker=settlement.ticker, event_ticker=settlement.event_ticker,
                               result=settlement.market_result,
                               settlement_value=settlement.settlement_value,
                               yes_count=settlement.yes_count, no_count=settlement.no_count,
                               settled_time=settlement.settled_time)
