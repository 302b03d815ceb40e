"""Properties of the risk engine over any book, holdings, resting orders, limits and order.

* an approved order never takes the worst-case loss of its market, city, cluster or the book past
  its cap (unless it was past it already and the order does not add to it); checking one
  decision's orders together keeps that true of all of them at once;
* REDUCING never approves an order that raises any exposure, and HALTED approves nothing;
* an order that only reduces never raises any exposure, whatever the state;
* the worst case bounds every fill: however much of a resting order fills, what is left to lose
  (less what the fill realized) is never more than the worst case said;
* the checks are deterministic: the same inputs, in any order of the mappings, give the same bytes.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from domain.events import Action, IntendedOrder, Side, TradingState
from domain.ladder import Rung
from domain.money import PRICE_SCALE
from domain.positions import MarketPosition
from domain.risk import Held, RiskContext, RiskLimits, check_order, check_orders, market_loss, reduces
from domain.risk.exposure import Exposure, as_resting
from domain.strategies import RestingOrder
from tests.builders import CHI_TICKERS, CITY_OF, CLUSTER_OF, NYC_TICKERS, PHL_TICKERS, T0, a_rung

TICKERS = (*NYC_TICKERS[:3], *PHL_TICKERS, *CHI_TICKERS[:1])
CORRELATION = uuid.UUID("00000000-0000-4000-8000-00000000000e")
DOLLAR = 1_000_000

tickers = st.sampled_from(TICKERS)
sides = st.sampled_from(Side)
actions = st.sampled_from(Action)
prices = st.integers(1, PRICE_SCALE - 1)
counts = st.integers(1, 3_000)


@st.composite
def helds(draw: st.DrawFn) -> Held:
    position = draw(st.integers(-3_000, 3_000))
    low, high = sorted((0, position * PRICE_SCALE))
    return Held(position=position, cost=draw(st.integers(low, high)))


resting_orders = st.builds(RestingOrder, ticker=tickers, side=sides, action=actions, price=prices,
                           remaining=counts)


@st.composite
def rungs(draw: st.DrawFn, ticker: str) -> Rung:
    """A book with an uncrossed best bid on each side, or none; mostly open and far from its close."""
    yes_bid = draw(st.none() | st.integers(1, PRICE_SCALE - 2))
    no_bid = draw(st.none() | st.integers(1, PRICE_SCALE - 1 - (yes_bid or 0)))
    rare = draw(st.integers(0, 9)) == 0
    return a_rung(ticker, yes_bid=yes_bid, no_bid=no_bid,
                  status=draw(st.sampled_from(["closed", "determined"])) if rare else "active",
                  close_time=draw(st.sampled_from([T0 + timedelta(minutes=20), None]))
                  if draw(st.integers(0, 9)) == 0 else T0 + timedelta(hours=8))


def sometimes(generous: st.SearchStrategy[int], tight: st.SearchStrategy[int]) -> st.SearchStrategy[int]:
    """Mostly a limit that does not bind, sometimes one that may: so that orders are approved
    often enough for "if approved" to mean something, and refused for every reason too."""
    return st.one_of(generous, generous, tight)


@st.composite
def limits(draw: st.DrawFn) -> RiskLimits:
    cap = st.one_of(st.integers(0, 30), st.integers(30, 300)).map(Decimal)  # exposure caps bind often
    return RiskLimits(
        max_order_contracts=draw(sometimes(st.just(100), st.integers(1, 40))),
        max_order_cost=draw(sometimes(st.just(1_000), st.integers(0, 30)).map(Decimal)),
        max_market_loss=draw(cap), max_city_loss=draw(cap), max_cluster_loss=draw(cap),
        max_portfolio_share=Decimal(draw(st.integers(1, 100))) / 100,
        max_open_orders=draw(sometimes(st.just(50), st.integers(1, 6))),
        max_orders_per_minute=draw(sometimes(st.just(50), st.integers(1, 6))),
        max_cross_cents=draw(sometimes(st.just(100), st.integers(0, 10))),
        max_buy_price_cents=draw(sometimes(st.just(100), st.integers(1, 100))),
        min_minutes_to_close=draw(st.integers(0, 60)))


ANY_STATE = st.sampled_from(TradingState)


@st.composite
def contexts(draw: st.DrawFn, state: st.SearchStrategy[TradingState] = ANY_STATE) -> RiskContext:
    return RiskContext(
        markets={t: draw(rungs(t)) for t in TICKERS},
        positions=draw(st.dictionaries(tickers, helds(), max_size=4)),
        resting=tuple(draw(st.lists(resting_orders, max_size=5))),
        city_of=CITY_OF, cluster_of=CLUSTER_OF,
        balance=draw(st.integers(0, 2_000)) * DOLLAR, equity=draw(st.integers(-10, 2_000)) * DOLLAR,
        open_orders=draw(st.integers(0, 5)),
        recent_orders=tuple(T0 - timedelta(seconds=s) for s in draw(st.lists(st.integers(0, 120),
                                                                              max_size=5))),
        state=draw(state), now=T0)


@st.composite
def orders(draw: st.DrawFn, context: RiskContext | None = None, leg: int = 0) -> IntendedOrder:
    """Any order; given a context holding something, half the time one that takes contracts off a
    position (which may still go past flat, with the resting orders)."""
    held = [(t, h.position) for t, h in (context.positions.items() if context else ()) if h.position]
    if held and draw(st.booleans()):
        ticker, position = draw(st.sampled_from(sorted(held)))
        side, action = draw(st.sampled_from(
            [(Side.YES, Action.SELL), (Side.NO, Action.BUY)] if position > 0
            else [(Side.NO, Action.SELL), (Side.YES, Action.BUY)]))
        count = draw(st.integers(1, abs(position) + 10))
    else:
        ticker, side, action, count = draw(tickers), draw(sides), draw(actions), draw(counts)
    return IntendedOrder(client_order_id=f"mb-prop-{leg}", ticker=ticker, side=side, action=action,
                         price=draw(prices), count=count, post_only=draw(st.booleans()))


def levels(seen: Exposure, ticker: str) -> dict[str, int]:
    city = CITY_OF[ticker]
    return {"market": seen.market(ticker), "city": seen.city(city),
            "cluster": seen.cluster(CLUSTER_OF[city]), "portfolio": seen.total}


def caps(rules: RiskLimits, context: RiskContext) -> dict[str, int]:
    return {"market": rules.max_market_loss_micros, "city": rules.max_city_loss_micros,
            "cluster": rules.max_cluster_loss_micros,
            "portfolio": rules.max_portfolio_loss_micros(context.equity)}


@settings(max_examples=300, deadline=None)
@given(contexts(), limits(), st.data())
def test_an_approved_order_never_takes_exposure_past_a_cap(context: RiskContext, rules: RiskLimits,
                                                            data: st.DataObject) -> None:
    order = data.draw(orders(context))
    verdict = check_order(order, context, rules, correlation_id=CORRELATION)
    if not verdict.approved:
        return
    before = levels(context.exposure(), order.ticker)
    after = levels(context.exposure((as_resting(order),)), order.ticker)
    cap = caps(rules, context)
    for level in cap:
        assert after[level] <= max(cap[level], before[level]), level
    assert order.count <= rules.max_order_count
    assert context.state is not TradingState.HALTED


@settings(max_examples=150, deadline=None)
@given(st.integers(2, 5), contexts(st.just(TradingState.ACTIVE)), limits(), st.data())
def test_one_decisions_approved_orders_stay_within_the_caps_together(
        legs: int, context: RiskContext, rules: RiskLimits, data: st.DataObject) -> None:
    batch = [data.draw(orders(context, leg)) for leg in range(legs)]
    verdicts = check_orders(batch, context, rules, correlation_id=CORRELATION)
    approved = [as_resting(o) for o, v in zip(batch, verdicts, strict=True) if v.approved]
    start, end = context.exposure(), context.exposure(approved)
    cap = caps(rules, context)
    for ticker in {o.ticker for o in approved}:
        before, after = levels(start, ticker), levels(end, ticker)
        for level in cap:
            assert after[level] <= max(cap[level], before[level]), (ticker, level)


@settings(max_examples=300, deadline=None)
@given(contexts(st.just(TradingState.REDUCING)), limits(), st.data())
def test_reducing_never_approves_an_order_that_raises_exposure(context: RiskContext, rules: RiskLimits,
                                                               data: st.DataObject) -> None:
    order = data.draw(orders(context))
    verdict = check_order(order, context, rules, correlation_id=CORRELATION)
    if verdict.approved:
        before = levels(context.exposure(), order.ticker)
        after = levels(context.exposure((as_resting(order),)), order.ticker)
        assert all(after[level] <= before[level] for level in before)


@settings(max_examples=100, deadline=None)
@given(contexts(st.just(TradingState.HALTED)), limits(), st.data())
def test_halted_approves_nothing(context: RiskContext, rules: RiskLimits, data: st.DataObject) -> None:
    order = data.draw(orders(context))
    assert not check_order(order, context, rules, correlation_id=CORRELATION).approved


@settings(max_examples=300, deadline=None)
@given(contexts(), st.data())
def test_an_order_that_only_reduces_never_raises_any_exposure(context: RiskContext,
                                                              data: st.DataObject) -> None:
    order = data.draw(orders(context))
    position = context.held(order.ticker).position
    if reduces(order, position, context.resting):
        before = levels(context.exposure(), order.ticker)
        after = levels(context.exposure((as_resting(order),)), order.ticker)
        assert after == before


@settings(max_examples=400, deadline=None)
@given(helds(), st.lists(resting_orders, max_size=3), sides, actions, prices, counts, st.data())
def test_the_worst_case_bounds_every_fill(held: Held, others: list[RestingOrder], side: Side,
                                          action: Action, price: int, count: int,
                                          data: st.DataObject) -> None:
    ticker = TICKERS[0]
    others = [RestingOrder(ticker, o.side, o.action, o.price, o.remaining) for o in others]
    order = RestingOrder(ticker, side, action, price, count)
    worst = market_loss(held, [*others, order])
    filled = data.draw(st.integers(1, count))
    after = MarketPosition(ticker, position=held.position, cost=held.cost).fill(
        side, action, price, filled, fee=0)
    left = RestingOrder(ticker, side, action, price, count - filled)
    assert market_loss(Held.of(after), [*others, left]) - after.realized <= worst


@settings(max_examples=150, deadline=None)
@given(contexts(), limits(), st.data())
def test_the_checks_are_deterministic(context: RiskContext, rules: RiskLimits,
                                      data: st.DataObject) -> None:
    order = data.draw(orders(context))
    first = check_order(order, context, rules, correlation_id=CORRELATION)
    shuffled = RiskContext(
        markets=dict(reversed(list(context.markets.items()))),
        positions=dict(reversed(list(context.positions.items()))),
        resting=tuple(reversed(context.resting)), city_of=dict(reversed(list(CITY_OF.items()))),
        cluster_of=CLUSTER_OF, balance=context.balance, equity=context.equity,
        open_orders=context.open_orders, recent_orders=tuple(reversed(context.recent_orders)),
        state=context.state, now=context.now)
    again = check_order(order, shuffled, rules, correlation_id=CORRELATION)
    assert again.model_dump_json() == first.model_dump_json()
    assert check_order(order, context, rules, correlation_id=CORRELATION) == first
