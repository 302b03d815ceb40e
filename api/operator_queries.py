"""The operator app's answers: live positions, exposure, the risk state and its limits, open orders
and alerts. Nothing here is delayed; all of it is private.

Positions and P&L come from the portfolio projection, the trading state from the trading-state
projection, orders, alerts and the venue's balance from ``api.operator_ledger``. Money is exact
dollars (``"12.3456"`` keeps every micro that is there), positions signed contracts as in
``milkbot status --json`` (YES positive, NO negative).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from api.formats import iso, price
from api.operator_ledger import OperatorView
from api.public_queries import ledger_clock
from domain.config import MilkbotConfig
from domain.money import PRICE_SCALE, money_to_dollars
from domain.risk.exposure import Exposure, Held, exposure
from domain.risk.state import ALL, TradingStates
from eventstore.backend import ReadModelTx
from milkbot.status import contracts
from projections.timefmt import from_text
from projections.trading_state import read_trading_states

UNKNOWN_CITY = "?"
UNKNOWN_CLUSTER = "unknown"


def money(micros: int) -> str:
    return str(money_to_dollars(micros))


def usage(value: int, limit: int | None) -> float | None:
    return None if not limit else value / limit


class OperatorReads:
    """What one operator answer reads from the projections, in one transaction."""

    def __init__(self, tx: ReadModelTx) -> None:
        self.as_of = ledger_clock(tx)
        clock = tx.execute("SELECT as_of FROM proj_trading_clock WHERE name = 'ledger'")
        #: The time the holds are read at: the clock the trading-state fold has reached.
        self.states_at: datetime | None = from_text(clock[0][0]) if clock else self.as_of
        self.states: TradingStates = read_trading_states(tx)
        self.positions = tx.execute(
            "SELECT p.ticker, p.city, p.position, p.cost, p.realized, p.unrealized, p.fees, "
            "p.fills, m.mark, p.updated_at FROM proj_positions p "
            "LEFT JOIN proj_marks m ON m.ticker = p.ticker WHERE p.position <> 0 ORDER BY p.ticker")
        self.pnl = tx.execute("SELECT scope, realized, unrealized, fees, cash, open_contracts, "
                              "fills FROM proj_pnl ORDER BY scope")


def _envelope(reads: OperatorReads, view: OperatorView | None = None) -> dict[str, Any]:
    answer: dict[str, Any] = {"as_of": iso(reads.as_of)}
    if view is not None:
        answer["ledger_position"] = view.position
    return answer


def positions(reads: OperatorReads) -> dict[str, Any]:
    return {
        **_envelope(reads),
        "positions": [
            {"ticker": t, "city": c, "position": contracts(p), "cost": money(cost),
             "realized": money(r), "unrealized": money(u), "fees": money(f), "fills": n,
             "mark": price(mark), "updated_at": at}
            for t, c, p, cost, r, u, f, n, mark, at in reads.positions],
        "pnl": {scope: {"realized": money(r), "unrealized": money(u), "fees": money(f),
                        "cash": money(cash), "open_contracts": contracts(open_), "fills": n}
                for scope, r, u, f, cash, open_, n in reads.pnl},
    }


def _exposure(reads: OperatorReads, view: OperatorView, config: MilkbotConfig) -> Exposure:
    held = {t: Held(position=p, cost=cost) for t, _c, p, cost, *_ in reads.positions}
    city_of = {t: c for t, c, *_ in reads.positions}
    for order in view.resting:
        city_of.setdefault(order.ticker, view.cities.get(order.ticker, UNKNOWN_CITY))
    cluster_of = {c.code: c.cluster for c in config.cities}
    for city in set(city_of.values()) - set(cluster_of):
        cluster_of[city] = UNKNOWN_CLUSTER  # a loss is never left uncounted for want of a city
    return exposure(held, view.resting, city_of, cluster_of)


def exposure_answer(reads: OperatorReads, view: OperatorView,
                    config: MilkbotConfig) -> dict[str, Any]:
    exp = _exposure(reads, view, config)
    limits = config.risk
    cluster_of = {c.code: c.cluster for c in config.cities}
    city_of = {t: c for t, c, *_ in reads.positions} | view.cities
    return {
        **_envelope(reads, view),
        "total": money(exp.total),
        "markets": [{"ticker": t, "city": city_of.get(t, UNKNOWN_CITY), "loss": money(loss),
                     "limit": money(limits.max_market_loss_micros),
                     "usage": usage(loss, limits.max_market_loss_micros)}
                    for t, loss in sorted(exp.markets.items())],
        "cities": [{"city": c, "cluster": cluster_of.get(c, UNKNOWN_CLUSTER), "loss": money(loss),
                    "limit": money(limits.max_city_loss_micros),
                    "usage": usage(loss, limits.max_city_loss_micros)}
                   for c, loss in sorted(exp.cities.items())],
        "clusters": [{"cluster": name, "loss": money(loss),
                      "limit": money(limits.max_cluster_loss_micros),
                      "usage": usage(loss, limits.max_cluster_loss_micros)}
                     for name, loss in sorted(exp.clusters.items())],
    }


def _marked_value(reads: OperatorReads) -> int:
    """Open positions at their marks, as the command handler values them for equity."""
    value = 0
    for _t, _c, position, *_rest, mark, _at in reads.positions:
        if mark is not None:
            value += position * mark if position > 0 else -position * (PRICE_SCALE - mark)
    return value


def risk(reads: OperatorReads, view: OperatorView, config: MilkbotConfig) -> dict[str, Any]:
    limits = config.risk
    states, at = reads.states, reads.states_at
    exp = _exposure(reads, view, config)
    equity = None if view.balance is None else view.balance.micros + _marked_value(reads)
    portfolio_cap = None if equity is None else limits.max_portfolio_loss_micros(equity)

    def used(value: int, limit: int | None) -> dict[str, Any]:
        return {"value": money(value), "limit": None if limit is None else money(limit),
                "usage": usage(value, limit)}

    trading: dict[str, Any] = {"state": None, "why": "", "cities": {}, "holds": [],
                               "breakers": []}
    if at is not None:
        trading = {
            "state": states.scope_state(ALL, at).value,
            # The book's reasons; each city's ``why`` holds them too, ``own`` only the city's.
            "why": "; ".join(states.reasons(ALL, at)),
            "cities": {c.code: {"state": states.state_for(c.code, at).value,
                                "why": states.why(c.code, at),
                                "own": "; ".join(states.city_reasons(c.code, at))}
                       for c in config.cities},
            "holds": [{"scope": h.scope, "state": h.state.value, "until": iso(h.until),
                       "reason": h.reason} for h in states.holds if h.in_force(at)],
            "breakers": [{"city": city, "feed": feed, "reason": b.reason}
                         for (city, feed), b in sorted(states.breakers.items()) if b.tripped],
        }
    return {
        **_envelope(reads, view),
        "trading": trading,
        "limits": limits.model_dump(mode="json"),
        "usage": {
            "open_orders": {"value": len(view.open_orders), "limit": limits.max_open_orders,
                            "usage": usage(len(view.open_orders), limits.max_open_orders)},
            "market_loss": used(max(exp.markets.values(), default=0),
                                limits.max_market_loss_micros),
            "city_loss": used(max(exp.cities.values(), default=0), limits.max_city_loss_micros),
            "cluster_loss": used(max(exp.clusters.values(), default=0),
                                 limits.max_cluster_loss_micros),
            "portfolio_loss": {**used(exp.total, portfolio_cap),
                               "equity": None if equity is None else money(equity)},
        },
        "balance": None if view.balance is None else {
            "dollars": money(view.balance.micros), "read_at": iso(view.balance.read_at)},
        "breaches": [{"limit": b.limit, "scope": b.scope, "scope_key": b.scope_key,
                      "value": b.value, "threshold": b.threshold, "action": b.action,
                      "recorded_at": iso(b.recorded_at)} for b in reversed(view.breaches)],
    }


def orders(reads: OperatorReads, view: OperatorView) -> dict[str, Any]:
    return {
        **_envelope(reads, view),
        "orders": [
            {"client_order_id": o.client_order_id, "venue_order_id": o.venue_order_id,
             "decision_id": None if o.decision_id is None else str(o.decision_id),
             "ticker": o.ticker, "city": o.city, "side": o.side.value, "action": o.action.value,
             "price": price(o.price), "ordered": contracts(o.ordered),
             "filled": contracts(o.filled), "remaining": contracts(o.remaining),
             "status": o.status.value, "post_only": o.post_only,
             "submitted_at": iso(o.submitted_at)}
            for o in sorted(view.open_orders, key=lambda o: (o.submitted_at, o.client_order_id))],
    }


def alerts(reads: OperatorReads, view: OperatorView, limit: int) -> dict[str, Any]:
    newest = list(reversed(view.alerts))[:limit]
    return {
        **_envelope(reads, view),
        "alerts": [{"severity": a.severity, "kind": a.kind, "message": a.message,
                    "context": a.context, "stream": a.stream, "recorded_at": iso(a.recorded_at)}
                   for a in newest],
    }
