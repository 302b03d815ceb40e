"""``milkbot sim exchange`` as its own process: its generated client key trades, and survives a restart."""

from __future__ import annotations

import os
import re
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from adapters.kalshi.signing import Credentials, load_private_key
from tests import servers
from tests.e2e.test_sim_nws import wait_for_port

pytestmark = pytest.mark.e2e


def start(port: int, state: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "milkbot.cli", "sim", "exchange", "--port", str(port), "--state",
         str(state), "--start", "2026-08-28T12:00:00+00:00"],
        env=os.environ.copy(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def stop(process: subprocess.Popen[str]) -> str:
    process.send_signal(signal.SIGINT)
    out, _ = process.communicate(timeout=30)
    assert process.returncode == 0, out
    return out


def signed_get(port: int, key_file: Path, path: str) -> httpx.Response:
    credentials = Credentials("sim-key", load_private_key(key_file.read_bytes()))
    url = f"http://127.0.0.1:{port}/trade-api/v2{path}"
    headers = credentials.headers("GET", url, int(time.time() * 1000))
    return httpx.get(url, headers=headers, timeout=10)


def test_the_generated_client_key_trades_and_survives_a_restart(tmp_path: Path) -> None:
    port = servers.free_port()
    exchange = start(port, tmp_path)
    try:
        wait_for_port(port, exchange)
        key_file = tmp_path / "exchange-client-key.pem"
        assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
        balance = signed_get(port, key_file, "/portfolio/balance")
        assert balance.status_code == 200, balance.text
        assert httpx.get(f"http://127.0.0.1:{port}/trade-api/v2/portfolio/balance",
                         timeout=10).status_code == 401
        events = httpx.get(f"http://127.0.0.1:{port}/trade-api/v2/events",
                           params={"series_ticker": "KXHIGHNY"}, timeout=10).json()["events"]
        assert events and all(e["series_ticker"] == "KXHIGHNY" for e in events)
    finally:
        out = stop(exchange)
    assert re.search(r"private key is .*exchange-client-key\.pem", out)

    again = start(port, tmp_path)
    try:
        wait_for_port(port, again)
        assert signed_get(port, key_file, "/portfolio/balance").status_code == 200
    finally:
        stop(again)
