"""Properties of the daily-high model over any ladder position, forecast, lead and observed maximum."""

from __future__ import annotations

import math
import pickle
from dataclasses import replace
from datetime import date

from hypothesis import given, settings
from hypothesis import strategies as st

from domain.forecast.daily_high import DailyHighInputs, DailyHighParams, StationSkill, forecast
from domain.forecast.distributions import rung_probabilities
from domain.ladder import Ladder
from tests.builders import a_ladder, a_market_snapshot

LADDERS = {low: Ladder.of(a_market_snapshot(markets=a_ladder(low=low))) for low in range(-20, 121, 7)}
temperatures = st.floats(min_value=-30, max_value=125, allow_nan=False)


@st.composite
def cases(draw: st.DrawFn) -> tuple[Ladder, DailyHighInputs, DailyHighParams, StationSkill]:
    ladder = LADDERS[draw(st.sampled_from(sorted(LADDERS)))]
    inside = draw(st.booleans())
    observed = draw(st.none() | temperatures) if inside else None
    inputs = DailyHighInputs(
        climate_day=date(2026, 8, 28), lead_days=0 if inside else draw(st.integers(1, 7)),
        forecast_high=draw(st.none() | temperatures),
        remaining_high=draw(st.none() | temperatures) if inside else None,
        hours_left=draw(st.floats(0.01, 24)) if inside else None, observed_max=observed,
        normal_high=draw(st.floats(0, 100)))
    params = DailyHighParams(tail_weight=draw(st.floats(0, 0.2)), tail_scale=draw(st.floats(1, 5)))
    skill = StationSkill(bias=draw(st.floats(-5, 5)), bias_samples=draw(st.integers(0, 500)),
                         spread_by_lead=((inputs.lead_days, draw(st.floats(0.5, 6)),
                                          draw(st.integers(0, 60))),))
    return ladder, inputs, params, skill


@settings(max_examples=300, deadline=None)
@given(cases())
def test_probabilities_are_in_unit_interval_and_the_ladder_sums_to_one(
    case: tuple[Ladder, DailyHighInputs, DailyHighParams, StationSkill],
) -> None:
    ladder, inputs, params, skill = case
    probabilities = rung_probabilities(ladder, forecast(inputs, params, skill).distribution)
    assert all(0.0 <= p <= 1.0 for p in probabilities)
    assert abs(math.fsum(probabilities) - 1.0) < 1e-9


@settings(max_examples=300, deadline=None)
@given(cases())
def test_nothing_below_the_observed_maximum_can_pay(
    case: tuple[Ladder, DailyHighInputs, DailyHighParams, StationSkill],
) -> None:
    ladder, inputs, params, skill = case
    probabilities = rung_probabilities(ladder, forecast(inputs, params, skill).distribution)
    if inputs.observed_max is None:
        return
    for rung, p in zip(ladder, probabilities, strict=True):
        if rung.high is not None and float(rung.high) + 0.5 <= inputs.observed_max:
            assert p == 0.0, (rung.label(), inputs.observed_max, p)


@settings(max_examples=200, deadline=None)
@given(cases(), temperatures)
def test_a_floor_never_raises_a_bin_below_it(
    case: tuple[Ladder, DailyHighInputs, DailyHighParams, StationSkill], floor: float,
) -> None:
    """Learning the day has already reached ``floor`` cannot make a lower outcome likelier."""
    ladder, inputs, params, skill = case
    if inputs.hours_left is None:
        return
    without = rung_probabilities(ladder, forecast(inputs, params, skill).distribution)
    observed = floor if inputs.observed_max is None else max(inputs.observed_max, floor)
    after = rung_probabilities(ladder, forecast(replace(inputs, observed_max=observed), params,
                                                skill).distribution)
    for rung, before, now in zip(ladder, without, after, strict=True):
        if rung.high is not None and float(rung.high) + 0.5 <= floor:
            assert now <= before + 1e-12


@settings(max_examples=100, deadline=None)
@given(cases())
def test_the_same_inputs_give_the_same_bytes(
    case: tuple[Ladder, DailyHighInputs, DailyHighParams, StationSkill],
) -> None:
    ladder, inputs, params, skill = case
    first = rung_probabilities(ladder, forecast(inputs, params, skill).distribution)
    copied = pickle.loads(pickle.dumps((ladder, inputs, params, skill)))
    again = rung_probabilities(copied[0], forecast(copied[1], copied[2], copied[3]).distribution)
    assert [p.hex() for p in first] == [p.hex() for p in again]
