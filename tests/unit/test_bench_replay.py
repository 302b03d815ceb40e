"""The replay benchmark's ledger holds real decisions that replay, and it reports every figure."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import orjson
import pytest

from bench import replay
from domain.config import parse_config
from domain.events import ConfigVersionRecorded, DecisionMade
from eventstore import open_ledger
from milkbot.settings import SHIPPED_CONFIG

TEXT = SHIPPED_CONFIG.read_text()
FIGURES = {"baseline_read_events", "build", "baseline_read_decisions", "verify_decisions",
           "verify_command", "verify_records", "verify_chain", "rebuild_runner", "rebuild_compare",
           "rebuild_command"}


def test_the_ledger_is_the_workload_with_a_real_decision_per_strategy() -> None:
    commands = list(replay.ledger_commands(2_000, seed=3, config_text=TEXT))
    assert isinstance(commands[0][0], ConfigVersionRecorded)
    events = [e for command in commands for e in command]
    assert 2_000 <= len(events) < 2_000 + 25
    _, version = parse_config(TEXT)
    decisions = [e for e in events if isinstance(e, DecisionMade)]
    assert {d.config_version for d in decisions} == {version}
    per_snapshot = Counter(d.market_snapshot_id for d in decisions)
    assert set(per_snapshot.values()) == {2}  # taker and maker
    assert {d.strategy for d in decisions} == {"taker", "maker"}


def test_it_reports_every_figure_and_keeps_its_ledger_for_the_same_arguments(tmp_path: Path) -> None:
    lines: list[dict[str, Any]] = []
    path = tmp_path / "bench.sqlite"
    replay.run("sqlite", 1_500, 1, path=path, emit=lines.append)
    figures = Counter(line["figure"] for line in lines)
    assert set(figures) == FIGURES and figures["rebuild_compare"] == 7
    for line in lines:
        assert (line["bench"], line["backend"]) == ("replay", "sqlite")
        assert line["baseline"] > 0 and line["ratio"] > 0, line
        orjson.dumps(line)
    by_figure = {line["figure"]: line for line in lines}
    assert by_figure["verify_decisions"]["mismatched"] == 0
    assert by_figure["verify_decisions"]["decisions"] == by_figure["build"]["decisions"] > 0
    assert by_figure["verify_command"]["exit_status"] == 0
    assert by_figure["verify_chain"]["events"] == by_figure["build"]["events"]
    assert all(line["matches"] for line in lines if line["figure"] in ("rebuild_compare",
                                                                       "rebuild_command"))
    assert by_figure["rebuild_command"]["projections"] == 7
    assert not by_figure["build"]["cached"]

    with replay.bench_ledger("sqlite", 1_500, 1, TEXT, path=path) as (_, built, cached, _url):
        assert cached and built.events == by_figure["build"]["events"]
    with replay.bench_ledger("sqlite", 1_200, 1, TEXT, path=path) as (ledger, built, cached, url):
        assert not cached and ledger.store.max_position() == built.events < 1_500 + 25
        assert url == f"sqlite:///{path.resolve()}"


def test_a_ledger_it_did_not_build_is_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "theirs.sqlite"
    with open_ledger(f"sqlite:///{path}") as ledger:
        ledger.store.append(next(replay.ledger_commands(10, seed=0, config_text=TEXT)))
    with pytest.raises(replay.NotABenchLedger):
        replay.run("sqlite", 300, 0, path=path, emit=lambda _: None)
    with open_ledger(f"sqlite:///{path}") as ledger:
        assert ledger.store.max_position() == 1
