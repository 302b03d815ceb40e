"""Calibration of the monthly rain model on data no one here wrote: NOAA's daily Seattle weather.

``vega_datasets`` ships NOAA's daily observations for Seattle 2012-2015 (``precipitation`` in mm,
converted from hundredths of an inch; each day is converted back and rounded to the hundredth, as
the CLI reports it). The climatology (a normal and a CV of the total per calendar month, with
``fit_monthly_cv``) is fitted on 2012-2014. Then for each month of 2015, after day 5, 10, 15, 20
and 25, the month's total is priced as a Kalshi-style ladder of "more than X inches" markets with
the real month-to-date and no forecast, and scored by Brier against the real total:

* **uniform**: 0.5 for every market, the know-nothing baseline;
* **climatology**: the whole month from the fitted normal and CV, nothing reported yet;
* **model**: the month-to-date as reported, and climatology for the days left.

The figures print with ``pytest -s``; the test asserts each beats the one before it.
"""

from __future__ import annotations

import math
import statistics
from datetime import date
from decimal import Decimal

from vega_datasets import local_data

from domain.events import MarketKind, MarketQuote
from domain.forecast.distributions import rung_probabilities
from domain.forecast.precip import (
    PrecipInputs,
    PrecipParams,
    climatology_total,
    fit_monthly_cv,
    precip_probabilities,
)
from domain.ladder import Ladder
from tests.builders import a_market_snapshot

RAIN = MarketKind.MONTHLY_RAIN
STRIKES = ("0.5", "1", "2", "3", "4", "6")
AFTER_DAYS = (5, 10, 15, 20, 25)
MM_PER_INCH = 25.4


def daily_rain_in() -> dict[date, float]:
    frame = local_data.seattle_weather()
    return {row.date.date(): round(row.precipitation / MM_PER_INCH, 2)
            for row in frame.itertuples(index=False)}


def total(rain: dict[date, float], year: int, month: int, through: int = 31) -> float:
    return round(math.fsum(v for d, v in rain.items()
                           if (d.year, d.month) == (year, month) and d.day <= through), 2)


def ladder() -> Ladder:
    quotes = tuple(MarketQuote(ticker=f"KXRAINSEAM-15-T{s}", status="active", strike_type="greater",
                               floor_strike=Decimal(s)) for s in STRIKES)
    return Ladder.of(a_market_snapshot("KXRAINSEAM-15", markets=quotes).model_copy(update={"kind": RAIN}))


def brier(probabilities: tuple[float, ...], outcomes: tuple[bool, ...]) -> list[float]:
    return [(p - o) ** 2 for p, o in zip(probabilities, outcomes, strict=True)]


def test_the_model_beats_uniform_and_climatology_on_seattle_2015() -> None:
    rain = daily_rain_in()
    train = {m: [total(rain, y, m) for y in (2012, 2013, 2014)] for m in range(1, 13)}
    normals = {m: statistics.fmean(totals) for m, totals in train.items()}
    cvs = {m: fit_monthly_cv(totals) for m, totals in train.items()}
    params, rungs = PrecipParams(), ladder()

    scores: dict[str, list[float]] = {"uniform": [], "climatology": [], "model": []}
    by_day: dict[int, list[float]] = {day: [] for day in AFTER_DAYS}
    for m in range(1, 13):
        month = date(2015, m, 1)
        outcome = total(rain, 2015, m)
        outcomes = tuple(r.pays(Decimal(f"{outcome:.2f}")) for r in rungs)
        climatology = rung_probabilities(rungs, climatology_total(RAIN, month, normals[m], params, cvs[m]))
        for day in AFTER_DAYS:
            inputs = PrecipInputs(RAIN, month, total(rain, 2015, m, day), month.replace(day=day), (),
                                  normals[m], cvs[m])
            model = brier(precip_probabilities(rungs, inputs, params), outcomes)
            scores["model"] += model
            by_day[day] += model
            scores["climatology"] += brier(climatology, outcomes)
            scores["uniform"] += brier((0.5,) * len(rungs), outcomes)

    mean = {name: statistics.fmean(s) for name, s in scores.items()}
    print(f"\nSeattle 2015 monthly rain, {len(scores['model'])} market-days "
          f"(12 months x {len(AFTER_DAYS)} dates x {len(STRIKES)} strikes), Brier:")
    for name, score in mean.items():
        print(f"  {name:12s} {score:.4f}")
    print(f"  skill vs uniform {1 - mean['model'] / mean['uniform']:.3f}, "
          f"vs climatology {1 - mean['model'] / mean['climatology']:.3f} "
          f"(climatology vs uniform {1 - mean['climatology'] / mean['uniform']:.3f})")
    print("  model Brier after day "
          + ", ".join(f"{day}: {statistics.fmean(s):.4f}" for day, s in by_day.items()))
    assert mean["climatology"] < mean["uniform"]
    assert 1 - mean["model"] / mean["uniform"] > 0
    assert mean["model"] < mean["climatology"]
