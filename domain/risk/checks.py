"""Pre-trade checks: every intended order gets a verdict, with every rule's outcome and reason.

``check_order`` runs all the rules below (none is skipped because another failed, so the ledger
says everything that was wrong) and approves the order only when every one passes:

=====================  ==========================================================================
``trading_state``      ACTIVE passes; REDUCING passes only an order that takes contracts off a
                       position without going past flat (resting reducers counted); HALTED none
``market_state``       the market is ``active`` and closes more than ``min_minutes_to_close`` away
``order_size``         a positive count of at most ``max_order_contracts``
``order_cost``         the cash the order can take, filled whole as a taker, fee included, is at
                       most ``max_order_cost`` (closing held contracts takes none)
``cash``               that cost fits the cash free for new orders
``price_limit``        a price strictly between 0 and $1; a buy at most ``max_buy_price_cents``
``book_crossing``      a buy pays at most ``max_cross_cents`` above the best ask, a sale at most
                       that far below the best bid
``market_exposure``    the market's worst-case loss with the order resting stays within its cap
``city_exposure``      likewise for the city's markets together
``cluster_exposure``   and for the correlation cluster's
``portfolio_exposure`` and for the whole book, against ``max_portfolio_share`` of equity
``open_orders``        this order keeps the open orders within ``max_open_orders``
``order_rate``         with the orders of the last minute, within ``max_orders_per_minute``
=====================  ==========================================================================

An exposure check also passes an order that does not raise the exposure it measures, so a book
already over a cap (the cap was lowered, or prices moved) can always be reduced.

The verdict is an ``OrderRiskChecked`` in the stream ``risk:{client_order_id}`` at version 1, its id
derived from the stream: checking the same order again (a retry, a restart) records nothing new,
and the verdict first recorded is the verdict. Pure: the context carries ``now`` and everything else.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from domain.events.base import Action, deterministic_id
from domain.events.risk import CheckOutcome, OrderRiskChecked, TradingState
from domain.events.trading import IntendedOrder
from domain.ladder import Ladder, Rung
from domain.money import PRICE_SCALE, taker_fee
from domain.positions import MarketPosition
from domain.risk.errors import MissingRiskInput
from domain.risk.exposure import (
    FLAT,
    Exposure,
    Held,
    as_resting,
    city_in,
    cluster_in,
    exposure,
    reduce_only_room,
    reduces,
    yes_delta,
)
from domain.risk.limits import RiskLimits
from domain.risk.words import contracts, percent, price, usd
from domain.strategies.base import RestingOrder, best_ask, best_bid

#: The order-rate limit's window.
RATE_WINDOW = timedelta(minutes=1)


@dataclass(frozen=True, slots=True, kw_only=True)
class RiskContext:
    """Everything the checks look at, all of it read from the ledger before the decision."""

    #: The markets orders may be for, as the decision's market snapshot showed them (``markets_of``).
    markets: Mapping[str, Rung]
    #: What we hold, per ticker (absent: flat).
    positions: Mapping[str, Held] = field(default_factory=dict)
    #: Every order of ours that may still fill: resting at the venue, or sent and not yet answered.
    resting: tuple[RestingOrder, ...] = ()
    #: Each ticker held, resting or ordered -> its city; each city -> its correlation cluster.
    city_of: Mapping[str, str]
    cluster_of: Mapping[str, str]
    #: Cash free for new orders (micros): the venue's available balance.
    balance: int
    #: Cash plus every position at its mark (micros): what the portfolio cap is a share of.
    equity: int
    #: Orders open now (resting or in flight).
    open_orders: int
    #: When each of our recent orders was submitted (only the last minute's matter).
    recent_orders: tuple[datetime, ...] = ()
    #: The trading state of the orders' city (``TradingStates.state_for``), and why it is not
    #: ACTIVE (``TradingStates.why``), for the verdict's reason.
    state: TradingState
    state_reason: str = ""
    #: The decision's time: the check's clock and the verdict's ``recorded_at``.
    now: datetime

    def held(self, ticker: str) -> Held:
        return self.positions.get(ticker, FLAT)

    def rung(self, ticker: str) -> Rung:
        try:
            return self.markets[ticker]
        except KeyError:
            raise MissingRiskInput(f"no market snapshot of {ticker} is in the risk context") from None

    def exposure(self, extra: Iterable[RestingOrder] = ()) -> Exposure:
        return exposure(self.positions, (*self.resting, *extra), self.city_of, self.cluster_of)

    def after(self, order: IntendedOrder) -> RiskContext:
        """The context the next order of the same decision sees once this one is approved."""
        return replace(self, resting=(*self.resting, as_resting(order)),
                       open_orders=self.open_orders + 1,
                       recent_orders=(*self.recent_orders, self.now))


def markets_of(ladder: Ladder) -> dict[str, Rung]:
    return {rung.ticker: rung for rung in ladder}


def risk_stream(client_order_id: str) -> str:
    return f"risk:{client_order_id}"


def check_order(order: IntendedOrder, context: RiskContext, limits: RiskLimits, *,
                correlation_id: uuid.UUID, causation_id: uuid.UUID | None = None) -> OrderRiskChecked:
    """The verdict on ``order``: approved only if every check passes, each with its reason."""
    checks = evaluate(order, context, limits)
    stream = risk_stream(order.client_order_id)
    return OrderRiskChecked(
        event_id=deterministic_id("event", stream, 1), stream=stream, version=1,
        recorded_at=context.now, correlation_id=correlation_id, causation_id=causation_id,
        client_order_id=order.client_order_id, approved=all(c.passed for c in checks), checks=checks)


def check_orders(orders: Sequence[IntendedOrder], context: RiskContext, limits: RiskLimits, *,
                 correlation_id: uuid.UUID, causation_id: uuid.UUID | None = None,
                 ) -> list[OrderRiskChecked]:
    """Verdicts on one decision's orders, in order: each sees the ones approved before it as
    resting, so two orders cannot pass a cap together that neither would alone."""
    verdicts = []
    for order in orders:
        verdict = check_order(order, context, limits, correlation_id=correlation_id,
                              causation_id=causation_id)
        verdicts.append(verdict)
        if verdict.approved:
            context = context.after(order)
    return verdicts


def evaluate(order: IntendedOrder, context: RiskContext, limits: RiskLimits) -> tuple[CheckOutcome, ...]:
    """Every check's outcome for ``order``, in the table's order."""
    facts = _Facts.of(order, context)
    return tuple(check(order, context, limits, facts) for check in CHECKS)


@dataclass(frozen=True, slots=True)
class _Facts:
    """What several checks share, computed once."""

    city: str
    cluster: str
    rung: Rung
    cost: int
    before: Exposure
    after: Exposure

    @classmethod
    def of(cls, order: IntendedOrder, context: RiskContext) -> _Facts:
        city = city_in(context.city_of, order.ticker)
        return cls(city=city, cluster=cluster_in(context.cluster_of, city),
                   rung=context.rung(order.ticker),
                   cost=order_cost(order, context.held(order.ticker).position),
                   before=context.exposure(), after=context.exposure((as_resting(order),)))


def order_cost(order: IntendedOrder, position: int) -> int:
    """The most cash ``order`` can take (micros): filled whole as a taker against ``position``,
    Kalshi's taker fee included. Closing held contracts pays cash back, so an order that only
    closes costs nothing, and one that closes and opens costs what it opens less what the closing
    brings back."""
    fee = taker_fee(order.price, order.count)
    filled = MarketPosition(order.ticker, position=position).fill(
        order.side, order.action, order.price, order.count, fee)
    return max(0, -filled.cash)


def _outcome(name: str, passed: bool, reason: str) -> CheckOutcome:
    return CheckOutcome(name=name, passed=passed, reason=reason)


def _describe(order: IntendedOrder) -> str:
    return f"{order.action.value} {contracts(order.count)} {order.side.value.upper()} at {price(order.price)}"


# -- the checks, in the table's order ----------------------------------------------------------

Check = Callable[[IntendedOrder, RiskContext, RiskLimits, _Facts], CheckOutcome]


def trading_state(order: IntendedOrder, context: RiskContext, limits: RiskLimits,
                  facts: _Facts) -> CheckOutcome:
    name, state = "trading_state", context.state
    if state is TradingState.ACTIVE:
        return _outcome(name, True, f"trading in {facts.city} is active")
    because = f" ({context.state_reason})" if context.state_reason else ""
    if state is TradingState.HALTED:
        return _outcome(name, False, f"trading in {facts.city} is halted{because}: no new orders")
    position = context.held(order.ticker).position
    side = "YES" if position > 0 else "NO"
    if reduces(order, position, context.resting):
        return _outcome(name, True, f"trading in {facts.city} is reducing{because}, and this order "
                        f"only takes contracts off the {contracts(abs(position))} {side} held")
    if position == 0:
        why = f"nothing is held in {order.ticker}"
    elif yes_delta(order.side, order.action, order.count) * position > 0:
        why = f"it adds to the {contracts(abs(position))} {side} held"
    else:
        room = reduce_only_room(position, context.resting, order.ticker)
        why = (f"with the orders already resting to reduce it, only {contracts(room)} of the "
               f"{contracts(abs(position))} {side} held are left to reduce")
    return _outcome(name, False, f"trading in {facts.city} is reducing{because}: only orders that "
                    f"take contracts off a position may go, and {why}")


def market_state(order: IntendedOrder, context: RiskContext, limits: RiskLimits,
                 facts: _Facts) -> CheckOutcome:
    name, rung = "market_state", facts.rung
    if rung.status != "active":
        return _outcome(name, False, f"{rung.ticker} is {rung.status}, not active")
    if rung.close_time is None:
        return _outcome(name, False, f"the snapshot of {rung.ticker} records no close time")
    left = rung.close_time - context.now
    minutes = int(left.total_seconds() // 60)
    if left <= timedelta(0):
        return _outcome(name, False, f"{rung.ticker} closed at {rung.close_time.isoformat()}")
    if left <= limits.min_time_to_close:
        return _outcome(name, False, f"{rung.ticker} closes at {rung.close_time.isoformat()}, "
                        f"{minutes} min from now; no orders within {limits.min_minutes_to_close} "
                        "min of the close")
    return _outcome(name, True, f"{rung.ticker} is active and closes in {minutes} min, more than "
                    f"{limits.min_minutes_to_close} min away")


def order_size(order: IntendedOrder, context: RiskContext, limits: RiskLimits,
               facts: _Facts) -> CheckOutcome:
    name, most = "order_size", limits.max_order_count
    if order.count <= 0:
        return _outcome(name, False, "an order must be for more than 0 contracts")
    passed = order.count <= most
    return _outcome(name, passed, f"{contracts(order.count)} {'within' if passed else 'over'} the "
                    f"limit of {contracts(most)} per order")


def order_cost_check(order: IntendedOrder, context: RiskContext, limits: RiskLimits,
                     facts: _Facts) -> CheckOutcome:
    most = limits.max_order_cost_micros
    passed = facts.cost <= most
    return _outcome("order_cost", passed, f"{_describe(order)} can cost {usd(facts.cost)} with the "
                    f"taker fee, {'within' if passed else 'over'} the {usd(most)} limit per order")


def cash(order: IntendedOrder, context: RiskContext, limits: RiskLimits,
         facts: _Facts) -> CheckOutcome:
    passed = facts.cost <= context.balance
    return _outcome("cash", passed, f"the order can cost {usd(facts.cost)} and {usd(context.balance)} "
                    f"is free{'' if passed else ': not enough cash'}")


def price_limit(order: IntendedOrder, context: RiskContext, limits: RiskLimits,
                facts: _Facts) -> CheckOutcome:
    name = "price_limit"
    if not 0 < order.price < PRICE_SCALE:
        return _outcome(name, False, f"{price(order.price)} is not a price a contract trades at "
                        "(it must be above 0¢ and below 100¢)")
    if order.action is Action.SELL:
        return _outcome(name, True, f"a sale at {price(order.price)}: no buy price limit applies")
    passed = order.price <= limits.max_buy_price
    return _outcome(name, passed, f"buys {order.side.value.upper()} at {price(order.price)}, "
                    f"{'within' if passed else 'over'} the {price(limits.max_buy_price)} limit")


def book_crossing(order: IntendedOrder, context: RiskContext, limits: RiskLimits,
                  facts: _Facts) -> CheckOutcome:
    name, side = "book_crossing", order.side.value.upper()
    limit = f"the limit is {price(limits.max_cross)} through the touch"
    if order.action is Action.BUY:
        ask = best_ask(facts.rung, order.side)
        if ask is None:
            return _outcome(name, True, f"no offer to buy {side} is shown: the order can only rest")
        through, touch = order.price - ask[0], f"the best {side} ask of {price(ask[0])}"
    else:
        bid = best_bid(facts.rung, order.side)
        if bid is None:
            return _outcome(name, True, f"no bid for {side} is shown: the order can only rest")
        through, touch = bid[0] - order.price, f"the best {side} bid of {price(bid[0])}"
    if through <= 0:
        return _outcome(name, True, f"{_describe(order)} does not cross {touch}")
    passed = through <= limits.max_cross
    return _outcome(name, passed, f"{_describe(order)} reaches {price(through)} through {touch}; {limit}")


def _cap(name: str, what: str, before: int, after: int, cap: int) -> CheckOutcome:
    if after <= cap:
        return _outcome(name, True, f"worst-case loss of {what} would be {usd(after)} "
                        f"(now {usd(before)}), within the {usd(cap)} cap")
    if after <= before:
        return _outcome(name, True, f"worst-case loss of {what} stays {usd(after)}, over the "
                        f"{usd(cap)} cap, but this order does not add to it")
    return _outcome(name, False, f"worst-case loss of {what} would be {usd(after)} (now {usd(before)}), "
                    f"over the {usd(cap)} cap")


def market_exposure(order: IntendedOrder, context: RiskContext, limits: RiskLimits,
                    facts: _Facts) -> CheckOutcome:
    return _cap("market_exposure", order.ticker, facts.before.market(order.ticker),
                facts.after.market(order.ticker), limits.max_market_loss_micros)


def city_exposure(order: IntendedOrder, context: RiskContext, limits: RiskLimits,
                  facts: _Facts) -> CheckOutcome:
    return _cap("city_exposure", f"{facts.city}'s markets", facts.before.city(facts.city),
                facts.after.city(facts.city), limits.max_city_loss_micros)


def cluster_exposure(order: IntendedOrder, context: RiskContext, limits: RiskLimits,
                     facts: _Facts) -> CheckOutcome:
    return _cap("cluster_exposure", f"the {facts.cluster} cluster", facts.before.cluster(facts.cluster),
                facts.after.cluster(facts.cluster), limits.max_cluster_loss_micros)


def portfolio_exposure(order: IntendedOrder, context: RiskContext, limits: RiskLimits,
                       facts: _Facts) -> CheckOutcome:
    cap = limits.max_portfolio_loss_micros(context.equity)
    what = f"the book (capped at {percent(limits.max_portfolio_share)} of equity {usd(context.equity)})"
    return _cap("portfolio_exposure", what, facts.before.total, facts.after.total, cap)


def open_orders(order: IntendedOrder, context: RiskContext, limits: RiskLimits,
                facts: _Facts) -> CheckOutcome:
    count, most = context.open_orders + 1, limits.max_open_orders
    passed = count <= most
    return _outcome("open_orders", passed, f"this would be open order {count}, "
                    f"{'within' if passed else 'over'} the limit of {most}")


def order_rate(order: IntendedOrder, context: RiskContext, limits: RiskLimits,
               facts: _Facts) -> CheckOutcome:
    # An order stamped after ``now`` (a clock step) still counts: the window errs toward caution.
    since = context.now - RATE_WINDOW
    count = sum(1 for t in context.recent_orders if t > since) + 1
    most = limits.max_orders_per_minute
    passed = count <= most
    return _outcome("order_rate", passed, f"this would be order {count} in the last minute, "
                    f"{'within' if passed else 'over'} the limit of {most}")


CHECKS: tuple[Check, ...] = (
    trading_state, market_state, order_size, order_cost_check, cash, price_limit, book_crossing,
    market_exposure, city_exposure, cluster_exposure, portfolio_exposure, open_orders, order_rate,
)

#: The checks' names, in order (each ``OrderRiskChecked`` carries one outcome per name).
CHECK_NAMES = ("trading_state", "market_state", "order_size", "order_cost", "cash", "price_limit",
               "book_crossing", "market_exposure", "city_exposure", "cluster_exposure",
               "portfolio_exposure", "open_orders", "order_rate")
