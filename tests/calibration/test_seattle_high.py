"""Calibration of the daily-high model on data no one here wrote: NOAA's daily Seattle weather.

``vega_datasets`` ships NOAA's daily observations for Seattle 2012-2015 (``temp_max`` in °C to a
tenth, converted from whole °F). The climatology (a normal high per calendar month and the spread of
days around it) is fitted on 2012-2014; each day of 2015 is then priced as a six-market Kalshi-style
ladder centred on the day's normal, and scored by Brier against what happened:

* **uniform**: 1/6 per market, the know-nothing baseline;
* **climatology**: the model with no forecast (the normal and the fitted spread);
* **persistence**: the model with yesterday's high standing in for a next-day forecast (lead 1), the
  simplest forecast a reader can check, with the model's default spread and pull to the normal.

The figures print with ``pytest -s``; the test asserts each model beats the one before it.
"""

from __future__ import annotations

import math
import statistics
from datetime import date, timedelta
from decimal import Decimal

from vega_datasets import local_data

from domain.climatology import ClimateNormals
from domain.events import MarketQuote
from domain.forecast.daily_high import DailyHighInputs, DailyHighParams, forecast, normal_high
from domain.forecast.distributions import rung_probabilities
from domain.ladder import Ladder
from tests.builders import a_market_snapshot


def highs_f() -> dict[date, int]:
    frame = local_data.seattle_weather()
    return {row.date.date(): round(row.temp_max * 9 / 5 + 32)
            for row in frame.itertuples(index=False)}


def ladder_around(centre: int) -> Ladder:
    """<= c-5, c-4..c-3, c-2..c-1, c..c+1, c+2..c+3, >= c+4 (the venue's shape, centred on c)."""
    low = centre - 4
    quotes = [MarketQuote(ticker="T-less", status="active", strike_type="less", cap_strike=Decimal(low))]
    quotes += [MarketQuote(ticker=f"T-b{i}", status="active", strike_type="between",
                           floor_strike=Decimal(low + 2 * i), cap_strike=Decimal(low + 2 * i + 1))
               for i in range(4)]
    quotes.append(MarketQuote(ticker="T-greater", status="active", strike_type="greater",
                              floor_strike=Decimal(low + 7)))
    return Ladder.of(a_market_snapshot(markets=tuple(quotes)))


def brier(probabilities: tuple[float, ...], paying: int) -> float:
    return math.fsum((p - (i == paying)) ** 2 for i, p in enumerate(probabilities))


def test_the_model_beats_uniform_and_climatology_on_seattle_2015() -> None:
    highs = highs_f()
    train = {d: t for d, t in highs.items() if d.year <= 2014}
    monthly = [statistics.fmean(t for d, t in train.items() if d.month == m) for m in range(1, 13)]
    normals = ClimateNormals(source="fitted on Seattle 2012-2014", high_f=tuple(monthly),
                             low_f=(0.0,) * 12, precip_in=(0.0,) * 12, snow_in=(0.0,) * 12)
    spread = statistics.pstdev(t - normal_high(normals, d) for d, t in train.items())
    params = DailyHighParams(climatology_sigma=spread)

    scores: dict[str, list[float]] = {"uniform": [], "climatology": [], "persistence": []}
    for day in sorted(d for d in highs if d.year == 2015 and d - timedelta(days=1) in highs):
        normal = normal_high(normals, day)
        ladder = ladder_around(round(normal))
        (paying,) = [i for i, r in enumerate(ladder) if r.pays(Decimal(highs[day]))]
        inputs = DailyHighInputs(climate_day=day, lead_days=1, forecast_high=None, remaining_high=None,
                                 hours_left=None, observed_max=None, normal_high=normal)
        persistence = DailyHighInputs(climate_day=day, lead_days=1,
                                      forecast_high=float(highs[day - timedelta(days=1)]),
                                      remaining_high=None, hours_left=None, observed_max=None,
                                      normal_high=normal)
        scores["uniform"].append(brier((1 / 6,) * 6, paying))
        scores["climatology"].append(
            brier(rung_probabilities(ladder, forecast(inputs, params).distribution), paying))
        scores["persistence"].append(
            brier(rung_probabilities(ladder, forecast(persistence, params).distribution), paying))

    mean = {name: statistics.fmean(values) for name, values in scores.items()}
    skill = {name: 1 - mean[name] / mean["uniform"] for name in mean}
    print(f"\nSeattle 2015 daily highs, {len(scores['uniform'])} days, climatology sigma {spread:.2f}°F")
    for name in scores:
        print(f"  {name:12s} Brier {mean[name]:.4f}  skill vs uniform {skill[name]:+.3f}")
    assert mean["climatology"] < mean["uniform"]
    assert mean["persistence"] < mean["climatology"]
