"""Forecast accountability: what a settlement says about our forecasts and our trades.

When a ladder settles, the command handler records, for the last decision made at each lead, a
``ForecastScored`` (our probabilities against what paid, beside climatology's and the market's),
and for each of our fills on it the edge it actually realized after costs. When the mean realized
edge of the last ``window`` trades falls below the configured level, an ``AlertRaised`` fires, once
per crossing (not again on every losing trade while it stays low).

Everything here is pure: events in, events out, ids derived from the inputs so that recording the
same settlement twice is a no-op in the ledger.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field

from domain.events import (
    Action,
    AlertRaised,
    DecisionMade,
    ForecastScored,
    MarketSettled,
    OrderFilled,
    Side,
    deterministic_id,
)
from domain.learning import edge_decay, edge_decay_alert, paid, score_ladder
from domain.money import COUNT_SCALE, MONEY_SCALE, PRICE_SCALE


class AccountabilityParams(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    #: Trades in the rolling window the realized edge is averaged over.
    edge_window: int = Field(default=50, ge=1)
    #: The mean realized edge after costs (dollars per contract) below which the alert fires.
    min_realized_edge: float = Field(default=0.0, ge=-1.0, le=1.0)


def outcomes(settlements: Sequence[MarketSettled]) -> dict[str, bool]:
    """Whether each settled market paid YES."""
    return {s.ticker: paid(s.result, s.settlement_value, s.ticker) for s in settlements}


def score_stream(event_ticker: str, lead_days: int) -> str:
    return f"score:{event_ticker}:{lead_days}"


def forecast_scored(decision: DecisionMade, settled: Mapping[str, bool], settled_value: Decimal | None,
                    *, recorded_at: datetime, correlation_id: uuid.UUID) -> ForecastScored:
    """The score of ``decision`` (the last one at its lead) against its ladder's settlement.

    Raises ``learning.NotScorable`` when the ladder has not settled in full or the decision has no
    lead; the stream (one per ladder and lead) makes a second recording of it a no-op.
    """
    score = score_ladder(decision, settled, settled_value)
    stream = score_stream(decision.event_ticker, score.lead_days)
    return ForecastScored(
        event_id=deterministic_id("score", stream, decision.decision_id), stream=stream, version=1,
        recorded_at=recorded_at, correlation_id=correlation_id, causation_id=decision.event_id,
        **score.event_fields())


def realized_edge(fill: OrderFilled, settlement: MarketSettled) -> float:
    """Dollars per contract the fill made once its market settled, after its fee.

    A buy of a side earns what that side pays (YES the settlement value, NO one minus it) less the
    price and the fee per contract; a sale earns the price less the fee and what the side paid.
    """
    if fill.ticker != settlement.ticker:
        raise ValueError(f"fill {fill.fill_id} is on {fill.ticker}, not {settlement.ticker}")
    return edge_of(fill.side, fill.action, fill.price, fill.count, fill.fee, settlement.settlement_value)


def edge_of(side: Side, action: Action, price: int, count: int, fee: int, yes_value: int) -> float:
    """``realized_edge`` from the numbers alone (price units, 1/100 contracts, fee in micros)."""
    if count <= 0:
        raise ValueError("a fill without contracts has no edge")
    payout = (yes_value if side is Side.YES else PRICE_SCALE - yes_value) / PRICE_SCALE
    paid = price / PRICE_SCALE
    fee_each = fee / MONEY_SCALE / (count / COUNT_SCALE)
    return payout - paid - fee_each if action is Action.BUY else paid - fee_each - payout


def edge_alert(realized: Sequence[float], params: AccountabilityParams, *, scope: str,
               recorded_at: datetime, correlation_id: uuid.UUID) -> AlertRaised | None:
    """An alert when the latest trade takes the rolling mean realized edge below the configured
    level, and only then: while it stays below, later trades raise nothing new."""
    window, level = params.edge_window, params.min_realized_edge
    if not realized or not edge_decay(realized, window, level) or edge_decay(realized[:-1], window, level):
        return None
    fields = edge_decay_alert(realized, window, level, scope=scope)
    assert fields is not None
    # One stream per crossing, named by the trade that crossed: recording it twice is a no-op.
    stream = f"alert:edge_decay:{scope}:{len(realized)}"
    return AlertRaised(event_id=deterministic_id("alert", stream), stream=stream, version=1,
                       recorded_at=recorded_at, correlation_id=correlation_id, **fields)
