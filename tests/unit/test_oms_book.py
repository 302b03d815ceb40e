"""The order book folded from ledger events: statuses, counts, venue ids, positions, and the
findings it keeps instead of crashing; and the events that record an intent and its answers."""

from __future__ import annotations

import uuid

import pytest

from domain.events import (
    Action,
    AlertRaised,
    CheckOutcome,
    IntendedOrder,
    OrderRiskChecked,
    ReconciliationCompleted,
    Side,
    VenueOrderFound,
)
from domain.oms import (
    FindingKind,
    OrderBook,
    Status,
    UnknownOrder,
    order_accepted,
    order_canceled,
    order_submitted,
)
from domain.strategies import RestingOrder
from tests.builders import CORRELATION, T0, a_settlement, at, envelope
from tests.oms_builders import COID, OTHER_TICKER, TICKER, OrderScript, venue_id


def test_a_submitted_order_is_in_flight_and_known() -> None:
    script = OrderScript()
    book = OrderBook.fold([script.submitted(count=1000)])

    (order,) = book.in_flight()
    assert order.client_order_id == COID and order.status is Status.IN_FLIGHT
    assert (order.ordered, order.filled, order.remaining) == (1000, 0, 1000)
    assert order.venue_order_id is None and order.submitted_at == T0
    assert book.knows(COID) and not book.knows("mb-other-0")
    assert book.open_orders() == (order,)
    assert book.next_version(COID) == 2


def test_stream_versions_count_every_event_of_the_order_stream() -> None:
    """The risk check is the stream's first event; the intent follows it."""
    checked = OrderRiskChecked(**envelope(f"order:{COID}", 1), client_order_id=COID, approved=True,
                               checks=(CheckOutcome(name="max_count", passed=True, reason="ok"),))
    script = OrderScript()
    script.versions[COID] = 1
    book = OrderBook.fold([checked, script.submitted(), script.accepted()])
    assert book.version(f"order:{COID}") == 3 and book.next_version(COID) == 4
    assert book.next_version("mb-never-0") == 1


def test_an_accepted_order_rests_and_is_found_by_its_venue_id() -> None:
    script = OrderScript()
    book = OrderBook.fold([script.submitted(side=Side.NO, price=5700, count=1000),
                           script.accepted()])

    order = book.by_venue_id(venue_id())
    assert order is not None and order.status is Status.ACCEPTED
    assert book.in_flight() == ()
    assert book.resting() == (RestingOrder(ticker=TICKER, side=Side.NO, action=Action.BUY,
                                           price=5700, remaining=1000),)
    assert book.by_venue_id("v-nobody") is None


def test_fractional_partial_fills_add_up_and_fill_the_order() -> None:
    script = OrderScript()
    book = OrderBook.fold([script.submitted(count=1000), script.accepted()])
    for count in (1, 249, 333):  # 0.01, 2.49 and 3.33 contracts
        assert book.apply(script.filled(count=count)) == ()
    order = book.order(COID)
    assert order is not None and order.status is Status.PARTIALLY_FILLED
    assert (order.filled, order.remaining) == (583, 417)
    assert book.resting()[0].remaining == 417

    book.apply(script.filled(count=417))
    order = book.order(COID)
    assert order is not None and order.status is Status.FILLED and order.remaining == 0
    assert book.open_orders() == () and book.resting() == ()
    assert book.positions() == {TICKER: 1000}


def test_a_fill_heard_twice_counts_once() -> None:
    script = OrderScript()
    fill = script.filled(count=400, fill_id="trade-1")
    book = OrderBook.fold([script.submitted(count=1000), script.accepted(), fill])
    before = book.order(COID)

    assert book.apply(fill) == ()
    assert book.apply(fill.model_copy(update={"count": 600})) == ()  # same trade id, told otherwise
    assert book.order(COID) == before
    assert book.positions() == {TICKER: 400}
    assert book.has_fill("trade-1")


def test_positions_are_signed_yes_terms_per_market() -> None:
    script = OrderScript()
    events = [
        script.submitted("mb-a-0", count=1000), script.filled("mb-a-0", count=1000),  # buy YES
        script.submitted("mb-b-0", ticker=OTHER_TICKER, side=Side.NO, count=300),
        script.filled("mb-b-0", ticker=OTHER_TICKER, side=Side.NO, count=250),  # buy NO: short YES
        script.submitted("mb-c-0", action=Action.SELL, count=400),
        script.filled("mb-c-0", action=Action.SELL, count=400),  # sell YES: reduces
        script.submitted("mb-d-0", side=Side.NO, action=Action.SELL, count=50),
        script.filled("mb-d-0", side=Side.NO, action=Action.SELL, count=50),  # sell NO: adds YES
    ]
    book = OrderBook.fold(events)
    assert book.positions() == {TICKER: 650, OTHER_TICKER: -250}
    assert book.position("KX-NOTHING") == 0
    assert book.traded(TICKER) and not book.traded("KX-NOTHING")


def test_a_fill_before_the_accept_learns_the_venue_id_and_the_late_accept_is_a_no_op() -> None:
    script = OrderScript()
    book = OrderBook.fold([script.submitted(count=1000), script.filled(count=1000)])
    order = book.order(COID)
    assert order is not None and order.status is Status.FILLED
    assert book.by_venue_id(venue_id()) == order

    assert book.apply(script.accepted()) == ()
    assert book.order(COID) == order


def test_a_fill_without_a_client_order_id_is_matched_by_venue_id() -> None:
    script = OrderScript()
    book = OrderBook.fold([script.submitted(count=1000), script.accepted(),
                           script.filled(None, count=300, venue_order_id=venue_id())])
    order = book.order(COID)
    assert order is not None and order.filled == 300


def test_an_overfill_is_a_finding_not_applied_to_the_order() -> None:
    script = OrderScript()
    book = OrderBook.fold([script.submitted(count=1000), script.accepted(),
                           script.filled(count=800)])
    before = book.order(COID)

    (found,) = book.apply(script.filled(count=300, fill_id="trade-over"))

    assert found.kind is FindingKind.OVERFILL and found.key == "trade-over"
    assert found.stream == "alert:oms:overfill:trade-over"
    assert book.order(COID) == before
    # The ledger holds the fill, so the ledger's position counts it; the alert says why.
    assert book.positions() == {TICKER: 1100}


def test_a_fill_for_an_unknown_order_is_a_finding() -> None:
    script = OrderScript()
    book = OrderBook()
    (found,) = book.apply(script.filled(None, count=300, venue_order_id="v-stranger",
                                        fill_id="trade-x"))
    assert found.kind is FindingKind.UNKNOWN_ORDER_FILL and found.ticker == TICKER
    assert dict(found.context)["venue_order_id"] == "v-stranger"
    assert book.orders() == () and book.findings == (found,)


def test_a_fill_in_the_other_direction_is_a_finding() -> None:
    script = OrderScript()
    book = OrderBook.fold([script.submitted(count=1000), script.accepted()])
    (found,) = book.apply(script.filled(count=100, action=Action.SELL))
    assert found.kind is FindingKind.FILL_MISMATCH
    order = book.order(COID)
    assert order is not None and order.filled == 0


def test_a_sell_no_fill_has_the_direction_of_a_buy_yes_order() -> None:
    """Read back from the venue's YES book, buy YES and sell NO are one thing."""
    script = OrderScript()
    book = OrderBook.fold([script.submitted(count=1000), script.accepted()])
    assert book.apply(script.filled(count=100, side=Side.NO, action=Action.SELL, price=5700)) == ()


def test_an_event_for_an_order_never_submitted_is_a_finding() -> None:
    script = OrderScript()
    (found,) = OrderBook().apply(script.accepted("mb-ghost-0"))
    assert found.kind is FindingKind.UNKNOWN_ORDER_EVENT


def test_a_second_intent_for_one_client_order_id_is_a_finding_and_ignored() -> None:
    script = OrderScript()
    book = OrderBook.fold([script.submitted(count=1000)])
    (found,) = book.apply(script.submitted(count=5000))
    assert found.kind is FindingKind.DUPLICATE_SUBMIT
    order = book.order(COID)
    assert order is not None and order.ordered == 1000


def test_an_amendment_below_the_filled_count_is_not_applied() -> None:
    script = OrderScript()
    book = OrderBook.fold([script.submitted(count=1000), script.accepted(),
                           script.filled(count=600)])
    (found,) = book.apply(script.amended(count=500))
    assert found.kind is FindingKind.OVERFILL
    order = book.order(COID)
    assert order is not None and order.ordered == 1000


def test_a_settlement_closes_the_position_even_for_fills_recorded_after_it() -> None:
    script = OrderScript()
    book = OrderBook.fold([script.submitted(count=1000), script.filled(count=400)])
    book.apply(a_settlement(TICKER))
    assert book.positions() == {} and book.settled(TICKER)
    book.apply(script.filled(count=100))
    assert book.positions() == {}


def test_a_venue_order_found_is_known_and_never_sent() -> None:
    found = VenueOrderFound(**envelope("venue-order:v-9"), venue_order_id="v-9",
                            client_order_id="mb-lost-0", ticker=TICKER, side=Side.YES,
                            action=Action.BUY, price=4300, count=100, remaining=100,
                            status="resting")
    book = OrderBook.fold([found])
    assert book.found("v-9") == found and book.knows("mb-lost-0")
    assert book.by_venue_id("v-9") is None


def test_alerts_and_reconciliations_are_remembered() -> None:
    alert = AlertRaised(**envelope("alert:oms:overfill:trade-1"), severity="critical",
                        kind="oms.overfill", message="m")
    elsewhere = AlertRaised(**envelope("alert:edge_decay:NYC:4"), severity="warning",
                            kind="edge_decay", message="m")
    done = [ReconciliationCompleted(**envelope(f"reconciliation:{n}", recorded_at=at(n)),
                                    trigger="scheduled") for n in (5, 3)]
    book = OrderBook.fold([alert, elsewhere, *done])
    assert book.alerted("alert:oms:overfill:trade-1")
    assert not book.alerted("alert:edge_decay:NYC:4")
    assert book.reconciled_until == at(5)


def test_the_city_of_a_market_comes_from_our_orders() -> None:
    script = OrderScript()
    book = OrderBook.fold([script.submitted(city="CHI")])
    assert book.city_of(TICKER) == "CHI" and book.city_of(OTHER_TICKER) is None


def test_resting_counts_in_flight_orders_and_not_closed_ones() -> None:
    script = OrderScript()
    book = OrderBook.fold([
        script.submitted("mb-a-0", count=100),  # in flight
        script.submitted("mb-b-0", count=200), script.accepted("mb-b-0"),
        script.submitted("mb-c-0", count=300), script.accepted("mb-c-0"),
        script.filled("mb-c-0", count=100), script.canceled("mb-c-0"),
        script.submitted("mb-d-0", count=400), script.rejected("mb-d-0"),
    ])
    assert [o.remaining for o in book.resting()] == [100, 200]
    assert [o.client_order_id for o in book.open_orders()] == ["mb-a-0", "mb-b-0"]


def test_a_copy_is_independent() -> None:
    script = OrderScript()
    book = OrderBook.fold([script.submitted(count=1000)])
    copy = book.copy()
    copy.apply(script.filled(count=100))
    assert book.positions() == {} and copy.positions() == {TICKER: 100}
    assert not book.has_fill("fill-1")


def test_folding_at_once_equals_applying_one_by_one() -> None:
    script = OrderScript()
    events = [script.submitted(count=1000), script.filled(count=300), script.accepted(),
              script.filled(count=1000), script.canceled()]
    live = OrderBook()
    for event in events:
        live.apply(event)
    replayed = OrderBook.fold(events)
    assert replayed.orders() == live.orders() and replayed.findings == live.findings
    assert replayed.positions() == live.positions()


# -- recording an intent and its answers ---------------------------------------------------------

def an_intent(coid: str = COID) -> IntendedOrder:
    return IntendedOrder(client_order_id=coid, ticker=TICKER, side=Side.YES, action=Action.BUY,
                         price=4300, count=1000)


def test_an_intent_is_recorded_once_and_never_again() -> None:
    book = OrderBook()
    decision = uuid.UUID(int=7)
    submitted = order_submitted(book, an_intent(), decision_id=decision, city="NYC",
                                recorded_at=T0, correlation_id=CORRELATION)
    assert submitted is not None
    assert (submitted.stream, submitted.version) == (f"order:{COID}", 1)
    assert submitted.decision_id == decision and submitted.city == "NYC"
    again = order_submitted(book, an_intent(), decision_id=decision, city="NYC", recorded_at=at(1),
                            correlation_id=CORRELATION)
    assert again == submitted.model_copy(update={"recorded_at": at(1)})  # same id: a retry

    book.apply(submitted)
    assert order_submitted(book, an_intent(), decision_id=decision, city="NYC", recorded_at=at(2),
                           correlation_id=CORRELATION) is None


def test_answers_take_the_next_version_and_a_deterministic_id() -> None:
    book = OrderBook()
    submitted = order_submitted(book, an_intent(), decision_id=None, city=None, recorded_at=T0,
                                correlation_id=CORRELATION)
    assert submitted is not None
    book.apply(submitted)
    accepted = order_accepted(book, COID, "v-1", recorded_at=T0, correlation_id=CORRELATION)
    assert accepted.version == 2
    assert accepted == order_accepted(book, COID, "v-1", recorded_at=T0, correlation_id=CORRELATION)
    canceled = order_canceled(book, COID, "x", recorded_at=T0, correlation_id=CORRELATION)
    assert canceled.version == 2 and canceled.event_id != accepted.event_id  # they conflict
    book.apply(accepted)
    assert order_canceled(book, COID, "x", recorded_at=T0, correlation_id=CORRELATION).version == 3


def test_an_answer_for_an_order_never_submitted_is_refused() -> None:
    with pytest.raises(UnknownOrder, match="no order mb-ghost-0 was submitted"):
        order_accepted(OrderBook(), "mb-ghost-0", "v-1", recorded_at=T0, correlation_id=CORRELATION)
