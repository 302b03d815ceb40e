"""``milkbot demo`` as a user runs it: a real process, stopped, then resumed on the same ledger."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from eventstore import open_ledger
from projections.registry import projection_factories

pytestmark = pytest.mark.e2e


def milkbot(*args: str, cwd: Path) -> subprocess.Popen[str]:
    env = {**os.environ, "MILKBOT_DATABASE_URL": "sqlite:///var/milkbot.sqlite"}
    return subprocess.Popen([sys.executable, "-m", "milkbot.cli", *args], cwd=cwd, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def test_the_demo_records_stops_and_resumes_the_same_ledger(tmp_path: Path) -> None:
    first = milkbot("demo", "--days", "0.01", "--speed", "100000", cwd=tmp_path)
    out, _ = first.communicate(timeout=120)
    assert first.returncode == 0, out
    assert "reached 0.01 simulated days" in out
    with open_ledger(f"sqlite:///{tmp_path / 'var/milkbot.sqlite'}") as ledger:
        recorded = ledger.store.max_position()
        # The workload's commands (the configuration in force is recorded beside them).
        commands = len({r.event.correlation_id for r in ledger.store.iter_events()
                        if not r.event.stream.startswith("config:")})
    assert recorded > 0

    second = milkbot("demo", "--days", "0.02", "--speed", "100000", cwd=tmp_path)
    out, _ = second.communicate(timeout=120)
    assert second.returncode == 0, out
    assert f"resumed after {commands} recorded commands" in out

    verify = milkbot("replay", "verify", cwd=tmp_path)
    out, _ = verify.communicate(timeout=120)
    assert verify.returncode == 0, out
    rebuild = milkbot("replay", "rebuild", cwd=tmp_path)
    out, _ = rebuild.communicate(timeout=120)
    assert rebuild.returncode == 0 and out.count("identical") == len(projection_factories()), out


def test_ctrl_c_stops_the_demo_cleanly(tmp_path: Path) -> None:
    demo = milkbot("demo", "--speed", "100000", cwd=tmp_path)
    assert demo.stdout is not None
    for line in demo.stdout:  # wait until it is trading
        if line.startswith("2026-"):
            break
    demo.send_signal(signal.SIGINT)
    out, _ = demo.communicate(timeout=60)

    assert demo.returncode == 0, out
    assert "stopping" in out and "Traceback" not in out
    status = milkbot("status", "--json", cwd=tmp_path)
    out, _ = status.communicate(timeout=60)
    assert '"behind": 0' in out
