"""Properties of the monthly rain and snow model, checked with hypothesis over any month's inputs."""

from __future__ import annotations

import calendar
from dataclasses import replace
from datetime import date
from itertools import pairwise

from hypothesis import given
from hypothesis import strategies as st

from domain.events import MarketKind, MarketQuote
from domain.forecast.precip import PrecipInputs, PrecipParams, precip_probabilities
from domain.ladder import STEP, Ladder
from tests.builders import a_market_snapshot

KINDS = st.sampled_from([MarketKind.MONTHLY_RAIN, MarketKind.MONTHLY_SNOW])


def amounts(high: int) -> st.SearchStrategy[float]:
    """Inches to the hundredth, as the CLI reports them."""
    return st.integers(0, high * 100).map(lambda hundredths: hundredths / 100)


@st.composite
def precip_inputs(draw: st.DrawFn, kind: MarketKind) -> PrecipInputs:
    month = date(draw(st.integers(2000, 2040)), draw(st.integers(1, 12)), 1)
    days = calendar.monthrange(month.year, month.month)[1]
    through_day = draw(st.integers(0, days))
    through = month.replace(day=through_day) if through_day else None
    forecast_days = draw(st.integers(0, min(7, days - through_day)))
    qpf = tuple((month.replace(day=through_day + 1 + i), draw(amounts(3))) for i in range(forecast_days))
    cv = draw(st.none() | st.floats(0.1, 3.0))
    return PrecipInputs(kind, month, draw(amounts(30)), through, qpf, draw(amounts(15)), cv)


PARAMS = st.builds(
    PrecipParams, rain_cv=st.floats(0.1, 3.0), snow_cv=st.floats(0.1, 3.0),
    rain_qpf_error=st.floats(0.05, 2.0), snow_qpf_error=st.floats(0.05, 2.0),
    forecast_days=st.integers(0, 7), min_snow_normal_in=st.floats(0.0, 1.0))


def ladder(kind: MarketKind, strikes: list[int]) -> Ladder:
    """"More than X" markets at whole steps of the kind (hundredths for rain, tenths for snow)."""
    step = STEP[kind]
    quotes = tuple(MarketQuote(ticker=f"KXM-{s}", status="active", strike_type="greater",
                               floor_strike=s * step) for s in strikes)
    return Ladder.of(a_market_snapshot("KXM-26SEP", markets=quotes).model_copy(update={"kind": kind}))


@st.composite
def cases(draw: st.DrawFn) -> tuple[Ladder, PrecipInputs, PrecipParams]:
    kind = draw(KINDS)
    top = 3_000 if kind is MarketKind.MONTHLY_RAIN else 300  # 30 inches either way
    strikes = draw(st.lists(st.integers(0, top), min_size=1, max_size=12, unique=True))
    return ladder(kind, strikes), draw(precip_inputs(kind)), draw(PARAMS)


@given(cases())
def test_probabilities_are_in_0_1_and_fall_as_the_strike_rises(
        case: tuple[Ladder, PrecipInputs, PrecipParams]) -> None:
    ladder, inputs, params = case
    probabilities = precip_probabilities(ladder, inputs, params)
    assert len(probabilities) == len(ladder)
    assert all(0.0 <= p <= 1.0 for p in probabilities)
    lows = [r.low for r in ladder if r.low is not None]
    assert len(lows) == len(ladder) and lows == sorted(lows)
    assert all(a >= b for a, b in pairwise(probabilities))


@given(cases(), st.integers(1, 500))
def test_more_month_to_date_never_lowers_a_probability(
        case: tuple[Ladder, PrecipInputs, PrecipParams], more_hundredths: int) -> None:
    ladder, inputs, params = case
    wetter = replace(inputs, month_to_date=inputs.month_to_date + more_hundredths / 100)
    before = precip_probabilities(ladder, inputs, params)
    after = precip_probabilities(ladder, wetter, params)
    assert all(a >= b for a, b in zip(after, before, strict=True))


@given(cases())
def test_the_same_inputs_give_identical_floats(case: tuple[Ladder, PrecipInputs, PrecipParams]) -> None:
    ladder, inputs, params = case
    again = (Ladder(ladder.event_ticker, ladder.city, ladder.kind, ladder.shape, ladder.step, ladder.rungs),
             replace(inputs), PrecipParams.model_validate(params.model_dump()))
    assert precip_probabilities(ladder, inputs, params) == precip_probabilities(*again)
    assert precip_probabilities(ladder, inputs, params) == precip_probabilities(ladder, inputs, params)

