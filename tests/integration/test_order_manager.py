"""The order manager against the exchange simulator over HTTP: intent before request, answer after,
in-flight orders resolved only by reading the venue, and the ledger equal to the venue after."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from adapters.kalshi.client import KalshiClient
from adapters.kalshi.rate_limit import Backoff
from domain.book import best_bid, yes_ask
from domain.events import Action, IntendedOrder, OrderAccepted, OrderSubmitted, Side
from domain.oms import Status
from eventstore import Ledger, open_ledger
from milkbot.orders import OrderManager, StartupReconciliationFailed
from tests.integration.test_kalshi_simulator import NOW, PREFIX, Sim, keys, serving

DECISION = uuid.UUID("00000000-0000-4000-8000-0000000000d1")
CORRELATION = uuid.UUID("00000000-0000-4000-8000-0000000000c1")


@pytest.fixture
def sim(tmp_path: Path) -> Iterator[Sim]:
    with serving(tmp_path / "state", [NOW]) as running:
        yield running


@pytest.fixture
def ledger(tmp_path: Path) -> Iterator[Ledger]:
    with open_ledger(f"sqlite:///{tmp_path / 'ledger.sqlite'}") as opened:
        yield opened


@pytest.fixture
def client(sim: Sim) -> Iterator[KalshiClient]:
    with KalshiClient(sim.url + PREFIX, keys()[0], sleep=lambda _: None, timeout=5,
                      now_ms=lambda: int(sim.clock[0].timestamp() * 1000),
                      read_backoff=Backoff(base=0, attempts=1)) as opened:
        yield opened


def manager(ledger: Ledger, client: KalshiClient, sim: Sim, **kw: Any) -> OrderManager:
    # The clock runs a little past the simulated one so in-flight grace periods can elapse.
    return OrderManager(ledger.store, client, lambda: sim.clock[0] + timedelta(minutes=5),
                        cities={}, in_flight_grace=timedelta(0), **kw)


def set_faults(sim: Sim, **faults: object) -> None:
    assert httpx.post(sim.url + "/_sim/faults", json=faults, timeout=10).status_code == 200


def a_ladder_market(client: KalshiClient) -> tuple[str, int, int]:
    """A NYC market with both sides quoted: (ticker, YES bid, YES ask)."""
    event = client.event("KXHIGHNY-26JAN20")
    for quote in client.quotes(event):
        bid, ask = best_bid(quote.yes_bids), yes_ask(quote)
        if bid is not None and ask is not None:
            return quote.ticker, bid, ask
    raise AssertionError("the simulated market makers quote nothing")


def intent(coid: str, ticker: str, price: int, *, count: int = 100, post_only: bool = False,
           side: Side = Side.YES) -> IntendedOrder:
    return IntendedOrder(client_order_id=coid, ticker=ticker, side=side, action=Action.BUY,
                         price=price, count=count, post_only=post_only)


def test_an_order_is_recorded_before_it_is_sent_and_its_answer_after(
        ledger: Ledger, client: KalshiClient, sim: Sim) -> None:
    ticker, bid, ask = a_ladder_market(client)
    seen: list[tuple[str, int]] = []
    oms = manager(ledger, client, sim,
                  checkpoint=lambda point, _coid: seen.append((point, ledger.store.max_position())))

    recorded = oms.place([intent("mb-a-0", ticker, ask), intent("mb-a-1", ticker, bid - 100, post_only=True)],
                         decision_id=DECISION, city="NYC", correlation_id=CORRELATION)

    assert [type(e) for e in recorded] == [OrderSubmitted, OrderAccepted] * 2
    # The intent was in the ledger when the request left; the answer came after.
    assert seen == [("intent recorded", 1), ("answer received", 1),
                    ("intent recorded", 3), ("answer received", 3)]
    oms.reconcile("scheduled")
    assert oms.book.order("mb-a-0").status is Status.FILLED  # type: ignore[union-attr]
    assert oms.book.order("mb-a-1").status is Status.ACCEPTED  # type: ignore[union-attr]
    positions, _ = client.positions()
    assert oms.book.positions() == {p.ticker: p.position for p in positions if p.position}


def test_a_known_client_order_id_is_never_sent_again(ledger: Ledger, client: KalshiClient,
                                                     sim: Sim) -> None:
    ticker, bid, _ = a_ladder_market(client)
    order = intent("mb-b-0", ticker, bid - 200, post_only=True)
    first = manager(ledger, client, sim)
    first.place([order], decision_id=DECISION, city="NYC", correlation_id=CORRELATION)

    restarted = manager(ledger, client, sim)  # a restart folds the book from the ledger
    assert restarted.place([order], decision_id=DECISION, city="NYC", correlation_id=CORRELATION) == []
    assert [o.client_order_id for o in client.orders(ticker=ticker)] == ["mb-b-0"]


def test_a_lost_answer_stays_in_flight_until_reconciliation_reads_the_venue(
        ledger: Ledger, client: KalshiClient, sim: Sim) -> None:
    ticker, bid, _ = a_ladder_market(client)
    oms = manager(ledger, client, sim)
    set_faults(sim, lose_create_answer_next=1)

    recorded = oms.place([intent("mb-c-0", ticker, bid - 100, post_only=True)], decision_id=DECISION,
                         city="NYC", correlation_id=CORRELATION)

    assert [type(e) for e in recorded] == [OrderSubmitted]
    assert [o.client_order_id for o in oms.book.in_flight()] == ["mb-c-0"]
    # Nothing resubmits it: placing the same decision again sends nothing.
    assert oms.place([intent("mb-c-0", ticker, bid - 100, post_only=True)], decision_id=DECISION,
                     city="NYC", correlation_id=CORRELATION) == []
    oms.reconcile("scheduled")
    order = oms.book.order("mb-c-0")
    assert order is not None and order.status is Status.ACCEPTED and order.venue_order_id


def test_an_order_that_never_reached_the_venue_is_rejected_by_a_read(
        ledger: Ledger, client: KalshiClient, sim: Sim) -> None:
    ticker, bid, _ = a_ladder_market(client)
    oms = manager(ledger, client, sim)
    set_faults(sim, server_error_next=1)  # refused before anything was done: maybe-sent to us

    oms.place([intent("mb-d-0", ticker, bid - 100, post_only=True)], decision_id=DECISION, city="NYC",
              correlation_id=CORRELATION)
    assert [o.client_order_id for o in oms.book.in_flight()] == ["mb-d-0"]
    oms.reconcile("scheduled")
    order = oms.book.order("mb-d-0")
    assert order is not None and order.status is Status.REJECTED
    assert client.orders(ticker=ticker) == []


def test_cancel_open_cancels_resting_orders_and_records_it(ledger: Ledger, client: KalshiClient,
                                                           sim: Sim) -> None:
    ticker, bid, _ = a_ladder_market(client)
    oms = manager(ledger, client, sim)
    oms.place([intent("mb-e-0", ticker, bid - 100, post_only=True)], decision_id=DECISION,
              city="NYC", correlation_id=CORRELATION)

    canceled = oms.cancel_open("kill switch")

    assert len(canceled) == 1 and oms.book.open_orders() == ()
    assert [o.status for o in client.orders(ticker=ticker)] == ["canceled"]


def test_a_startup_reconciliation_that_cannot_read_the_venue_stops_trading(
        ledger: Ledger, client: KalshiClient, sim: Sim) -> None:
    oms = manager(ledger, client, sim)
    set_faults(sim, server_error_next=10)
    with pytest.raises(StartupReconciliationFailed, match="not trading"):
        oms.reconcile("startup")
    assert ledger.store.max_position() == 1  # the failure is recorded
