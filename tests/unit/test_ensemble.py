"""The linear pool and the market's implied probabilities."""

from __future__ import annotations

import math

import pytest

from domain.forecast.ensemble import market_implied, pool

NWS = ("nws", (0.1, 0.6, 0.3))
CLIMO = ("climatology", (0.3, 0.4, 0.3))


def test_the_pool_is_the_weighted_average_rung_by_rung() -> None:
    pooled = pool([NWS, CLIMO], {"nws": 0.75, "climatology": 0.25})
    assert pooled == pytest.approx((0.15, 0.55, 0.3))
    assert math.fsum(pooled) == pytest.approx(1.0)


def test_weights_are_renormalised_over_the_components_present() -> None:
    assert pool([NWS], {"nws": 0.2, "other": 0.8}) == pytest.approx(NWS[1])
    assert pool([NWS, CLIMO], {"nws": 3.0, "climatology": 1.0}) == pytest.approx((0.15, 0.55, 0.3))


def test_without_any_weight_the_components_count_equally() -> None:
    assert pool([NWS, CLIMO], {}) == pytest.approx((0.2, 0.5, 0.3))
    assert pool([NWS, CLIMO], {"nws": -1.0}) == pytest.approx((0.2, 0.5, 0.3))


def test_components_must_price_the_same_ladder() -> None:
    with pytest.raises(ValueError, match="different ladders"):
        pool([NWS, ("short", (0.5, 0.5))], {})
    with pytest.raises(ValueError, match="nothing"):
        pool([], {})


def test_market_implied_probabilities_are_mids_normalised_across_an_exclusive_ladder() -> None:
    """Mids 0.25, 0.55, 0.30 sum to 1.10 (the venue's overround); divided by it they sum to 1."""
    implied = market_implied([2000, 5000, 2800], [3000, 6000, 3200], exclusive=True, scale=10_000)
    assert implied == pytest.approx((0.25 / 1.1, 0.55 / 1.1, 0.30 / 1.1))
    one_sided = market_implied([2000, None, None], [None, 6000, None], exclusive=True, scale=10_000)
    assert one_sided == (0.2, 0.6, None)  # not every rung quoted: left as the raw mids
    cumulative = market_implied([8000, 4000], [9000, 5000], exclusive=False, scale=10_000)
    assert cumulative == pytest.approx((0.85, 0.45))
