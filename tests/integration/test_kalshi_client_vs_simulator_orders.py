"""Our Kalshi client against our exchange simulator over real HTTP, for order management (amend,
decrease, batch), collateral, settlements, the historical archive and the simulator's faults: two
independent readings of the spec that must agree."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from adapters.kalshi.client import KalshiClient
from adapters.kalshi.errors import KalshiRejected, KalshiUnavailable, NotFound, OrderInFlight
from adapters.kalshi.rate_limit import Backoff
from adapters.kalshi.simulator import PREFIX
from adapters.kalshi.simulator.app import STARTING_BALANCE
from adapters.kalshi.wire.markets import Event
from adapters.kalshi.wire.orders import BatchItemError, NewOrder, OrderChange, Placement
from domain.book import yes_ask
from domain.events import Action, Side
from domain.money import MONEY_SCALE, notional
from tests.integration.test_kalshi_simulator import NOW, Sim, keys
from tests.integration.test_kalshi_simulator_orders import ARCHIVED, SETTLED, serving

Connect = Callable[..., tuple[Sim, KalshiClient]]


@pytest.fixture
def connect(tmp_path: Path) -> Iterator[Connect]:
    """Starts a simulator (with the balance asked for) and a client (with the timeout asked for)."""
    with ExitStack() as stack:
        def start(*, balance: int = STARTING_BALANCE, timeout: float = 10.0) -> tuple[Sim, KalshiClient]:
            sim = stack.enter_context(serving(tmp_path / "state", [NOW], balance))
            client = stack.enter_context(KalshiClient(
                sim.url + PREFIX, keys()[0], sleep=lambda _: None, timeout=timeout,
                now_ms=lambda: int(sim.clock[0].timestamp() * 1000),
                read_backoff=Backoff(base=0, attempts=2)))
            return sim, client

        yield start


def todays_ladder(client: KalshiClient) -> Event:
    return client.event("KXHIGHNY-26JAN20")


def a_yes_buy(ticker: str, coid: str, price: int, count: int = 100, **kw: object) -> NewOrder:
    return NewOrder(ticker=ticker, client_order_id=coid, side=Side.YES, action=Action.BUY, price=price,
                    count=count, **kw)  # type: ignore[arg-type]


def buy_at_the_ask(client: KalshiClient, ticker: str, coid: str, count: int = 100) -> Placement:
    quote = next(q for q in client.quotes(todays_ladder(client)) if q.ticker == ticker)
    ask = yes_ask(quote)
    assert ask is not None
    placed = client.create_order(a_yes_buy(ticker, coid, ask, count, time_in_force="immediate_or_cancel"))
    assert placed.fill_count == count
    return placed


def set_faults(sim: Sim, **faults: object) -> None:
    assert httpx.post(sim.url + "/_sim/faults", json=faults, timeout=10).status_code == 200


# --- amend, decrease, batch ----------------------------------------------------------------------

def test_amend_and_decrease_a_no_order_through_the_client(
        connect: Connect) -> None:
    _, client = connect()
    ticker = todays_ladder(client).markets[1].ticker
    placed = client.create_order(NewOrder(ticker=ticker, client_order_id="c-no", side=Side.NO,
                                          action=Action.BUY, price=100, count=300))  # rests: YES ask 0.99

    amended = client.amend_order(placed.order_id, ticker, Side.NO, Action.BUY, 200, 500,
                                 client_order_id="c-no", updated_client_order_id="c-no-2")

    assert (amended.order_id, amended.client_order_id, amended.remaining_count) == (
        placed.order_id, "c-no-2", 500)
    venue = client.order(placed.order_id)
    assert (venue.side, venue.action, venue.price, venue.yes_price, venue.book_side) == (
        Side.NO, Action.BUY, 200, 9800, "ask")
    assert (venue.client_order_id, venue.initial_count, venue.remaining_count) == ("c-no-2", 500, 500)
    assert client.decrease_order(placed.order_id, ticker, reduce_by=150).remaining_count == 350
    assert client.decrease_order(placed.order_id, ticker, reduce_to=100).remaining_count == 100
    with pytest.raises(KalshiRejected) as refused:
        client.amend_order(placed.order_id, ticker, Side.YES, Action.BUY, 200, 500)  # another side
    assert (refused.value.status, refused.value.code) == (400, "invalid_parameters")
    assert client.decrease_order(placed.order_id, ticker, reduce_to=0).remaining_count == 0
    assert client.order(placed.order_id).status == "canceled"
    with pytest.raises(NotFound):
        client.amend_order(placed.order_id, ticker, Side.NO, Action.BUY, 200, 500)


def test_a_batch_through_the_client_fails_only_the_repeated_client_order_id(
        connect: Connect) -> None:
    _, client = connect()
    ticker = todays_ladder(client).markets[0].ticker
    results = client.batch_create_orders([a_yes_buy(ticker, "bt-1", 100), a_yes_buy(ticker, "bt-2", 200),
                                          a_yes_buy(ticker, "bt-1", 300)])

    first, second, third = results
    assert isinstance(first, Placement) and isinstance(second, Placement)
    assert (first.client_order_id, first.remaining_count, first.fill_count) == ("bt-1", 100, 0)
    assert isinstance(third, BatchItemError)
    assert (third.client_order_id, third.code) == ("bt-1", "order_already_exists")
    found = client.find_order(ticker, "bt-1")
    assert found is not None and (found.order_id, found.yes_price) == (first.order_id, 100)
    assert sorted(o.client_order_id for o in client.orders(ticker=ticker)) == ["bt-1", "bt-2"]


def test_a_batch_cancel_through_the_client_answers_each_order(connect: Connect) -> None:
    _, client = connect()
    ticker = todays_ladder(client).markets[0].ticker
    placed = [client.create_order(a_yes_buy(ticker, f"bc-{i}", 100 + 100 * i, 200)) for i in range(2)]

    results = client.batch_cancel_orders([p.order_id for p in placed] + ["no-such-order"])

    first, second, missing = results
    assert isinstance(first, OrderChange) and isinstance(second, OrderChange)
    assert [(r.order_id, r.reduced_by) for r in (first, second)] == [(p.order_id, 200) for p in placed]
    assert isinstance(missing, BatchItemError) and missing.code
    assert {client.order(p.order_id).status for p in placed} == {"canceled"}


# --- collateral ----------------------------------------------------------------------------------

def test_the_balance_the_client_reads_is_net_of_resting_orders(
        connect: Connect) -> None:
    _, client = connect(balance=5 * MONEY_SCALE)
    ticker = todays_ladder(client).markets[3].ticker
    assert client.balance().balance == 5 * MONEY_SCALE

    resting = client.create_order(a_yes_buy(ticker, "hold-1", 200, 20_000))  # 200 YES at 0.02
    assert client.balance().balance == 5 * MONEY_SCALE - notional(200, 20_000)
    with pytest.raises(KalshiRejected) as refused:
        client.create_order(a_yes_buy(ticker, "hold-2", 200, 10_000))
    assert (refused.value.status, refused.value.code) == (400, "insufficient_balance")

    assert client.cancel_order(resting.order_id, ticker).reduced_by == 20_000
    assert client.balance().balance == 5 * MONEY_SCALE
    assert client.create_order(a_yes_buy(ticker, "hold-2", 200, 10_000)).remaining_count == 10_000


# --- settlements and the archive -----------------------------------------------------------------

def test_settlements_and_the_archive_read_through_the_client(
        connect: Connect) -> None:
    sim, client = connect()
    event = todays_ladder(client)
    tickers = [m.ticker for m in event.markets]
    for i, ticker in enumerate(tickers):
        buy_at_the_ask(client, ticker, f"ladder-{i}")
    bought = {f.fill_id for f in client.fills()}
    assert client.settlements() == []

    sim.clock[0] = SETTLED
    settlements = client.settlements(event_ticker=event.event_ticker)
    assert sorted(s.ticker for s in settlements) == sorted(tickers)
    (winner,) = [s for s in settlements if s.market_result == "yes"]
    assert (winner.revenue, winner.settlement_value, winner.yes_count) == (MONEY_SCALE, 10_000, 100)
    assert all(s.revenue == 0 and s.settlement_value == 0 for s in settlements if s is not winner)
    assert {s.settled_time for s in settlements} == {datetime(2026, 1, 21, 14, tzinfo=UTC)}
    assert client.historical_fills() == [] and client.market(winner.ticker).result == "yes"

    sim.clock[0] = ARCHIVED
    cutoff = client.historical_cutoff()
    assert cutoff.market_settled_ts == cutoff.orders_updated_ts == datetime(2026, 1, 23, tzinfo=UTC)
    with pytest.raises(NotFound):
        client.market(winner.ticker)
    archived = client.historical_market(winner.ticker)
    assert (archived.status, archived.result, archived.settlement_value) == ("finalized", "yes", 10_000)
    assert [m.ticker for m in client.historical_markets(event_ticker=event.event_ticker)] == tickers
    assert client.fills() == [] and {f.fill_id for f in client.historical_fills()} == bought
    assert client.orders() == [] and len(client.historical_orders()) == len(tickers)
    found = client.find_order(tickers[0], "ladder-0")  # looked for live, then in the archive
    assert found is not None and found.status == "executed"
    positions, events = client.historical_positions()
    assert sorted(p.ticker for p in positions) == sorted(tickers) and {p.position for p in positions} == {0}
    assert [e.event_ticker for e in events] == [event.event_ticker]
    assert client.positions() == ([], [])
    assert len(client.settlements()) == len(tickers)


# --- faults --------------------------------------------------------------------------------------

def test_a_create_that_times_out_is_in_flight_and_was_placed(
        connect: Connect) -> None:
    sim, client = connect(timeout=0.2)
    ticker = todays_ladder(client).markets[2].ticker
    set_faults(sim, timeout_next=1)

    with pytest.raises(OrderInFlight) as in_flight:
        client.create_order(a_yes_buy(ticker, "lost-in-time", 100))

    assert in_flight.value.client_order_id == "lost-in-time"
    found = client.find_order(ticker, "lost-in-time")
    assert found is not None and found.status == "resting"


def test_a_read_that_times_out_is_retried(connect: Connect) -> None:
    sim, client = connect(timeout=0.2)
    set_faults(sim, timeout_next=1)
    assert client.balance().balance == STARTING_BALANCE  # the retry got the answer
    assert httpx.get(sim.url + "/_sim/faults", timeout=10).json()["timeout_next"] == 0


def test_latency_beyond_the_timeout_makes_reads_unavailable_and_writes_in_flight(
        connect: Connect) -> None:
    sim, client = connect(timeout=0.2)
    ticker = todays_ladder(client).markets[2].ticker
    set_faults(sim, latency_ms=30_000)
    with pytest.raises(KalshiUnavailable):
        client.balance()
    with pytest.raises(OrderInFlight):
        client.create_order(a_yes_buy(ticker, "slow-1", 100))
    set_faults(sim, latency_ms=5)
    assert client.balance().balance == STARTING_BALANCE


def test_repeated_and_reordered_fills_reach_the_client_as_sent(
        connect: Connect) -> None:
    sim, client = connect()
    for i, market in enumerate(todays_ladder(client).markets[1:4]):
        buy_at_the_ask(client, market.ticker, f"f-{i}")
    clean = [f.fill_id for f in client.fills()]

    set_faults(sim, duplicate_fills=True)
    doubled = client.fills()
    assert [f.fill_id for f in doubled] == [i for i in clean for _ in (1, 2)]
    assert len({f.fill_id: f for f in doubled}) == len(clean)  # what a recorder keeps, by fill id
    set_faults(sim, out_of_order_fills=True)
    assert [f.fill_id for f in client.fills()] == clean[::-1]
