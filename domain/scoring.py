"""Proper scores of a ladder's probabilities against what settled, and reliability buckets.

Lower is better for every score here; a perfect forecast scores 0.

**Exclusive ladder** (a daily high: exactly one rung pays). ``probabilities`` are in rung order
(lowest values first) and ``paying`` is the index of the rung that paid.

* Brier: ``sum_i (p_i - o_i)^2`` over every rung, ``o_i`` 1 for the paying rung and 0 elsewhere.
  With probabilities that sum to 1 it lies in ``[0, 2]``.
* Log loss: ``-ln p_paying``, with ``p_paying`` clipped below at ``LOG_LOSS_EPS`` so a rung given
  probability 0 costs ``ln(1 / eps)`` (about 9.21 nats) rather than infinity.
* Ranked probability score: ``1/(K-1) sum_{j<K-1} (F_j - O_j)^2`` over the cumulative sums ``F``
  of the probabilities and ``O`` of the outcomes (the last cumulative sum is 1 for both and is
  left out). It lies in ``[0, 1]`` and, unlike Brier, rewards mass near the paying rung: missing
  by one bin costs less than missing by four.

Worked example: ``(0.117, 0.220, 0.299, 0.232, 0.103, 0.030)``, the third rung paying::

    Brier    = 0.117² + 0.220² + (1 - 0.299)² + 0.232² + 0.103² + 0.030²
             = 0.013689 + 0.0484 + 0.491401 + 0.053824 + 0.010609 + 0.0009 = 0.618823
    log loss = -ln 0.299 = 1.207312
    F        = 0.117, 0.337, 0.636, 0.868, 0.971      O = 0, 0, 1, 1, 1
    RPS      = (0.117² + 0.337² + 0.364² + 0.132² + 0.029²) / 5 = 0.278019 / 5 = 0.0556038

Against climatology of 1/6 per rung (Brier 5/36 + 25/36 = 0.833333) the Brier skill score is
``1 - 0.618823 / 0.833333 = 0.2574``.

**Cumulative ladder** (monthly rain or snow: "more than X" markets, all paying below the total).
Each market is its own binary event: ``e_j = P(value > X_j)`` in strike order, ``y_j`` 1 when it
paid. Brier and log loss are the means over the markets of the binary scores.

The RPS of a cumulative ladder is the mean Brier of its exceedances, and that is exactly the RPS of
the exclusive bins it implies. With ``n`` strikes ``X_1 < ... < X_n`` the implied bins are
``<= X_1, (X_1, X_2], ..., > X_n`` (``K = n + 1`` bins, probabilities ``1 - e_1, e_1 - e_2, ...,
e_n``). Their cumulative sum up to bin ``j`` is ``F_j = P(value <= X_j) = 1 - e_j``, and the
outcome's is ``O_j = 1 - y_j``. So ``F_j - O_j = y_j - e_j`` and::

    RPS = 1/(K-1) sum_{j=1..n} (F_j - O_j)^2 = 1/n sum_j (e_j - y_j)^2 = mean exceedance Brier

For example, strikes 1, 2, 3, 4 inches, ``e = (0.9, 0.6, 0.3, 0.1)`` and a total of 2.5 inches
(``y = 1, 1, 0, 0``): mean Brier = (0.01 + 0.16 + 0.09 + 0.01) / 4 = 0.0675; the implied bins
``(0.1, 0.3, 0.3, 0.2, 0.1)`` with the third paying have F = 0.1, 0.4, 0.7, 0.9 against
O = 0, 0, 1, 1 and the same RPS, 0.27 / 4 = 0.0675. The identity is algebraic and holds for any
outcomes a real total can produce (every market below it paid); a model's exceedances fall as the
strike rises, which keeps the implied bins in [0, 1] (``rps`` refuses a negative one).

**Reliability**: every market's probability is one point; bucket ``b`` of ``n`` holds the points
with ``b/n <= p < (b+1)/n`` (the last bucket includes 1). A reliable forecast's observed frequency
in each bucket is close to its mean forecast there.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import accumulate

from domain.money import PRICE_SCALE

#: The smallest probability the log loss believes. One price unit (1/10,000 of a dollar): a
#: probability below the cheapest price the venue can quote cannot be acted on any differently, and
#: the clip caps one miss at ln(10,000) ≈ 9.21 nats, so a single impossible outcome cannot swamp a
#: window's mean (which sets the ensemble weights).
LOG_LOSS_EPS = 1 / PRICE_SCALE
#: How far an exclusive ladder's probabilities may sum from 1 (three-decimal rounding of a dozen
#: rungs stays well inside it; anything further is not a forecast of one outcome).
EXCLUSIVE_SUM_TOLERANCE = 0.01
#: Reliability buckets of width 0.1.
RELIABILITY_BUCKETS = 10


def _check_probabilities(probabilities: Sequence[float]) -> None:
    if not probabilities:
        raise ValueError("a ladder needs at least one probability")
    for p in probabilities:
        if not 0.0 <= p <= 1.0:  # also refuses NaN
            raise ValueError(f"a probability must lie in [0, 1] (got {p!r})")


def _check_exclusive(probabilities: Sequence[float], paying: int) -> None:
    _check_probabilities(probabilities)
    if not 0 <= paying < len(probabilities):
        raise ValueError(f"paying rung {paying} is not one of the {len(probabilities)} rungs")
    total = math.fsum(probabilities)
    if abs(total - 1.0) > EXCLUSIVE_SUM_TOLERANCE:
        raise ValueError(f"an exclusive ladder's probabilities must sum to 1 (they sum to {total})")


def _check_cumulative(exceedances: Sequence[float], outcomes: Sequence[bool]) -> None:
    _check_probabilities(exceedances)
    if len(outcomes) != len(exceedances):
        raise ValueError(f"{len(exceedances)} probabilities but {len(outcomes)} outcomes")


# -- one binary event ------------------------------------------------------------------------------

def binary_brier(probability: float, outcome: bool) -> float:
    """``(p - o)^2`` for one yes/no market."""
    return (probability - float(outcome)) ** 2


def binary_log_loss(probability: float, outcome: bool, eps: float = LOG_LOSS_EPS) -> float:
    """``-ln`` of the probability given to what happened, clipped below at ``eps``."""
    believed = probability if outcome else 1.0 - probability
    return 0.0 - math.log(max(eps, believed))  # 0.0, never -0.0, for a sure hit


# -- exclusive ladders -----------------------------------------------------------------------------

def brier(probabilities: Sequence[float], paying: int) -> float:
    """Multi-category Brier of an exclusive ladder: ``sum_i (p_i - o_i)^2``, in ``[0, 2]``."""
    _check_exclusive(probabilities, paying)
    return math.fsum(binary_brier(p, i == paying) for i, p in enumerate(probabilities))


def log_loss(probabilities: Sequence[float], paying: int, eps: float = LOG_LOSS_EPS) -> float:
    """``-ln max(p_paying, eps)``: the surprise at the rung that paid, in nats."""
    _check_exclusive(probabilities, paying)
    return 0.0 - math.log(max(eps, probabilities[paying]))


def rps(probabilities: Sequence[float], paying: int) -> float:
    """Ranked probability score of an exclusive ladder, normalised by ``K - 1`` to ``[0, 1]``."""
    _check_exclusive(probabilities, paying)
    if len(probabilities) < 2:
        raise ValueError("the ranked probability score needs at least two rungs")
    cumulative = list(accumulate(probabilities))[:-1]
    return math.fsum((f - float(j >= paying)) ** 2
                     for j, f in enumerate(cumulative)) / (len(probabilities) - 1)


# -- cumulative ladders ----------------------------------------------------------------------------

def cumulative_brier(exceedances: Sequence[float], outcomes: Sequence[bool]) -> float:
    """Mean Brier of a cumulative ladder's markets, each its own binary event."""
    _check_cumulative(exceedances, outcomes)
    return math.fsum(binary_brier(e, y) for e, y in zip(exceedances, outcomes, strict=True)) / len(
        exceedances)


def cumulative_log_loss(exceedances: Sequence[float], outcomes: Sequence[bool],
                        eps: float = LOG_LOSS_EPS) -> float:
    """Mean binary log loss of a cumulative ladder's markets."""
    _check_cumulative(exceedances, outcomes)
    return math.fsum(binary_log_loss(e, y, eps)
                     for e, y in zip(exceedances, outcomes, strict=True)) / len(exceedances)


def cumulative_rps(exceedances: Sequence[float], outcomes: Sequence[bool]) -> float:
    """The RPS of a cumulative ladder: the mean Brier of its exceedances, which equals the RPS of
    the exclusive bins it implies (see the module docstring for the proof and an example)."""
    return cumulative_brier(exceedances, outcomes)


def implied_exclusive(exceedances: Sequence[float]) -> tuple[float, ...]:
    """The exclusive bins a cumulative ladder implies, lowest first: ``1 - e_1, e_1 - e_2, ...,
    e_n`` (negative where the exceedances are not monotone)."""
    _check_probabilities(exceedances)
    above = [1.0, *exceedances]
    return (*(a - b for a, b in zip(above, exceedances, strict=False)), exceedances[-1])


# -- comparisons -----------------------------------------------------------------------------------

def skill_score(score: float, reference: float) -> float | None:
    """``1 - score / reference``: 1 is perfect, 0 no better than the reference, negative worse.

    None when the reference scored 0 (nothing left to improve on). Over many ladders, pass the
    mean scores: the skill of the mean, not the mean of per-ladder skills, which one lucky
    reference can blow up."""
    if reference == 0:
        return None
    return 1.0 - score / reference


@dataclass(frozen=True, slots=True)
class ReliabilityBin:
    """The forecasts that fell in ``[lower, upper)`` and how often their events happened."""

    bucket: int
    lower: float
    upper: float
    forecast_sum: float
    outcomes: int
    count: int

    @property
    def mean_forecast(self) -> float | None:
        return self.forecast_sum / self.count if self.count else None

    @property
    def observed_frequency(self) -> float | None:
        return self.outcomes / self.count if self.count else None


def bucket_of(probability: float, buckets: int = RELIABILITY_BUCKETS) -> int:
    """The reliability bucket of ``probability``: the largest ``b`` with ``b / buckets <= p``
    (compared as floats, so a bucket's ``lower`` is exactly where it begins)."""
    if buckets < 1:
        raise ValueError("at least one bucket")
    _check_probabilities((probability,))
    b = min(int(probability * buckets), buckets - 1)
    while b > 0 and b / buckets > probability:
        b -= 1
    while b + 1 < buckets and (b + 1) / buckets <= probability:
        b += 1
    return b


def reliability(points: Iterable[tuple[float, bool]],
                buckets: int = RELIABILITY_BUCKETS) -> tuple[ReliabilityBin, ...]:
    """Every bucket, empty ones included, from ``(probability, happened)`` points."""
    sums: list[list[float]] = [[] for _ in range(buckets)]
    hits = [0] * buckets
    for probability, happened in points:
        b = bucket_of(probability, buckets)
        sums[b].append(probability)
        hits[b] += int(happened)
    return tuple(ReliabilityBin(bucket=b, lower=b / buckets, upper=(b + 1) / buckets,
                                forecast_sum=math.fsum(sums[b]), outcomes=hits[b], count=len(sums[b]))
                 for b in range(buckets))
