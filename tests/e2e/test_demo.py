"""``milkbot demo`` as a newcomer runs it: real processes, both simulators, the handler trading."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest

from domain.events import DecisionMade, MarketSnapshotted, OrderSubmitted
from eventstore import open_ledger
from projections.registry import projection_factories

pytestmark = pytest.mark.e2e


def milkbot(*args: str, cwd: Path) -> subprocess.Popen[str]:
    env = {**os.environ, "MILKBOT_DATABASE_URL": "sqlite:///var/milkbot.sqlite"}
    return subprocess.Popen([sys.executable, "-m", "milkbot.cli", *args], cwd=cwd, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def clock_start(out: str) -> datetime:
    found = re.search(r"simulated clock x\S+ from (\d{4}-\d\d-\d\d \d\d:\d\d)", out)
    assert found, out
    return datetime.fromisoformat(found.group(1))


def test_the_demo_trades_the_ten_cities_stops_and_resumes_the_same_ledger(tmp_path: Path) -> None:
    first = milkbot("demo", "--days", "0.15", "--speed", "3000", cwd=tmp_path)
    out, _ = first.communicate(timeout=180)
    assert first.returncode == 0, out
    assert "reached 0.15 simulated days" in out and "Traceback" not in out
    with open_ledger(f"sqlite:///{tmp_path / 'var/milkbot.sqlite'}") as ledger:
        events = [r.event for r in ledger.store.iter_events()]
    cities = {e.city for e in events if isinstance(e, MarketSnapshotted)}
    assert len(cities) == 10, cities
    assert any(isinstance(e, DecisionMade) for e in events)
    assert any(isinstance(e, OrderSubmitted) for e in events), "the handler placed orders"

    second = milkbot("demo", "--days", "0.05", "--speed", "3000", cwd=tmp_path)
    again, _ = second.communicate(timeout=180)
    assert second.returncode == 0, again
    assert clock_start(again) > clock_start(out)  # the simulated clock carried on
    with open_ledger(f"sqlite:///{tmp_path / 'var/milkbot.sqlite'}") as ledger:
        assert ledger.store.max_position() > len(events)

    verify = milkbot("replay", "verify", cwd=tmp_path)
    out, _ = verify.communicate(timeout=120)
    assert verify.returncode == 0, out
    rebuild = milkbot("replay", "rebuild", cwd=tmp_path)
    out, _ = rebuild.communicate(timeout=120)
    assert rebuild.returncode == 0 and out.count("identical") == len(projection_factories()), out


def test_ctrl_c_stops_the_demo_cleanly(tmp_path: Path) -> None:
    demo = milkbot("demo", "--speed", "3000", cwd=tmp_path)
    assert demo.stdout is not None
    for line in demo.stdout:  # wait until it is trading
        if re.match(r"\d{4}-\d\d-\d\d \d\d:\d\d", line):
            break
    demo.send_signal(signal.SIGINT)
    out, _ = demo.communicate(timeout=60)

    assert demo.returncode == 0, out
    assert "stopping" in out and "Traceback" not in out
    status = milkbot("status", "--json", cwd=tmp_path)
    out, _ = status.communicate(timeout=60)
    assert '"behind": 0' in out
