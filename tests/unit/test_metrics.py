from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from domain.events.risk import TradingState
from domain.risk.state import TradingStates
from milkbot.metrics import CONTENT_TYPE, HandlerMetrics, TextfileMetrics
from tests.builders import a_breaker_tripped

NOW = datetime(2026, 8, 28, 15, 0, tzinfo=UTC)


def samples(body: bytes) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """Every sample of an exposition, by name and labels (parsing proves the format is valid)."""
    return {(s.name, frozenset(s.labels.items())): s.value
            for family in text_string_to_metric_families(body.decode())
            for s in family.samples}


def value(metrics: HandlerMetrics, name: str, **labels: str) -> float:
    return samples(metrics.render())[(name, frozenset(labels.items()))]


def test_cycle_latency_is_a_histogram_per_city() -> None:
    m = HandlerMetrics()
    m.observe_cycle("NYC", 0.03)
    m.observe_cycle("NYC", 2.0)
    m.observe_cycle("CHI", 0.2)
    assert value(m, "milkbot_cycle_seconds_count", city="NYC") == 2
    assert value(m, "milkbot_cycle_seconds_sum", city="NYC") == pytest.approx(2.03)
    assert value(m, "milkbot_cycle_seconds_bucket", city="NYC", le="0.05") == 1
    assert value(m, "milkbot_cycle_seconds_bucket", city="NYC", le="+Inf") == 2
    assert value(m, "milkbot_cycle_seconds_count", city="CHI") == 1


def test_orders_fills_and_failures_count_by_city_and_strategy() -> None:
    m = HandlerMetrics()
    m.order_placed("NYC", "taker")
    m.order_placed("NYC", "taker")
    m.order_placed("MIA", "maker")
    m.order_rejected("NYC", "maker")
    m.fill("NYC", "taker", 150)  # 1.50 contracts in the ledger's 1/100 units
    m.fill("NYC", "taker", 200)
    m.cycle_failed("DEN")
    assert value(m, "milkbot_orders_placed_total", city="NYC", strategy="taker") == 2
    assert value(m, "milkbot_orders_placed_total", city="MIA", strategy="maker") == 1
    assert value(m, "milkbot_orders_rejected_total", city="NYC", strategy="maker") == 1
    assert value(m, "milkbot_fills_total", city="NYC", strategy="taker") == 2
    assert value(m, "milkbot_filled_contracts_total", city="NYC", strategy="taker") == 3.5
    assert value(m, "milkbot_cycle_failures_total", city="DEN") == 1


def test_risk_refusals_count_each_failed_check() -> None:
    m = HandlerMetrics()
    m.risk_refused(["cash", "city_exposure"])
    m.risk_refused(["cash"])
    assert value(m, "milkbot_risk_refusals_total", check="cash") == 2
    assert value(m, "milkbot_risk_refusals_total", check="city_exposure") == 1


def test_feed_age_is_infinite_for_a_feed_never_seen() -> None:
    m = HandlerMetrics()
    m.feed_age("NYC", "weather:daily_high", 42.5)
    m.feed_age("SEA", "market:monthly_rain", None)
    assert value(m, "milkbot_feed_age_seconds", city="NYC", feed="weather:daily_high") == 42.5
    assert value(m, "milkbot_feed_age_seconds", city="SEA", feed="market:monthly_rain") == math.inf


def test_equity_and_drawdown_are_in_dollars_and_shares() -> None:
    m = HandlerMetrics()
    m.equity(1_234_560_000)  # micro-dollars
    m.drawdown("daily", loss_micros=25_000_000, share=Decimal("0.025"))
    m.drawdown("weekly", loss_micros=0, share=None)  # the period began with no equity
    assert value(m, "milkbot_equity_dollars") == 1234.56
    assert value(m, "milkbot_drawdown_dollars", period="daily") == 25.0
    assert value(m, "milkbot_drawdown_ratio", period="daily") == 0.025
    assert math.isnan(value(m, "milkbot_drawdown_ratio", period="weekly"))


def test_trading_state_is_zero_one_two() -> None:
    m = HandlerMetrics()
    m.trading_state("all", TradingState.ACTIVE)
    m.trading_state("city:NYC", "reducing")
    m.trading_state("city:CHI", TradingState.HALTED)
    assert value(m, "milkbot_trading_state", scope="all") == 0
    assert value(m, "milkbot_trading_state", scope="city:NYC") == 1
    assert value(m, "milkbot_trading_state", scope="city:CHI") == 2
    with pytest.raises(ValueError):
        m.trading_state("all", "sleepy")


def test_trading_states_reads_the_folded_state_with_breakers() -> None:
    states = TradingStates.fold([a_breaker_tripped("NYC", recorded_at=NOW - timedelta(minutes=5))])
    m = HandlerMetrics()
    m.trading_states(states, ["NYC", "CHI"], NOW)
    assert value(m, "milkbot_trading_state", scope="all") == 0
    assert value(m, "milkbot_trading_state", scope="city:NYC") == 1  # a tripped breaker: reducing
    assert value(m, "milkbot_trading_state", scope="city:CHI") == 0


def test_alert_gauges_mirror_the_senders_totals() -> None:
    m = HandlerMetrics()
    m.alerts(sent=7, failed=1, dropped=2)
    m.alerts(sent=9, failed=1, dropped=2)
    assert value(m, "milkbot_alerts_sent") == 9
    assert value(m, "milkbot_alerts_failed") == 1
    assert value(m, "milkbot_alerts_dropped") == 2


def test_alert_gauges_can_read_the_sender_at_each_render() -> None:
    class Sink:
        sent, failed, dropped = 3, 0, 1

    sink, m = Sink(), HandlerMetrics()
    m.track_alerts(sink)
    assert value(m, "milkbot_alerts_sent") == 3
    sink.sent = 4
    assert value(m, "milkbot_alerts_sent") == 4
    assert value(m, "milkbot_alerts_dropped") == 1


def test_render_is_the_text_format_with_help_and_type() -> None:
    m = HandlerMetrics()
    m.order_placed("NYC", "taker")
    text = m.render().decode()
    assert "# TYPE milkbot_orders_placed_total counter" in text
    assert 'milkbot_orders_placed_total{city="NYC",strategy="taker"} 1.0' in text
    assert "# TYPE milkbot_cycle_seconds histogram" in text
    assert CONTENT_TYPE.startswith("text/plain; version=0.0.4")


def test_two_instances_do_not_collide_nor_touch_the_global_registry() -> None:
    before = {family.name for family in REGISTRY.collect()}
    a, b = HandlerMetrics(), HandlerMetrics()  # the same names twice: the global registry would refuse
    a.order_placed("NYC", "taker")
    assert value(a, "milkbot_orders_placed_total", city="NYC", strategy="taker") == 1
    assert ("milkbot_orders_placed_total",
            frozenset({("city", "NYC"), ("strategy", "taker")})) not in samples(b.render())
    assert {family.name for family in REGISTRY.collect()} == before
    assert not any(name.startswith("milkbot_") for name in before)


def test_process_metrics_can_be_left_out() -> None:
    assert "process_" not in HandlerMetrics(process=False).render().decode()


def test_write_then_serve_from_another_process(tmp_path: Path) -> None:
    m = HandlerMetrics(process=False)
    m.order_placed("NYC", "taker")
    target = tmp_path / "handler.prom"
    reader = TextfileMetrics(target)
    assert reader.render() == b""  # the handler has not written yet
    m.write(target)
    assert reader.render() == m.render()
    assert [p.name for p in tmp_path.iterdir()] == ["handler.prom"]  # no temporary file left
