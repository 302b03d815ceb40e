"""The execution projection measures each order against its decision's book, on every backend,
resumes from its rows after a restart, and rebuilds to the same rows."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from domain.events import Action, Event, Side, deterministic_id
from eventstore import Ledger
from projections import execution
from projections.execution import ExecutionProjection
from projections.registry import projection_factories
from projections.runner import ProjectionRunner
from replay.rebuild import rebuild_and_compare
from tests.builders import (
    a_decision_to_trade,
    a_leg,
    a_leg_submitted,
    a_market_snapshot,
    an_order_ended,
    an_order_filled,
    an_order_submitted,
    at,
)

LADDER = "KXHIGHNY-26AUG28"
BIN = f"{LADDER}-B81.5"
TAIL = f"{LADDER}-T86"
#: Every rung at YES 30 bid / 36 ask (NO bid 64): the book the decision saw.
SEEN = a_market_snapshot(version=1, recorded_at=at(0), best_yes_bid=3000, best_no_bid=6400)
#: A later book, recorded before the decision: not the one it names.
LATER = a_market_snapshot(version=2, recorded_at=at(0.5), best_yes_bid=5000, best_no_bid=4800)
#: Buy 5 YES at 35¢ (the worked example of ``domain.execution``).
WORKED = a_leg("mb-exec-1", ticker=BIN, price=3500, count=500)
#: Buy 2.5 NO at 70¢ (the NO ask of the seen book), filled 1.5 then canceled.
NO_LEG = a_leg("mb-exec-2", ticker=TAIL, side=Side.NO, price=7000, count=250)
#: Refused by the risk engine: never submitted.
REFUSED = a_leg("mb-exec-3", ticker=f"{LADDER}-B83.5", price=3600, count=1000)
#: Sell 4 YES at 30¢, rejected by the venue.
REJECTED = a_leg("mb-exec-4", ticker=BIN, action=Action.SELL, price=3000, count=400)
DECISION = a_decision_to_trade(SEEN, WORKED, NO_LEG, REFUSED, REJECTED, recorded_at=at(1))
#: A later decision on the later book, whose order is still to be submitted.
PENDING = a_leg("mb-exec-5", ticker=BIN, price=5200, count=100)
NEXT_DECISION = a_decision_to_trade(LATER, PENDING, recorded_at=at(11))


def after(minutes: float, seconds: float) -> datetime:
    return at(minutes) + timedelta(seconds=seconds)


def fill(leg, fill_id: str, price: int, count: int, seconds: float, *, fee: int = 10_000,
         client_order_id: str | None = "", city: str | None = "NYC"):
    """A fill of ``leg`` traded ``seconds`` after the submissions (minute 2), recorded 1 s later."""
    return an_order_filled(
        fill_id, client_order_id=leg.client_order_id if client_order_id == "" else client_order_id,
        ticker=leg.ticker, side=leg.side, action=leg.action, price=price, count=count, fee=fee,
        city=city, recorded_at=after(2, seconds + 1), venue_time=after(2, seconds))


OPERATOR = a_leg("op-1", ticker=TAIL, price=4300, count=1000)


def a_trading_day() -> list[list[Event]]:
    """Two books, a decision naming the first, its orders' lives, and an operator's order."""
    return [
        [SEEN],
        [LATER],
        [DECISION],
        [a_leg_submitted(WORKED, DECISION, recorded_at=at(2)),
         a_leg_submitted(NO_LEG, DECISION, recorded_at=at(2)),
         a_leg_submitted(REJECTED, DECISION, recorded_at=at(2))],
        [an_order_ended(REJECTED.client_order_id, "rejected", version=2, recorded_at=at(2.1))],
        [fill(WORKED, "f-1", 3500, 200, 2, fee=10_000)],
        [fill(NO_LEG, "f-2", 6900, 150, 3, fee=5_000)],
        [fill(WORKED, "f-3", 3600, 300, 5, fee=20_000)],
        [an_order_ended(NO_LEG.client_order_id, "canceled", version=2, canceled_count=100,
                        recorded_at=at(3))],
        # The operator's order: no decision, no city on the submission.
        [an_order_submitted("op-1", ticker=TAIL, price=4300, count=1000, recorded_at=at(4))],
        [fill(OPERATOR, "f-4", 4300, 400, 120 + 150, fee=0, city=None)],  # 150 s after minute 4
        [an_order_ended("op-1", "expired", version=2, recorded_at=at(10))],
        # Fills that are not ours to measure: no client order id, an order never submitted.
        [fill(WORKED, "f-5", 3500, 100, 9, client_order_id=None)],
        [fill(WORKED, "f-6", 3500, 100, 9, client_order_id="mb-unknown")],
        [NEXT_DECISION],
    ]


def fold(ledger: Ledger, commands: list[list[Event]], *, batch_size: int = 5_000) -> None:
    for command in commands:
        ledger.store.append(command)
    ProjectionRunner(ledger, [ExecutionProjection()], batch_size=batch_size).catch_up()


def table(ledger: Ledger, name: str, columns: str = "*") -> dict[str, tuple]:
    with ledger.backend.transaction() as tx:
        return {row[0]: tuple(row[1:]) for row in tx.execute(
            f"SELECT {columns} FROM proj_{name} ORDER BY 1")}


ORDER_MEASURES = ("client_order_id, decision_id, city, side, action, decision_price, mid, spread, "
                  "ordered, filled, fill_rate, avg_fill_price, slippage, fees, fills, "
                  "seconds_to_first_fill, seconds_to_complete, status")


def test_each_order_is_measured_against_the_book_its_decision_named(ledger: Ledger) -> None:
    fold(ledger, a_trading_day())
    orders = table(ledger, "execution_orders", ORDER_MEASURES)
    decision_id = str(DECISION.decision_id)

    assert set(orders) == {"mb-exec-1", "mb-exec-2", "mb-exec-4", "op-1"}
    # The worked example: mid 33¢ and spread 6¢ from the named book (the later one's mid is 51¢),
    # 2 @ 35 and 3 @ 36 average 35.6¢: 0.6¢ worse than the decision, filled after 2 s and 5 s.
    assert orders["mb-exec-1"] == (
        decision_id, "NYC", "yes", "buy", 3500, 3300.0, 600, 500, 500, 1.0, 3560.0, 60.0, 30_000, 2,
        2.0, 5.0, "filled")
    # NO at YES 30/36 is NO 64/70: mid 67¢. 1.5 of 2.5 filled at 69¢, 1¢ better than meant; the
    # rest canceled.
    assert orders["mb-exec-2"] == (
        decision_id, "NYC", "no", "buy", 7000, 6700.0, 600, 250, 150, 0.6, 6900.0, -100.0, 5_000,
        1, 3.0, None, "canceled")
    assert orders["mb-exec-4"] == (
        decision_id, "NYC", "yes", "sell", 3000, 3300.0, 600, 400, 0, 0.0, None, None, 0, 0,
        None, None, "rejected")
    # No decision: no decision price, book or slippage; the rest is measured.
    assert orders["op-1"] == (
        None, "?", "yes", "buy", None, None, None, 1000, 400, 0.4, 4300.0, None, 0, 1, 150.0,
        None, "expired")

    with ledger.backend.transaction() as tx:
        (submitted_at, first, complete), = tx.execute(
            "SELECT submitted_at, first_fill_at, complete_at FROM proj_execution_orders "
            "WHERE client_order_id = 'mb-exec-1'")
    assert (submitted_at, first, complete) == (
        at(2).isoformat(), after(2, 2).isoformat(), after(2, 5).isoformat())


def test_the_summary_per_city_and_over_all(ledger: Ledger) -> None:
    fold(ledger, a_trading_day())
    summary = table(ledger, "execution_summary")

    # NYC: 5 + 1.5 + 0 filled of 5 + 2.5 + 4; slippage (60 x 5 - 100 x 1.5) / 6.5 per contract;
    # first fills after 2 s and 3 s; one complete fill, after 5 s.
    assert summary["NYC"] == (3, 1150, 650, 650 / 1150, (30_000 - 15_000) / 650, 2.5, 5.0, 35_000)
    assert summary["?"] == (1, 1000, 400, 0.4, None, 150.0, None, 0)
    assert summary["all"] == (4, 2150, 1050, 1050 / 2150, (30_000 - 15_000) / 650, 3.0, 5.0,
                              35_000)


def test_the_windows_hold_what_may_still_be_asked_for(ledger: Ledger) -> None:
    fold(ledger, a_trading_day())
    books = table(ledger, "execution_books", "snapshot_id, event_ticker, seq")
    assert books == {str(SEEN.event_id): (LADDER, 0), str(LATER.event_id): (LADDER, 1)}
    # The refused intent waits for a submission that never comes; the others were used.
    intents = table(ledger, "execution_intents", "client_order_id, seq, price, mid, spread")
    assert intents == {REFUSED.client_order_id: (2, 3600, 3300.0, 600),
                       PENDING.client_order_id: (4, 5200, 5100.0, 200)}
    assert table(ledger, "execution_counters") == {"intents": (5,), "snapshots": (2,)}
    assert sorted(table(ledger, "execution_fills")) == ["f-1", "f-2", "f-3", "f-4"]


def test_a_fill_id_recorded_twice_counts_once(ledger: Ledger) -> None:
    day = a_trading_day()
    first = fill(WORKED, "f-1", 3500, 200, 2, fee=10_000)
    again = first.model_copy(update={"stream": "fill:f-1-again",
                                     "event_id": deterministic_id("test", "fill again")})
    fold(ledger, [*day, [again]])
    assert table(ledger, "execution_orders", "client_order_id, filled, fills")["mb-exec-1"] == (
        500, 2)


def test_a_decision_naming_a_book_out_of_the_window_gets_no_mid(
    ledger: Ledger, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(execution, "BOOKS_PER_LADDER", 2)
    monkeypatch.setattr(execution, "INTENTS_KEPT", 1)
    newer = [a_market_snapshot(version=v, recorded_at=at(0.5 + v)) for v in (3, 4)]
    fold(ledger, [[SEEN], [LATER]], batch_size=1)
    fold(ledger, [[newer[0]], [newer[1]], [DECISION]], batch_size=2)
    fold(ledger, [[a_leg_submitted(WORKED, DECISION, recorded_at=at(5))],
                  [a_leg_submitted(REJECTED, DECISION, recorded_at=at(5))]], batch_size=1)

    orders = table(ledger, "execution_orders", "client_order_id, decision_price, mid, spread")
    # The decision named SEEN, dropped when the ladder's fourth book came: no mid, no spread.
    # Only the last intent was kept: an earlier one's order has no decision price either.
    assert orders == {"mb-exec-1": (None, None, None), "mb-exec-4": (3000, None, None)}
    books = table(ledger, "execution_books", "snapshot_id, seq")
    assert books == {str(newer[0].event_id): (2,), str(newer[1].event_id): (3,)}
    assert table(ledger, "execution_intents") == {}
    result = rebuild_and_compare(ledger, projection_factories()[ExecutionProjection.name])
    assert result.matches, result.differences


def test_the_window_spans_a_restart(ledger: Ledger) -> None:
    """Each command folded by a new runner: the books, the intents and their counts come back
    from the rows."""
    for command in a_trading_day():
        fold(ledger, [command], batch_size=1)
    orders = table(ledger, "execution_orders", "client_order_id, decision_price, mid, slippage")
    assert orders["mb-exec-1"] == (3500, 3300.0, 60.0)
    result = rebuild_and_compare(ledger, projection_factories()[ExecutionProjection.name])
    assert result.matches, result.differences


def test_rebuild_equals_live_across_restarts_and_batch_sizes(ledger: Ledger) -> None:
    day = a_trading_day()
    fold(ledger, day[:3], batch_size=2)
    fold(ledger, day[3:8], batch_size=1)
    fold(ledger, day[8:], batch_size=3)

    result = rebuild_and_compare(ledger, projection_factories()[ExecutionProjection.name],
                                 batch_size=1_000)
    assert result.matches, result.differences
    assert result.position == ledger.store.max_position()
