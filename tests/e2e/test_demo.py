"""``milkbot demo`` as a newcomer runs it: real processes, both simulators, the handler trading."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
from datetime import datetime, timedelta
from pathlib import Path

import httpx
import pytest

from domain.events import DecisionMade, MarketSettled, MarketSnapshotted, OrderFilled, OrderSubmitted
from eventstore import open_ledger
from projections.registry import projection_factories

pytestmark = pytest.mark.e2e


def milkbot(*args: str, cwd: Path) -> subprocess.Popen[str]:
    """``milkbot`` in ``cwd``; a demo serves its apps on free ports (others may hold 8000)."""
    env = {**os.environ, "MILKBOT_DATABASE_URL": "sqlite:///var/milkbot.sqlite"}
    env.pop("MILKBOT_OPERATOR_TOKEN", None)
    ports = ["--public-port", "0", "--operator-port", "0"] if args[0] == "demo" else []
    return subprocess.Popen([sys.executable, "-m", "milkbot.cli", *args, *ports], cwd=cwd, env=env,
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


def test_a_simulated_day_end_to_end_through_the_public_api(tmp_path: Path) -> None:
    """Simulators, handler and both apps as a newcomer gets them: the dashboard's API answers while
    it trades, never shows a trade younger than the delay, and the ledger shows a day settled."""
    demo = milkbot("demo", "--days", "1.3", "--speed", "4000", cwd=tmp_path)
    assert demo.stdout is not None
    printed: list[str] = []
    public = operator = None
    for line in demo.stdout:
        printed.append(line)
        found = re.search(r"dashboard (http://127\.0\.0\.1:\d+)/\s+operator API (http://127\.0\.0\.1:\d+)",
                          line)
        if found:
            public, operator = found.groups()
            break
    assert public and operator, "".join(printed)
    token = (tmp_path / "var/demo/operator-token").read_text().strip()
    assert token not in "".join(printed)  # the token is kept in a file, never printed
    with httpx.Client(timeout=10) as http:
        assert http.get(f"{operator}/api/operator/risk").status_code == 401
        assert http.get(f"{operator}/api/operator/risk",
                        headers={"Authorization": f"Bearer {token}"}).status_code == 200
        looks, most_trades = 0, 0
        while demo.poll() is None:
            try:
                trades = http.get(f"{public}/api/public/trades", params={"limit": 500})
                summary = http.get(f"{public}/api/public/summary")
            except httpx.TransportError:
                break  # the demo reached its last day and closed the apps
            assert trades.status_code == summary.status_code == 200
            answer = trades.json()
            if answer["as_of"] is None:  # nothing recorded yet
                assert answer["trades"] == []
                look_again_later()
                continue
            as_of = datetime.fromisoformat(answer["as_of"])
            for trade in answer["trades"]:
                assert datetime.fromisoformat(trade["ts"]) + timedelta(minutes=60) <= as_of, trade
            most_trades = max(most_trades, len(answer["trades"]))
            looks += 1
            look_again_later()
    out = "".join(printed) + demo.stdout.read()
    demo.stdout.close()
    assert demo.wait(timeout=180) == 0, out
    assert looks >= 3 and most_trades > 0, (looks, most_trades)
    with open_ledger(f"sqlite:///{tmp_path / 'var/milkbot.sqlite'}") as ledger:
        events = [r.event for r in ledger.store.iter_events()]
        with ledger.backend.transaction() as tx:
            pnl = tx.execute("SELECT fills FROM proj_pnl WHERE scope = 'portfolio'")
    assert len({e.city for e in events if isinstance(e, MarketSnapshotted)}) == 10
    assert any(isinstance(e, OrderFilled) for e in events)
    assert any(isinstance(e, MarketSettled) for e in events), "a climate day settled"
    assert pnl and pnl[0][0] > 0  # P&L projected


def look_again_later() -> None:
    """The interval between two looks at the running demo's API (polling, bounded by the demo's
    own end; nothing waits on it as a synchronisation point)."""
    threading.Event().wait(0.5)
