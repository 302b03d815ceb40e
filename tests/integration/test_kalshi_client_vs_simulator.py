"""Our Kalshi client against our exchange simulator over real HTTP: two independent readings of
the spec that must agree (discovery, books, the four order directions, fills, positions, 409)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from adapters.kalshi.client import KalshiClient
from adapters.kalshi.recording import fill_event, ladder_snapshot
from adapters.kalshi.wire.orders import NewOrder
from domain.book import best_bid, yes_ask
from domain.events import Action, MarketKind, Side
from eventstore import Ledger, open_ledger
from eventstore.codec import decode, encode
from projections.portfolio import PortfolioProjection
from projections.runner import ProjectionRunner
from tests.integration.test_kalshi_simulator import NOW, PREFIX, Sim, keys, serving


@pytest.fixture
def exchange(tmp_path: Path) -> Iterator[tuple[Sim, KalshiClient]]:
    with serving(tmp_path / "state", [NOW]) as sim:
        client = KalshiClient(sim.url + PREFIX, keys()[0], sleep=lambda _: None,
                              now_ms=lambda: int(sim.clock[0].timestamp() * 1000))
        try:
            yield sim, client
        finally:
            client.close()


def test_discovery_by_series_gives_the_daily_ladder_with_its_books(
    exchange: tuple[Sim, KalshiClient],
) -> None:
    _, client = exchange
    events = client.events("KXHIGHNY", status="open")
    assert events and all(e.series_ticker == "KXHIGHNY" for e in events)
    quotes = client.quotes(next(e for e in events if len(e.markets) == 6))
    assert [q.strike_type for q in quotes].count("between") == 4
    assert {q.strike_type for q in quotes} == {"less", "between", "greater"}
    assert any(q.yes_bids for q in quotes), "the simulated market makers quote the ladder"


@pytest.mark.parametrize(("side", "action"), [(Side.YES, Action.BUY), (Side.NO, Action.BUY)])
def test_a_crossing_order_fills_and_shows_in_fills_and_positions(
    exchange: tuple[Sim, KalshiClient], side: Side, action: Action,
) -> None:
    _, client = exchange
    event = next(e for e in client.events("KXHIGHNY", status="open") if len(e.markets) == 6)
    quote = next(q for q in client.quotes(event) if q.yes_bids and q.no_bids)
    # Pay the other side's best price: for YES that is the YES ask, for NO the NO ask (1 - YES bid).
    yes_bid, ask = best_bid(quote.yes_bids), yes_ask(quote)
    assert yes_bid is not None and ask is not None
    price = ask if side is Side.YES else 10_000 - yes_bid
    placed = client.create_order(NewOrder(ticker=quote.ticker, client_order_id=f"c-{side}",
                                          side=side, action=action, price=price, count=100,
                                          time_in_force="immediate_or_cancel"))

    assert placed.fill_count > 0
    fills = client.fills(ticker=quote.ticker)
    assert fills and {(f.side, f.action) for f in fills} == {(side, action)}
    market_positions, _ = client.positions(ticker=quote.ticker)
    (position,) = [p for p in market_positions if p.position]
    assert (position.position > 0) == (side is Side.YES)


def test_a_repeated_client_order_id_is_read_back_as_already_placed(
    exchange: tuple[Sim, KalshiClient],
) -> None:
    _, client = exchange
    event = next(e for e in client.events("KXHIGHNY", status="open") if len(e.markets) == 6)
    ticker = event.markets[0].ticker
    order = NewOrder(ticker=ticker, client_order_id="decision-1-leg-0", side=Side.YES,
                     action=Action.BUY, price=100, count=100)

    first = client.create_order(order)
    again = client.create_order(order)

    assert not first.already_placed
    assert again.already_placed and again.order_id == first.order_id
    assert [o.client_order_id for o in client.orders(ticker=ticker)] == ["decision-1-leg-0"]


def test_venue_fills_are_recorded_once_and_reach_the_positions(
    exchange: tuple[Sim, KalshiClient], tmp_path: Path,
) -> None:
    _, client = exchange
    event = next(e for e in client.events("KXHIGHNY", status="open") if len(e.markets) == 6)
    quote = next(q for q in client.quotes(event) if q.no_bids)
    ask = yes_ask(quote)
    assert ask is not None
    client.create_order(NewOrder(ticker=quote.ticker, client_order_id="rec-1", side=Side.YES,
                                 action=Action.BUY, price=ask, count=150,
                                 time_in_force="immediate_or_cancel"))
    fills = client.fills(ticker=quote.ticker)
    assert fills

    def record(ledger: Ledger) -> None:
        for fill in fills:  # a REST poll and a WebSocket report of the same fills, say
            ledger.store.append([fill_event(fill, client_order_id="rec-1", city="NYC",
                                            recorded_at=NOW, correlation_id=uuid.uuid4())])

    with open_ledger(f"sqlite:///{tmp_path / 'ledger.sqlite'}") as ledger:
        record(ledger)
        record(ledger)
        assert ledger.store.max_position() == len(fills)
        runner = ProjectionRunner(ledger, [PortfolioProjection()])
        runner.catch_up()
        with ledger.backend.transaction() as tx:
            (position,) = tx.execute("SELECT position FROM proj_positions WHERE ticker = ?",
                                     (quote.ticker,))[0]
    market_positions, _ = client.positions(ticker=quote.ticker)
    assert position == market_positions[0].position == sum(f.count for f in fills)


def test_a_ladder_snapshot_records_the_whole_event_with_its_books(
    exchange: tuple[Sim, KalshiClient],
) -> None:
    _, client = exchange
    event = next(e for e in client.events("KXHIGHNY", status="open") if len(e.markets) == 6)
    snapshot = ladder_snapshot(event, client.quotes(event), city="NYC",
                               kind=MarketKind.DAILY_HIGH, version=1, recorded_at=NOW,
                               correlation_id=uuid.uuid4())

    assert (snapshot.stream, snapshot.series_ticker) == (f"market:{event.event_ticker}",
                                                         "KXHIGHNY")
    assert [m.ticker for m in snapshot.markets] == [m.ticker for m in event.markets]
    assert decode(snapshot.topic(), encode(snapshot)) == snapshot
