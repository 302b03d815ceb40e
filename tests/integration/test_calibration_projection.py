"""The calibration projection scores settled ladders per lead, on every backend, and rebuilds
to the same rows."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from domain.config import parse_config
from domain.events import Event, MarketKind
from domain.learning import score_ladder
from domain.scoring import reliability
from eventstore import Ledger
from projections.calibration import CalibrationProjection
from projections.registry import projection_factories
from projections.runner import ProjectionRunner
from replay.rebuild import rebuild_and_compare
from tests.builders import (
    SIX_PROBABILITIES,
    a_config_version,
    a_decision,
    a_final_report,
    a_ladder,
    a_ladder_settled,
    a_priced_decision,
    at,
)
from tests.paths import ROOT

EVENT = "KXHIGHNY-26AUG28"
TICKERS = tuple(m.ticker for m in a_ladder(EVENT))
PAYING = TICKERS[2]
CONFIG = a_config_version((ROOT / "config/milkbot.toml").read_text(), recorded_at=at(-600))
UNIFORM = (1 / 6,) * 6
HOURS = 60


def decision(lead_days: int | None, probabilities: tuple[float, ...], hours: float, **kwargs):
    return a_priced_decision(EVENT, lead_days=lead_days, probabilities=probabilities,
                             config_version=CONFIG.config_version, recorded_at=at(hours * HOURS),
                             **kwargs)


#: Two days out the forecast was flat, then sharpened; only the last decision of each lead counts.
LEAD_2_EARLY = decision(2, UNIFORM, 0)
LEAD_2 = decision(2, (0.05, 0.10, 0.20, 0.30, 0.25, 0.10), 20, forecast_value=86.0)
LEAD_1 = decision(1, SIX_PROBABILITIES, 44, forecast_value=85.0, climatology=UNIFORM,
                  market=(0.05, 0.15, 0.35, 0.30, 0.10, 0.05),
                  components=(("nws", SIX_PROBABILITIES), ("climatology", UNIFORM)))
LEAD_0 = decision(0, (0.0, 0.05, 0.80, 0.10, 0.05, 0.0), 66, forecast_value=84.0)


def a_settled_day() -> list[list[Event]]:
    """Commands of one ladder's life: the config, decisions at three leads (two at lead 2), one
    without a lead, a preliminary report, the settlement, the final report, another station's."""
    return [
        [CONFIG],
        [LEAD_2_EARLY],
        [LEAD_2],
        [LEAD_1],
        [a_decision(recorded_at=at(45 * HOURS))],  # no lead_days: never scored
        [LEAD_0],
        [a_final_report("NYC", date(2026, 8, 28), max_temp_f=80, preliminary=True,
                        recorded_at=at(72 * HOURS))],
        a_ladder_settled(TICKERS, PAYING, recorded_at=at(80 * HOURS)),
        [a_final_report("NYC", date(2026, 8, 28), max_temp_f=84, version=2,
                        recorded_at=at(81 * HOURS))],
        [a_final_report("MDW", date(2026, 8, 28), max_temp_f=77, recorded_at=at(81 * HOURS))],
    ]


def fold(ledger: Ledger, commands: list[list[Event]], *, batch_size: int = 5_000) -> ProjectionRunner:
    for command in commands:
        ledger.store.append(command)
    runner = ProjectionRunner(ledger, [CalibrationProjection()], batch_size=batch_size)
    runner.catch_up()
    return runner


def scores(ledger: Ledger) -> dict[int, tuple]:
    with ledger.backend.transaction() as tx:
        return {row[0]: tuple(row[1:]) for row in tx.execute(
            "SELECT lead_days, decision_id, brier, log_loss, rps, climatology_brier, "
            "climatology_log_loss, climatology_rps, market_brier, market_log_loss, market_rps, "
            "forecast_value, settled_value FROM proj_forecast_scores WHERE event_ticker = ?",
            (EVENT,))}


def expected_row(decided, settled: int | None = 84) -> tuple:
    score = score_ladder(decided, {t: t == PAYING for t in TICKERS},
                         None if settled is None else Decimal(settled))
    baselines = [(s.brier, s.log_loss, s.rps) if s else (None, None, None)
                 for s in (score.climatology, score.market)]
    return (str(decided.decision_id), score.ours.brier, score.ours.log_loss, score.ours.rps,
            *baselines[0], *baselines[1], decided.forecast_value, settled)


def test_each_lead_is_scored_from_its_last_decision_against_the_final_report(
    ledger: Ledger,
) -> None:
    fold(ledger, a_settled_day())

    assert scores(ledger) == {
        2: expected_row(LEAD_2), 1: expected_row(LEAD_1), 0: expected_row(LEAD_0)}
    lead_1 = scores(ledger)[1]
    assert lead_1[1:4] == (0.6188230000000001, 1.2073117055914506, 0.0556038)  # the worked example
    assert lead_1[4] == 30 / 36 and lead_1[10:] == (85.0, 84.0)
    with ledger.backend.transaction() as tx:
        (city, kind, climate_date, settled_at), = tx.execute(
            "SELECT DISTINCT city, kind, climate_date, settled_at FROM proj_forecast_scores")
    assert (city, kind, climate_date) == ("NYC", "daily_high", "2026-08-28")
    assert settled_at == at(80 * HOURS).isoformat()


def test_the_reliability_table_holds_every_market_of_every_scored_ladder(ledger: Ledger) -> None:
    fold(ledger, a_settled_day())

    expected = []
    for lead, decided in ((0, LEAD_0), (1, LEAD_1), (2, LEAD_2)):
        points = [(b.probability, b.ticker == PAYING) for b in decided.probabilities]
        expected += [("NYC", "daily_high", lead, b.bucket, b.forecast_sum, b.outcomes, b.count)
                     for b in reliability(points) if b.count]
    with ledger.backend.transaction() as tx:
        rows = [tuple(r) for r in tx.execute(
            "SELECT * FROM proj_reliability ORDER BY lead_days, bucket")]
    assert rows == expected
    assert sum(r[6] for r in rows) == 18 and sum(r[5] for r in rows) == 3
    # Lead 0 put 0.80 on the rung that paid: its top bucket is one point, one hit.
    assert ("NYC", "daily_high", 0, 8, 0.8, 1, 1) in rows


def test_a_later_decision_at_a_lead_rescores_it_and_an_earlier_one_recorded_late_does_not(
    ledger: Ledger,
) -> None:
    fold(ledger, a_settled_day())
    revised = decision(1, (0.1, 0.1, 0.5, 0.1, 0.1, 0.1), 47)
    made_before = decision(1, UNIFORM, 30)  # made before LEAD_1, recorded after the settlement

    fold(ledger, [[revised], [made_before]])
    assert scores(ledger)[1] == expected_row(revised)
    assert scores(ledger)[2] == expected_row(LEAD_2)


def test_a_corrected_report_updates_the_settled_value(ledger: Ledger) -> None:
    fold(ledger, a_settled_day())
    fold(ledger, [[a_final_report("NYC", date(2026, 8, 28), max_temp_f=85, correction=True,
                                  version=3, recorded_at=at(90 * HOURS))]])
    assert {lead: row[-1] for lead, row in scores(ledger).items()} == {0: 85.0, 1: 85.0, 2: 85.0}


def test_nothing_is_scored_until_every_market_has_settled(ledger: Ledger) -> None:
    day = a_settled_day()
    settlements = day[7]
    fold(ledger, [*day[:7], settlements[:5]])
    assert scores(ledger) == {}
    fold(ledger, [settlements[5:]])
    assert set(scores(ledger)) == {0, 1, 2}


def test_the_settled_value_comes_from_the_site_the_decision_config_names(ledger: Ledger) -> None:
    # Chicago's daily high settles at Midway (MDW) and its monthly rain at O'Hare (ORD).
    high = a_priced_decision("KXHIGHCHI-26AUG28", city="CHI", config_version=CONFIG.config_version,
                             forecast_value=79.0, recorded_at=at(0))
    high_tickers = tuple(b.ticker for b in high.probabilities)
    rain_tickers = tuple(f"KXRAINCHIM-26AUG-{x}" for x in (1, 2, 3, 4))
    rain = a_priced_decision("KXRAINCHIM-26AUG", city="CHI", kind=MarketKind.MONTHLY_RAIN,
                             tickers=rain_tickers, probabilities=(0.9, 0.6, 0.3, 0.1),
                             config_version=CONFIG.config_version, forecast_value=2.8,
                             lead_days=3, recorded_at=at(0))
    fold(ledger, [
        # The decisions come before their config is recorded: the settled value still follows.
        [high], [rain], [CONFIG],
        a_ladder_settled(high_tickers, high_tickers[3], recorded_at=at(80 * HOURS)),
        a_ladder_settled(rain_tickers, set(rain_tickers[:2]), recorded_at=at(80 * HOURS)),
        [a_final_report("ORD", date(2026, 8, 28), max_temp_f=81, recorded_at=at(81 * HOURS))],
        [a_final_report("MDW", date(2026, 8, 28), max_temp_f=78, recorded_at=at(81 * HOURS))],
        [a_final_report("ORD", date(2026, 8, 31), max_temp_f=75, precip_month_in="2.50",
                        recorded_at=at(160 * HOURS))],
    ])
    with ledger.backend.transaction() as tx:
        rows = {r[0]: tuple(r[1:]) for r in tx.execute(
            "SELECT event_ticker, kind, climate_date, brier, rps, settled_value "
            "FROM proj_forecast_scores")}
    assert rows["KXHIGHCHI-26AUG28"][:2] == ("daily_high", "2026-08-28")
    assert rows["KXHIGHCHI-26AUG28"][-1] == 78.0
    assert rows["KXRAINCHIM-26AUG"] == ("monthly_rain", "2026-08-31", 0.0675, 0.0675, 2.5)


def test_rebuild_equals_live_across_restarts_and_batch_sizes(ledger: Ledger) -> None:
    day = a_settled_day()
    later = [[decision(1, (0.1, 0.1, 0.5, 0.1, 0.1, 0.1), 47)],
             [a_final_report("NYC", date(2026, 8, 28), max_temp_f=85, correction=True, version=3,
                             recorded_at=at(90 * HOURS))]]
    fold(ledger, day[:5], batch_size=2)
    fold(ledger, day[5:], batch_size=3)  # a restart: state comes back from the tables
    fold(ledger, later, batch_size=1)

    build = projection_factories()[CalibrationProjection.name]
    result = rebuild_and_compare(ledger, build, batch_size=1_000)
    assert result.matches, result.differences
    with ledger.backend.transaction() as tx:
        live = CalibrationProjection().rows(tx)
    assert len(live["forecast_scores"]) == len(live["calibration_decisions"]) == 3
    config, _ = parse_config(CONFIG.content)
    sites = [(CONFIG.config_version, c.code, k.value, c.source(k).cli_site)  # type: ignore[union-attr]
             for c in config.cities for k in MarketKind if c.source(k) is not None]
    assert live["calibration_sites"] == sorted(sites)


def test_rows_grouped_for_a_dashboard(ledger: Ledger) -> None:
    """Brier by city and a city's reliability diagram are one GROUP BY each."""
    fold(ledger, a_settled_day())
    with ledger.backend.transaction() as tx:
        by_city = tx.execute("SELECT city, COUNT(*), AVG(brier), AVG(climatology_brier) "
                             "FROM proj_forecast_scores GROUP BY city")
        diagram = tx.execute("SELECT bucket, SUM(forecast_sum) / SUM(count), "
                             "1.0 * SUM(outcomes) / SUM(count) FROM proj_reliability "
                             "WHERE city = 'NYC' GROUP BY bucket ORDER BY bucket")
    (city, ladders, brier, climatology), = by_city
    assert (city, ladders, climatology) == ("NYC", 3, 30 / 36)
    assert abs(brier - sum(expected_row(d)[1] for d in (LEAD_0, LEAD_1, LEAD_2)) / 3) < 1e-12
    points = [(b.probability, b.ticker == PAYING) for d in (LEAD_0, LEAD_1, LEAD_2)
              for b in d.probabilities]
    assert [(b, round(float(mean), 12), round(float(hits), 12)) for b, mean, hits in diagram] == [
        (b.bucket, round(b.mean_forecast, 12), round(b.observed_frequency, 12))
        for b in reliability(points) if b.count]
