"""Reconciliation: one read of the venue's account compared with the ledger, as the events that
bring the ledger up to date and flag what cannot be.

``reconcile(book, venue, trigger=..., now=...)`` is pure: the runtime reads the venue (see
``VenueView`` for what to read, and ``orders_to_look_up`` for which orders to find one by one),
calls it, and appends what it returns in one command. In order:

1. **Orders.** Each venue order is matched to ours by client order id (or venue id). An order in
   flight that the venue has is accepted (its venue id recorded); a resting order whose size or
   price differs from ours is amended to the venue's. A venue order no intent of ours accounts for
   (an unknown id, a different market or direction, or one we had recorded as never having reached
   the venue) becomes ``VenueOrderFound`` and an alert; nothing trades it.
2. **Fills** the ledger lacks are recorded (``OrderFilled`` on ``fill:{fill id}``, the adapter's
   event id, so one heard again is a no-op), restated in our order's side. A fill with impossible
   values, for no order of ours, or beyond its order is an alert instead, never applied.
3. **Outcomes.** Our open orders the venue reports canceled are canceled. An order in flight that
   was looked up and not found, once ``in_flight_grace`` has passed since its intent was recorded,
   is rejected: it never reached the venue. Contradictions no event can settle (the venue rests an
   order we have as closed, counts fills it has not shown, lost an accepted order) are alerts.
4. **Settlements** the ledger lacks are recorded for markets we traded; one for a market we never
   traded, or without a usable value, is an alert.
5. **Positions**, after the missing fills and settlements are counted: each market where the
   ledger's position differs from the venue's raises an alert, and its city (``cities``, else the
   city our orders named; ``all`` when none is known) is halted unless it already is.
6. Findings of the fold itself (``OrderBook.findings``) not yet alerted are alerted.
7. One ``ReconciliationCompleted`` summarises the run.

Every event id is deterministic: a run is identified by its trigger and ``now``, so running it
again with the same inputs gives the same events, and running it again after its events are
folded gives only a new summary. An alert is raised once per finding (its stream is named by the
finding).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from domain.events import (
    Event,
    MarketSettled,
    ReconciliationCompleted,
    ReconciliationFailed,
    TradingState,
    TradingStateChanged,
    VenueOrderFound,
    deterministic_id,
)
from domain.money import MAX_COUNT, PRICE_SCALE
from domain.oms.book import Order, OrderBook, direction
from domain.oms.findings import Finding, FindingKind, alert_of, finding
from domain.oms.lifecycle import Status
from domain.oms.order_events import (
    fill_event,
    order_accepted,
    order_amended,
    order_canceled,
    order_rejected,
)
from domain.oms.streams import (
    reconciliation_id,
    reconciliation_stream,
    settlement_event_id,
    settlement_stream,
    venue_order_stream,
)
from domain.oms.venue import VenueOrderView, VenueSettlementView, VenueView, yes_price_of

#: How long after its intent was recorded an order the venue does not have counts as never having
#: arrived. A request still travelling when the venue was read would otherwise be rejected and then
#: turn up; Kalshi answers or times out well within this.
DEFAULT_IN_FLIGHT_GRACE = timedelta(seconds=60)
NOT_FOUND = "not_found"


def orders_to_look_up(book: OrderBook, open_at_venue: Iterable[VenueOrderView]) -> tuple[Order, ...]:
    """Our orders to find at the venue one by one (live or archived), given the venue's resting
    orders: every order in flight, and every open one, that the resting list does not show. Pass
    their client order ids as ``VenueView.searched`` and what was found in ``VenueView.orders``."""
    listed = list(open_at_venue)
    client_ids = {o.client_order_id for o in listed}
    venue_ids = {o.order_id for o in listed}
    return tuple(o for o in book.open_orders()
                 if o.client_order_id not in client_ids and o.venue_order_id not in venue_ids)


def reconcile(book: OrderBook, venue: VenueView, *, trigger: str, now: datetime,
              cities: Mapping[str, str] | None = None,
              trading_states: Mapping[str, TradingState] | None = None,
              in_flight_grace: timedelta = DEFAULT_IN_FLIGHT_GRACE,
              correlation_id: uuid.UUID | None = None) -> list[Event]:
    """The events that reconcile the ledger (folded into ``book``) with one read of the venue.

    ``trigger``: ``startup`` or ``scheduled``. ``now``: when the read of the venue began (our
    clock); the next run reads fills from there (``OrderBook.reconciled_until``). ``cities``:
    ticker -> city code, for halting. ``trading_states``: the current state per scope
    (``city:{code}`` or ``all``; missing means active), so a city already halted is not halted
    again. ``in_flight_grace``: see ``DEFAULT_IN_FLIGHT_GRACE``. ``book`` is not changed.
    """
    run = _Run(book, trigger=trigger, now=now, correlation_id=correlation_id)
    ours = run.match_orders(venue.orders)
    run.record_fills(venue)
    run.settle_outcomes(ours, venue, in_flight_grace)
    run.record_settlements(venue.settlements)
    mismatches = run.compare_positions(venue.positions, cities or {}, trading_states or {})
    run.alert_fold_findings()
    run.complete(mismatches, venue.balance)
    return run.events


def reconciliation_failed(*, trigger: str, now: datetime, error: str, message: str,
                          correlation_id: uuid.UUID | None = None) -> ReconciliationFailed:
    """The record of a run that could not complete (the venue unreachable, an answer unreadable):
    at start-up it keeps the handler from trading. Same trigger and time, same run, same id."""
    run_id = reconciliation_id(trigger, now)
    stream = reconciliation_stream(run_id)
    return ReconciliationFailed(event_id=deterministic_id("oms", stream, 1), stream=stream, version=1,
                                recorded_at=now, correlation_id=correlation_id or run_id,
                                trigger=trigger, error=error, message=message)


@dataclass
class _Counts:
    fills_added: int = 0
    orders_resolved: int = 0
    unknown_orders: int = 0
    settlements_added: int = 0


class _Run:
    """One reconciliation: a scratch copy of the book that every emitted event is folded into, so
    each check sees the ledger as it will be once the events so far are appended."""

    def __init__(self, book: OrderBook, *, trigger: str, now: datetime,
                 correlation_id: uuid.UUID | None) -> None:
        self.book = book.copy()
        self.trigger = trigger
        self.now = now
        self.run_id = reconciliation_id(trigger, now)
        self.correlation_id = correlation_id or self.run_id
        self.stream = reconciliation_stream(self.run_id)
        self.events: list[Event] = []
        self.counts = _Counts()

    def record(self, event: Event) -> None:
        self.events.append(event)
        self.book.apply(event)

    def alert(self, found: Finding) -> None:
        if not self.book.alerted(found.stream):
            self.record(alert_of(found, recorded_at=self.now, correlation_id=self.correlation_id))

    def _run_version(self) -> int:
        return sum(1 for e in self.events if e.stream == self.stream) + 1

    # -- 1. orders -------------------------------------------------------------------------------

    def match_orders(self, orders: Iterable[VenueOrderView]) -> dict[str, VenueOrderView]:
        """Accept and amend our orders from the venue's; record the ones that are not ours.
        Returns our client order id -> the venue's order."""
        ours: dict[str, VenueOrderView] = {}
        for seen in sorted(orders, key=lambda o: o.order_id):
            problem = _bad_order(seen)
            if problem is not None:
                self.alert(finding(FindingKind.BAD_ORDER, seen.order_id,
                                   f"venue order {seen.order_id}: {problem}", ticker=seen.ticker,
                                   client_order_id=seen.client_order_id))
                continue
            order = self._ours(seen)
            if order is None:
                continue
            coid = order.client_order_id
            ours[coid] = seen
            if order.venue_order_id is None:
                if order.status is Status.IN_FLIGHT:
                    self.counts.orders_resolved += 1
                self.record(order_accepted(self.book, coid, seen.order_id, recorded_at=self.now,
                                           correlation_id=self.correlation_id, key=self.run_id))
            self._amend_to_venue(coid, seen)
        return ours

    def _ours(self, seen: VenueOrderView) -> Order | None:
        """Our order that ``seen`` is, or None after recording it as found."""
        order = self.book.order(seen.client_order_id) if seen.client_order_id else None
        if order is None:
            order = self.book.by_venue_id(seen.order_id)
        why: str | None = None
        if order is None:
            why = "no intent of ours has its client order id"
        elif order.status is Status.REJECTED:
            why = f"order {order.client_order_id} was recorded as never having reached the venue"
        elif seen.ticker != order.ticker or direction(seen.side, seen.action) != order.direction:
            why = (f"it carries order {order.client_order_id}'s id but is {seen.action.value} "
                   f"{seen.side.value} {seen.ticker}, not {order.action.value} {order.side.value} "
                   f"{order.ticker}")
        elif order.venue_order_id not in (None, seen.order_id):
            why = f"order {order.client_order_id} is venue order {order.venue_order_id}"
        if why is None:
            return order
        self._found(seen, why)
        return None

    def _found(self, seen: VenueOrderView, why: str) -> None:
        if self.book.found(seen.order_id) is not None:
            return
        stream = venue_order_stream(seen.order_id)
        self.record(VenueOrderFound(
            event_id=deterministic_id("oms", stream, 1), stream=stream, version=1,
            recorded_at=self.now, venue_time=seen.created_time, correlation_id=self.correlation_id,
            venue_order_id=seen.order_id, client_order_id=seen.client_order_id, ticker=seen.ticker,
            side=seen.side, action=seen.action, price=seen.price, count=seen.initial_count,
            remaining=seen.remaining_count, status=seen.status, created_time=seen.created_time))
        self.counts.unknown_orders += 1
        self.alert(finding(FindingKind.UNKNOWN_ORDER, seen.order_id,
                           f"venue order {seen.order_id} ({seen.status}, {seen.remaining_count} "
                           f"resting) is not ours: {why}; nothing trades it until an operator looks",
                           ticker=seen.ticker, client_order_id=seen.client_order_id))

    def _amend_to_venue(self, coid: str, seen: VenueOrderView) -> None:
        order = self.book.order(coid)
        assert order is not None
        if seen.status != "resting" or not order.is_open:
            return
        price = yes_price_of(order.side, yes_price_of(seen.side, seen.price))
        if (seen.total, price) == (order.ordered, order.price):
            return
        if seen.total < order.filled:
            self.alert(finding(FindingKind.STATUS_MISMATCH, f"{coid}:size:{seen.total}",
                               f"the venue sizes order {coid} at {seen.total}, below the "
                               f"{order.filled} the ledger has filled", ticker=order.ticker))
            return
        self.record(order_amended(self.book, coid, seen.order_id, price=price, count=seen.total,
                                  recorded_at=self.now, correlation_id=self.correlation_id,
                                  key=self.run_id))

    # -- 2. fills --------------------------------------------------------------------------------

    def record_fills(self, venue: VenueView) -> None:
        def when(fill_time: datetime | None) -> float:
            return fill_time.timestamp() if fill_time is not None else float("-inf")

        for fill in sorted(venue.fills, key=lambda f: (when(f.created_time), f.fill_id)):
            outcome = fill_event(self.book, fill, recorded_at=self.now,
                                 correlation_id=self.correlation_id)
            if isinstance(outcome, Finding):
                self.alert(outcome)
            elif outcome is not None:
                self.record(outcome)
                self.counts.fills_added += 1

    # -- 3. outcomes -----------------------------------------------------------------------------

    def settle_outcomes(self, ours: Mapping[str, VenueOrderView], venue: VenueView,
                        grace: timedelta) -> None:
        for coid, seen in ours.items():
            order = self.book.order(coid)
            assert order is not None
            if seen.fill_count > order.filled:
                self.alert(finding(
                    FindingKind.FILLS_MISSING, f"{coid}:{seen.fill_count}",
                    f"the venue has filled {seen.fill_count} of order {coid}; the ledger has "
                    f"{order.filled} from the fills shown", ticker=order.ticker))
            if seen.status == "canceled" and order.is_open:
                self.counts.orders_resolved += 1
                self.record(order_canceled(
                    self.book, coid, "the venue reports it canceled", venue_order_id=seen.order_id,
                    canceled_count=max(0, order.ordered - seen.fill_count), recorded_at=self.now,
                    correlation_id=self.correlation_id, key=self.run_id))
            elif seen.status == "executed" and order.is_open and seen.fill_count <= order.filled:
                self.alert(finding(
                    FindingKind.STATUS_MISMATCH, f"{coid}:executed:{seen.fill_count}",
                    f"the venue reports order {coid} executed at {seen.fill_count}; the ledger has "
                    f"{order.filled} of {order.ordered} filled", ticker=order.ticker))
            elif seen.status == "resting" and not order.is_open and seen.fill_count >= order.filled:
                # (A snapshot showing fewer fills than the ledger has is older than the fills
                # that closed the order: the orders were read before the fills.)
                self.alert(finding(
                    FindingKind.STATUS_MISMATCH, f"{coid}:resting:{order.status.value}",
                    f"the venue still rests {seen.remaining_count} of order {coid}, which the "
                    f"ledger has as {order.status.value}", ticker=order.ticker))
        listed = {o.client_order_id for o in venue.orders if o.client_order_id}
        for coid in sorted(venue.searched - listed):
            order = self.book.order(coid)
            if order is None:
                continue
            if order.status is Status.IN_FLIGHT:
                if self.now - order.submitted_at >= grace:
                    self.counts.orders_resolved += 1
                    self.record(order_rejected(
                        self.book, coid, "never reached the venue: a read found no such order",
                        code=NOT_FOUND, recorded_at=self.now, correlation_id=self.correlation_id,
                        key=self.run_id))
            elif order.is_open:
                self.alert(finding(FindingKind.ORDER_VANISHED, coid,
                                   f"the venue has no order {coid}, which the ledger has as "
                                   f"{order.status.value}", ticker=order.ticker))

    # -- 4. settlements --------------------------------------------------------------------------

    def record_settlements(self, settlements: Iterable[VenueSettlementView]) -> None:
        for settled in sorted(settlements, key=lambda s: s.ticker):
            ticker = settled.ticker
            if self.book.settled(ticker):
                continue
            if not self.book.traded(ticker):
                self.alert(finding(FindingKind.UNKNOWN_SETTLEMENT, ticker,
                                   f"the venue settled {ticker}, a market the ledger never traded; "
                                   "it is not recorded", ticker=ticker, result=settled.result,
                                   yes_count=settled.yes_count, no_count=settled.no_count))
                continue
            value = settled.settlement_value
            if value is None and settled.result in ("yes", "no"):
                value = PRICE_SCALE if settled.result == "yes" else 0
            if value is None or not 0 <= value <= PRICE_SCALE:
                self.alert(finding(FindingKind.BAD_SETTLEMENT, ticker,
                                   f"the venue's settlement of {ticker} ({settled.result}) has no "
                                   f"usable value ({value})", ticker=ticker))
                continue
            self.record(MarketSettled(
                event_id=settlement_event_id(ticker), stream=settlement_stream(ticker), version=1,
                recorded_at=self.now, venue_time=settled.settled_time,
                correlation_id=self.correlation_id, ticker=ticker,
                event_ticker=settled.event_ticker, result=settled.result, settlement_value=value))
            self.counts.settlements_added += 1

    # -- 5. positions ----------------------------------------------------------------------------

    def compare_positions(self, venue_positions: Mapping[str, int], cities: Mapping[str, str],
                          trading_states: Mapping[str, TradingState]) -> tuple[str, ...]:
        ledger = self.book.positions()
        held = {t: p for t, p in venue_positions.items() if p != 0 and not self.book.settled(t)}
        mismatched = tuple(sorted(t for t in ledger.keys() | held.keys()
                                  if ledger.get(t, 0) != held.get(t, 0)))
        scopes: dict[str, list[str]] = {}
        for ticker in mismatched:
            city = cities.get(ticker) or self.book.city_of(ticker)
            scope = f"city:{city}" if city else "all"
            scopes.setdefault(scope, []).append(ticker)
            ours, theirs = ledger.get(ticker, 0), held.get(ticker, 0)
            self.alert(finding(FindingKind.POSITION_MISMATCH, f"{ticker}:{ours}:{theirs}",
                               f"the ledger holds {ours} of {ticker} (1/100 contracts, YES terms); "
                               f"the venue holds {theirs}; {scope} is halted", ticker=ticker,
                               ledger=ours, venue=theirs, scope=scope))
        for scope, tickers in sorted(scopes.items()):
            current = trading_states.get(scope, TradingState.ACTIVE)
            if current is TradingState.HALTED:
                continue
            version = self._run_version()
            self.record(TradingStateChanged(
                event_id=deterministic_id("oms", self.stream, version), stream=self.stream,
                version=version, recorded_at=self.now, correlation_id=self.correlation_id,
                previous=current, state=TradingState.HALTED, scope=scope,
                reason=f"reconciliation: the ledger's positions differ from the venue's in "
                       f"{', '.join(tickers)}"))
        return mismatched

    # -- 6, 7. ---------------------------------------------------------------------------------

    def alert_fold_findings(self) -> None:
        for found in self.book.findings:
            self.alert(found)

    def complete(self, mismatches: tuple[str, ...], balance: int | None) -> None:
        version = self._run_version()
        counts = self.counts
        self.record(ReconciliationCompleted(
            event_id=deterministic_id("oms", self.stream, version), stream=self.stream,
            version=version, recorded_at=self.now, correlation_id=self.correlation_id,
            trigger=self.trigger, fills_added=counts.fills_added,
            orders_resolved=counts.orders_resolved, unknown_orders=counts.unknown_orders,
            position_mismatches=mismatches, settlements_added=counts.settlements_added,
            venue_balance=balance))


def _bad_order(seen: VenueOrderView) -> str | None:
    """Why a venue order's values are impossible, or None."""
    if not seen.order_id:
        return "no order id"
    if not 0 <= seen.price <= PRICE_SCALE:
        return f"a price of {seen.price}, outside 0..{PRICE_SCALE} (0..1 dollar)"
    counts = {"fill": seen.fill_count, "remaining": seen.remaining_count,
              "initial": seen.initial_count}
    for name, count in counts.items():
        if not 0 <= count <= MAX_COUNT:
            return f"a {name} count of {count}"
    return None
