"""The order lifecycle table: every edge, taken once through the table and once through the book
folding the event that causes it; and a selection of pairs that must stay invalid."""

from __future__ import annotations

import itertools

import pytest

from domain.events import Event, OrderAmended, OrderFilled
from domain.oms import (
    OPEN,
    TERMINAL,
    TRANSITIONS,
    FindingKind,
    InvalidTransition,
    OrderBook,
    Status,
    Trigger,
    transition,
)
from tests.oms_builders import COID, OrderScript

ORDERED = 1000
#: Filled before the order reaches a status that may carry fills.
PART = 300

EDGES = sorted(TRANSITIONS.items(), key=lambda edge: (edge[0][0].value, edge[0][1].value))


def edge_id(edge: tuple[tuple[Status, Trigger], Status]) -> str:
    (status, trigger), after = edge
    return f"{status.value}-{trigger.value}-{after.value}"


def events_reaching(status: Status, script: OrderScript) -> list[Event]:
    """The shortest recorded history that leaves an order of ``ORDERED`` in ``status``."""
    submitted = script.submitted(count=ORDERED)
    if status is Status.IN_FLIGHT:
        return [submitted]
    if status is Status.REJECTED:
        return [submitted, script.rejected()]
    accepted = script.accepted()
    if status is Status.ACCEPTED:
        return [submitted, accepted]
    if status is Status.FILLED:
        return [submitted, accepted, script.filled(count=ORDERED)]
    partial = [submitted, accepted, script.filled(count=PART)]
    if status is Status.PARTIALLY_FILLED:
        return partial
    if status is Status.CANCELED:
        return [*partial, script.canceled(canceled_count=ORDERED - PART)]
    assert status is Status.EXPIRED
    return [*partial, script.expired()]


def event_for(trigger: Trigger, book: OrderBook, script: OrderScript) -> Event:
    """The recorded event that is ``trigger`` for the order as ``book`` has it."""
    order = book.order(COID)
    assert order is not None
    if trigger is Trigger.ACCEPT:
        return script.accepted()
    if trigger is Trigger.REJECT:
        return script.rejected()
    if trigger is Trigger.FILL:
        return script.filled(count=1)  # a hundredth of a contract: a fractional fill
    if trigger is Trigger.FILL_COMPLETE:
        return script.filled(count=order.remaining)
    if trigger is Trigger.AMEND:
        return script.amended(count=order.ordered + 500, price=4400)
    if trigger is Trigger.AMEND_COMPLETE:
        return script.amended(count=order.filled, price=4400)
    if trigger is Trigger.CANCEL:
        return script.canceled()
    assert trigger is Trigger.EXPIRE
    return script.expired()


# -- every edge ----------------------------------------------------------------------------------

@pytest.mark.parametrize("edge", EDGES, ids=edge_id)
def test_the_table_gives_each_edge(edge: tuple[tuple[Status, Trigger], Status]) -> None:
    (status, trigger), after = edge
    assert transition(status, trigger) is after


@pytest.mark.parametrize("edge", EDGES, ids=edge_id)
def test_the_book_follows_each_edge(edge: tuple[tuple[Status, Trigger], Status]) -> None:
    (status, trigger), after = edge
    script = OrderScript()
    book = OrderBook.fold(events_reaching(status, script))
    before = book.order(COID)
    assert before is not None and before.status is status and book.findings == ()

    event = event_for(trigger, book, script)
    assert book.apply(event) == ()

    order = book.order(COID)
    assert order is not None and order.status is after
    assert order.filled <= order.ordered
    if isinstance(event, OrderFilled):
        assert order.filled == before.filled + event.count
    if isinstance(event, OrderAmended):
        assert (order.ordered, order.price) == (event.count, 4400)
    if after is Status.FILLED:
        assert order.remaining == 0


#: Self-loops on a trigger that carries no new fact: the same answer heard again, or late.
REPEATS = [e for e in EDGES if e[0][0] is e[1]
           and e[0][1] in (Trigger.ACCEPT, Trigger.REJECT, Trigger.CANCEL, Trigger.EXPIRE)]


@pytest.mark.parametrize("edge", REPEATS, ids=edge_id)
def test_a_report_heard_twice_changes_nothing(edge: tuple[tuple[Status, Trigger], Status]) -> None:
    (status, trigger), _ = edge
    script = OrderScript()
    book = OrderBook.fold(events_reaching(status, script))
    before = book.order(COID)
    book.apply(event_for(trigger, book, script))
    after = book.order(COID)
    assert after is not None and before is not None
    assert (after.status, after.fills, after.price) == (before.status, before.fills, before.price)


# -- the shape of the table ----------------------------------------------------------------------

def test_every_status_is_reachable_from_in_flight() -> None:
    reached, frontier = {Status.IN_FLIGHT}, [Status.IN_FLIGHT]
    while frontier:
        status = frontier.pop()
        for (source, _), target in TRANSITIONS.items():
            if source is status and target not in reached:
                reached.add(target)
                frontier.append(target)
    assert reached == set(Status)


def test_every_trigger_is_used_and_open_and_terminal_split_the_statuses() -> None:
    assert {trigger for _, trigger in TRANSITIONS} == set(Trigger)
    assert set(Status) == OPEN | TERMINAL and not OPEN & TERMINAL


def test_a_terminal_status_never_reopens_except_for_a_late_amendment_up() -> None:
    reopening = {(s, t) for (s, t), after in TRANSITIONS.items() if s in TERMINAL and after in OPEN}
    assert reopening == {(Status.FILLED, Trigger.AMEND)}


def test_rejected_leaves_only_through_nothing() -> None:
    assert [t for (s, t) in TRANSITIONS if s is Status.REJECTED] == [Trigger.REJECT]
    assert {s for (s, t) in TRANSITIONS if TRANSITIONS[(s, t)] is Status.REJECTED} == {
        Status.IN_FLIGHT, Status.REJECTED}


# -- invalid pairs -------------------------------------------------------------------------------

INVALID = [
    (Status.FILLED, Trigger.CANCEL),  # nothing rests to cancel
    (Status.FILLED, Trigger.EXPIRE),
    (Status.FILLED, Trigger.REJECT),
    (Status.ACCEPTED, Trigger.REJECT),  # the venue does not refuse what it accepted
    (Status.PARTIALLY_FILLED, Trigger.REJECT),
    (Status.IN_FLIGHT, Trigger.AMEND),  # amending needs the venue's id
    (Status.ACCEPTED, Trigger.AMEND_COMPLETE),  # down to nothing filled is a cancel
    (Status.CANCELED, Trigger.AMEND),
    (Status.EXPIRED, Trigger.AMEND),
    (Status.CANCELED, Trigger.REJECT),
    (Status.REJECTED, Trigger.ACCEPT),  # "never reached the venue" turned up: a finding
    (Status.REJECTED, Trigger.FILL),
    (Status.REJECTED, Trigger.CANCEL),
]


def test_the_invalid_selection_is_really_missing_from_the_table() -> None:
    assert not set(INVALID) & TRANSITIONS.keys()
    everything = set(itertools.product(Status, Trigger))
    assert TRANSITIONS.keys() < everything


@pytest.mark.parametrize(("status", "trigger"), INVALID, ids=lambda v: v.value)
def test_an_invalid_transition_raises_a_named_error(status: Status, trigger: Trigger) -> None:
    with pytest.raises(InvalidTransition) as raised:
        transition(status, trigger, "mb-x-0")
    assert (raised.value.status, raised.value.trigger) == (status, trigger)
    assert str(raised.value) == f"order mb-x-0: no transition from {status.value} on {trigger.value}"


@pytest.mark.parametrize(("status", "trigger"), INVALID, ids=lambda v: v.value)
def test_the_book_records_an_invalid_transition_as_a_finding(status: Status,
                                                             trigger: Trigger) -> None:
    script = OrderScript()
    book = OrderBook.fold(events_reaching(status, script))
    before = book.order(COID)
    event = event_for(trigger, book, script)

    (found,) = book.apply(event)

    assert found.kind is FindingKind.INVALID_TRANSITION
    assert dict(found.context)["status"] == status.value
    assert dict(found.context)["trigger"] == trigger.value
    assert book.order(COID) == before  # not applied
    assert book.findings == (found,)
