"""Forecast accountability: how each decision's probabilities scored once its ladder settled, and
the model state (station bias, spread by lead, ensemble weights) learned from those scores.

See ``domain.scoring`` for the scores and ``domain.learning`` for how both events are derived.
"""

from __future__ import annotations

import uuid
from datetime import date

from pydantic import Field

from domain.events.base import Event, MarketKind, Record, Strike
from domain.events.trading import BinProbability

#: ``(lead_days, sigma, samples)``: the RMS error of the bias-corrected forecast at one lead.
LeadSpread = tuple[int, float, int]
#: ``(model, weight, samples, mean_log_loss)``: one component's ensemble weight and the window's
#: evidence for it (``mean_log_loss`` is None when it has no samples).
ModelWeight = tuple[str, float, int, float | None]


class Scores(Record):
    """One set of probabilities scored against the settlement (lower is better; 0 is perfect)."""

    brier: float
    log_loss: float
    rps: float


class ModelScores(Record):
    """One ensemble component's own probabilities, scored."""

    model: str
    scores: Scores


class ForecastScored(Event):
    """A settled ladder's scores for the last decision made at one lead.

    For a daily high the ladder is exclusive (Brier over all rungs, log loss of the paying rung,
    RPS); for monthly rain or snow it is cumulative, each market its own binary event (mean Brier,
    mean log loss, and RPS equal to the mean Brier). ``settled_value`` is what the final CLI
    report said (the high in °F, or the month's total in inches), so the station's bias can be
    learned from ``forecast_value - settled_value``.
    """

    city: str
    kind: MarketKind
    event_ticker: str
    decision_id: uuid.UUID
    #: The ``ModelStateRecorded`` the decision's models used, if any.
    model_state_id: uuid.UUID | None = None
    lead_days: int
    #: The climate day the ladder priced (for a monthly ladder, the month's last day).
    climate_date: date | None = None
    #: The decision's probabilities, with the climatology and market baselines it recorded.
    probabilities: tuple[BinProbability, ...]
    #: The tickers that settled YES.
    paying: tuple[str, ...]
    ours: Scores
    #: None when the decision did not record that baseline for every rung.
    climatology: Scores | None = None
    market: Scores | None = None
    components: tuple[ModelScores, ...] = ()
    forecast_value: float | None = None
    settled_value: Strike | None = None


class ModelStateRecorded(Event):
    """What one city's market kind has learned from its scored forecasts over a window.

    ``bias`` is the raw mean of ``forecast_value - settled_value`` over ``bias_samples`` ladders;
    the models shrink it toward zero while samples are few (``domain.learning.shrunk_bias``).
    """

    city: str
    kind: MarketKind
    #: The last climate date the window includes.
    as_of: date
    window_days: int = Field(ge=1)
    bias: float
    bias_samples: int = Field(ge=0)
    spread_by_lead: tuple[LeadSpread, ...] = ()
    weights: tuple[ModelWeight, ...] = ()
