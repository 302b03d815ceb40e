"""Learning from settled forecasts: scoring one ladder, the model state a window of scores teaches,
and the edge-decay check.

* ``score_ladder`` turns a decision and its ladder's settlement into ``ForecastScored`` fields.
* ``learn_model_state`` turns a window of ``ForecastScored`` into ``ModelStateRecorded`` fields:

  - **bias**: the raw mean of ``forecast_value - settled_value`` and its count. The models apply
    ``shrunk_bias(mean, n, k) = mean x n / (n + k)``, which is near zero while ``n`` is small
    against ``k`` and tends to the mean as evidence grows, so a few odd days cannot move the centre.
    Decisions at lead 0 are left out by default: inside the climate day the daily-high model's raw
    value is the hourly forecast of the hours still to come, not the day's forecast high.
  - **spread by lead**: the RMS of ``forecast_value - shrunk bias - settled_value`` per lead (the
    error of the centre the models actually use). A lead's learned spread replaces the model's
    default only once it has ``min_samples`` (``learned_spread``).
  - **ensemble weights**: ``w_i ∝ exp(-eta x mean log loss_i)``, each component's mean log loss
    taken over the same ladders (those where every weighted component was scored), so no model is
    judged on easier days than another. Until there are ``min_weight_samples`` such ladders every
    component weighs the same. The log loss is clipped (``domain.scoring.LOG_LOSS_EPS``), so every
    mean is at most about 9.21 nats and every weight stays strictly positive.

  The window is whole climate days, at least ``MIN_WINDOW_DAYS`` long, so no learned number is
  ever tuned to one day.

* ``edge_decay`` says whether the rolling mean realized edge after costs per trade has fallen below
  a configured level; ``edge_decay_alert`` gives the ``AlertRaised`` fields when it has.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from datetime import date, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from domain.events import (
    BinProbability,
    ClimateReportRecorded,
    DecisionMade,
    ForecastScored,
    MarketKind,
    MarketSettled,
    ModelScores,
    Scores,
)
from domain.events.scoring import LeadSpread, ModelWeight
from domain.ladder import SHAPE, Shape
from domain.money import PRICE_SCALE
from domain.scoring import (
    brier,
    cumulative_brier,
    cumulative_log_loss,
    cumulative_rps,
    log_loss,
    rps,
)

#: The shortest learning window: a week of weather is one regime, not a station's habits.
MIN_WINDOW_DAYS = 14
_MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
_EVENT_DATE = re.compile(r"(\d\d)([A-Z]{3})(\d\d)?")


class NotScorable(ValueError):
    """The ladder's settlement cannot be scored against this decision (not every ticker settled,
    an exclusive ladder without exactly one YES, a scalar result, no lead)."""


class LearningParams(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    #: Whole climate days the window covers, ending at ``as_of``.
    window_days: int = Field(default=60, ge=MIN_WINDOW_DAYS)
    #: ``k`` of ``shrunk_bias``: with ``n`` samples the learned bias counts ``n / (n + k)``.
    bias_shrinkage: float = Field(default=10.0, ge=0)
    #: Leads below this one do not teach the bias (see the module docstring).
    bias_min_lead: int = 1
    #: Ladders every component must have been scored on before the weights leave equality.
    min_weight_samples: int = Field(default=30, ge=1)
    #: How hard a worse mean log loss is punished. 1 is gentle: 0.1 nats worse costs a tenth of
    #: the weight. (``exp(-total log loss)``, Bayesian model averaging, would settle on one model
    #: within weeks and never recover when the weather changes.)
    eta: float = Field(default=1.0, gt=0, le=10)


# -- settlement facts ------------------------------------------------------------------------------

def settles_on(event_ticker: str) -> date | None:
    """The climate day a Kalshi event prices: ``KXHIGHNY-26AUG28`` -> 2026-08-28; a monthly event
    (``KXRAINNYCM-26AUG``) -> the month's last day, whose report carries the month's total."""
    _, _, part = event_ticker.partition("-")
    match = _EVENT_DATE.fullmatch(part)
    if match is None or match.group(2) not in _MONTHS:
        return None
    year, month = 2000 + int(match.group(1)), _MONTHS.index(match.group(2)) + 1
    try:
        if match.group(3) is not None:
            return date(year, month, int(match.group(3)))
        return date(year + month // 12, month % 12 + 1, 1) - timedelta(days=1)
    except ValueError:
        return None


def settled_value_of(report: ClimateReportRecorded, kind: MarketKind) -> Decimal | None:
    """The value a ladder of ``kind`` settles on from a CLI report, or None when the report cannot
    settle anything (preliminary, self-contradicting, or the number is missing)."""
    if report.preliminary or report.inconsistencies:
        return None
    return settled_value(kind, max_temp_f=report.max_temp_f,
                         precip_month_in=report.precip_month_in, snow_month_in=report.snow_month_in)


def settled_value(kind: MarketKind, *, max_temp_f: int | None, precip_month_in: Decimal | None,
                  snow_month_in: Decimal | None) -> Decimal | None:
    """The number of a final report that settles ``kind``: the high, or the month's total."""
    if kind is MarketKind.DAILY_HIGH:
        return None if max_temp_f is None else Decimal(max_temp_f)
    return precip_month_in if kind is MarketKind.MONTHLY_RAIN else snow_month_in


def outcome_of(settlement: MarketSettled) -> bool:
    """Whether a market paid YES."""
    return paid(settlement.result, settlement.settlement_value, settlement.ticker)


def paid(result: str, settlement_value: int, ticker: str = "") -> bool:
    """Whether a settlement ``result`` paid YES. A scalar result that is neither all nor nothing
    (weather ladders never have one) is refused: it is no yes/no outcome to score."""
    if result == "yes":
        return True
    if result == "no":
        return False
    if settlement_value in (0, PRICE_SCALE):
        return settlement_value == PRICE_SCALE
    raise NotScorable(f"{ticker} settled as a scalar ({settlement_value})")


# -- scoring one ladder ----------------------------------------------------------------------------

def score_probabilities(shape: Shape, probabilities: Sequence[float],
                        outcomes: Sequence[bool]) -> Scores:
    """Brier, log loss and RPS of one set of probabilities (rung order) for a ladder's shape."""
    if shape is Shape.CUMULATIVE:
        return Scores(brier=cumulative_brier(probabilities, outcomes),
                      log_loss=cumulative_log_loss(probabilities, outcomes),
                      rps=cumulative_rps(probabilities, outcomes))
    paying = [i for i, paid in enumerate(outcomes) if paid]
    if len(paying) != 1:
        raise NotScorable(f"an exclusive ladder pays exactly one rung ({len(paying)} paid)")
    return Scores(brier=brier(probabilities, paying[0]), log_loss=log_loss(probabilities, paying[0]),
                  rps=rps(probabilities, paying[0]))


@dataclass(frozen=True, slots=True)
class LadderScore:
    """The fields of one ``ForecastScored`` (the envelope is the caller's)."""

    city: str
    kind: MarketKind
    event_ticker: str
    decision_id: UUID
    model_state_id: UUID | None
    lead_days: int
    climate_date: date | None
    probabilities: tuple[BinProbability, ...]
    paying: tuple[str, ...]
    ours: Scores
    climatology: Scores | None
    market: Scores | None
    components: tuple[ModelScores, ...]
    forecast_value: float | None
    settled_value: Decimal | None

    def event_fields(self) -> dict[str, Any]:
        """``ForecastScored(**envelope, **score.event_fields())``."""
        return {f.name: getattr(self, f.name) for f in fields(self)}


def _baseline(shape: Shape, values: Sequence[float | None],
              outcomes: Sequence[bool]) -> Scores | None:
    known = [v for v in values if v is not None]
    return score_probabilities(shape, known, outcomes) if len(known) == len(values) else None


def score_ladder(decision: DecisionMade, outcomes: Mapping[str, bool],
                 settled_value: Decimal | None = None) -> LadderScore:
    """Score ``decision`` against its ladder's settlement.

    ``outcomes`` maps each settled ticker to whether it paid YES (extra tickers are ignored);
    every ticker the decision priced must be there. The climatology and market baselines are
    scored when the decision recorded them for every rung. ``NotScorable`` when the settlement
    cannot be scored; ``ValueError`` when the decision itself is malformed (a probability outside
    [0, 1], components not aligned with its probabilities).
    """
    if decision.lead_days is None:
        raise NotScorable(f"decision {decision.decision_id} recorded no lead_days")
    tickers = [b.ticker for b in decision.probabilities]
    missing = [t for t in tickers if t not in outcomes]
    if not tickers or missing:
        raise NotScorable(f"{decision.event_ticker}: not settled yet ({', '.join(missing)})")
    paid = [outcomes[t] for t in tickers]
    shape = SHAPE[decision.kind]
    components = []
    for component in decision.components:
        if len(component.probabilities) != len(tickers):
            raise ValueError(f"decision {decision.decision_id}: component {component.model} has "
                             f"{len(component.probabilities)} probabilities for {len(tickers)} rungs")
        components.append(ModelScores(model=component.model, scores=score_probabilities(
            shape, component.probabilities, paid)))
    return LadderScore(
        city=decision.city, kind=decision.kind, event_ticker=decision.event_ticker,
        decision_id=decision.decision_id, model_state_id=decision.model_state_id,
        lead_days=decision.lead_days, climate_date=settles_on(decision.event_ticker),
        probabilities=decision.probabilities,
        paying=tuple(t for t, p in zip(tickers, paid, strict=True) if p),
        ours=score_probabilities(shape, [b.probability for b in decision.probabilities], paid),
        climatology=_baseline(shape, [b.climatology for b in decision.probabilities], paid),
        market=_baseline(shape, [b.market for b in decision.probabilities], paid),
        components=tuple(components), forecast_value=decision.forecast_value,
        settled_value=settled_value,
    )


# -- learning the model state ----------------------------------------------------------------------

def shrunk_bias(mean: float, samples: int, k: float) -> float:
    """``mean x n / (n + k)``: the bias a model applies after ``n`` samples (0 with none)."""
    if samples <= 0:
        return 0.0
    # The factor first: n / (n + k) <= 1 exactly, so the result never rounds past the mean.
    return mean * (samples / (samples + k))


def learned_spread(spread_by_lead: Sequence[LeadSpread], lead_days: int, *, default: float,
                   min_samples: int) -> float:
    """The learned sigma at ``lead_days`` once it has ``min_samples``, else ``default``."""
    for lead, sigma, samples in spread_by_lead:
        if lead == lead_days and samples >= min_samples and sigma > 0:
            return sigma
    return default


def ensemble_weights(log_losses: Mapping[str, Sequence[float]], *, eta: float,
                     min_samples: int) -> tuple[ModelWeight, ...]:
    """``(model, weight, samples, mean log loss)`` per model, by name. ``log_losses`` are each
    model's per-ladder losses over the same ladders; weights are equal below ``min_samples``."""
    if not log_losses:
        return ()
    means = {m: math.fsum(v) / len(v) if v else None for m, v in log_losses.items()}
    samples = min(len(v) for v in log_losses.values())
    known = [v for v in means.values() if v is not None]
    if samples < min_samples or len(known) != len(means):
        raw = dict.fromkeys(means, 1.0)
    else:
        best = min(known)  # exp of the difference from the best: no underflow for the best model
        raw = {m: math.exp(-eta * (v - best)) for m, v in means.items() if v is not None}
    total = math.fsum(raw.values())
    return tuple((m, raw[m] / total, len(log_losses[m]), means[m]) for m in sorted(means))


@dataclass(frozen=True, slots=True)
class ModelState:
    """The fields of one ``ModelStateRecorded`` (the envelope is the caller's)."""

    city: str
    kind: MarketKind
    as_of: date
    window_days: int
    bias: float
    bias_samples: int
    spread_by_lead: tuple[LeadSpread, ...]
    weights: tuple[ModelWeight, ...]

    def event_fields(self) -> dict[str, Any]:
        """``ModelStateRecorded(**envelope, **state.event_fields())``."""
        return {f.name: getattr(self, f.name) for f in fields(self)}


def in_window(scored: Sequence[ForecastScored], *, city: str, kind: MarketKind, as_of: date,
              window_days: int) -> list[ForecastScored]:
    """The scores of ``city``'s ``kind`` ladders whose climate day lies in the ``window_days``
    ending at ``as_of``, the last one per ladder and lead (a rescored ladder replaces itself)."""
    first = as_of - timedelta(days=window_days - 1)
    latest: dict[tuple[str, int], ForecastScored] = {}
    for s in scored:
        if (s.city == city and s.kind == kind and s.climate_date is not None
                and first <= s.climate_date <= as_of):
            latest.pop((s.event_ticker, s.lead_days), None)
            latest[(s.event_ticker, s.lead_days)] = s
    return list(latest.values())


def learn_model_state(scored: Sequence[ForecastScored], *, city: str, kind: MarketKind,
                      as_of: date, params: LearningParams | None = None,
                      models: Sequence[str] | None = None) -> ModelState:
    """What ``scored`` teaches about ``city``'s ``kind`` over the window ending at ``as_of``.

    ``models`` are the components to weigh (default: those of the window's last scored decision
    that had any). Anything outside the window, or for another city or kind, is ignored.
    """
    params = params or LearningParams()
    window = in_window(scored, city=city, kind=kind, as_of=as_of, window_days=params.window_days)
    valued = [(s.lead_days, s.forecast_value - float(s.settled_value)) for s in window
              if s.forecast_value is not None and s.settled_value is not None]
    bias_errors = [e for lead, e in valued if lead >= params.bias_min_lead]
    bias = math.fsum(bias_errors) / len(bias_errors) if bias_errors else 0.0
    applied = shrunk_bias(bias, len(bias_errors), params.bias_shrinkage)
    by_lead: dict[int, list[float]] = {}
    for lead, error in valued:
        by_lead.setdefault(lead, []).append((error - applied) ** 2)
    spread = tuple((lead, math.sqrt(math.fsum(sq) / len(sq)), len(sq))
                   for lead, sq in sorted(by_lead.items()))
    if models is None:
        with_components = [s for s in window if s.components]
        models = [c.model for c in with_components[-1].components] if with_components else []
    wanted = set(models)
    scored_losses = [{c.model: c.scores.log_loss for c in s.components} for s in window]
    common = [losses for losses in scored_losses if wanted <= losses.keys()]
    weights = ensemble_weights({m: [losses[m] for losses in common] for m in wanted},
                               eta=params.eta, min_samples=params.min_weight_samples)
    return ModelState(city=city, kind=kind, as_of=as_of, window_days=params.window_days,
                      bias=bias, bias_samples=len(bias_errors), spread_by_lead=spread,
                      weights=weights)


# -- edge decay ------------------------------------------------------------------------------------

def edge_decay(realized: Sequence[float], window: int, threshold: float) -> bool:
    """True when the mean realized edge after costs of the last ``window`` trades is below
    ``threshold``. Fewer than ``window`` trades never decay: there is not yet a mean to trust."""
    if window < 1:
        raise ValueError("the edge-decay window needs at least one trade")
    if len(realized) < window:
        return False
    return math.fsum(realized[-window:]) / window < threshold


def edge_decay_alert(realized: Sequence[float], window: int, threshold: float, *,
                     scope: str) -> dict[str, Any] | None:
    """The ``AlertRaised`` fields (severity, kind, message, context) when the edge has decayed."""
    if not edge_decay(realized, window, threshold):
        return None
    mean = math.fsum(realized[-window:]) / window
    return {
        "severity": "warning", "kind": "edge_decay",
        "message": f"{scope}: mean realized edge after costs over the last {window} trades is "
                   f"{mean:.4f}, below {threshold:.4f}",
        "context": {"scope": scope, "window": str(window), "mean_edge": repr(mean),
                    "threshold": repr(threshold)},
    }
