"""The paper fill model (``domain.paper``): taking from the displayed book, the queue, trading
through, and the invariants that hold for any sequence of quotes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.events import Action, Side
from domain.events.market import MarketQuote
from domain.money import PRICE_SCALE, taker_fee
from domain.paper import PaperOrder, PaperStatus, PostOnlyWouldCross, observe, place

T0 = datetime(2026, 8, 28, 14, tzinfo=UTC)
TICKER = "KXHIGHNY-26AUG28-B81.5"
C = 100  # one contract (count units)
CENT = 100  # one cent (price units)


def quote(yes_bids: tuple[tuple[int, int], ...] = ((40 * CENT, 10 * C),),
          no_bids: tuple[tuple[int, int], ...] = ((55 * CENT, 10 * C),), *, volume: int = 0,
          status: str = "active") -> MarketQuote:
    """Default: YES bid 40c x10, YES ask 45c x10 (the NO bid at 55c)."""
    return MarketQuote(ticker=TICKER, status=status, yes_bids=yes_bids, no_bids=no_bids,  # type: ignore[arg-type]
                       volume=volume)


def an_order(side: Side = Side.YES, action: Action = Action.BUY, price: int = 40 * CENT,
             count: int = 5 * C) -> PaperOrder:
    return PaperOrder(order_id="p-1", client_order_id="mb-1", ticker=TICKER, side=side, action=action,
                      price=price, initial=count, created=T0)


def test_a_taker_walks_the_displayed_asks_at_their_prices_and_pays_the_fee() -> None:
    book = quote(no_bids=((55 * CENT, 2 * C), (54 * CENT, 10 * C)))  # asks 45c x2, 46c x10
    order, fills = place(an_order(price=46 * CENT, count=5 * C), book, post_only=False, immediate=True,
                         now=T0)
    assert [(f.price, f.count, f.is_taker) for f in fills] == [(45 * CENT, 2 * C, True),
                                                              (46 * CENT, 3 * C, True)]
    assert [f.fee for f in fills] == [taker_fee(45 * CENT, 2 * C), taker_fee(46 * CENT, 3 * C)]
    assert order.status is PaperStatus.EXECUTED and order.remaining == 0


def test_an_immediate_order_cancels_what_the_book_cannot_fill() -> None:
    order, fills = place(an_order(price=45 * CENT, count=15 * C), quote(), post_only=False, immediate=True,
                         now=T0)
    assert sum(f.count for f in fills) == 10 * C
    assert order.status is PaperStatus.CANCELED and order.filled == 10 * C


def test_a_no_buy_takes_the_yes_bids_at_the_complementary_price() -> None:
    _, fills = place(an_order(Side.NO, Action.BUY, price=60 * CENT, count=3 * C), quote(),
                         post_only=False, immediate=True, now=T0)
    assert [(f.price, f.yes_price, f.book_side.value) for f in fills] == [(60 * CENT, 40 * CENT, "ask")]


def test_a_post_only_order_that_would_cross_is_refused() -> None:
    with pytest.raises(PostOnlyWouldCross):
        place(an_order(price=45 * CENT), quote(), post_only=True, immediate=False, now=T0)


def test_a_resting_order_joins_the_back_of_its_level() -> None:
    order, fills = place(an_order(price=40 * CENT), quote(), post_only=True, immediate=False, now=T0)
    assert fills == [] and order.queue_ahead == 10 * C and order.status is PaperStatus.RESTING
    improved, _ = place(an_order(price=41 * CENT), quote(), post_only=True, immediate=False, now=T0)
    assert improved.queue_ahead == 0


def test_trades_at_our_level_use_up_the_queue_ahead_first() -> None:
    order, _ = place(an_order(price=40 * CENT, count=5 * C), quote(volume=0), post_only=True,
                     immediate=False, now=T0)
    # 6 contracts traded and the level shrank by 6: still 4 ahead of us.
    order, fill = observe(order, quote(((40 * CENT, 4 * C),), volume=6 * C), now=T0 + timedelta(minutes=1))
    assert fill is None and order.queue_ahead == 4 * C
    # 5 join behind us; then 7 trade there: the 4 ahead, then 3 of ours (before those behind us),
    # as a maker (no fee) at our price.
    order, fill = observe(order, quote(((40 * CENT, 9 * C),), volume=6 * C), now=T0 + timedelta(minutes=2))
    assert fill is None and order.queue_ahead == 4 * C
    order, fill = observe(order, quote(((40 * CENT, 2 * C),), volume=13 * C), now=T0 + timedelta(minutes=3))
    assert fill is not None
    assert (fill.count, fill.price, fill.fee, fill.is_taker) == (3 * C, 40 * CENT, 0, False)
    assert order.remaining == 2 * C and order.queue_ahead == 0


def test_cancellations_ahead_do_not_move_the_queue() -> None:
    order, _ = place(an_order(price=40 * CENT), quote(volume=0), post_only=True, immediate=False, now=T0)
    order, fill = observe(order, quote(((40 * CENT, 1 * C),), volume=0), now=T0 + timedelta(minutes=1))
    assert fill is None and order.queue_ahead == 10 * C


def test_an_ask_at_or_through_our_bid_fills_all_that_is_left() -> None:
    order, _ = place(an_order(price=40 * CENT, count=5 * C), quote(), post_only=True, immediate=False, now=T0)
    through = quote(yes_bids=((38 * CENT, 10 * C),), no_bids=((60 * CENT, 10 * C),))  # ask 40c
    order, fill = observe(order, through, now=T0 + timedelta(minutes=1))
    assert fill is not None and fill.count == 5 * C and fill.price == 40 * CENT and not fill.is_taker
    assert order.status is PaperStatus.EXECUTED


def test_an_order_placed_before_any_quote_joins_at_the_first_one() -> None:
    order, fills = place(an_order(), None, post_only=True, immediate=False, now=T0)
    assert fills == [] and order.queue_ahead is None
    order, fill = observe(order, quote(), now=T0 + timedelta(minutes=1))
    assert fill is None and order.queue_ahead == 10 * C


def test_fill_ids_are_the_order_and_the_count_filled_before() -> None:
    _, fills = place(an_order(price=50 * CENT, count=3 * C), quote(no_bids=((55 * CENT, 1 * C),
                                                                               (50 * CENT, 5 * C))),
                         post_only=False, immediate=True, now=T0)
    assert [f.fill_id for f in fills] == ["p-1:0", f"p-1:{1 * C}"]


prices = st.integers(1, 99).map(lambda c: c * CENT)
levels = st.lists(st.tuples(prices, st.integers(1, 20 * C)), max_size=4).map(
    lambda ls: tuple(sorted(dict(ls).items(), key=lambda lv: -lv[0])))


@st.composite
def quotes(draw: st.DrawFn) -> MarketQuote:
    yes = draw(levels)
    best_yes = yes[0][0] if yes else 0
    no = tuple(lv for lv in draw(levels) if PRICE_SCALE - lv[0] > best_yes)  # never crossed
    return quote(yes, no, volume=draw(st.integers(0, 1_000 * C)))


@settings(max_examples=200, deadline=None)
@given(side=st.sampled_from(list(Side)), action=st.sampled_from(list(Action)), price=prices,
       count=st.integers(1, 30 * C), post_only=st.booleans(), first=quotes(),
       later=st.lists(quotes(), max_size=8))
def test_fills_never_exceed_the_order_nor_beat_its_limit(side: Side, action: Action, price: int, count: int,
                                                        post_only: bool, first: MarketQuote,
                                                        later: list[MarketQuote]) -> None:
    order = an_order(side, action, price, count)
    try:
        order, fills = place(order, first, post_only=post_only, immediate=False, now=T0)
    except PostOnlyWouldCross:
        return
    volume = first.volume or 0
    for i, q in enumerate(later):
        volume += q.volume or 0  # the market's volume only grows
        later_quote = q.model_copy(update={"volume": volume})
        order, fill = observe(order, later_quote, now=T0 + timedelta(minutes=i + 1))
        fills += [fill] if fill is not None else []
    assert sum(f.count for f in fills) == order.filled <= count
    buying = action is Action.BUY
    for f in fills:
        assert f.count > 0
        assert (f.price <= price) if buying else (f.price >= price)  # never worse than the limit
        assert f.fee == (taker_fee(f.price, f.count) if f.is_taker else 0)
    assert len({f.fill_id for f in fills}) == len(fills)
