"""Projections follow the log, survive restarts and crashes, and rebuild to the same rows."""

from __future__ import annotations

import copy
import threading
import time
from datetime import datetime
from pathlib import Path
from typing import Any, ClassVar

import pytest

from api.read_model import prepare
from domain.events import Action, Event, Side
from eventstore import Ledger
from eventstore.codec import EventView
from milkbot.bootstrap import bootstrap
from milkbot.settings import Settings
from milkbot.status import read_status
from projections import runner as runner_module
from projections.base import Projection
from projections.portfolio import PortfolioProjection
from projections.public_feed import DelayTooShort, PublicTradeFeed
from projections.registry import all_projections, projection_factories
from projections.runner import (
    SCHEMA_TABLE,
    TRACKING_TABLE,
    ProjectionConflict,
    ProjectionRunner,
    read_schema,
)
from replay.rebuild import (
    SCRATCH_PREFIX,
    rebuild_and_compare,
    rebuild_and_compare_all,
    rebuild_groups,
)
from tests.builders import (
    a_market_snapshot,
    a_settlement,
    a_weather_snapshot,
    an_order_filled,
    at,
)


def trading_day() -> list[list]:
    """Commands of a small day: a snapshot, buys of YES and NO, a sale, marks, a settlement."""
    ticker = "KXHIGHNY-26AUG28-B81.5"
    return [
        [a_market_snapshot(version=1, recorded_at=at(0))],
        [an_order_filled("f-1", ticker=ticker, price=4300, count=1000, recorded_at=at(1))],
        [an_order_filled("f-2", ticker=ticker, side=Side.NO, price=5500, count=250,
                         recorded_at=at(20))],
        [a_market_snapshot(version=2, recorded_at=at(30), best_yes_bid=5000, best_no_bid=4800)],
        [an_order_filled("f-3", ticker=ticker, action=Action.SELL, price=5100, count=150,
                         recorded_at=at(45))],
        [an_order_filled("f-4", ticker="KXHIGHNY-26AUG28-T86", side=Side.NO, price=9000,
                         count=2000, city="NYC", recorded_at=at(50))],
        [a_market_snapshot(version=3, recorded_at=at(70))],
        [a_settlement(ticker, result="yes", recorded_at=at(600))],
    ]


def rows(ledger: Ledger, runner: ProjectionRunner) -> dict:
    with ledger.backend.transaction() as tx:
        return {p.name: p.rows(tx) for p in runner.projections}


def test_positions_and_pnl_follow_fills_and_settlement(ledger: Ledger) -> None:
    for command in trading_day():
        ledger.store.append(command)
    runner = ProjectionRunner(ledger, [PortfolioProjection()])
    runner.catch_up()

    with ledger.backend.transaction() as tx:
        positions = {r[0]: r for r in tx.execute(
            "SELECT ticker, position, realized, fees, settled_value, cash FROM proj_positions")}
        portfolio = tx.execute("SELECT realized, fees, cash, open_contracts FROM proj_pnl "
                               "WHERE scope = 'portfolio'")[0]
    settled = positions["KXHIGHNY-26AUG28-B81.5"]
    # 10 YES bought at 0.43, 2.5 NO bought at 0.55 (netted: YES sold at 0.45), 1.5 YES sold at
    # 0.51, then YES won. Realized: 2.5 x 0.02 + 1.5 x 0.08 + 6 x 0.57 = 3.59 dollars.
    assert settled[1:3] == (0, 3_590_000)
    assert settled[4] == 10_000
    # Without netting the same money moves: 8.5 YES and 2.5 NO held to a YES settlement.
    gross_cash = -4300 * 1000 - 5500 * 250 + 5100 * 150 + 850 * 10_000
    assert settled[2] - settled[3] == gross_cash - settled[3] == settled[5]
    assert positions["KXHIGHNY-26AUG28-T86"][1] == -2000
    assert portfolio[3] == 2000


def test_a_restarted_runner_resumes_and_matches_a_rebuild(ledger: Ledger) -> None:
    day = trading_day()
    first = ProjectionRunner(ledger, all_projections(), batch_size=2)
    for command in day[:4]:
        ledger.store.append(command)
    first.catch_up()

    second = ProjectionRunner(ledger, all_projections(), batch_size=3)
    for command in day[4:]:
        ledger.store.append(command)
    second.catch_up()

    rebuilt = ProjectionRunner(ledger, all_projections(prefix="fresh_"), batch_size=1000)
    rebuilt.catch_up()
    assert rows(ledger, second) == rows(ledger, rebuilt)
    assert second.position == ledger.store.max_position()


def test_a_crash_mid_batch_applies_nothing_and_the_retry_applies_once(
    ledger: Ledger, monkeypatch: pytest.MonkeyPatch,
) -> None:
    for command in trading_day():
        ledger.store.append(command)
    crashing = PortfolioProjection()

    def crash(tx):
        raise RuntimeError("power cut")

    monkeypatch.setattr(crashing, "flush", crash)
    with pytest.raises(RuntimeError):
        ProjectionRunner(ledger, [crashing]).catch_up()

    restarted = ProjectionRunner(ledger, [PortfolioProjection()])
    restarted.catch_up()
    reference = ProjectionRunner(ledger, [PortfolioProjection(prefix="ref_")])
    reference.catch_up()
    assert rows(ledger, restarted)["portfolio"] == rows(ledger, reference)["portfolio"]


def test_two_runners_on_one_projection_cannot_both_apply_a_batch(ledger: Ledger) -> None:
    ledger.store.append(trading_day()[0])
    one = ProjectionRunner(ledger, [PortfolioProjection()])
    two = ProjectionRunner(ledger, [PortfolioProjection()])
    one.start()
    two.start()
    one.catch_up()

    with pytest.raises(ProjectionConflict):
        two.catch_up()


def test_a_live_follower_keeps_up_within_a_second(ledger: Ledger) -> None:
    runner = ProjectionRunner(ledger, all_projections())
    stop = threading.Event()
    follower = threading.Thread(target=runner.follow, args=(stop,), daemon=True)
    follower.start()
    try:
        for command in trading_day():
            position = ledger.store.append(command).positions[-1]
            written = time.monotonic()
            while runner.position < position:
                assert time.monotonic() - written < 1.0, "the projection fell behind"
                ledger.backend.wait_for_append(0.01)
    finally:
        stop.set()
        follower.join(timeout=10)
    assert not follower.is_alive()


def test_the_public_feed_holds_a_trade_until_it_is_an_hour_old(ledger: Ledger) -> None:
    runner = ProjectionRunner(ledger, [PublicTradeFeed(60)])

    def public() -> list[str]:
        with ledger.backend.transaction() as tx:
            return [r[0] for r in tx.execute("SELECT fill_id FROM proj_public_trades")]

    ledger.store.append([an_order_filled("f-1", recorded_at=at(0))])
    ledger.store.append([a_market_snapshot(version=1, recorded_at=at(59.99))])
    runner.catch_up()
    assert public() == []

    ledger.store.append([a_market_snapshot(version=2, recorded_at=at(60))])
    runner.catch_up()
    assert public() == ["f-1"]


def test_a_public_delay_below_an_hour_is_refused() -> None:
    with pytest.raises(DelayTooShort, match="MILKBOT_PUBLIC_DELAY_MINUTES=59"):
        PublicTradeFeed(59)


@pytest.mark.parametrize("name", sorted(projection_factories()))
def test_rebuild_finds_identical_rows_and_then_a_tampered_row(ledger: Ledger, name: str) -> None:
    for command in trading_day():
        ledger.store.append(command)
    ProjectionRunner(ledger, all_projections()).catch_up()
    build = projection_factories()[name]

    assert rebuild_and_compare(ledger, build).matches

    table = next(iter(build("proj_").tables))
    with ledger.backend.transaction() as tx:
        tx.execute(f"DELETE FROM proj_{table} WHERE rowid IN (SELECT rowid FROM proj_{table} "
                   "LIMIT 1)" if ledger.store.backend_name == "sqlite" else
                   f"DELETE FROM proj_{table} WHERE ctid IN (SELECT ctid FROM proj_{table} "
                   "LIMIT 1)")
    result = rebuild_and_compare(ledger, build)
    assert not result.matches
    assert table in result.differences


class _StreamsRead(EventView):
    city: str


class _Seen(Projection):
    """Remembers what each event it folded was, and the ledger clock it came with."""

    consumes = frozenset({"WeatherSnapshotted", "OrderFilled"})
    tables: ClassVar[dict[str, str]] = {"seen": "n INTEGER PRIMARY KEY, what TEXT NOT NULL"}

    def __init__(self, name: str, views: dict[str, type[EventView]]) -> None:
        super().__init__("test_")
        self.name = name  # type: ignore[misc]
        self.views = views  # type: ignore[misc]
        self.folded: list[tuple[str, str, object]] = []

    def load(self, tx: Any) -> None:
        self.folded = []

    def apply(self, event: Event | EventView, ledger_time: datetime) -> None:
        self.folded.append((type(event).__name__, event.stream, ledger_time))

    def flush(self, tx: Any) -> None:
        pass


def test_a_view_and_the_whole_event_are_each_given_to_their_readers(ledger: Ledger) -> None:
    ledger.store.append([a_weather_snapshot("CHI", recorded_at=at(30))])
    ledger.store.append([an_order_filled("f-1", recorded_at=at(10))])  # recorded late
    ledger.store.append([a_weather_snapshot("NYC", version=2, recorded_at=at(40))])
    viewer = _Seen("viewer", {"WeatherSnapshotted": _StreamsRead})
    whole = _Seen("whole", {})
    ProjectionRunner(ledger, [viewer, whole]).catch_up()

    clocks = [at(30), at(30), at(40)]  # the clock never runs back for a late record
    assert viewer.folded == [("_StreamsRead", "weather:CHI", clocks[0]),
                             ("OrderFilled", "fill:f-1", clocks[1]),
                             ("_StreamsRead", "weather:NYC", clocks[2])]
    assert whole.folded == [("WeatherSnapshotted", "weather:CHI", clocks[0]),
                            ("OrderFilled", "fill:f-1", clocks[1]),
                            ("WeatherSnapshotted", "weather:NYC", clocks[2])]


@pytest.mark.parametrize("workers", [1, 2])
def test_every_projection_rebuilds_at_once_in_one_process_or_several(
        ledger: Ledger, database_url: str, workers: int) -> None:
    for command in trading_day():
        ledger.store.append(command)
    ledger.store.append([a_weather_snapshot("NYC", recorded_at=at(80))])
    ProjectionRunner(ledger, all_projections()).catch_up()

    results = rebuild_and_compare_all(ledger, database_url=database_url, workers=workers)
    assert [r.name for r in results] == sorted(projection_factories())
    assert all(r.matches for r in results), [r.differences for r in results]
    assert {r.position for r in results} == {ledger.store.max_position()}

    with ledger.backend.transaction() as tx:
        tx.execute("UPDATE proj_positions SET position = position + 1")
        tx.execute("DELETE FROM proj_board_feeds")
    again = rebuild_and_compare_all(ledger, database_url=database_url, workers=workers)
    assert {r.name: sorted(r.differences) for r in again if not r.matches} == {
        "portfolio": ["positions"], "market_board": ["board_feeds"]}
    # Nothing of the rebuild is left behind: each runner dropped what it folded.
    with ledger.backend.transaction() as tx:
        tracked = [name for (name,) in tx.execute(f"SELECT name FROM {TRACKING_TABLE}")]
        tables = {name for (name,) in tx.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table'" if ledger.backend.name == "sqlite"
            else "SELECT table_name FROM information_schema.tables "
                 "WHERE table_schema = current_schema()")}
    assert all(name.startswith("proj_") for name in tracked)
    assert "proj_positions" in tables
    assert not [t for t in tables if t.startswith(SCRATCH_PREFIX)]


@pytest.mark.parametrize("piece", [1, 2, 3])
def test_a_fold_in_memory_read_in_pieces_matches_the_live_rows(
        ledger: Ledger, monkeypatch: pytest.MonkeyPatch, piece: int) -> None:
    # A rebuild reads the log a few records at a time and flushes once per (bigger) batch. The
    # batch here ends neither on a piece nor on the log's end; half the projections read only
    # their own types, so their last piece is the empty one that reaches the log's end.
    for command in trading_day():
        ledger.store.append(command)
    ledger.store.append([a_weather_snapshot("NYC", recorded_at=at(80))])
    live = ProjectionRunner(ledger, all_projections(), batch_size=2)
    live.catch_up()
    monkeypatch.setattr(runner_module, "READ_PIECE", piece)
    fresh = ProjectionRunner(ledger, all_projections(prefix=SCRATCH_PREFIX), batch_size=5)
    folded, tables = fresh.fold_in_memory(ledger.store.max_position())

    assert folded == len(ledger.store.read_records(0, 1_000))
    assert {p.name: tables.rows(p) for p in fresh.projections} == rows(ledger, live)


def test_rebuild_groups_share_reads_and_use_the_workers() -> None:
    projections = all_projections()
    weight = {p.name: p.rebuild_weight for p in projections}
    clocked = sorted(p.name for p in projections if p.uses_ledger_clock)
    at_end = dict.fromkeys(weight, 100)

    assert [sorted(g) for g in rebuild_groups(projections, at_end, 1)] == [sorted(at_end)]
    pair = rebuild_groups(projections, at_end, 2)
    assert len(pair) == 2 and sorted(pair[0] + pair[1]) == sorted(at_end)
    # The projections that read every record share one runner (one read of the log)...
    assert any(set(clocked) <= set(group) for group in pair)
    loads = sorted(sum(weight[n] for n in group) for group in pair)
    # ...and the rest go heaviest first into the lightest runner.
    topic_readers = [w for n, w in weight.items() if n not in clocked]
    assert loads[1] - loads[0] <= max(max(topic_readers), sum(weight[n] for n in clocked))
    assert len(rebuild_groups(projections, at_end, 3)) == 3
    assert len(rebuild_groups(projections, at_end, 99)) == len(projections)
    # A projection at another position cannot share a runner's stop.
    behind = {**at_end, "portfolio": 50}
    assert ["portfolio"] in rebuild_groups(projections, behind, 1)


class _PortfolioV2(PortfolioProjection):
    schema_version = 2


def test_rows_of_another_schema_are_dropped_and_folded_again(ledger: Ledger) -> None:
    for command in trading_day():
        ledger.store.append(command)
    ProjectionRunner(ledger, [PortfolioProjection()]).catch_up()
    with ledger.backend.transaction() as tx:
        assert read_schema(tx, PortfolioProjection()) == 1
        # Rows the old code left that the new fold would not: gone with the refold.
        tx.execute("INSERT INTO proj_positions (ticker, city, position, cost, realized, fees, "
                   "fills, cash, settled_value, unrealized, updated_at) "
                   "VALUES ('OLD-ROW', 'NYC', 1, 1, 0, 0, 1, 0, NULL, 0, 'then')")

    refolded = ProjectionRunner(ledger, [_PortfolioV2()])
    assert refolded.catch_up() == ledger.store.max_position()  # from event 1 again
    with ledger.backend.transaction() as tx:
        assert read_schema(tx, _PortfolioV2()) == 2
        tickers = {r[0] for r in tx.execute("SELECT ticker FROM proj_positions")}
    assert "OLD-ROW" not in tickers and tickers
    # Started again under the same version, nothing is folded twice.
    assert ProjectionRunner(ledger, [_PortfolioV2()]).catch_up() == 0
    # A rebuild by the old code says the live rows are not its schema.
    (stale,) = [r for r in rebuild_and_compare_all(ledger, ["portfolio"]) if r.name == "portfolio"]
    assert stale.live_schema == 2 and not stale.matches


def test_rows_folded_before_schemas_were_recorded_count_as_the_first(ledger: Ledger) -> None:
    for command in trading_day():
        ledger.store.append(command)
    ProjectionRunner(ledger, [PortfolioProjection()]).catch_up()
    with ledger.backend.transaction() as tx:
        tx.execute(f"DELETE FROM {SCHEMA_TABLE}")  # as a ledger from before the table
        assert read_schema(tx, PortfolioProjection()) == 1
    assert ProjectionRunner(ledger, [PortfolioProjection()]).catch_up() == 0
    assert ProjectionRunner(ledger, [_PortfolioV2()]).catch_up() == ledger.store.max_position()


class _FeedV2(PublicTradeFeed):
    schema_version = 2


def test_the_trades_indexes_come_back_with_a_refolded_feed(ledger: Ledger) -> None:
    for command in trading_day():
        ledger.store.append(command)
    ProjectionRunner(ledger, [PublicTradeFeed()]).catch_up()
    ProjectionRunner(ledger, [_FeedV2()]).catch_up()  # drops the tables, folds again
    sql = ("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = ?"
           if ledger.store.backend_name == "sqlite" else
           "SELECT indexname FROM pg_indexes WHERE tablename = ?")
    with ledger.backend.transaction() as tx:
        names = {r[0] for r in tx.execute(sql, ("proj_public_trades",))}
    assert {"proj_public_trades_by_ts", "proj_public_trades_by_city"} <= names


def test_the_status_and_the_apps_read_while_the_runner_folds_change_no_fold(
        tmp_path: Path) -> None:
    """Regression: ``read_status`` and the apps' ``prepare`` create the tables of the very
    projections the command handler's runner folds, and the public feed's ``create_tables`` once
    emptied its pending trades in memory: in ``milkbot demo`` they then stayed pending for good,
    while a rebuild published them."""
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'ledger.sqlite'}")
    with bootstrap(settings) as app:
        runner = app.runner()
        for command in trading_day():
            app.ledger.store.append(command)
            runner.catch_up()
            read_status(app)
            prepare(app)
        with app.ledger.backend.snapshot() as tx:
            pending = tx.execute("SELECT fill_id FROM proj_public_pending")
        assert pending == []  # the settlement, at 10 hours, moved the clock past every fill
        results = rebuild_and_compare_all(app.ledger)
        assert [r.name for r in results if not r.matches] == []


def test_creating_a_projections_tables_leaves_its_fold_alone(ledger: Ledger) -> None:
    """``create_tables`` is DDL only: the status and the apps call it on projections a runner is
    folding (see the regression above)."""
    runner = ProjectionRunner(ledger, all_projections())
    for command in trading_day()[:-1]:
        ledger.store.append(command)
    runner.catch_up()
    for projection in runner.projections:
        before = copy.deepcopy(vars(projection))
        with ledger.backend.transaction() as tx:
            projection.create_tables(tx)
        assert vars(projection) == before, projection.name
