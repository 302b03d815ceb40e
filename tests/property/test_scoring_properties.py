"""Properties of the scores and of what learning derives from them, over any ladder."""

from __future__ import annotations

import math

from hypothesis import example, given
from hypothesis import strategies as st

from domain.learning import ensemble_weights, shrunk_bias
from domain.scoring import (
    RELIABILITY_BUCKETS,
    brier,
    bucket_of,
    cumulative_brier,
    cumulative_log_loss,
    cumulative_rps,
    implied_exclusive,
    log_loss,
    reliability,
    rps,
)

#: Float rounding allowed past a bound (normalised probabilities sum to 1 within a few ulps).
SLACK = 1e-12
unit = st.floats(min_value=0.0, max_value=1.0, allow_nan=False)


@st.composite
def exclusive_ladders(draw: st.DrawFn) -> tuple[tuple[float, ...], int]:
    """Probabilities of 2 to 12 rungs that sum to 1, and the rung that paid."""
    raw = draw(st.lists(unit, min_size=2, max_size=12).filter(lambda r: math.fsum(r) > 1e-6))
    total = math.fsum(raw)
    return tuple(p / total for p in raw), draw(st.integers(0, len(raw) - 1))


@st.composite
def cumulative_ladders(draw: st.DrawFn) -> tuple[tuple[float, ...], tuple[bool, ...], int]:
    """Exceedance probabilities of 1 to 10 strikes (not necessarily monotone), and outcomes a real
    total produces: the markets below the total's bin paid."""
    exceed = tuple(draw(st.lists(unit, min_size=1, max_size=10)))
    total_bin = draw(st.integers(0, len(exceed)))
    return exceed, tuple(j < total_bin for j in range(len(exceed))), total_bin


@given(exclusive_ladders())
def test_exclusive_scores_stay_in_their_ranges(ladder: tuple[tuple[float, ...], int]) -> None:
    probabilities, paying = ladder
    assert 0.0 <= brier(probabilities, paying) <= 2.0 + SLACK
    assert 0.0 <= rps(probabilities, paying) <= 1.0 + SLACK
    assert 0.0 <= log_loss(probabilities, paying) <= -math.log(1e-4) + SLACK


@given(st.integers(2, 12).flatmap(lambda k: st.tuples(st.just(k), st.integers(0, k - 1))))
def test_a_perfect_forecast_scores_zero(case: tuple[int, int]) -> None:
    rungs, paying = case
    sure = tuple(float(i == paying) for i in range(rungs))
    assert brier(sure, paying) == log_loss(sure, paying) == rps(sure, paying) == 0.0
    outcomes = tuple(j < paying for j in range(rungs))
    exceed = tuple(float(y) for y in outcomes)
    assert cumulative_brier(exceed, outcomes) == cumulative_log_loss(exceed, outcomes) == 0.0


@given(cumulative_ladders())
def test_cumulative_scores_stay_in_range_and_rps_is_the_implied_bins_rps(
    ladder: tuple[tuple[float, ...], tuple[bool, ...], int],
) -> None:
    exceed, outcomes, total_bin = ladder
    score = cumulative_rps(exceed, outcomes)
    assert 0.0 <= score <= 1.0
    assert score == cumulative_brier(exceed, outcomes)
    # A model's exceedances fall as the strike rises, so the implied bins are probabilities.
    monotone = tuple(sorted(exceed, reverse=True))
    assert math.isclose(cumulative_rps(monotone, outcomes),
                        rps(implied_exclusive(monotone), total_bin), abs_tol=1e-12)


@given(st.lists(st.tuples(unit, st.booleans()), max_size=50))
def test_every_point_lands_in_the_bucket_that_holds_it(points: list[tuple[float, bool]]) -> None:
    bins = reliability(points)
    assert sum(b.count for b in bins) == len(points)
    assert sum(b.outcomes for b in bins) == sum(happened for _, happened in points)
    for p, _ in points:
        b = bins[bucket_of(p)]
        assert b.lower <= p and (p < b.upper or b.bucket == RELIABILITY_BUCKETS - 1)


@given(st.dictionaries(st.text(min_size=1, max_size=5),
                       st.lists(st.floats(0.0, -math.log(1e-4)), min_size=1, max_size=40),
                       min_size=1, max_size=5),
       st.floats(min_value=0.01, max_value=10), st.integers(1, 40))
def test_weights_are_positive_and_sum_to_one(losses: dict[str, list[float]], eta: float,
                                             min_samples: int) -> None:
    # Every model scored on the same ladders, as learn_model_state gives them.
    ladders = min(len(v) for v in losses.values())
    common = {m: v[:ladders] for m, v in losses.items()}
    weights = ensemble_weights(common, eta=eta, min_samples=min_samples)
    assert [m for m, *_ in weights] == sorted(common)
    assert all(w > 0 for _, w, _, _ in weights)
    assert math.isclose(math.fsum(w for _, w, _, _ in weights), 1.0, abs_tol=1e-12)
    if ladders < min_samples:
        assert len({w for _, w, _, _ in weights}) == 1
    else:
        by_loss = sorted(weights, key=lambda w: w[3])
        assert by_loss[0][1] == max(w for _, w, _, _ in weights)


@given(st.floats(-20, 20), st.integers(0, 10_000), st.floats(0, 100))
@example(9.664778344895428e-107, 3025, 0.0)  # mean x n / n once rounded one ulp past the mean
def test_the_shrunk_bias_lies_between_zero_and_the_mean(mean: float, n: int, k: float) -> None:
    shrunk = shrunk_bias(mean, n, k)
    assert min(0.0, mean) <= shrunk <= max(0.0, mean)
