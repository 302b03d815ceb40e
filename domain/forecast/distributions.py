"""Distributions of a settled value, and the probability each market of a ladder pays under one.

Every model here describes the *continuous* quantity (the day's true high, the month's true total);
the venue settles on its reported value, rounded to the ladder's step. A reported value ``v`` stands
for the true values in ``[v - step/2, v + step/2)``, so a market paying on reported values
``[low, high]`` pays with probability ``P(X < high + step/2) - P(X < low - step/2)``. For a daily
high that is the ±0.5°F discretisation the CLI's whole degrees call for.

The inequality is strict because some distributions have atoms: the day's running maximum (a high
is at least what was already observed) and a month's total so far. An observed 36.5°F is reported
as 37, so its atom belongs to the bin above the edge at 36.5, not the one below.

The distributions are small frozen dataclasses with ``below(x)``, ``P(X < x)``: the normal uses
``math.erf`` and the gamma ``scipy.special.gammainc``, both deterministic, so the same inputs give
the same floats in every run and process.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Protocol

from scipy.special import gammainc

from domain.ladder import Ladder, Shape

#: How far a ladder's probabilities may sum from 1 before it is a bug, not rounding.
SUM_TOLERANCE = 1e-9


class Distribution(Protocol):
    def below(self, x: float) -> float:
        """P(value < x)."""
        ...


@dataclass(frozen=True, slots=True)
class Normal:
    mean: float
    sigma: float

    def __post_init__(self) -> None:
        if not (math.isfinite(self.mean) and self.sigma > 0 and math.isfinite(self.sigma)):
            raise ValueError(f"a normal needs a finite mean and sigma > 0 (got {self.mean}, {self.sigma})")

    def below(self, x: float) -> float:
        return 0.5 * math.erfc((self.mean - x) / (self.sigma * math.sqrt(2)))


@dataclass(frozen=True, slots=True)
class Gamma:
    """A gamma by its mean and variance (moment-matched: shape = mean²/var, scale = var/mean)."""

    mean: float
    variance: float

    def __post_init__(self) -> None:
        if not (self.mean > 0 and self.variance > 0 and math.isfinite(self.mean)
                and math.isfinite(self.variance)):
            raise ValueError(f"a gamma needs mean > 0 and variance > 0 (got {self.mean}, {self.variance})")

    @property
    def shape(self) -> float:
        return self.mean * self.mean / self.variance

    @property
    def scale(self) -> float:
        return self.variance / self.mean

    def below(self, x: float) -> float:
        return float(gammainc(self.shape, x / self.scale)) if x > 0 else 0.0


@dataclass(frozen=True, slots=True)
class PointMass:
    value: float

    def below(self, x: float) -> float:
        return 1.0 if x > self.value else 0.0


@dataclass(frozen=True, slots=True)
class Shifted:
    """``offset + X``: what is already known plus what is still to come."""

    offset: float
    base: Distribution

    def below(self, x: float) -> float:
        return self.base.below(x - self.offset)


@dataclass(frozen=True, slots=True)
class Mixture:
    """``weights[i]`` of ``parts[i]``; the weights sum to 1."""

    parts: tuple[Distribution, ...]
    weights: tuple[float, ...]

    def __post_init__(self) -> None:
        if len(self.parts) != len(self.weights) or not self.parts:
            raise ValueError("a mixture needs one weight per part")
        if any(w < 0 for w in self.weights) or abs(sum(self.weights) - 1) > SUM_TOLERANCE:
            raise ValueError(f"mixture weights must be >= 0 and sum to 1 (got {self.weights})")

    def below(self, x: float) -> float:
        return sum(w * p.below(x) for w, p in zip(self.weights, self.parts, strict=True))


@dataclass(frozen=True, slots=True)
class AtLeast:
    """``max(floor, X)``: a value already reached cannot be undone (the day's running maximum)."""

    floor: float
    base: Distribution

    def below(self, x: float) -> float:
        # max(floor, X) < x needs both floor < x and X < x.
        return self.base.below(x) if x > self.floor else 0.0


def rung_probabilities(ladder: Ladder, distribution: Distribution) -> tuple[float, ...]:
    """P(YES) for each rung of ``ladder``, in its order.

    An exclusive ladder's probabilities sum to 1 (asserted; the float residue is spread so the sum is
    as close to 1 as floats allow). A cumulative ladder's fall as the strike rises.
    """
    half = float(ladder.step) / 2
    if ladder.shape is Shape.CUMULATIVE:
        return tuple(_clamp(1.0 - distribution.below(float(r.low) - half)) if r.low is not None
                     else 1.0 for r in ladder.rungs)
    edges = [distribution.below(float(r.high) + half) if r.high is not None else 1.0
             for r in ladder.rungs]
    below = [0.0, *edges[:-1]]
    raw = [_clamp(top - bottom) for top, bottom in zip(edges, below, strict=True)]
    total = math.fsum(raw)
    if total <= 0:
        raise ValueError(f"{ladder.event_ticker}: the distribution puts no mass on the ladder")
    probabilities = tuple(p / total for p in raw)
    assert abs(math.fsum(probabilities) - 1.0) <= SUM_TOLERANCE, probabilities
    return probabilities


def _clamp(p: float) -> float:
    return min(1.0, max(0.0, p))
