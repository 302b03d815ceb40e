"""The projections the apps read (public portfolio, market board, trading state) follow the log, and
their rows depend only on the events, never on how the runner cut or restarted its batches."""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from eventstore import Ledger, open_ledger
from projections.base import Projection
from projections.market_board import MarketBoardProjection
from projections.public_portfolio import PublicPortfolioProjection
from projections.registry import projection_factories
from projections.runner import ProjectionRunner
from projections.trading_state import TradingStateProjection
from replay.rebuild import rebuild_and_compare
from tests.api.scenario import commands as scenario
from tests.api.test_delay_property import Trade, commands, trades
from tests.builders import (
    a_breaker_cleared,
    a_breaker_tripped,
    a_kill_switch,
    a_market_snapshot,
    an_order_filled,
    at,
)

NEW = (PublicPortfolioProjection.name, MarketBoardProjection.name, TradingStateProjection.name)


def mine(prefix: str = "proj_", delay: int = 60) -> list[Projection]:
    return [PublicPortfolioProjection(delay, prefix=prefix), MarketBoardProjection(prefix=prefix),
            TradingStateProjection(prefix=prefix)]


def rows(ledger: Ledger, projections: list[Projection]) -> dict[str, object]:
    with ledger.backend.transaction() as tx:
        return {p.name: p.rows(tx) for p in projections}


def test_the_scenario_rebuilds_to_the_same_rows(ledger: Ledger) -> None:
    for command in scenario():
        ledger.store.append(command)
    ProjectionRunner(ledger, mine(), batch_size=3).catch_up()
    for name in NEW:
        result = rebuild_and_compare(ledger, projection_factories()[name])
        assert result.matches, (name, result.differences)


def test_a_fill_reaches_the_curve_at_the_first_hour_it_is_an_hour_old(ledger: Ledger) -> None:
    ledger.store.append([an_order_filled("f-1", fee=10_000, recorded_at=at(5))])  # 14:05
    ledger.store.append([a_breaker_tripped(recorded_at=at(64))])  # the clock passes 15:00
    runner = ProjectionRunner(ledger, mine())
    runner.catch_up()
    with ledger.backend.transaction() as tx:
        assert tx.execute("SELECT hour FROM proj_public_equity") == []
        assert tx.execute("SELECT trades FROM proj_public_stats") == []  # nothing public yet
    ledger.store.append([a_breaker_cleared(recorded_at=at(65))])  # 15:05: now an hour old
    runner.catch_up()
    with ledger.backend.transaction() as tx:
        assert tx.execute("SELECT trades FROM proj_public_stats WHERE scope = 'all'") == [(1,)]
        assert tx.execute("SELECT hour FROM proj_public_equity") == []  # 16:00 has not come
    ledger.store.append([a_kill_switch(recorded_at=at(6000))])  # days later: one more point
    runner.catch_up()
    with ledger.backend.transaction() as tx:
        assert tx.execute("SELECT hour, trades FROM proj_public_equity") == [
            ("2026-08-28T16:00:00+00:00", 1)]
        assert tx.execute("SELECT state FROM proj_trading_standing") == [("halted",)]


def test_a_markets_terms_outlive_its_ladder_on_the_board(ledger: Ledger) -> None:
    ledger.store.append([a_market_snapshot(recorded_at=at(0))])  # its markets close at T0 + 10h
    ledger.store.append([a_breaker_tripped(recorded_at=at(601))])
    ProjectionRunner(ledger, mine()).catch_up()
    with ledger.backend.transaction() as tx:
        assert tx.execute("SELECT event_ticker FROM proj_board_ladders") == []
        # A "T" ticker is a tail; which one, only its terms say.
        assert tx.execute("SELECT * FROM proj_board_strikes ORDER BY ticker") == [
            ("KXHIGHNY-26AUG28-B79.5", "between", "79", "80"),
            ("KXHIGHNY-26AUG28-B81.5", "between", "81", "82"),
            ("KXHIGHNY-26AUG28-B83.5", "between", "83", "84"),
            ("KXHIGHNY-26AUG28-B85.5", "between", "85", "86"),
            ("KXHIGHNY-26AUG28-T79", "less", None, "79"),
            ("KXHIGHNY-26AUG28-T86", "greater", "86", None)]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(fills=trades(), clock=st.integers(0, 900), cuts=st.lists(st.integers(0, 30), max_size=3),
       batch=st.integers(1, 5))
def test_rows_do_not_depend_on_batches_or_restarts(fills: list[Trade], clock: int,
                                                   cuts: list[int], batch: int) -> None:
    with tempfile.TemporaryDirectory() as folder, \
            open_ledger(f"sqlite:///{Path(folder) / 'ledger.sqlite'}") as ledger:
        the_commands = commands(fills, clock)
        done = 0
        for cut in [*sorted(cuts), len(the_commands)]:
            for command in the_commands[done:cut]:
                ledger.store.append(command)
            done = max(done, cut)
            # A fresh runner each time: a restart, reading its state back from the rows.
            ProjectionRunner(ledger, mine(), batch_size=batch).catch_up()
        ProjectionRunner(ledger, mine("ref_"), batch_size=10_000).catch_up()
        assert rows(ledger, mine()) == rows(ledger, mine("ref_"))
