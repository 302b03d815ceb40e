"""Reconciliation: missing fills recorded once, orders in flight resolved, unknown venue orders
flagged, bad input alerted and never applied, position mismatches halting the city."""

from __future__ import annotations

import random
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime, timedelta

import pytest

from adapters.kalshi.recording import fill_event as adapter_fill_event
from adapters.kalshi.recording import settlement_event as adapter_settlement_event
from adapters.kalshi.wire.portfolio import Settlement, VenueFill
from domain.events import (
    Action,
    AlertRaised,
    Event,
    MarketSettled,
    OrderAccepted,
    OrderAmended,
    OrderCanceled,
    OrderFilled,
    OrderRejected,
    ReconciliationCompleted,
    Side,
    TradingState,
    TradingStateChanged,
    VenueOrderFound,
)
from domain.oms import (
    DEFAULT_IN_FLIGHT_GRACE,
    OrderBook,
    Status,
    VenueFillView,
    VenueOrderView,
    VenueView,
    fill_event,
    orders_to_look_up,
    reconcile,
    reconciliation_failed,
)
from tests.builders import CORRELATION, T0
from tests.oms_builders import (
    COID,
    OTHER_TICKER,
    TICKER,
    OrderScript,
    a_venue_fill,
    a_venue_order,
    a_venue_settlement,
    venue_id,
)

NOW = T0 + timedelta(minutes=5)
CITIES = {TICKER: "NYC", OTHER_TICKER: "NYC"}


def run(book: OrderBook, view: VenueView, *, now: datetime = NOW,
        cities: Mapping[str, str] = CITIES, trading_states: Mapping[str, TradingState] | None = None,
        correlation_id: uuid.UUID | None = None) -> list[Event]:
    return reconcile(book, view, trigger="scheduled", now=now, cities=cities,
                     trading_states=trading_states, correlation_id=correlation_id)


def of_type(events: Sequence[Event], kind: type[Event]) -> list[Event]:
    return [e for e in events if isinstance(e, kind)]


def alert_kinds(events: Sequence[Event]) -> list[str]:
    return [e.kind for e in events if isinstance(e, AlertRaised)]


def summary(events: Sequence[Event]) -> ReconciliationCompleted:
    last = events[-1]
    assert isinstance(last, ReconciliationCompleted)
    return last


def accepted_book(*, side: Side = Side.YES, price: int = 4300, city: str = "NYC"
                  ) -> tuple[OrderBook, OrderScript]:
    script = OrderScript()
    book = OrderBook.fold([script.submitted(count=1000, side=side, price=price, city=city),
                           script.accepted()])
    return book, script


def folded(book: OrderBook, events: Sequence[Event]) -> OrderBook:
    after = book.copy()
    for event in events:
        after.apply(event)
    return after


# -- fills ---------------------------------------------------------------------------------------

def test_a_missing_fill_is_recorded_with_the_adapters_event_id() -> None:
    book, _ = accepted_book()
    view = VenueView(orders=(a_venue_order(fill_count=400),),
                     fills=(a_venue_fill("trade-1", count=400, fee=70_000),),
                     positions={TICKER: 400}, balance=12_000_000)

    events = run(book, view)

    (fill,) = of_type(events, OrderFilled)
    assert isinstance(fill, OrderFilled)
    assert (fill.stream, fill.version, fill.client_order_id, fill.city) == (
        "fill:trade-1", 1, COID, "NYC")
    assert (fill.count, fill.price, fill.fee, fill.venue_time) == (400, 4300, 70_000, T0)
    wire = VenueFill(fill_id="trade-1", order_id=venue_id(), ticker=TICKER, book_side="bid",
                     side=Side.YES, action=Action.BUY, price=4300, yes_price=4300, count=400,
                     fee=70_000, is_taker=True, created_time=T0)
    assert fill.event_id == adapter_fill_event(wire, client_order_id=COID, city="NYC",
                                               recorded_at=NOW,
                                               correlation_id=CORRELATION).event_id
    done = summary(events)
    assert (done.fills_added, done.position_mismatches, done.venue_balance) == (1, (), 12_000_000)
    assert alert_kinds(events) == [] and of_type(events, TradingStateChanged) == []


def test_a_fill_already_recorded_or_heard_twice_is_a_no_op() -> None:
    book, script = accepted_book()
    book.apply(script.filled(count=400, fill_id="trade-1"))
    fill = a_venue_fill("trade-1", count=400)
    view = VenueView(orders=(a_venue_order(fill_count=700),),
                     fills=(fill, a_venue_fill("trade-2", count=300, seconds=1), fill),
                     positions={TICKER: 700})
    events = run(book, view)
    assert [e.fill_id for e in events if isinstance(e, OrderFilled)] == ["trade-2"]


def test_a_no_fill_is_restated_in_the_orders_side() -> None:
    """Read back, a buy NO at 57 is an ``ask`` at YES 43: the adapter may call it sell YES."""
    book, _ = accepted_book(side=Side.NO, price=5700)
    read_back = a_venue_fill(side=Side.YES, action=Action.SELL, price=4300, count=1000)
    events = run(book, VenueView(fills=(read_back,), positions={TICKER: -1000}))
    (fill,) = of_type(events, OrderFilled)
    assert isinstance(fill, OrderFilled)
    assert (fill.side, fill.action, fill.price) == (Side.NO, Action.BUY, 5700)
    assert summary(events).position_mismatches == ()


def test_fills_are_taken_in_venue_time_order_whatever_order_they_came_in() -> None:
    book, _ = accepted_book()
    fills = [a_venue_fill(f"trade-{i}", count=100, seconds=i) for i in range(8)]
    shuffled = fills[:]
    random.Random(4).shuffle(shuffled)
    view = VenueView(fills=tuple(fills), positions={TICKER: 800})
    assert run(book, view) == run(book, replace(view, fills=tuple(shuffled)))


# -- orders in flight ----------------------------------------------------------------------------

def in_flight_book() -> OrderBook:
    return OrderBook.fold([OrderScript().submitted(count=1000)])


def test_an_order_in_flight_found_resting_is_accepted() -> None:
    book = in_flight_book()
    events = run(book, VenueView(orders=(a_venue_order(),), searched=frozenset({COID})))
    (accepted,) = of_type(events, OrderAccepted)
    assert isinstance(accepted, OrderAccepted)
    assert (accepted.stream, accepted.version, accepted.venue_order_id) == (
        f"order:{COID}", 2, venue_id())
    assert summary(events).orders_resolved == 1
    order = folded(book, events).order(COID)
    assert order is not None and order.status is Status.ACCEPTED


def test_an_order_in_flight_found_executed_is_accepted_and_filled() -> None:
    book = in_flight_book()
    view = VenueView(orders=(a_venue_order(status="executed", fill_count=1000),),
                     fills=(a_venue_fill("trade-1", count=600),
                            a_venue_fill("trade-2", count=400, seconds=1)),
                     searched=frozenset({COID}), positions={TICKER: 1000})
    events = run(book, view)
    assert [type(e) for e in events] == [OrderAccepted, OrderFilled, OrderFilled,
                                         ReconciliationCompleted]
    order = folded(book, events).order(COID)
    assert order is not None and order.status is Status.FILLED


def test_an_order_in_flight_found_canceled_is_accepted_then_canceled() -> None:
    book = in_flight_book()
    view = VenueView(orders=(a_venue_order(status="canceled", fill_count=200),),
                     fills=(a_venue_fill(count=200),), positions={TICKER: 200})
    events = run(book, view)
    assert [type(e) for e in events] == [OrderAccepted, OrderFilled, OrderCanceled,
                                         ReconciliationCompleted]
    canceled = events[2]
    assert isinstance(canceled, OrderCanceled) and canceled.canceled_count == 800
    order = folded(book, events).order(COID)
    assert order is not None and (order.status, order.filled) == (Status.CANCELED, 200)
    assert summary(events).orders_resolved == 2


def test_an_order_in_flight_the_venue_does_not_have_never_reached_it() -> None:
    book = in_flight_book()
    view = VenueView(searched=frozenset({COID}))

    early = run(book, view, now=T0 + DEFAULT_IN_FLIGHT_GRACE - timedelta(seconds=1))
    assert [type(e) for e in early] == [ReconciliationCompleted]  # it may still be on its way

    events = run(book, view, now=T0 + DEFAULT_IN_FLIGHT_GRACE)
    (rejected,) = of_type(events, OrderRejected)
    assert isinstance(rejected, OrderRejected) and rejected.code == "not_found"
    assert "never reached the venue" in rejected.reason
    order = folded(book, events).order(COID)
    assert order is not None and order.status is Status.REJECTED


def test_an_order_in_flight_that_was_not_looked_up_stays_in_flight() -> None:
    book = in_flight_book()
    events = run(book, VenueView())
    assert [type(e) for e in events] == [ReconciliationCompleted]


def test_orders_to_look_up_are_the_open_ones_the_resting_list_does_not_show() -> None:
    script = OrderScript()
    book = OrderBook.fold([
        script.submitted("mb-a-0"), script.submitted("mb-b-0"),
        script.submitted("mb-c-0"), script.accepted("mb-c-0"),
        script.submitted("mb-d-0"), script.accepted("mb-d-0"),
        script.submitted("mb-e-0"), script.rejected("mb-e-0"),
    ])
    resting = [a_venue_order("mb-b-0"), a_venue_order(None, order_id=venue_id("mb-d-0"))]
    assert [o.client_order_id for o in orders_to_look_up(book, resting)] == ["mb-a-0", "mb-c-0"]


# -- the venue's view of our open orders ---------------------------------------------------------

def test_a_resting_order_resized_at_the_venue_is_amended() -> None:
    book, _ = accepted_book()
    view = VenueView(orders=(a_venue_order(initial=1000, remaining=1500, price=4400),))
    (amended,) = of_type(run(book, view), OrderAmended)
    assert isinstance(amended, OrderAmended) and (amended.count, amended.price) == (1500, 4400)


def test_an_open_order_the_venue_canceled_is_canceled() -> None:
    book, _ = accepted_book()
    events = run(book, VenueView(orders=(a_venue_order(status="canceled"),)))
    (canceled,) = of_type(events, OrderCanceled)
    assert isinstance(canceled, OrderCanceled) and canceled.canceled_count == 1000


def test_the_venue_resting_an_order_we_closed_is_alerted() -> None:
    book, script = accepted_book()
    book.apply(script.canceled())
    events = run(book, VenueView(orders=(a_venue_order(),)))
    assert alert_kinds(events) == ["oms.status_mismatch"]
    assert of_type(events, OrderCanceled) == []


def test_a_resting_snapshot_older_than_the_fills_that_closed_the_order_is_no_contradiction() -> None:
    """Orders are read before fills: the last fill may land in between."""
    book, _ = accepted_book()
    events = run(book, VenueView(orders=(a_venue_order(fill_count=600),),
                                 fills=(a_venue_fill(count=1000),), positions={TICKER: 1000}))
    assert alert_kinds(events) == []
    order = folded(book, events).order(COID)
    assert order is not None and order.status is Status.FILLED


def test_fills_the_venue_counts_but_does_not_show_are_alerted() -> None:
    book, _ = accepted_book()
    events = run(book, VenueView(orders=(a_venue_order(status="executed", fill_count=1000),),
                                 positions={TICKER: 1000}))
    assert "oms.fills_missing" in alert_kinds(events)
    assert "oms.status_mismatch" not in alert_kinds(events)


def test_an_accepted_order_the_venue_does_not_have_is_alerted() -> None:
    book, _ = accepted_book()
    events = run(book, VenueView(searched=frozenset({COID})))
    assert alert_kinds(events) == ["oms.order_vanished"]
    assert of_type(events, OrderRejected) == []


# -- orders no intent accounts for ---------------------------------------------------------------

@pytest.mark.parametrize("stranger", [
    a_venue_order(None, order_id="v-manual"),  # placed by hand on the website
    a_venue_order("mb-somebody-else-0", order_id="v-manual"),
    a_venue_order(COID, order_id="v-manual", ticker=OTHER_TICKER),  # our id, another market
    a_venue_order(COID, order_id="v-manual", action=Action.SELL),  # our id, the other direction
], ids=["no-client-id", "unknown-client-id", "other-market", "other-direction"])
def test_a_venue_order_no_intent_accounts_for_is_recorded_and_alerted(
        stranger: VenueOrderView) -> None:
    book = in_flight_book()
    events = run(book, VenueView(orders=(stranger,)))
    (found,) = of_type(events, VenueOrderFound)
    assert isinstance(found, VenueOrderFound)
    assert (found.stream, found.venue_order_id, found.remaining) == (
        "venue-order:v-manual", "v-manual", 1000)
    assert alert_kinds(events) == ["oms.unknown_order"]
    assert summary(events).unknown_orders == 1
    assert of_type(events, OrderAccepted) == []

    again = run(folded(book, events), VenueView(orders=(stranger,)), now=NOW + timedelta(minutes=1))
    assert [type(e) for e in again] == [ReconciliationCompleted]


def test_an_order_recorded_as_never_arrived_that_turns_up_is_flagged() -> None:
    script = OrderScript()
    book = OrderBook.fold([script.submitted(), script.rejected()])
    events = run(book, VenueView(orders=(a_venue_order(),)))
    (found,) = of_type(events, VenueOrderFound)
    assert isinstance(found, VenueOrderFound) and found.client_order_id == COID
    assert of_type(events, OrderAccepted) == []


# -- bad input: recorded as an alert, never applied ----------------------------------------------

BAD_FILLS = {
    "negative-count": (a_venue_fill("trade-bad", count=-100), "oms.bad_fill"),
    "zero-count": (a_venue_fill("trade-bad", count=0), "oms.bad_fill"),
    "price-above-one": (a_venue_fill("trade-bad", price=10_001), "oms.bad_fill"),
    "negative-price": (a_venue_fill("trade-bad", price=-1), "oms.bad_fill"),
    "unknown-order": (a_venue_fill("trade-bad", order_id="v-stranger"), "oms.unknown_order_fill"),
    "other-market": (a_venue_fill("trade-bad", ticker=OTHER_TICKER), "oms.fill_mismatch"),
    "other-direction": (a_venue_fill("trade-bad", action=Action.SELL), "oms.fill_mismatch"),
    "overfill": (a_venue_fill("trade-bad", count=1001), "oms.overfill"),
}


@pytest.mark.parametrize(("fill", "kind"), BAD_FILLS.values(), ids=BAD_FILLS.keys())
def test_a_bad_fill_is_alerted_and_never_applied(fill: VenueFillView, kind: str) -> None:
    book, _ = accepted_book()
    events = run(book, VenueView(fills=(fill,)))

    assert of_type(events, OrderFilled) == []
    (alert,) = of_type(events, AlertRaised)
    assert isinstance(alert, AlertRaised)
    assert alert.kind == kind and alert.severity == "critical"
    assert alert.stream == f"alert:oms:{kind.removeprefix('oms.')}:trade-bad"
    assert alert.context["fill_id"] == "trade-bad" and alert.context["ticker"] == fill.ticker
    after = folded(book, events)
    assert after.positions() == {} and not after.has_fill("trade-bad")
    assert summary(events).fills_added == 0

    # Heard again at the next reconciliation: the alert is not raised twice.
    again = run(after, VenueView(fills=(fill,)), now=NOW + timedelta(minutes=1))
    assert of_type(again, AlertRaised) == []


def test_a_fill_for_an_unknown_order_that_the_venue_counts_halts_the_city() -> None:
    book, _ = accepted_book()
    view = VenueView(fills=(a_venue_fill("trade-x", order_id="v-stranger", count=300),),
                     positions={TICKER: 300})
    events = run(book, view)
    assert alert_kinds(events) == ["oms.unknown_order_fill", "oms.position_mismatch"]
    (halt,) = of_type(events, TradingStateChanged)
    assert isinstance(halt, TradingStateChanged) and halt.scope == "city:NYC"


@pytest.mark.parametrize("venue_side", [
    a_venue_order(price=10_001), a_venue_order(fill_count=-1), a_venue_order(remaining=-100),
], ids=["price-above-one", "negative-fill-count", "negative-remaining"])
def test_a_venue_order_with_impossible_values_is_alerted_not_matched(
        venue_side: VenueOrderView) -> None:
    book = in_flight_book()
    events = run(book, VenueView(orders=(venue_side,), searched=frozenset({COID})))
    assert alert_kinds(events) == ["oms.bad_order"]
    assert [type(e) for e in events] == [AlertRaised, ReconciliationCompleted]  # not rejected either


def test_a_settlement_for_a_market_we_never_traded_is_alerted_not_recorded() -> None:
    book, _ = accepted_book()  # an order, but no fill
    events = run(book, VenueView(settlements=(a_venue_settlement(),)))
    assert of_type(events, MarketSettled) == []
    (alert,) = of_type(events, AlertRaised)
    assert isinstance(alert, AlertRaised) and alert.kind == "oms.unknown_settlement"
    assert alert.context["ticker"] == TICKER and summary(events).settlements_added == 0


def test_a_scalar_settlement_without_a_value_is_alerted() -> None:
    book, script = accepted_book()
    book.apply(script.filled(count=1000))
    events = run(book, VenueView(settlements=(a_venue_settlement(result="scalar"),),
                                 positions={TICKER: 1000}))
    assert alert_kinds(events) == ["oms.bad_settlement"]
    assert of_type(events, MarketSettled) == []


def test_a_settlement_of_a_market_we_traded_is_recorded_as_the_adapter_would() -> None:
    book, script = accepted_book()
    book.apply(script.filled(count=1000))
    events = run(book, VenueView(settlements=(a_venue_settlement(result="no"),)))
    (settled,) = of_type(events, MarketSettled)
    assert isinstance(settled, MarketSettled) and settled.settlement_value == 0
    wire = Settlement(ticker=TICKER, event_ticker="KXHIGHNY-26AUG28", market_result="no",
                      yes_count=1000, yes_total_cost=0, no_count=0, no_total_cost=0, revenue=0,
                      fee_cost=0, settled_time=T0, settlement_value=None)
    assert settled.event_id == adapter_settlement_event(wire, recorded_at=NOW,
                                                        correlation_id=CORRELATION).event_id
    assert summary(events).settlements_added == 1
    # The venue holds nothing in a settled market, and now neither does the ledger.
    assert summary(events).position_mismatches == ()


# -- positions -----------------------------------------------------------------------------------

def test_a_position_mismatch_alerts_and_halts_the_city() -> None:
    book, script = accepted_book()
    book.apply(script.filled(count=400))
    events = run(book, VenueView(positions={TICKER: 500, OTHER_TICKER: -100}))

    assert alert_kinds(events) == ["oms.position_mismatch", "oms.position_mismatch"]
    (halt,) = of_type(events, TradingStateChanged)
    assert isinstance(halt, TradingStateChanged)
    assert (halt.scope, halt.previous, halt.state) == ("city:NYC", TradingState.ACTIVE,
                                                       TradingState.HALTED)
    assert TICKER in halt.reason and OTHER_TICKER in halt.reason
    done = summary(events)
    assert done.position_mismatches == tuple(sorted((TICKER, OTHER_TICKER)))
    assert (halt.stream, halt.version, done.stream, done.version) == (
        done.stream, 1, halt.stream, 2)


def test_a_mismatch_is_counted_after_the_missing_fills() -> None:
    book, _ = accepted_book()
    events = run(book, VenueView(fills=(a_venue_fill(count=400),), positions={TICKER: 400}))
    assert summary(events).position_mismatches == () and alert_kinds(events) == []


def test_a_city_already_halted_is_not_halted_again() -> None:
    book, _ = accepted_book()
    events = run(book, VenueView(positions={TICKER: 100}),
                 trading_states={"city:NYC": TradingState.HALTED})
    assert alert_kinds(events) == ["oms.position_mismatch"]
    assert of_type(events, TradingStateChanged) == []


def test_the_city_comes_from_our_orders_when_the_mapping_lacks_it_and_is_all_when_unknown() -> None:
    book, _ = accepted_book(city="CHI")
    events = run(book, VenueView(positions={TICKER: 100, "KXRAINSEA-26AUG": 100}), cities={},
                 trading_states={"all": TradingState.REDUCING})
    halts = [(e.scope, e.previous) for e in of_type(events, TradingStateChanged)
             if isinstance(e, TradingStateChanged)]
    assert halts == [("all", TradingState.REDUCING), ("city:CHI", TradingState.ACTIVE)]


# -- findings of the fold, determinism -----------------------------------------------------------

def test_findings_in_the_ledger_are_alerted_once() -> None:
    book, script = accepted_book()
    book.apply(script.filled(count=1000))
    book.apply(script.filled(count=100, fill_id="trade-over"))  # recorded by another path
    events = run(book, VenueView(positions={TICKER: 1100}))
    assert alert_kinds(events) == ["oms.overfill"]
    again = run(folded(book, events), VenueView(positions={TICKER: 1100}),
                now=NOW + timedelta(minutes=1))
    assert alert_kinds(again) == []


def test_a_run_is_deterministic_and_its_events_fold_to_a_quiet_next_run() -> None:
    script = OrderScript()
    book = OrderBook.fold([script.submitted("mb-a-0"), script.submitted("mb-b-0"),
                           script.submitted("mb-c-0"), script.accepted("mb-c-0")])
    view = VenueView(
        orders=(a_venue_order("mb-a-0", status="executed", fill_count=1000),
                a_venue_order(None, order_id="v-manual")),
        searched=frozenset({"mb-a-0", "mb-b-0"}),
        fills=(a_venue_fill("t-1", order_id=venue_id("mb-a-0")),
               a_venue_fill("t-2", order_id=venue_id("mb-c-0"), count=300),
               a_venue_fill("t-3", order_id="v-manual", count=5)),
        positions={TICKER: 1305})
    later = NOW + DEFAULT_IN_FLIGHT_GRACE

    events = run(book, view, now=later)
    assert events == run(book, view, now=later)
    assert len({e.event_id for e in events}) == len(events)
    assert len({(e.stream, e.version) for e in events}) == len(events)

    after = folded(book, events)
    assert after.findings == ()
    quiet = run(after, view, now=later + timedelta(minutes=1),
                trading_states={"city:NYC": TradingState.HALTED})
    assert [type(e) for e in quiet] == [ReconciliationCompleted]


def test_the_correlation_id_defaults_to_the_run_and_can_be_given() -> None:
    book, _ = accepted_book()
    mine = uuid.UUID(int=42)
    (done,) = run(book, VenueView(), correlation_id=mine)
    assert done.correlation_id == mine
    (default,) = run(book, VenueView())
    assert default.correlation_id == uuid.UUID(default.stream.removeprefix("reconciliation:"))


def test_the_live_path_leaves_a_fill_it_cannot_place_to_reconciliation() -> None:
    book = in_flight_book()
    outcome = fill_event(book, a_venue_fill(), recorded_at=NOW, correlation_id=CORRELATION)
    assert not isinstance(outcome, OrderFilled)
    assert outcome is not None and outcome.kind.value == "unknown_order_fill"
    placed = fill_event(book, a_venue_fill(), recorded_at=NOW, correlation_id=CORRELATION,
                        client_order_id=COID)
    assert isinstance(placed, OrderFilled) and placed.client_order_id == COID


def test_a_run_that_could_not_complete_is_one_deterministic_event() -> None:
    failed = reconciliation_failed(trigger="startup", now=NOW, error="KalshiUnavailable",
                                   message="timed out")
    assert failed == reconciliation_failed(trigger="startup", now=NOW, error="KalshiUnavailable",
                                           message="timed out")
    (done,) = reconcile(OrderBook(), VenueView(), trigger="startup", now=NOW)
    assert (failed.stream, failed.version) == (done.stream, 1)  # one run: one or the other
