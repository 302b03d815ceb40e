"""The backtest runs the same strategy and risk code over recorded snapshots: over a paper run's
own period it reproduces that run trade for trade, and its report says so."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from pathlib import Path

import pytest

from domain.events import OrderFilled
from milkbot.settings import SHIPPED_CONFIG
from replay.backtest import backtest_config, run_backtest
from tests.integration.test_handler import START, handler_on_simulators
from tests.integration.test_kalshi_simulator import config


def test_a_backtest_of_a_paper_run_reproduces_it_trade_for_trade(tmp_path: Path) -> None:
    with handler_on_simulators(tmp_path, paper=True) as (bot, clock, seen, *_):
        bot.start()
        while clock.now < START + timedelta(hours=30):
            bot.step()
            clock.now += timedelta(hours=1)
        end = clock.now
        report = run_backtest(bot.store, f"sqlite:///{tmp_path / 'backtest.sqlite'}", config(),
                              SHIPPED_CONFIG.read_text(), start=START, end=end)
    ran, source = report.backtest, report.source
    assert source.fills == sum(isinstance(e, OrderFilled) for e in seen) > 0
    assert (ran.decisions, ran.orders, ran.fills, ran.fees, ran.realized_pnl, ran.open_cost) == \
        (source.decisions, source.orders, source.fills, source.fees, source.realized_pnl, source.open_cost)
    assert ran.settled_markets == source.settled_markets > 0
    assert report.trades and all(t.same_decision and t.same_price and t.same_fill for t in report.trades)
    summary = report.as_json()["trades"]
    assert summary["compared"] == summary["same_fill"] == len(report.trades)
    rows = list(csv.DictReader(io.StringIO(report.trades_csv())))
    assert len(rows) == len(report.trades) and rows[0]["same_decision"] == "True"


def test_a_backtest_narrowed_to_one_city_and_strategy_decides_only_those() -> None:
    narrowed = backtest_config(config(), cities=["NYC"], strategy="taker")
    assert [c.code for c in narrowed.enabled_cities] == ["NYC"]
    assert [s.name for s in narrowed.strategies] == ["taker"]
    with pytest.raises(ValueError, match="unknown cities"):
        backtest_config(config(), cities=["XXX"], strategy=None)
    with pytest.raises(ValueError, match="unknown strategy"):
        backtest_config(config(), cities=None, strategy="nope")
