"""The accountant records what settlements say: scores, the learned model state, the edge alert;
on both backends, and nothing twice."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from domain.config import parse_config
from domain.events import AlertRaised, Event, ForecastScored, ModelStateRecorded, Side
from eventstore import Ledger
from milkbot.accountant import Accountant, model_state_stream
from milkbot.bootstrap import Milkbot
from milkbot.settings import Settings
from projections.registry import all_projections
from projections.runner import ProjectionRunner
from tests.builders import (
    SIX_PROBABILITIES,
    a_config_version,
    a_final_report,
    a_ladder,
    a_ladder_settled,
    a_priced_decision,
    an_order_filled,
    at,
)
from tests.paths import ROOT

EVENT = "KXHIGHNY-26AUG28"
TICKERS = tuple(m.ticker for m in a_ladder(EVENT))
# One trade is enough to judge, and any loss is decay.
TEXT = (ROOT / "config/milkbot.toml").read_text().replace("edge_window = 50", "edge_window = 1")
CONFIG = a_config_version(TEXT, recorded_at=at(-600))


def test_a_settled_ladder_is_scored_learned_from_and_judged_once(ledger: Ledger, tmp_path: Path) -> None:
    config, _ = parse_config(TEXT)
    app = Milkbot(settings=Settings(database_url=ledger.url, config=tmp_path / "unused.toml"),
                  ledger=ledger, projections=all_projections())
    components = (("nws", SIX_PROBABILITIES), ("climatology", (1 / 6,) * 6))
    events: list[Event] = [
        CONFIG,
        a_priced_decision(EVENT, lead_days=1, forecast_value=85.0, components=components,
                          config_version=CONFIG.config_version, recorded_at=at(-1440)),
        a_priced_decision(EVENT, lead_days=0, forecast_value=84.0, components=components,
                          config_version=CONFIG.config_version, recorded_at=at(60)),
        an_order_filled("f-lost", ticker=TICKERS[0], side=Side.YES, price=3000, count=500,
                        recorded_at=at(61)),
        a_final_report("NYC", date(2026, 8, 28), max_temp_f=83, recorded_at=at(1500)),
        *a_ladder_settled(TICKERS, TICKERS[2], recorded_at=at(1600)),
    ]
    for event in events:
        ledger.store.append([event])
    ProjectionRunner(ledger, app.projections).catch_up()

    recorded = Accountant(app, config).run(at(1700))

    scores = [e for e in recorded if isinstance(e, ForecastScored)]
    assert sorted(s.lead_days for s in scores) == [0, 1]
    assert {float(s.settled_value or 0) for s in scores} == {83.0}
    (state,) = [e for e in recorded if isinstance(e, ModelStateRecorded)]
    assert state.stream == model_state_stream("NYC", scores[0].kind) and state.version == 1
    assert (state.bias, state.bias_samples) == (85.0 - 83.0, 1)  # lead 0 does not teach the bias
    (alert,) = [e for e in recorded if isinstance(e, AlertRaised)]
    assert alert.kind == "edge_decay"  # bought YES at 30¢ on a rung that paid nothing

    ProjectionRunner(ledger, app.projections).catch_up()
    assert Accountant(app, config).run(at(1800)) == []
    assert ledger.store.stream_version(model_state_stream("NYC", scores[0].kind)) == 1
