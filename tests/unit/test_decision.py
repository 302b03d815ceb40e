"""The decision path end to end in pure code: snapshots and config in, DecisionMade events out."""

from __future__ import annotations

import math
import subprocess
import sys
import uuid
from datetime import date, timedelta
from decimal import Decimal
from functools import cache

import pytest

from domain.config import MilkbotConfig, parse_config
from domain.decision import CLIMATOLOGY, NWS, DecisionInputs, Portfolio, client_order_id, decide, price
from domain.events import (
    Action,
    ClimateReportRecorded,
    DecisionMade,
    ForecastPeriod,
    MarketKind,
    MarketQuote,
    ModelStateRecorded,
    Side,
    WeatherSnapshotted,
)
from domain.strategies import RestingOrder
from eventstore.codec import encode
from milkbot.settings import SHIPPED_CONFIG
from tests.builders import T0, a_ladder, a_market_snapshot, a_weather_snapshot, envelope
from tests.unit.test_config import ELEVENTH_CITY

SHIPPED = SHIPPED_CONFIG.read_text()


@cache
def shipped() -> tuple[MilkbotConfig, str]:
    return parse_config(SHIPPED)


def inputs(**overrides: object) -> DecisionInputs:
    config, version = shipped()
    values: dict[str, object] = {
        "market": a_market_snapshot(markets=a_ladder(low=79)), "weather": a_weather_snapshot(),
        "config": config, "config_version": version,
        "portfolio": Portfolio(balance=100_000_000)}
    values.update(overrides)
    return DecisionInputs(**values)  # type: ignore[arg-type]


def test_a_daily_ladder_is_priced_by_the_forecast_and_climatology_and_sums_to_one() -> None:
    priced = price(inputs())
    assert [name for name, _ in priced.components] == [NWS, CLIMATOLOGY]
    assert math.fsum(priced.probabilities) == pytest.approx(1.0, abs=1e-12)
    # The forecast high is 80°F: the 79-80 bin is the likeliest, climatology (83°F) is flatter.
    nws = dict(priced.components)[NWS]
    assert max(range(6), key=lambda i: nws[i]) == 1
    assert nws[1] > 2 * priced.climatology[1]
    assert priced.lead_days == 0 and priced.forecast_value == 80.0
    assert all(m is not None for m in priced.market)


def test_each_strategy_makes_one_decision_with_its_inputs_and_orders() -> None:
    taker, maker = decide(inputs())

    assert (taker.strategy, maker.strategy) == ("taker", "maker")
    assert taker.market_snapshot_id == inputs().market.event_id
    assert taker.weather_snapshot_ids == (inputs().weather.event_id,)  # type: ignore[union-attr]
    assert taker.config_version == shipped()[1] and taker.balance == 100_000_000
    # Every bin's YES ask is 35¢ and its NO ask 70¢: the far tails are cheap NO bets.
    assert taker.intended_orders, taker.no_trade_reason
    assert {(o.side, o.action) for o in taker.intended_orders} == {(Side.NO, Action.BUY)}
    assert [o.client_order_id for o in taker.intended_orders] == [
        client_order_id(taker.decision_id, leg) for leg in range(len(taker.intended_orders))]
    assert len(taker.edges) == len(taker.intended_orders)
    assert all(e.edge_after_fees >= 0.03 for e in taker.edges)
    assert taker.decision_id != maker.decision_id


def test_the_same_inputs_give_the_same_bytes_in_another_process() -> None:
    here = [encode(d) for d in decide(inputs())]
    assert here == [encode(d) for d in decide(inputs())]
    script = ("import sys; from tests.unit.test_decision import decide, inputs; "
              "from eventstore.codec import encode; "
              "sys.stdout.buffer.write(b'\\n'.join(encode(d) for d in decide(inputs())))")
    there = subprocess.run([sys.executable, "-c", script], capture_output=True, check=True).stdout
    assert there.split(b"\n") == here


def test_the_recorded_portfolio_is_the_one_the_strategy_saw() -> None:
    ticker = "KXHIGHNY-26AUG28-T86"
    resting = RestingOrder(ticker=ticker, side=Side.NO, action=Action.BUY, price=6900, remaining=500)
    portfolio = Portfolio(positions={ticker: -300, "ELSEWHERE": 100}, resting=(resting,),
                          balance=50_000_000)
    (taker, _) = decide(inputs(portfolio=portfolio))
    assert [(h.ticker, h.position) for h in taker.positions] == [(ticker, -300)]
    assert [(r.ticker, r.price, r.remaining) for r in taker.resting] == [(ticker, 6900, 500)]
    assert taker.decision_id != decide(inputs())[0].decision_id


def test_a_ladder_that_cannot_be_priced_is_a_no_trade_decision_that_says_why() -> None:
    broken = a_ladder(low=79)[:-1]  # no top tail: the ladder does not cover every outcome
    (taker, _) = decide(inputs(market=a_market_snapshot(markets=broken)))
    assert taker.probabilities == () and taker.intended_orders == ()
    assert taker.no_trade_reason is not None and "does not cover" in taker.no_trade_reason
    past = a_market_snapshot("KXHIGHNY-26AUG27")
    assert "is over" in (decide(inputs(market=past))[0].no_trade_reason or "")
    stranger = a_market_snapshot("KXHIGHBOS-26AUG28", city="BOS")
    assert "no city 'BOS'" in (decide(inputs(market=stranger))[0].no_trade_reason or "")


def test_a_disabled_city_is_priced_but_never_traded() -> None:
    config, _ = parse_config(SHIPPED.replace("enabled = true", "enabled = false", 1))
    assert not config.city("NYC").enabled
    (taker, _) = decide(inputs(config=config))
    assert taker.probabilities and taker.intended_orders == ()
    assert taker.no_trade_reason == "NYC is disabled in the configuration"


def test_weather_for_another_city_is_refused() -> None:
    chicago = a_weather_snapshot("CHI")
    assert "CHI's, not NYC's" in (decide(inputs(weather=chicago))[0].no_trade_reason or "")


def test_without_weather_the_ladder_is_climatology_alone() -> None:
    priced = price(inputs(weather=None))
    assert [name for name, _ in priced.components] == [CLIMATOLOGY]
    assert priced.probabilities == pytest.approx(priced.climatology)


def model_state(samples: int, weights: tuple[tuple[str, float], ...]) -> ModelStateRecorded:
    return ModelStateRecorded(
        **envelope("modelstate:NYC:daily_high", recorded_at=T0 - timedelta(hours=1)), city="NYC",
        kind=MarketKind.DAILY_HIGH, as_of=date(2026, 8, 27), window_days=60, bias=1.5,
        bias_samples=samples, weights=tuple((m, w, samples, 0.5) for m, w in weights))


def test_learned_weights_replace_the_prior_only_once_every_component_has_its_samples() -> None:
    equal = (("nws", 0.5), ("climatology", 0.5))
    few, many = model_state(29, equal), model_state(30, equal)
    priced_few, priced_many = price(inputs(model_state=few)), price(inputs(model_state=many))
    nws, climo = dict(priced_many.components)[NWS], priced_many.climatology
    assert priced_many.probabilities == pytest.approx([(a + b) / 2 for a, b in zip(nws, climo, strict=True)])
    nws_few = dict(priced_few.components)[NWS]
    assert priced_few.probabilities == pytest.approx(
        [0.9 * a + 0.1 * b for a, b in zip(nws_few, priced_few.climatology, strict=True)])
    (taker, _) = decide(inputs(model_state=many))
    assert taker.model_state_id == many.event_id


# --- monthly rain ---------------------------------------------------------------------------------

def rain_ladder(*strikes: str) -> tuple[MarketQuote, ...]:
    return tuple(MarketQuote(ticker=f"KXRAINNYCM-26AUG-{s}", status="active", strike_type="greater",
                             floor_strike=Decimal(s), yes_bids=((4000, 1000),), no_bids=((5000, 1000),))
                 for s in strikes)


def test_a_monthly_rain_ladder_adds_the_forecast_to_the_month_so_far() -> None:
    market = a_market_snapshot("KXRAINNYCM-26AUG", markets=rain_ladder("2", "3", "4", "6"))
    market = market.model_copy(update={"kind": MarketKind.MONTHLY_RAIN})
    report = ClimateReportRecorded(
        **envelope("cli:NYC:2026-08-27"), station="NYC", climate_date=date(2026, 8, 27),
        preliminary=False, correction=False, issued_at=T0 - timedelta(hours=8),
        precip_month_in=Decimal("2.50"), raw_text="...")
    wet = tuple(ForecastPeriod(start=T0 + timedelta(hours=h), end=T0 + timedelta(hours=h + 1),
                               precip_in=0.05) for h in range(24))
    weather = WeatherSnapshotted(**envelope("weather:NYC:monthly_rain"), city="NYC", station="KNYC",
                                 provider="nws", issued_at=T0, hourly=wet)

    priced = price(inputs(market=market, report=report, weather=weather))

    assert [name for name, _ in priced.components] == [NWS, CLIMATOLOGY]
    assert priced.probabilities[0] > 0.95  # 2.50" already fell: "more than 2" is all but certain
    assert list(priced.probabilities) == sorted(priced.probabilities, reverse=True)
    # 15 forecast hours fall on the 28th (until EST midnight); the part-covered 29th is climatology.
    assert priced.forecast_value == pytest.approx(2.50 + 15 * 0.05)
    assert priced.lead_days == 3  # August 28 to 31
    (taker, _) = decide(inputs(market=market, report=report, weather=weather))
    assert taker.weather_snapshot_ids == (weather.event_id, report.event_id)


def test_an_eleventh_city_is_priced_and_traded_with_nothing_but_its_config_entry() -> None:
    config, version = parse_config(SHIPPED + ELEVENTH_CITY)
    market = a_market_snapshot("KXHIGHBOS-26AUG28", city="BOS", markets=a_ladder("KXHIGHBOS-26AUG28"))
    weather = a_weather_snapshot("BOS")
    (taker, _) = decide(inputs(market=market, weather=weather, config=config,
                               config_version=version))
    assert taker.city == "BOS" and len(taker.probabilities) == 6
    assert taker.intended_orders or taker.no_trade_reason


def test_client_order_ids_are_stable_and_distinct_per_leg() -> None:
    decision = uuid.UUID("12345678-1234-5678-1234-567812345678")
    assert client_order_id(decision, 0) == "mb-123456781234567812345678-0"
    assert client_order_id(decision, 1) != client_order_id(decision, 0)


def test_decisions_are_events_the_store_accepts() -> None:
    for decision in decide(inputs()):
        assert isinstance(decision, DecisionMade)
        assert decision.stream == f"decision:{decision.decision_id}" and decision.version == 1
        assert decision.recorded_at == T0
