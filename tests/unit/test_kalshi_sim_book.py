"""The exchange simulator's matching engine: priority, partial and fractional fills, fees, STP, cancel."""

from __future__ import annotations

import pytest

from adapters.kalshi.simulator.book import Book, Resting
from adapters.kalshi.simulator.exchange import USER, Exchange, Order, OrderRejected
from domain.money import MONEY_SCALE, taker_fee

T = "KXHIGHNY-26JAN20-B40.5"
EV = "KXHIGHNY-26JAN20"


def a_book(*orders: tuple[str, str, str, int, int]) -> Book:
    """Orders as (id, owner, side, price in cents, count in whole contracts), rested in order."""
    book = Book(T)
    for seq, (order_id, owner, side, cents, count) in enumerate(orders):
        book.rest(Resting(order_id, owner, side, cents * 100, count * 100, seq))  # type: ignore[arg-type]
    return book


def an_exchange(balance_dollars: int = 1_000) -> Exchange:
    return Exchange(seed=1, balance=balance_dollars * MONEY_SCALE)


def submit(ex: Exchange, owner: str, side: str, cents: int, count: int, **kw: object) -> Order:
    return ex.submit(owner=owner, ticker=T, event_ticker=EV, side=side, price=cents * 100,  # type: ignore[arg-type]
                     count=count, now_ms=1_000, **kw)  # type: ignore[arg-type]


def test_best_price_first_then_oldest_first() -> None:
    book = a_book(("a1", "m", "ask", 45, 5), ("a2", "m", "ask", 44, 5), ("a3", "n", "ask", 44, 5))
    result = book.match("taker", "bid", 4500, 1200)
    assert [(m.maker_order_id, m.price, m.count) for m in result.matches] == [
        ("a2", 4400, 500), ("a3", 4400, 500), ("a1", 4500, 200)]
    assert result.remaining == 0
    assert book.levels("ask") == [(4500, 300)]


def test_an_order_trades_only_at_or_inside_its_limit_and_at_the_makers_price() -> None:
    book = a_book(("b1", "m", "bid", 40, 5), ("b2", "m", "bid", 38, 5))
    result = book.match("taker", "ask", 3900, 800)
    assert [(m.maker_order_id, m.price, m.count) for m in result.matches] == [("b1", 4000, 500)]
    assert result.remaining == 300
    assert book.levels("bid") == [(3800, 500)]


def test_fractional_counts_fill_exactly() -> None:
    book = Book(T)
    book.rest(Resting("a1", "m", "ask", 5000, 250, 0))  # 2.50 contracts
    result = book.match("taker", "bid", 5000, 1)  # 0.01 contract
    assert result.matches[0].count == 1 and book.levels("ask") == [(5000, 249)]


def test_taker_pays_the_published_fee_per_fill_and_the_maker_nothing() -> None:
    ex = an_exchange()
    submit(ex, "sim:mm", "ask", 43, 1_000)  # 10 contracts resting at 0.43
    order = submit(ex, USER, "bid", 50, 1_000)
    assert order.status == "executed" and order.filled == 1_000
    (fill,) = ex.fills
    # ceil(0.07 * 10 * 0.43 * 0.57 * 100) cents = ceil(17.157) = 18 cents
    assert fill.fee == taker_fee(4300, 1_000) == 180_000
    assert fill.is_taker and fill.price == 4300
    assert ex.balance == (1_000 * MONEY_SCALE) - 4300 * 1_000 - 180_000
    assert ex.positions[T].position == 1_000

    maker_side = an_exchange()
    resting = submit(maker_side, USER, "bid", 43, 1_000)
    submit(maker_side, "sim:mm", "ask", 40, 400)  # crosses our bid: we are the maker
    assert [(f.is_taker, f.fee, f.price, f.count) for f in maker_side.fills] == [(False, 0, 4300, 400)]
    assert maker_side.orders[resting.order_id].remaining == 600
    assert maker_side.orders[resting.order_id].status == "resting"


def test_a_partial_fill_rests_the_remainder_and_ioc_cancels_it() -> None:
    ex = an_exchange()
    submit(ex, "sim:mm", "ask", 60, 300)
    gtc = submit(ex, USER, "bid", 60, 500, client_order_id="gtc")
    assert (gtc.filled, gtc.remaining, gtc.status) == (300, 200, "resting")
    assert ex.book(T).levels("bid") == [(6000, 200)]
    submit(ex, "sim:mm", "ask", 70, 300)
    ioc = submit(ex, USER, "bid", 70, 500, time_in_force="immediate_or_cancel")
    assert (ioc.filled, ioc.remaining, ioc.status) == (300, 200, "canceled")


def test_fill_or_kill_refuses_without_enough_volume_and_leaves_the_book_alone() -> None:
    ex = an_exchange()
    submit(ex, "sim:mm", "ask", 60, 300)
    with pytest.raises(OrderRejected) as caught:
        submit(ex, USER, "bid", 60, 500, time_in_force="fill_or_kill")
    assert caught.value.status == 409
    assert ex.book(T).levels("ask") == [(6000, 300)] and ex.fills == []


def test_self_trade_prevention_never_trades_with_yourself() -> None:
    ex = an_exchange()
    own = submit(ex, USER, "ask", 55, 100)
    submit(ex, "sim:mm", "ask", 56, 100)
    stopped = submit(ex, USER, "bid", 60, 200)  # taker_at_cross: stops at our own ask
    assert stopped.filled == 0 and stopped.status == "canceled"
    assert ex.orders[own.order_id].status == "resting" and ex.fills == []

    maker_mode = submit(ex, USER, "bid", 60, 200, stp="maker")  # cancels our ask, then trades
    assert ex.orders[own.order_id].status == "canceled"
    assert maker_mode.filled == 100 and [f.price for f in ex.fills] == [5600]


def test_cancel_removes_the_rest_and_only_the_rest() -> None:
    ex = an_exchange()
    submit(ex, "sim:mm", "ask", 50, 100)
    order = submit(ex, USER, "bid", 50, 400)
    canceled, reduced = ex.cancel(order.order_id, 2_000)
    assert reduced == 300 and canceled.status == "canceled" and canceled.filled == 100
    assert ex.book(T).levels("bid") == []
    with pytest.raises(OrderRejected):
        ex.cancel(order.order_id, 3_000)


def test_duplicate_client_order_id_is_refused_with_409() -> None:
    ex = an_exchange()
    submit(ex, USER, "bid", 20, 100, client_order_id="once")
    with pytest.raises(OrderRejected) as caught:
        submit(ex, USER, "bid", 21, 100, client_order_id="once")
    assert caught.value.status == 409


def test_post_only_refuses_to_cross_and_balance_is_checked() -> None:
    ex = an_exchange(balance_dollars=1)
    submit(ex, "sim:mm", "ask", 50, 100)
    with pytest.raises(OrderRejected, match="post-only"):
        submit(ex, USER, "bid", 50, 100, post_only=True)
    with pytest.raises(OrderRejected) as caught:
        submit(ex, USER, "bid", 40, 1_000)  # $4 of contracts with $1
    assert caught.value.code == "insufficient_balance"


def test_selling_yes_closes_first_then_settlement_pays_the_winner() -> None:
    ex = an_exchange()
    start = ex.balance
    submit(ex, "sim:mm", "ask", 40, 1_000)
    submit(ex, USER, "bid", 40, 1_000)  # long 10 YES at 0.40
    submit(ex, "sim:mm", "bid", 50, 1_500)
    submit(ex, USER, "ask", 50, 1_500)  # sell 10 YES at 0.50, then 5 NO at 0.50
    pos = ex.positions[T]
    assert pos.position == -500
    fees = sum(f.fee for f in ex.fills)
    assert ex.balance == start - 4_000_000 + 5_000_000 - 2_500_000 - fees
    ex.settle(T, "no", 9_000)
    assert ex.balance == start - 4_000_000 + 5_000_000 - 2_500_000 + 5_000_000 - fees
    assert ex.positions[T].position == 0 and ex.settled[T] == "no"


def test_state_round_trips_through_json() -> None:
    ex = an_exchange()
    submit(ex, "sim:mm", "ask", 40, 100)
    submit(ex, USER, "bid", 40, 300, client_order_id="x")
    again = Exchange.from_json(ex.to_json())
    assert again.to_json() == ex.to_json()
    assert again.book(T).levels("bid") == [(4000, 200)]  # the account's resting order is back
