"""Property: the equity curve's point at hour ``H`` is what ``current`` said when the ledger clock
stood at ``H`` (everything recorded up to and including ``H``, every fill and order due by ``H``),
and every point is older than ``current``; so the curve and the summary never disagree about one
moment, whatever lands exactly on the hour.

The ledger gets a tick (an event no public projection folds) on every whole hour, after whatever
else was recorded at that instant; the log is folded up to each tick to read ``current`` there,
then to its end to read the curve.
"""

from __future__ import annotations

import tempfile
from datetime import timedelta
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from api import public_queries as q
from api.public_openapi import MAX_POINTS
from domain.events import Action, Event, Side
from eventstore import Ledger, open_ledger
from projections.public_feed import PublicTradeFeed
from projections.public_portfolio import PublicPortfolioProjection
from projections.runner import ProjectionRunner
from tests.api.test_delay_property import CONFIG, Trade
from tests.api.test_delay_property import commands as fill_commands
from tests.builders import a_breaker_tripped, a_market_snapshot, at

HOURS = 16  # T0 (14:00) to 06:00 the next day


@st.composite
def trades_on_the_hour(draw: st.DrawFn) -> list[Trade]:
    """Fills whose recording, execution and order often fall exactly on an hour."""
    def minute(low: int, high: int) -> int:
        return draw(st.integers(low, high) | st.integers(low // 60 + 1, high // 60).map(
            lambda h: 60 * h))

    out = []
    for i in range(draw(st.integers(0, 7))):
        recorded = minute(0, 600)
        executed = recorded - draw(st.sampled_from([0, 0, 60, 120, 7, 90]))
        out.append(Trade(i, recorded, executed, recorded - draw(st.sampled_from([0, 60, 13])),
                         draw(st.sampled_from(["NYC", "CHI", None])),
                         draw(st.sampled_from(list(Side))), draw(st.sampled_from(list(Action)))))
    return out


def snapshots(marks: list[tuple[int, int]]) -> list[tuple[int, list[Event]]]:
    """New York's ladder re-quoted (its marks move the open positions' value); version 1 is the
    snapshot at the clock."""
    return [(minute, [a_market_snapshot(version=n + 2, recorded_at=at(minute),
                                        best_yes_bid=bid, best_no_bid=9_000 - bid)])
            for n, (minute, bid) in enumerate(sorted(marks))]


def the_log(fills: list[Trade], marks: list[tuple[int, int]], clock: int) -> list[list[Event]]:
    timed: list[tuple[int, int, list[Event]]] = [
        (int((command[0].recorded_at - at(0)) / timedelta(minutes=1)), 0, command)
        for command in fill_commands(fills, clock)]
    timed += [(minute, 0, command) for minute, command in snapshots(marks)]
    # The ticks come after everything recorded at their instant (the sort is stable).
    timed += [(60 * h, 1, [a_breaker_tripped(version=h + 1, recorded_at=at(60 * h))])
              for h in range(HOURS)]
    return [command for *_, command in sorted(timed, key=lambda t: (t[0], t[1]))]


def equity(ledger: Ledger, context: q.PublicContext) -> dict[str, Any]:
    with ledger.backend.transaction() as tx:
        return q.equity(tx, q.ledger_clock(tx), context, q.RangeQuery(limit=MAX_POINTS))


def without_ts(point: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in point.items() if k != "ts"}


ZERO = {"equity": "0.00", "realized": "0.00", "unrealized": "0.00", "fees": "0.00", "trades": 0}


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@example(  # a fill due at 17:00 exactly, and New York re-quoted at 17:00 exactly
    fills=[Trade(0, 120, 120, 120, "NYC", Side.YES, Action.BUY)],
    marks=[(180, 5_000)], clock=180, delay=60)
@given(fills=trades_on_the_hour(),
       marks=st.lists(st.tuples(st.integers(0, 12).map(lambda h: 60 * h) | st.integers(0, 720),
                                st.integers(1_000, 8_000)), max_size=5, unique_by=lambda m: m[0]),
       clock=st.integers(0, 720), delay=st.sampled_from([60, 90]))
def test_the_point_at_an_hour_is_what_current_said_then(
    fills: list[Trade], marks: list[tuple[int, int]], clock: int, delay: int,
) -> None:
    context = q.PublicContext(CONFIG, timedelta(minutes=delay))
    with tempfile.TemporaryDirectory() as folder, \
            open_ledger(f"sqlite:///{Path(folder) / 'ledger.sqlite'}") as ledger:
        ticks = []
        for command in the_log(fills, marks, clock):
            position = ledger.store.append(command).positions[-1]
            if command[0].event_type == "BreakerTripped":
                ticks.append((command[0].recorded_at, position))
        runner = ProjectionRunner(ledger, [PublicPortfolioProjection(delay),
                                           PublicTradeFeed(delay)], batch_size=4)
        said = {}
        for hour, position in ticks:
            runner.catch_up(stop=position)
            answer = equity(ledger, context)
            assert answer["current"]["ts"] == hour.isoformat()
            assert all(p["ts"] < answer["current"]["ts"] for p in answer["points"])
            said[hour] = without_ts(answer["current"])
        runner.catch_up()
        curve = equity(ledger, context)

    points = curve["points"]
    assert all(p["ts"] < curve["current"]["ts"] for p in points)
    for hour, current in said.items():
        # The curve holds its value from one point to the next.
        before = [p for p in points if p["ts"] <= hour.isoformat()]
        assert (without_ts(before[-1]) if before else ZERO) == current, hour
