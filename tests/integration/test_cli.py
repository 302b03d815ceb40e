"""The ``milkbot`` command on a real ledger: status, replay verify, replay rebuild, and bad input."""

from __future__ import annotations

import subprocess
import sys

import orjson
import pytest

from eventstore import open_ledger
from milkbot.cli import main
from projections.registry import all_projections, projection_factories
from projections.runner import ProjectionRunner
from tests import paths
from tests.builders import a_market_snapshot, an_order_filled, at, every_event_type


@pytest.fixture
def recorded(database_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("MILKBOT_DATABASE_URL", database_url)
    with open_ledger(database_url) as ledger:
        ledger.store.append(every_event_type())
        ledger.store.append([an_order_filled("f-no", ticker="KXHIGHNY-26AUG28-B83.5", side="no",
                                             price=2500, count=250, recorded_at=at(5))])
        ledger.store.append([a_market_snapshot(version=2, recorded_at=at(90))])
        ProjectionRunner(ledger, all_projections()).catch_up()
    return database_url


def test_status_json_lists_signed_positions(recorded: str, capsys: pytest.CaptureFixture) -> None:
    # The YES position was settled; 2.5 NO contracts of another market show as -2.5.
    assert main(["status", "--json"]) == 0

    status = orjson.loads(capsys.readouterr().out)
    assert status["positions"] == [
        {**status["positions"][0], "ticker": "KXHIGHNY-26AUG28-B83.5", "position": -2.5}]
    assert status["projections"]["portfolio"]["behind"] == 0
    assert status["ledger_clock"].startswith("2026-08-28T15:30:00")


def test_replay_verify_checks_records_then_replays_decisions(recorded: str,
                                                             capsys: pytest.CaptureFixture) -> None:
    # The records are sound; the builders' decision was never made by decide() under a recorded
    # configuration, so it cannot be replayed, and verify says exactly that.
    assert main(["replay", "verify"]) == 1
    captured = capsys.readouterr()
    assert "records: 10 events decode" in captured.out and "hash chain: " in captured.out
    assert "config version 000000000000 was never recorded" in captured.err
    assert "1 of 1 decisions do not replay" in captured.err


def test_replay_verify_names_the_first_corrupt_position(recorded: str,
                                                        capsys: pytest.CaptureFixture) -> None:
    with open_ledger(recorded) as ledger, ledger.backend.transaction() as tx:
        tx.execute("UPDATE stored_events SET state = ? WHERE originator_id = ?",
                   (b"{}", "fill:f-no"))

    assert main(["replay", "verify"]) == 1
    err = capsys.readouterr().err
    assert "position 9" in err and "OrderFilled.v1" in err


def test_replay_verify_finds_a_gap_in_a_stream(recorded: str,
                                               capsys: pytest.CaptureFixture) -> None:
    with open_ledger(recorded) as ledger, ledger.backend.transaction() as tx:
        tx.execute("DELETE FROM stored_events WHERE originator_id = ? AND originator_version = 1",
                   ("market:KXHIGHNY-26AUG28",))

    assert main(["replay", "verify"]) == 1
    assert "market:KXHIGHNY-26AUG28" in capsys.readouterr().err


def test_replay_rebuild_compares_every_projection(recorded: str,
                                                  capsys: pytest.CaptureFixture) -> None:
    assert main(["replay", "rebuild"]) == 0
    assert capsys.readouterr().out.count("identical") == len(projection_factories())

    with open_ledger(recorded) as ledger, ledger.backend.transaction() as tx:
        tx.execute("UPDATE proj_positions SET position = position + 100")
    assert main(["replay", "rebuild", "portfolio"]) == 1
    assert "table positions" in capsys.readouterr().err


def run_cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "milkbot.cli", *args], capture_output=True,
                          text=True, env={"PATH": "/usr/bin:/bin", **env}, timeout=60)


def test_a_database_that_is_down_is_one_clear_line_without_the_password() -> None:
    result = run_cli("status", env={"MILKBOT_DATABASE_URL":
                                    "postgresql://trader:hunter2secret@127.0.0.1:1/milkbot"})

    assert result.returncode == 2
    assert "cannot reach PostgreSQL" in result.stderr
    assert "hunter2secret" not in result.stderr + result.stdout
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(("variable", "value", "message"), [
    ("MILKBOT_DATABASE_URL", "mysql://x/y", "MILKBOT_DATABASE_URL"),
    ("MILKBOT_DATABASE_URL", "sqlite://relative", "MILKBOT_DATABASE_URL"),
    ("MILKBOT_PUBLIC_DELAY_MINUTES", "30", "MILKBOT_PUBLIC_DELAY_MINUTES"),
    ("MILKBOT_PUBLIC_DELAY_MINUTES", "soon", "MILKBOT_PUBLIC_DELAY_MINUTES"),
])
def test_bad_settings_name_the_variable(variable: str, value: str, message: str) -> None:
    result = run_cli("status", env={variable: value})

    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr


FIXTURES = paths.FIXTURES / "nws/cli"


def test_nws_parse_cli_prints_one_json_object_per_station(capsys: pytest.CaptureFixture) -> None:
    assert main(["nws", "parse-cli", str(FIXTURES / "CLINYC.txt")]) == 0
    assert [orjson.loads(line) for line in capsys.readouterr().out.splitlines()] == [{
        "station": "NYC", "date": "2013-01-02", "preliminary": False, "correction": False,
        "max_temp_f": 33, "min_temp_f": 22, "precip_in": 0.0, "precip_month_in": 0.0,
        "snow_in": 0.0, "snow_month_in": 0.0}]

    assert main(["nws", "parse-cli", str(FIXTURES / "CLIHOU.txt")]) == 0
    stations = [orjson.loads(line)["station"] for line in capsys.readouterr().out.splitlines()]
    assert stations == ["HOU:HOUSTON_INTERCONTINENTAL", "HOU:HOUSTON_HOBBY_AIRPORT"]


def test_nws_parse_cli_refuses_a_product_without_its_end(capsys: pytest.CaptureFixture) -> None:
    assert main(["nws", "parse-cli", str(FIXTURES / "CLIPPG.txt")]) == 1
    assert "closing '$$'" in capsys.readouterr().err
    assert main(["nws", "parse-cli", "/nonexistent/CLI.txt"]) == 2
