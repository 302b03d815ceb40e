"""Scores, reliability, and what learning takes from them: worked examples done by hand.

The daily-high example throughout: probabilities (0.117, 0.220, 0.299, 0.232, 0.103, 0.030) for six
rungs, the third paying.

    Brier    = 0.117² + 0.220² + 0.701² + 0.232² + 0.103² + 0.030²
             = 0.013689 + 0.0484 + 0.491401 + 0.053824 + 0.010609 + 0.0009 = 0.618823
    log loss = -ln 0.299 = 1.2073117
    RPS      = (0.117² + 0.337² + (0.636 - 1)² + (0.868 - 1)² + (0.971 - 1)²) / 5
             = (0.013689 + 0.113569 + 0.132496 + 0.017424 + 0.000841) / 5 = 0.0556038

Climatology of 1/6 per rung: Brier 5/36 + 25/36 = 0.833333, log loss ln 6 = 1.791759, RPS
(1 + 4 + 9 + 4 + 1) / 36 / 5 = 19/180 = 0.105556. Skill: Brier 1 - 0.618823/0.833333 = 0.257412,
RPS 1 - 0.0556038/0.105556 = 0.473227.
"""

from __future__ import annotations

import math
from datetime import date, timedelta
from decimal import Decimal

import pytest

from domain.events import AlertRaised, ForecastScored, MarketKind, ModelStateRecorded
from domain.learning import (
    MIN_WINDOW_DAYS,
    LearningParams,
    NotScorable,
    edge_decay,
    edge_decay_alert,
    ensemble_weights,
    learn_model_state,
    learned_spread,
    paid,
    score_ladder,
    settled_value_of,
    settles_on,
    shrunk_bias,
)
from domain.scoring import (
    LOG_LOSS_EPS,
    binary_log_loss,
    brier,
    bucket_of,
    cumulative_brier,
    cumulative_log_loss,
    cumulative_rps,
    implied_exclusive,
    log_loss,
    reliability,
    rps,
    skill_score,
)
from eventstore.codec import decode, encode
from tests.builders import (
    SIX_PROBABILITIES,
    a_final_report,
    a_forecast_scored,
    a_ladder,
    a_priced_decision,
    envelope,
)

UNIFORM = (1 / 6,) * 6
TICKERS = tuple(m.ticker for m in a_ladder("KXHIGHNY-26AUG28"))


# -- exclusive ladders ---------------------------------------------------------------------------

def test_the_worked_example() -> None:
    assert brier(SIX_PROBABILITIES, 2) == pytest.approx(0.618823, abs=1e-12)
    assert log_loss(SIX_PROBABILITIES, 2) == pytest.approx(-math.log(0.299), abs=1e-15)
    assert log_loss(SIX_PROBABILITIES, 2) == pytest.approx(1.2073117, abs=1e-7)
    assert rps(SIX_PROBABILITIES, 2) == pytest.approx(0.0556038, abs=1e-12)


def test_skill_against_climatology() -> None:
    assert brier(UNIFORM, 2) == pytest.approx(30 / 36)
    assert log_loss(UNIFORM, 2) == pytest.approx(math.log(6))
    assert rps(UNIFORM, 2) == pytest.approx(19 / 180)
    assert skill_score(brier(SIX_PROBABILITIES, 2), brier(UNIFORM, 2)) == pytest.approx(0.257412, abs=1e-6)
    assert skill_score(rps(SIX_PROBABILITIES, 2), rps(UNIFORM, 2)) == pytest.approx(0.473227, abs=1e-6)
    assert skill_score(0.1, 0.1) == 0
    assert skill_score(0.2, 0.1) == pytest.approx(-1)
    assert skill_score(0.0, 0.0) is None


def test_rps_rewards_mass_near_the_paying_rung_and_brier_does_not() -> None:
    near = (0.0, 0.5, 0.0, 0.5, 0.0, 0.0)  # half on the rung just above the one that paid
    far = (0.0, 0.5, 0.0, 0.0, 0.0, 0.5)   # half five rungs away
    assert brier(near, 1) == brier(far, 1) == 0.5
    assert rps(near, 1) == pytest.approx(0.25 * 2 / 5)
    assert rps(far, 1) == pytest.approx(0.25 * 4 / 5)


def test_a_perfect_forecast_scores_zero_and_the_worst_scores_the_bound() -> None:
    sure = (0.0, 0.0, 1.0, 0.0)
    assert (brier(sure, 2), log_loss(sure, 2), rps(sure, 2)) == (0.0, 0.0, 0.0)
    assert brier(sure, 0) == 2.0
    assert rps((0.0, 0.0, 0.0, 1.0), 0) == 1.0


def test_log_loss_is_clipped_at_one_price_unit() -> None:
    assert LOG_LOSS_EPS == 1e-4
    assert log_loss((0.0, 1.0), 0) == pytest.approx(math.log(10_000))  # 9.21 nats, not infinity
    assert binary_log_loss(1.0, False) == pytest.approx(math.log(10_000))
    assert binary_log_loss(1.0, True) == 0.0


@pytest.mark.parametrize(("probabilities", "paying", "message"), [
    ((0.5, 0.6), 0, "sum to 1"),
    ((1.2, -0.2), 0, r"\[0, 1\]"),
    ((0.5, float("nan"), 0.5), 0, r"\[0, 1\]"),
    ((0.5, 0.5), 2, "not one of"),
    ((), 0, "at least one"),
])
def test_a_malformed_forecast_is_refused(probabilities, paying, message) -> None:
    with pytest.raises(ValueError, match=message):
        brier(probabilities, paying)


# -- cumulative ladders --------------------------------------------------------------------------

def test_a_cumulative_ladder_is_scored_market_by_market() -> None:
    # More than 1, 2, 3, 4 inches; the month ended at 2.5 inches.
    exceed, paid_ = (0.9, 0.6, 0.3, 0.1), (True, True, False, False)
    # (0.1² + 0.4² + 0.3² + 0.1²) / 4 = 0.27 / 4
    assert cumulative_brier(exceed, paid_) == pytest.approx(0.0675)
    # (-ln 0.9 - ln 0.6 - ln 0.7 - ln 0.9) / 4
    assert cumulative_log_loss(exceed, paid_) == pytest.approx(
        -(2 * math.log(0.9) + math.log(0.6) + math.log(0.7)) / 4)
    assert cumulative_rps(exceed, paid_) == pytest.approx(0.0675)


def test_the_rps_of_a_cumulative_ladder_is_the_rps_of_its_implied_bins() -> None:
    exceed = (0.9, 0.6, 0.3, 0.1)
    assert implied_exclusive(exceed) == pytest.approx((0.1, 0.3, 0.3, 0.2, 0.1))
    for total_bin in range(5):  # the total fell in bin b: the first b markets paid
        outcomes = tuple(j < total_bin for j in range(4))
        assert cumulative_rps(exceed, outcomes) == pytest.approx(
            rps(implied_exclusive(exceed), total_bin), abs=1e-15)


# -- reliability ---------------------------------------------------------------------------------

@pytest.mark.parametrize(("probability", "bucket"), [
    (0.0, 0), (0.0999, 0), (0.1, 1), (0.3, 3), (0.1 + 0.2, 3), (0.6, 6), (0.7, 7), (0.95, 9),
    (1.0, 9),
])
def test_buckets_begin_at_their_lower_bound(probability: float, bucket: int) -> None:
    assert bucket_of(probability) == bucket


def test_reliability_buckets_count_points_and_outcomes() -> None:
    points = [(0.05, False), (0.08, False), (0.12, True), (0.15, False), (0.91, True), (1.0, True)]
    bins = reliability(points)
    assert len(bins) == 10
    assert [(b.bucket, b.count, b.outcomes) for b in bins if b.count] == [
        (0, 2, 0), (1, 2, 1), (9, 2, 2)]
    assert bins[1].forecast_sum == pytest.approx(0.27)
    assert bins[1].mean_forecast == pytest.approx(0.135)
    assert bins[1].observed_frequency == 0.5
    assert bins[5].mean_forecast is None and bins[5].observed_frequency is None
    assert (bins[3].lower, bins[3].upper) == (0.3, 0.4)


# -- scoring a ladder ----------------------------------------------------------------------------

def test_a_settled_ladder_is_scored_with_its_baselines_and_components() -> None:
    decision = a_priced_decision(
        climatology=UNIFORM, market=(0.05, 0.15, 0.35, 0.30, 0.10, 0.05),
        components=(("nws", SIX_PROBABILITIES), ("climatology", UNIFORM)), forecast_value=85.0)
    outcomes = {t: t == TICKERS[2] for t in TICKERS}
    score = score_ladder(decision, {**outcomes, "KXHIGHNY-26AUG29-T80": True}, Decimal(84))

    assert score.paying == (TICKERS[2],)
    assert score.ours.brier == pytest.approx(0.618823)
    assert score.climatology is not None and score.climatology.log_loss == pytest.approx(math.log(6))
    assert score.market is not None and score.market.log_loss == pytest.approx(-math.log(0.35))
    assert [(c.model, c.scores.rps) for c in score.components] == [
        ("nws", pytest.approx(0.0556038)), ("climatology", pytest.approx(19 / 180))]
    assert (score.lead_days, score.climate_date) == (1, date(2026, 8, 28))
    assert (score.forecast_value, score.settled_value) == (85.0, Decimal(84))

    event = ForecastScored(**envelope("scores:test"), **score.event_fields())
    assert decode(event.topic(), encode(event)) == event


def test_a_baseline_missing_for_one_rung_is_not_scored() -> None:
    decision = a_priced_decision(market=(0.05, 0.15, 0.35, 0.30, 0.10, 0.05))
    bins = tuple(b.model_copy(update={"market": None}) if i == 0 else b
                 for i, b in enumerate(decision.probabilities))
    partial = decision.model_copy(update={"probabilities": bins})
    score = score_ladder(partial, {t: t == TICKERS[2] for t in TICKERS})
    assert score.market is None and score.climatology is None


@pytest.mark.parametrize(("outcomes", "message"), [
    ({t: t == TICKERS[2] for t in TICKERS[:5]}, "not settled"),
    ({t: False for t in TICKERS}, "exactly one"),
    ({t: True for t in TICKERS}, "exactly one"),
])
def test_a_ladder_that_did_not_settle_one_rung_is_not_scorable(outcomes, message) -> None:
    with pytest.raises(NotScorable, match=message):
        score_ladder(a_priced_decision(), outcomes)


def test_a_component_that_prices_another_ladder_is_a_malformed_decision() -> None:
    decision = a_priced_decision(components=(("nws", (0.5, 0.5)),))
    with pytest.raises(ValueError, match="component nws has 2 probabilities for 6 rungs"):
        score_ladder(decision, {t: t == TICKERS[2] for t in TICKERS})


def test_a_cumulative_ladder_decision_is_scored_per_market() -> None:
    tickers = tuple(f"KXRAINNYCM-26AUG-{x}" for x in (1, 2, 3, 4))
    decision = a_priced_decision("KXRAINNYCM-26AUG", probabilities=(0.9, 0.6, 0.3, 0.1),
                                 tickers=tickers, kind=MarketKind.MONTHLY_RAIN, forecast_value=2.8)
    score = score_ladder(decision, dict(zip(tickers, (True, True, False, False), strict=True)),
                         Decimal("2.50"))
    assert score.ours.brier == score.ours.rps == pytest.approx(0.0675)
    assert score.paying == tickers[:2]
    assert score.climate_date == date(2026, 8, 31)


def test_settlement_facts() -> None:
    assert settles_on("KXHIGHNY-26AUG28") == date(2026, 8, 28)
    assert settles_on("KXRAINNYCM-26FEB") == date(2026, 2, 28)
    assert settles_on("KXNYCSNOWM-26DEC") == date(2026, 12, 31)
    assert settles_on("KXHIGHNY-26FEB30") is None
    assert settles_on("KXHIGHNY") is None
    assert paid("yes", 10_000) and not paid("no", 0) and paid("scalar", 10_000)
    with pytest.raises(NotScorable, match="scalar"):
        paid("scalar", 4_000, "T")
    report = a_final_report(max_temp_f=91, precip_month_in="3.41", snow_month_in="0.0")
    assert settled_value_of(report, MarketKind.DAILY_HIGH) == Decimal(91)
    assert settled_value_of(report, MarketKind.MONTHLY_RAIN) == Decimal("3.41")
    assert settled_value_of(report.model_copy(update={"preliminary": True}),
                            MarketKind.DAILY_HIGH) is None


# -- learning ------------------------------------------------------------------------------------

def test_the_bias_is_shrunk_toward_zero_while_samples_are_few() -> None:
    assert shrunk_bias(2.0, 0, 10) == 0.0
    assert shrunk_bias(2.0, 10, 10) == 1.0  # 2 x 10 / 20
    assert shrunk_bias(2.0, 90, 10) == pytest.approx(1.8)
    assert shrunk_bias(2.0, 5, 0) == 2.0


def days(n: int, end: date = date(2026, 8, 27)) -> list[date]:
    return [end - timedelta(days=i) for i in range(n)][::-1]


def test_model_state_learns_the_bias_and_the_spread_by_lead() -> None:
    # Forecasts 1.5°F too warm at lead 1 (errors alternate +1 and +2), and lead 0's intraday
    # values (3°F low) never teach the bias.
    scored = [a_forecast_scored(d, lead_days=1, forecast_value=85.0 + (i % 2), settled_value=84)
              for i, d in enumerate(days(20))]
    scored += [a_forecast_scored(d, lead_days=0, forecast_value=81.0, settled_value=84)
               for d in days(4)]
    state = learn_model_state(scored, city="NYC", kind=MarketKind.DAILY_HIGH,
                              as_of=date(2026, 8, 27), params=LearningParams(window_days=30))
    assert (state.bias, state.bias_samples) == (1.5, 20)
    applied = shrunk_bias(1.5, 20, 10)  # 1.0
    lead0, lead1 = state.spread_by_lead
    # lead 1: errors 1 and 2 less the applied bias 1.0: RMS of 0 and 1 = sqrt(1/2)
    assert lead1 == (1, pytest.approx(math.sqrt(0.5)), 20)
    assert lead0 == (0, pytest.approx(abs(-3 - applied)), 4)
    assert learned_spread(state.spread_by_lead, 1, default=2.5, min_samples=20) == pytest.approx(
        math.sqrt(0.5))
    assert learned_spread(state.spread_by_lead, 0, default=2.0, min_samples=20) == 2.0
    assert learned_spread(state.spread_by_lead, 3, default=3.0, min_samples=1) == 3.0

    event = ModelStateRecorded(**envelope("model-state:NYC"), **state.event_fields())
    assert decode(event.topic(), encode(event)) == event


def test_the_window_keeps_other_days_cities_and_rescored_duplicates_out() -> None:
    inside = [a_forecast_scored(d, forecast_value=86.0) for d in days(14)]
    before = [a_forecast_scored(d, forecast_value=99.0) for d in days(5, date(2026, 8, 13))]
    elsewhere = [a_forecast_scored(d, city="CHI", forecast_value=99.0) for d in days(14)]
    rescored = a_forecast_scored(date(2026, 8, 27), forecast_value=84.0)  # replaces its first score
    state = learn_model_state([*before, *inside, *elsewhere, rescored], city="NYC",
                              kind=MarketKind.DAILY_HIGH, as_of=date(2026, 8, 27),
                              params=LearningParams(window_days=14))
    assert state.bias_samples == 14
    assert state.bias == pytest.approx((13 * 2 + 0) / 14)


def test_a_window_shorter_than_two_weeks_is_refused() -> None:
    with pytest.raises(ValueError, match="greater than or equal to 14"):
        LearningParams(window_days=MIN_WINDOW_DAYS - 1)


def test_weights_favour_the_better_model_once_each_has_enough_samples() -> None:
    scored = [a_forecast_scored(d, component_log_losses={"nws": 1.2, "gfs": 1.6})
              for d in days(30)]
    state = learn_model_state(scored, city="NYC", kind=MarketKind.DAILY_HIGH,
                              as_of=date(2026, 8, 27))
    gfs, nws = state.weights
    # w ∝ exp(-1.2) and exp(-1.6): nws = 1 / (1 + e^-0.4) = 0.598688
    assert nws == ("nws", pytest.approx(1 / (1 + math.exp(-0.4))), 30, pytest.approx(1.2))
    assert gfs == ("gfs", pytest.approx(1 - nws[1]), 30, pytest.approx(1.6))


def test_weights_are_equal_below_min_samples() -> None:
    scored = [a_forecast_scored(d, component_log_losses={"nws": 1.2, "gfs": 1.6})
              for d in days(29)]
    state = learn_model_state(scored, city="NYC", kind=MarketKind.DAILY_HIGH,
                              as_of=date(2026, 8, 27))
    assert [(m, w, n) for m, w, n, _ in state.weights] == [("gfs", 0.5, 29), ("nws", 0.5, 29)]


def test_a_new_component_is_judged_only_on_the_ladders_it_was_scored_on() -> None:
    old = [a_forecast_scored(d, component_log_losses={"nws": 1.0}) for d in days(40)[:30]]
    new = [a_forecast_scored(d, component_log_losses={"nws": 1.3, "hrrr": 1.1})
           for d in days(40)[30:]]
    state = learn_model_state([*old, *new], city="NYC", kind=MarketKind.DAILY_HIGH,
                              as_of=date(2026, 8, 27))
    # Ten ladders both were scored on: too few, so equal; nws's easier days do not count.
    assert state.weights == (("hrrr", 0.5, 10, pytest.approx(1.1)),
                             ("nws", 0.5, 10, pytest.approx(1.3)))


def test_ensemble_weights_stay_positive_at_the_clipped_extreme() -> None:
    weights = ensemble_weights({"good": [0.0] * 30, "awful": [math.log(10_000)] * 30}, eta=10,
                               min_samples=30)
    assert all(w > 0 for _, w, _, _ in weights)
    assert math.fsum(w for _, w, _, _ in weights) == pytest.approx(1)


# -- edge decay ----------------------------------------------------------------------------------

def test_edge_decay_needs_a_full_window_below_the_threshold() -> None:
    assert not edge_decay([-0.05] * 19, window=20, threshold=0.0)
    assert edge_decay([-0.05] * 20, window=20, threshold=0.0)
    # The mean of the last 20 is (10 x 0.25 - 10 x 0.125) / 20 = 0.0625; the early 2.0s are gone.
    recent = [2.0] * 10 + [0.25] * 10 + [-0.125] * 10
    assert not edge_decay(recent, window=20, threshold=0.0625)
    assert edge_decay(recent, window=20, threshold=0.0626)
    with pytest.raises(ValueError):
        edge_decay([0.1], window=0, threshold=0.0)


def test_a_decayed_edge_raises_a_warning() -> None:
    assert edge_decay_alert([0.02] * 20, 20, 0.01, scope="city:NYC") is None
    fields = edge_decay_alert([-0.02] * 20, 20, 0.01, scope="city:NYC")
    assert fields is not None
    alert = AlertRaised(**envelope("alerts"), **fields)
    assert (alert.severity, alert.kind) == ("warning", "edge_decay")
    assert alert.context["window"] == "20" and "city:NYC" in alert.message
