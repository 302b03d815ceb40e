"""The audit commands as a user runs them: ``replay verify|decision|export|import``, ``explain``,
``backtest``; exit 0 when all is well, 1 on a mismatch, 2 on bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from eventstore import open_ledger
from eventstore.chain import head, seal
from milkbot.cli import EXIT_ERROR, EXIT_MISMATCH, main
from tests.integration.test_ledger_chain import tamper
from tests.integration.test_replay_decisions import record_an_older_decision, record_decisions


@pytest.fixture
def ledger_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    url = f"sqlite:///{tmp_path / 'ledger.sqlite'}"
    monkeypatch.setenv("MILKBOT_DATABASE_URL", url)
    return url


def test_verify_replays_every_decision_and_names_the_one_altered(ledger_url: str,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    with open_ledger(ledger_url) as ledger:
        decisions = record_decisions(ledger)
    assert main(["replay", "verify"]) == 0
    out = capsys.readouterr().out
    assert f"decisions: {len(decisions)} replayed" in out and "hash chain" in out
    assert main(["replay", "decision", str(decisions[0].decision_id)]) == 0

    with open_ledger(ledger_url) as ledger:  # a decision's stored bytes edited: its seal breaks
        [record] = ledger.store.read_stream_records(f"decision:{decisions[0].decision_id}")
        tamper(ledger, lambda pos: f"UPDATE stored_events SET state = ? WHERE {pos} = ?",
               (record.data.replace(b'"balance":500000000', b'"balance":500000001'), record.position))
    assert main(["replay", "verify"]) == EXIT_MISMATCH
    assert f"hash chain broken at position {record.position}" in capsys.readouterr().err
    assert main(["replay", "decision", str(decisions[0].decision_id)]) == EXIT_MISMATCH
    captured = capsys.readouterr()
    assert "does not replay" in captured.err and "recorded:" in captured.out and "replayed:" in captured.out


def test_verify_counts_decisions_of_another_decision_code_apart(
        ledger_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    with open_ledger(ledger_url) as ledger:
        decisions = record_decisions(ledger)
        older = record_an_older_decision(ledger)
    assert main(["replay", "verify"]) == 0
    out = capsys.readouterr().out
    assert f"decisions: {len(decisions)} replayed" in out
    assert "made by another version of the decision code (1 by v1;" in out
    assert main(["replay", "decision", str(older.decision_id)]) == EXIT_MISMATCH
    assert "was made by decision code v1" in capsys.readouterr().err


def test_verify_holds_the_ledger_to_a_head_published_before(ledger_url: str,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    with open_ledger(ledger_url) as ledger:
        decisions = record_decisions(ledger)
        seal(ledger)
        position, digest = head(ledger)
    published = f"{position}:{digest.hex()}"
    assert main(["replay", "verify", "--head", published]) == 0
    assert f"published head {position} {digest.hex()[:16]}...: matches" in capsys.readouterr().out

    # History rewritten whole: a decision's bytes edited and the chain sealed again over them.
    # The chain is consistent with itself, so only the head kept from before can tell.
    with open_ledger(ledger_url) as ledger:
        [record] = ledger.store.read_stream_records(f"decision:{decisions[0].decision_id}")
        tamper(ledger, lambda pos: f"UPDATE stored_events SET state = ? WHERE {pos} = ?",
               (record.data.replace(b'"balance":500000000', b'"balance":500000001'), record.position))
        with ledger.backend.transaction() as tx:
            tx.clear("ledger_chain")
        seal(ledger)
    assert main(["replay", "verify", "--since", "2100-01-01"]) == 0  # (decisions aside)
    capsys.readouterr()
    assert main(["replay", "verify", "--since", "2100-01-01", "--head", published]) == EXIT_MISMATCH
    assert f"the published head at position {position} does not match" in capsys.readouterr().err
    assert main(["replay", "verify", "--head", f"{position + 99}:{digest.hex()}"]) == EXIT_MISMATCH
    assert "the ledger has no record there" in capsys.readouterr().err

    with pytest.raises(SystemExit) as refused:
        main(["replay", "verify", "--head", "12:not-a-hash"])
    assert refused.value.code == EXIT_ERROR
    assert "POSITION:HASH" in capsys.readouterr().err


def test_explain_export_import_and_backtest(ledger_url: str, tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str],
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    with open_ledger(ledger_url) as ledger:
        decisions = record_decisions(ledger)
        seal(ledger)
        position, digest = head(ledger)
    assert main(["explain", str(decisions[0].decision_id)]) == 0
    assert "Probabilities (YES) per bin" in capsys.readouterr().out
    assert main(["explain", "00000000-0000-4000-8000-000000000000"]) == EXIT_ERROR

    slice_file = tmp_path / "slice.jsonl"
    assert main(["replay", "export", str(slice_file)]) == 0
    a_day = tmp_path / "day.jsonl"
    assert main(["replay", "export", str(a_day), "--since", "2026-08-28"]) == 0
    published = f"{position}:{digest.hex()}"
    monkeypatch.setenv("MILKBOT_DATABASE_URL", f"sqlite:///{tmp_path / 'auditor.sqlite'}")
    # The export's own chain is checked against the head before anything is imported: one
    # edited byte, and nothing is.
    edited = tmp_path / "edited.jsonl"
    edited.write_bytes(slice_file.read_bytes().replace(b'"balance":500000000',
                                                       b'"balance":500000001', 1))
    assert edited.read_bytes() != slice_file.read_bytes()
    assert main(["replay", "import", str(edited), "--head", published]) == EXIT_MISMATCH
    assert "nothing was imported" in capsys.readouterr().err
    assert main(["replay", "import", str(a_day), "--head", published]) == EXIT_ERROR
    assert "whole-ledger export" in capsys.readouterr().err
    with open_ledger(f"sqlite:///{tmp_path / 'auditor.sqlite'}") as auditor:
        assert auditor.store.max_position() == 0
    assert main(["replay", "import", str(slice_file), "--head", published]) == 0
    assert f"published head {position} {digest.hex()[:16]}...: matches" in capsys.readouterr().out
    # The whole ledger, imported where positions start from 1 again: the auditor's chain gives
    # the head the operator published.
    assert main(["replay", "verify", "--head", published]) == 0
    slice_file.write_text("not a slice\n")
    assert main(["replay", "import", str(slice_file)]) == EXIT_ERROR
    assert "nothing was imported" in capsys.readouterr().err

    monkeypatch.setenv("MILKBOT_DATABASE_URL", ledger_url)
    report = tmp_path / "backtest.json"
    assert main(["backtest", "--from", "2026-08-28", "--to", "2026-08-28", "--json", str(report),
                 "--csv", str(tmp_path / "trades.csv")]) == 0
    answer = json.loads(report.read_text())
    assert answer["backtest"]["decisions"] == answer["source"]["decisions"] == len(decisions)
    assert main(["backtest", "--from", "2026-08-28", "--to", "2026-08-28",
                 "--strategy", "nope"]) == EXIT_ERROR
    assert "unknown strategy" in capsys.readouterr().err

    exported = tmp_path / "exported.jsonl"
    assert main(["replay", "export", str(exported)]) == 0
    from_file = tmp_path / "from-slice.json"
    assert main(["backtest", "--from", "2026-08-28", "--to", "2026-08-28", "--source", str(exported),
                 "--json", str(from_file)]) == 0
    assert json.loads(from_file.read_text())["source"] == answer["source"]  # the same recorded run
    assert main(["backtest", "--from", "2026-08-28", "--to", "2026-08-28",
                 "--source", str(tmp_path / "missing.jsonl")]) == EXIT_ERROR
    assert "missing.jsonl: No such file or directory" in capsys.readouterr().err
