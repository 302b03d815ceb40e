"""Order management against a fake venue whose reports are reordered, duplicated and dropped,
with crashes at any point: a stateful hypothesis test (issue 6's evidence).

The pieces, all in this file:

- ``FakeVenue``: Kalshi as order management sees it. Orders are keyed by client order id and a
  second create with one is refused (Kalshi's 409); orders fill in parts, fractions of a contract
  included; the venue may cancel what rests, refuse an order, settle a market. It reads orders and
  fills back the way the adapter does, from the YES book: a buy NO comes back as a sell YES at
  the complementary price. It is the truth the ledger must converge to.
- the inbox: the venue's answers and reports on their way to us. Any of them may be delivered in
  any order, delivered again, or lost.
- ``Runtime``: a ledger (append-only, the store's idempotency and conflict rules), the live
  ``OrderBook`` folded from it, and the executor's protocol: append ``OrderSubmitted`` first, then
  send, and only when the book did not know the client order id; record answers as they come;
  leave fills it cannot place to reconciliation.

Invariants after every step: no client order id ever reached the venue twice as a new order;
filled never exceeds ordered (nor what the venue filled); the fold finds nothing wrong and no
alert is raised (a well-behaved venue, however its reports travel, gives none); a restart's refold
equals the live book. After every reconciliation: the ledger's positions equal the venue's, and
every venue order is in the book with the venue's filled count and a matching status.
"""

from __future__ import annotations

import itertools
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from domain.decision import client_order_id
from domain.events import (
    Action,
    AlertRaised,
    Event,
    IntendedOrder,
    OrderFilled,
    OrderSubmitted,
    Side,
    deterministic_id,
)
from domain.money import PRICE_SCALE
from domain.oms import (
    OrderBook,
    Status,
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
)
from domain.oms.venue import VenueOrderStatus
from domain.positions import yes_terms
from tests.builders import CORRELATION, T0
from tests.property.strategies import CITY_OF, TICKERS

#: Read fills from a minute before the last reconciliation: clocks may differ that much.
FILL_CURSOR_MARGIN = timedelta(minutes=1)


# -- the venue -----------------------------------------------------------------------------------

class DuplicateOrder(Exception):
    """Kalshi's 409: this client order id is already placed."""


@dataclass
class VenueOrder:
    order_id: str
    client_order_id: str
    ticker: str
    side: Side
    action: Action
    price: int
    count: int
    filled: int = 0
    status: VenueOrderStatus = "resting"

    @property
    def remaining(self) -> int:
        return self.count - self.filled if self.status == "resting" else 0


def read_back(side: Side, action: Action, price: int) -> tuple[Side, Action, int]:
    """What the venue's YES book says of an order: bid = buy YES, ask = sell YES."""
    if side is Side.YES:
        return side, action, price
    return Side.YES, Action.SELL if action is Action.BUY else Action.BUY, PRICE_SCALE - price


class FakeVenue:
    def __init__(self) -> None:
        self.orders: dict[str, VenueOrder] = {}
        self.fills: list[VenueFillView] = []
        self.settled: dict[str, int] = {}
        #: Every create request that reached the venue, by client order id.
        self.creates: Counter[str] = Counter()
        self._ids = itertools.count(1)

    def create(self, order: OrderSubmitted, *, refuse: bool) -> VenueOrder | None:
        self.creates[order.client_order_id] += 1
        if order.client_order_id in self.orders:
            raise DuplicateOrder(order.client_order_id)
        if refuse or order.ticker in self.settled:
            return None
        placed = VenueOrder(order_id=f"V{next(self._ids)}", client_order_id=order.client_order_id,
                            ticker=order.ticker, side=order.side, action=order.action,
                            price=order.price, count=order.count)
        self.orders[order.client_order_id] = placed
        return placed

    def resting(self) -> list[VenueOrder]:
        return [o for o in self.orders.values() if o.status == "resting"]

    def fill(self, order: VenueOrder, count: int, clock: float) -> VenueFillView:
        assert 0 < count <= order.remaining
        order.filled += count
        if order.filled == order.count:
            order.status = "executed"
        side, action, price = read_back(order.side, order.action, order.price)
        fill = VenueFillView(fill_id=f"T{next(self._ids)}", order_id=order.order_id,
                             ticker=order.ticker, side=side, action=action, price=price,
                             count=count, fee=count * 7, is_taker=False,
                             created_time=T0 + timedelta(seconds=clock))
        self.fills.append(fill)
        return fill

    def cancel(self, order: VenueOrder) -> int:
        canceled = order.remaining
        order.status = "canceled"
        return canceled

    def settle(self, ticker: str, value: int) -> list[VenueOrder]:
        self.settled[ticker] = value
        closing = [o for o in self.resting() if o.ticker == ticker]
        for order in closing:
            self.cancel(order)
        return closing

    def positions(self) -> dict[str, int]:
        held: Counter[str] = Counter()
        for fill in self.fills:
            if fill.ticker not in self.settled:
                held[fill.ticker] += yes_terms(fill.side, fill.action, fill.price, fill.count)[0]
        return {ticker: count for ticker, count in held.items() if count}

    def view_of(self, order: VenueOrder) -> VenueOrderView:
        side, action, price = read_back(order.side, order.action, order.price)
        return VenueOrderView(order_id=order.order_id, client_order_id=order.client_order_id,
                              ticker=order.ticker, status=order.status, side=side, action=action,
                              price=price, fill_count=order.filled, remaining_count=order.remaining,
                              initial_count=order.count)

    def settlements(self) -> tuple[VenueSettlementView, ...]:
        traded = {f.ticker for f in self.fills}
        return tuple(VenueSettlementView(ticker=t, event_ticker=t.rsplit("-", 1)[0],
                                         result="yes" if v else "no", settlement_value=v)
                     for t, v in self.settled.items() if t in traded)


# -- what travels to us --------------------------------------------------------------------------

@dataclass(frozen=True)
class Accepted:
    client_order_id: str
    venue_order_id: str


@dataclass(frozen=True)
class Rejected:
    client_order_id: str


@dataclass(frozen=True)
class Canceled:
    client_order_id: str
    venue_order_id: str
    canceled_count: int


@dataclass(frozen=True)
class Filled:
    fill: VenueFillView
    client_order_id: str | None


Report = Accepted | Rejected | Canceled | Filled


# -- our side ------------------------------------------------------------------------------------

class Runtime:
    """The ledger, the book folded from it, and how the executor records things."""

    def __init__(self) -> None:
        self.ledger: list[Event] = []
        self._slots: dict[tuple[str, int], object] = {}
        self.book = OrderBook()

    def append(self, events: list[Event]) -> int:
        """The store's rules: an event already recorded is skipped, a taken slot is a conflict."""
        written = 0
        for event in events:
            slot = (event.stream, event.version)
            if slot in self._slots:
                assert self._slots[slot] == event.event_id, f"conflict at {slot}"
                continue
            self._slots[slot] = event.event_id
            self.ledger.append(event)
            self.book.apply(event)
            written += 1
        return written

    def restart(self) -> None:
        refolded = OrderBook.fold(self.ledger)
        assert refolded.orders() == self.book.orders()  # replay equals live state
        assert refolded.positions() == self.book.positions()
        self.book = refolded


class OmsMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.venue = FakeVenue()
        self.inbox: list[Report] = []
        self.us = Runtime()
        self.clock = 0.0  # seconds after T0, on both sides

    @property
    def now(self) -> datetime:
        return T0 + timedelta(seconds=self.clock)

    # -- placing -----------------------------------------------------------------------------

    @rule(decision=st.integers(0, 6), leg=st.integers(0, 1), ticker=st.sampled_from(TICKERS),
          side=st.sampled_from(Side), action=st.sampled_from(Action),
          price=st.integers(1, PRICE_SCALE - 1),
          count=st.one_of(st.integers(1, 10).map(lambda n: n * 100), st.integers(1, 1_500)),
          fate=st.sampled_from(["sent", "sent", "sent", "request_lost", "crash_before_send",
                                "crash_after_send"]),
          refuse=st.integers(0, 7).map(lambda n: n == 0), take=st.sampled_from([0, 0, 1, 2, 3]),
          named=st.booleans(), wait=st.integers(0, 20))
    def place(self, decision: int, leg: int, ticker: str, side: Side, action: Action, price: int,
              count: int, fate: str, refuse: bool, take: int, named: bool, wait: int) -> None:
        """The executor's protocol: the intent first, then the request, never for a known id."""
        self.clock += wait
        decision_id = deterministic_id("decision", decision)
        intent = IntendedOrder(client_order_id=client_order_id(decision_id, leg), ticker=ticker,
                               side=side, action=action, price=price, count=count)
        submitted = order_submitted(self.us.book, intent, decision_id=decision_id,
                                    city=CITY_OF[ticker], recorded_at=self.now,
                                    correlation_id=CORRELATION)
        if submitted is None or not self.us.append([submitted]):
            return  # known: a retry or a replayed decision sends nothing
        if fate == "crash_before_send":
            self.crash_and_restart()
            return
        if fate == "request_lost":
            return  # a reset before the request reached the venue: it stays in flight
        placed = self.venue.create(submitted, refuse=refuse)
        if fate == "crash_after_send":
            self.crash_and_restart()
            return
        coid = submitted.client_order_id
        if placed is None:
            self.inbox.append(Rejected(coid))
            return
        self.inbox.append(Accepted(coid, placed.order_id))
        # A taker order matches at once: nothing, a third, two thirds or all of it.
        taken = placed.count * take // 3
        if taken:
            fill = self.venue.fill(placed, taken, self.clock)
            self.inbox.append(Filled(fill, coid if named else None))

    # -- the venue acting on its own -----------------------------------------------------------

    @precondition(lambda self: self.venue.resting())
    @rule(data=st.data(), wait=st.integers(0, 20))
    def venue_fills(self, data: st.DataObject, wait: int) -> None:
        self.clock += wait
        order = data.draw(st.sampled_from(self.venue.resting()), label="order")
        # The rest, or any part of it in 1/100 contracts.
        count = data.draw(st.one_of(st.just(order.remaining), st.integers(1, order.remaining)),
                          label="count")
        # Kalshi's WebSocket fills may name our client order id; its REST fills do not.
        named = data.draw(st.booleans(), label="names the client order id")
        self.inbox.append(Filled(self.venue.fill(order, count, self.clock),
                                 order.client_order_id if named else None))

    @precondition(lambda self: self.venue.resting())
    @rule(data=st.data())
    def venue_cancels(self, data: st.DataObject) -> None:
        order = data.draw(st.sampled_from(self.venue.resting()), label="order")
        canceled = self.venue.cancel(order)
        self.inbox.append(Canceled(order.client_order_id, order.order_id, canceled))

    @rule(ticker=st.sampled_from(TICKERS), yes=st.booleans())
    def venue_settles(self, ticker: str, yes: bool) -> None:
        if ticker in self.venue.settled:
            return
        for order in self.venue.settle(ticker, PRICE_SCALE if yes else 0):
            self.inbox.append(Canceled(order.client_order_id, order.order_id, order.count - order.filled))

    # -- reports on their way ------------------------------------------------------------------

    @precondition(lambda self: self.inbox)
    @rule(index=st.integers(0, 40), again=st.booleans())
    def deliver(self, index: int, again: bool) -> None:
        """Any waiting report, in any order; ``again`` leaves it waiting to be heard twice."""
        report = self.inbox[index % len(self.inbox)]
        if not again:
            self.inbox.remove(report)
        self.hear(report)

    @precondition(lambda self: self.inbox)
    @rule(index=st.integers(0, 40))
    def lose_an_answer(self, index: int) -> None:
        del self.inbox[index % len(self.inbox)]

    def hear(self, report: Report) -> None:
        book, at = self.us.book, self.now
        if isinstance(report, Filled):
            outcome = fill_event(book, report.fill, recorded_at=at, correlation_id=CORRELATION,
                                 client_order_id=report.client_order_id)
            if isinstance(outcome, OrderFilled):
                self.us.append([outcome])
            return  # recorded already, or not placeable yet: reconciliation will see to it
        if isinstance(report, Accepted):
            event: Event = order_accepted(book, report.client_order_id, report.venue_order_id,
                                          recorded_at=at, correlation_id=CORRELATION)
        elif isinstance(report, Rejected):
            event = order_rejected(book, report.client_order_id, "refused by the venue",
                                   code="refused", recorded_at=at, correlation_id=CORRELATION)
        else:
            event = order_canceled(book, report.client_order_id, "canceled by the venue",
                                   venue_order_id=report.venue_order_id,
                                   canceled_count=report.canceled_count, recorded_at=at,
                                   correlation_id=CORRELATION)
        self.us.append([event])

    # -- us ------------------------------------------------------------------------------------

    @rule()
    def crash_and_restart(self) -> None:
        """Memory is lost (and with it the connection and what was on its way); the ledger stays."""
        self.us.restart()
        self.inbox.clear()

    @rule(wait=st.integers(0, 120))
    def reconcile(self, wait: int) -> None:
        self.clock += wait
        book, venue = self.us.book, self.venue
        resting = [venue.view_of(o) for o in venue.resting()]
        looked_up = orders_to_look_up(book, resting)
        found = [venue.view_of(venue.orders[o.client_order_id]) for o in looked_up
                 if o.client_order_id in venue.orders]
        since = book.reconciled_until
        fills = [f for f in venue.fills if since is None or f.created_time is None
                 or f.created_time >= since - FILL_CURSOR_MARGIN]
        view = VenueView(orders=(*resting, *found),
                         searched=frozenset(o.client_order_id for o in looked_up),
                         fills=tuple(fills), positions=venue.positions(),
                         settlements=venue.settlements(), balance=1_000_000)
        self.us.append(reconcile(book, view, trigger="scheduled", now=self.now, cities=CITY_OF))

        book = self.us.book
        assert book.positions() == venue.positions()
        for order in venue.orders.values():
            ours = book.order(order.client_order_id)
            assert ours is not None and ours.venue_order_id == order.order_id
            assert ours.filled == order.filled
            expected = {"resting": {Status.ACCEPTED, Status.PARTIALLY_FILLED},
                        "canceled": {Status.CANCELED}, "executed": {Status.FILLED}}[order.status]
            assert ours.status in expected, (order, ours)

    # -- always --------------------------------------------------------------------------------

    @invariant()
    def no_client_order_id_is_sent_twice(self) -> None:
        assert all(n == 1 for n in self.venue.creates.values()), self.venue.creates

    @invariant()
    def filled_never_exceeds_ordered(self) -> None:
        for order in self.us.book.orders():
            assert 0 <= order.filled <= order.ordered
            at_venue = self.venue.orders.get(order.client_order_id)
            assert order.filled <= (at_venue.filled if at_venue else 0)

    @invariant()
    def nothing_is_wrong(self) -> None:
        assert self.us.book.findings == ()
        assert [e for e in self.us.ledger if isinstance(e, AlertRaised)] == []


OmsMachine.TestCase.settings = settings(
    max_examples=300, stateful_step_count=50, deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
TestOms = OmsMachine.TestCase
