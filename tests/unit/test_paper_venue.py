"""The paper venue answers like Kalshi's order and portfolio endpoints: refusals, resting orders,
fills from later ladders, collateral, settlement from the market data, restore from the ledger."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from adapters.kalshi.errors import KalshiRejected
from adapters.kalshi.wire.markets import Market
from adapters.kalshi.wire.orders import NewOrder
from domain.events import Action, MarketSnapshotted, Side
from domain.events.base import MarketKind
from domain.money import MONEY_SCALE, PRICE_SCALE
from domain.oms import OrderBook
from milkbot.paper import PaperVenue, paper_order_id
from tests.builders import envelope
from tests.unit.test_paper_fill_model import CENT, TICKER, C, quote

T0 = datetime(2026, 8, 28, 14, tzinfo=UTC)
START = 1_000 * MONEY_SCALE


@dataclass
class Clock:
    now: datetime = T0

    def __call__(self) -> datetime:
        return self.now


@dataclass
class MarketData:
    """``market(ticker)`` as Kalshi answers it: open until told otherwise."""

    results: dict[str, tuple[str, str]] = field(default_factory=dict)
    reads: list[str] = field(default_factory=list)

    def market(self, ticker: str) -> Market:
        self.reads.append(ticker)
        status, result = self.results.get(ticker, ("active", ""))
        return Market(ticker=ticker, event_ticker="KXHIGHNY-26AUG28", status=status,  # type: ignore[arg-type]
                      strike_type="between", floor_strike=Decimal(81), cap_strike=Decimal(82), open_time=T0,
                      close_time=T0 + timedelta(hours=10), yes_bid=0, yes_ask=0, no_bid=0, no_ask=0,
                      last_price=0, volume=0, open_interest=0, result=result, yes_sub_title="",
                      rules_primary="", settlement_value=None)


def ladder(version: int, at: datetime, **book: object) -> MarketSnapshotted:
    q = quote(**book).model_copy(update={"close_time": T0 + timedelta(hours=10)})  # type: ignore[arg-type]
    return MarketSnapshotted(**envelope("market:KXHIGHNY-26AUG28", version, recorded_at=at),  # type: ignore[arg-type]
                             series_ticker="KXHIGHNY", event_ticker="KXHIGHNY-26AUG28", city="NYC",
                             kind=MarketKind.DAILY_HIGH, source="test", markets=(q,))


def an_order(coid: str = "mb-1", *, price: int = 40 * CENT, count: int = 5 * C, post_only: bool = True,
             tif: str = "good_till_canceled", side: Side = Side.YES) -> NewOrder:
    return NewOrder(ticker=TICKER, client_order_id=coid, side=side, action=Action.BUY, price=price,
                    count=count, post_only=post_only, time_in_force=tif)  # type: ignore[arg-type]


@pytest.fixture
def venue() -> tuple[PaperVenue, Clock, MarketData]:
    clock, data = Clock(), MarketData()
    return PaperVenue(data, clock, starting_balance=START), clock, data


def test_nothing_is_taken_before_the_market_was_seen(venue: tuple[PaperVenue, Clock, MarketData]) -> None:
    paper, _, _ = venue
    with pytest.raises(KalshiRejected) as refused:
        paper.create_order(an_order())
    assert refused.value.code == "market_not_found"


def test_a_resting_bid_holds_its_cost_then_fills_when_the_book_trades_through(
        venue: tuple[PaperVenue, Clock, MarketData]) -> None:
    paper, clock, _ = venue
    paper.observe(ladder(1, T0))
    placed = paper.create_order(an_order())
    assert placed.order_id == paper_order_id("mb-1") and placed.remaining_count == 5 * C
    assert paper.balance().balance == START - 40 * CENT * 5 * C  # a resting buy holds its cost
    assert [o.client_order_id for o in paper.orders(status="resting")] == ["mb-1"]

    clock.now = T0 + timedelta(minutes=15)
    fills = paper.observe(ladder(2, clock.now, yes_bids=((38 * CENT, 5 * C),), no_bids=((61 * CENT, 5 * C),)))
    assert [(f.count, f.price, f.is_taker) for f in fills] == [(5 * C, 40 * CENT, False)]
    assert [f.fill_id for f in paper.drain()] == [fills[0].fill_id]
    assert paper.drain() == []  # each handed out once
    assert paper.balance().balance == START - 40 * CENT * 5 * C  # now paid, no longer held
    assert paper.orders(status="resting") == [] and paper.orders(status="executed")[0].fill_count == 5 * C
    positions, _ = paper.positions()
    assert [(p.ticker, p.position) for p in positions] == [(TICKER, 5 * C)]


def test_refusals_name_what_kalshi_names(venue: tuple[PaperVenue, Clock, MarketData]) -> None:
    paper, _, _ = venue
    paper.observe(ladder(1, T0))
    for order, code in ((an_order(price=45 * CENT), "post_only_cross"),
                        (an_order(count=10_000 * C, price=30 * CENT), "insufficient_balance")):
        with pytest.raises(KalshiRejected) as refused:
            paper.create_order(order)
        assert refused.value.code == code
    paper.create_order(an_order("mb-2"))
    with pytest.raises(KalshiRejected) as refused:
        paper.create_order(an_order("mb-2"))
    assert refused.value.code == "duplicate_client_order_id"


def test_a_cancel_frees_the_collateral_and_the_order_is_found_by_client_id(
        venue: tuple[PaperVenue, Clock, MarketData]) -> None:
    paper, _, _ = venue
    paper.observe(ladder(1, T0))
    placed = paper.create_order(an_order())
    change = paper.cancel_order(placed.order_id, TICKER)
    assert change.reduced_by == 5 * C and paper.balance().balance == START
    found = paper.find_order(TICKER, "mb-1")
    assert found is not None and found.status == "canceled"
    assert paper.find_order(TICKER, "mb-unknown") is None


def test_a_held_market_settles_once_kalshi_determines_it(venue: tuple[PaperVenue, Clock, MarketData]) -> None:
    paper, clock, data = venue
    paper.observe(ladder(1, T0))
    paper.create_order(an_order(price=45 * CENT, post_only=False, tif="immediate_or_cancel"))  # 5 at 45c
    fee = paper.drain()[0].fee
    assert paper.settlements() == [] and data.reads == []  # not closed yet: not even asked
    clock.now = T0 + timedelta(hours=11)
    assert paper.settlements() == [] and data.reads == [TICKER]  # closed, not determined yet
    data.results[TICKER] = ("determined", "yes")
    [settled] = paper.settlements()
    assert (settled.market_result, settled.settlement_value, settled.yes_count) == ("yes", PRICE_SCALE, 5 * C)
    assert paper.balance().balance == START - 45 * CENT * 5 * C - fee + PRICE_SCALE * 5 * C
    assert paper.positions()[0] == []
    assert len(paper.settlements()) == 1  # read once, answered the same way after


def test_restore_takes_the_ledger_account_and_requeues_resting_orders(
        venue: tuple[PaperVenue, Clock, MarketData]) -> None:
    from tests.builders import an_order_accepted, an_order_submitted

    paper, _, _ = venue
    submitted = an_order_submitted("mb-1", ticker=TICKER)
    accepted = an_order_accepted("mb-1")
    paper.restore(OrderBook.fold([submitted, accepted]), {})
    [order] = paper.orders(status="resting")
    assert (order.order_id, order.client_order_id) == ("v-mb-1", "mb-1")
    assert order.client_order_id == "mb-1" and order.remaining_count == submitted.count
    assert paper.orders_by_id[order.order_id].queue_ahead is None  # back of the queue at the next look
    paper.observe(ladder(1, T0))
    assert paper.orders_by_id[order.order_id].queue_ahead is not None
