"""``milkbot explain DECISION_ID``: one decision in plain words.

What it saw (the ladder and its book, the weather, the configuration), what it believed (our
probability per bin beside climatology and the market's own), what it would pay and gain (edges
after fees), and what became of each order it wanted (the risk verdict, check by check when
refused, then the venue's answer, fills and fees). Everything is read from the ledger: the
decision's own record, its inputs' streams, and the risk and order streams of its orders.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from adapters.kalshi.snapshots import ladder_stream
from adapters.nws.snapshots import weather_stream
from domain.events import (
    DecisionMade,
    Event,
    MarketKind,
    MarketSnapshotted,
    OrderAccepted,
    OrderCanceled,
    OrderExpired,
    OrderRejected,
    OrderRiskChecked,
    OrderSubmitted,
    WeatherSnapshotted,
)
from domain.ladder import Ladder, LadderError, Rung
from domain.money import PRICE_SCALE, money_to_dollars
from domain.oms.streams import order_stream
from domain.risk.checks import risk_stream
from eventstore.ledger import Ledger
from eventstore.store import EventStore
from replay.decisions import INPUT_TYPE_NAMES, event_id_of

UNITS = {MarketKind.DAILY_HIGH: "°F", MarketKind.MONTHLY_RAIN: '"', MarketKind.MONTHLY_SNOW: '"'}
KIND_WORDS = {MarketKind.DAILY_HIGH: "daily high temperature", MarketKind.MONTHLY_RAIN: "monthly rain",
              MarketKind.MONTHLY_SNOW: "monthly snow"}


def cents(price: int | None) -> str:
    return "-" if price is None else f"{price * 100 / PRICE_SCALE:g}¢"


def contracts(count: int) -> str:
    return f"{count / 100:g}"


def explain(ledger: Ledger, decision_id: uuid.UUID) -> list[str]:
    """The decision's story, line by line. ``LookupError`` when the ledger has no such decision.
    Fills are read from the portfolio projection's fill log (``proj_fills``), as of its last
    catch-up."""
    store = ledger.store
    records = store.read_stream_records(f"decision:{decision_id}")
    if not records:
        raise LookupError(f"no decision {decision_id} in the ledger")
    lines: list[str] = []
    for record in records:
        decision = record.decode()
        assert isinstance(decision, DecisionMade)
        lines += _story(ledger, decision, record.position)
    return lines


def _story(ledger: Ledger, d: DecisionMade, position: int) -> list[str]:
    store, unit = ledger.store, UNITS[d.kind]
    lines = [f"Decision {d.decision_id} by the {d.strategy} strategy, at {d.recorded_at:%Y-%m-%d %H:%M} UTC "
             f"(ledger position {position})",
             f"  {d.city} {KIND_WORDS[d.kind]}, event {d.event_ticker}"
             + (f", {d.lead_days} day(s) ahead" if d.lead_days is not None else "")]
    market = _find(store, ladder_stream(d.event_ticker), d.market_snapshot_id, position)
    weather = [e for e in (_find(store, weather_stream(d.city, d.kind), i, position)
                           for i in d.weather_snapshot_ids) if e is not None]
    lines.append("Inputs")
    lines.append(f"  market snapshot {d.market_snapshot_id}"
                 + (f" taken {market.recorded_at:%Y-%m-%d %H:%M} UTC" if market is not None else
                    " (not found in its ladder's stream)"))
    for event_id in d.weather_snapshot_ids:
        seen = next((w for w in weather if w.event_id == event_id), None)
        if isinstance(seen, WeatherSnapshotted):
            issued = f", forecast issued {seen.issued_at:%Y-%m-%d %H:%M} UTC" if seen.issued_at else ""
            lines.append(f"  weather snapshot {event_id} from {seen.provider}, station {seen.station}, "
                         f"taken {seen.recorded_at:%Y-%m-%d %H:%M} UTC{issued}")
        else:
            lines.append(f"  climate report or weather input {event_id}")
    if d.forecast_value is not None:
        lines.append(f"  the provider's own forecast: {d.forecast_value:g}{unit}")
    if d.model_state_id is not None:
        lines.append(f"  learned model state {d.model_state_id}")
    lines.append(f"  configuration {d.config_version[:12]}; cash it could spend "
                 f"${money_to_dollars(d.balance or 0):,.2f}; "
                 f"{len(d.positions)} holding(s) and {len(d.resting)} resting order(s) on this ladder")

    lines.append("Probabilities (YES) per bin: ours, climatology alone, the market's")
    rungs = _rungs(market)
    for bin_ in d.probabilities:
        rung = rungs.get(bin_.ticker)
        label = rung.label(unit) if rung is not None else bin_.ticker
        book = (f"  book: YES bid {cents(rung.yes_bid)} / ask {cents(rung.yes_ask)}"
                if rung is not None else "")
        lines.append(f"  {label:>14}  {bin_.probability:6.1%}  {_pct(bin_.climatology)}  "
                     f"{_pct(bin_.market)}{book}")
    if d.edges:
        lines.append("Edges after fees (per contract)")
        for edge in d.edges:
            fee = money_to_dollars(edge.fee_per_contract) * 100
            lines.append(f"  {edge.action.value} {edge.side.value.upper()} {edge.ticker} at "
                         f"{cents(edge.price)}: P = {edge.probability:.1%}, fee {fee:.2f}¢, "
                         f"edge {edge.edge_after_fees * 100:+.2f}¢")
    if not d.intended_orders:
        lines.append(f"No trade: {d.no_trade_reason or 'nothing to do'}")
    for order in d.intended_orders:
        how = (" (post-only)" if order.post_only else "") + (f" - {order.reason}" if order.reason else "")
        lines.append(f"Order {order.client_order_id}: {order.action.value} {contracts(order.count)} "
                     f"{order.side.value.upper()} {order.ticker} at {cents(order.price)}{how}")
        lines += ["  " + line for line in _fate(ledger, order.client_order_id)]
    return lines


def _pct(value: float | None) -> str:
    return "     -" if value is None else f"{value:6.1%}"


def _rungs(market: Event | None) -> dict[str, Rung]:
    if not isinstance(market, MarketSnapshotted):
        return {}
    try:
        return {r.ticker: r for r in Ladder.of(market)}
    except LadderError:
        return {}


def _find(store: EventStore, stream: str, event_id: uuid.UUID, before: int) -> Event | None:
    """An input by id: in its expected stream, else anywhere in the log before the decision."""
    wanted = str(event_id)
    for record in store.read_stream_records(stream):
        if record.position < before and event_id_of(record) == wanted:
            return record.decode()
    for record in store.iter_records(stop=before - 1):
        if record.type_name in INPUT_TYPE_NAMES and event_id_of(record) == wanted:
            return record.decode()
    return None


def _fate(ledger: Ledger, client_order_id: str) -> Iterable[str]:
    store = ledger.store
    verdicts = [e for e in store.read_stream(risk_stream(client_order_id)) if isinstance(e, OrderRiskChecked)]
    if not verdicts:
        yield "risk: not checked (the handler did not get this far)"
        return
    verdict = verdicts[0]
    if verdict.approved:
        yield f"risk: approved ({len(verdict.checks)} checks passed)"
    else:
        failed = [c for c in verdict.checks if not c.passed]
        yield f"risk: refused by {', '.join(c.name for c in failed)}"
        for check in failed:
            yield f"  {check.name}: {check.reason}"
        return
    history = store.read_stream(order_stream(client_order_id))
    if not history:
        yield "not sent (no intent recorded)"
    for event in history:
        yield _order_line(event)
    with ledger.backend.transaction() as tx:
        fills = tx.execute("SELECT ts, price, count, fee, is_taker FROM proj_fills "
                           "WHERE client_order_id = ? ORDER BY ts", (client_order_id,))
    for ts, price, count, fee, is_taker in fills:
        yield (f"{str(ts)[11:19]} filled {contracts(int(count))} at {cents(int(price))}, fee "
               f"${money_to_dollars(int(fee)):,.2f} ({'taker' if is_taker else 'maker'})")


def _order_line(event: Event) -> str:
    at = f"{event.recorded_at:%H:%M:%S}"
    if isinstance(event, OrderSubmitted):
        return f"{at} sent"
    if isinstance(event, OrderAccepted):
        return f"{at} accepted by the venue as {event.venue_order_id}"
    if isinstance(event, OrderRejected):
        return f"{at} rejected: {event.reason}"
    if isinstance(event, OrderCanceled):
        return f"{at} cancelled: {event.reason}"
    if isinstance(event, OrderExpired):
        return f"{at} expired"
    return f"{at} {type(event).__name__}"
