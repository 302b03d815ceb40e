"""``milkbot sim nws`` as its own process on loopback, read by the real NWS client."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from adapters.nws.cli_report import parse_cli_product
from adapters.nws.client import NwsClient
from domain.config import parse_config
from milkbot.settings import SHIPPED_CONFIG
from tests import servers

pytestmark = pytest.mark.e2e


def wait_for_port(port: int, process: subprocess.Popen[str], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, process.communicate()[0]
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            continue  # not listening yet: the connect attempt itself paces this loop
    raise AssertionError(f"the simulator never listened on {port}")


def test_the_nws_simulator_serves_forecasts_and_cli_reports(tmp_path: Path,
                                                           request: pytest.FixtureRequest) -> None:
    port = servers.free_port()
    sim = subprocess.Popen(
        [sys.executable, "-m", "milkbot.cli", "sim", "nws", "--port", str(port), "--state",
         str(tmp_path), "--start", "2026-08-28T12:00:00+00:00", "--speed", "60"],
        env=os.environ.copy(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        wait_for_port(port, sim)
        client = NwsClient(f"http://127.0.0.1:{port}", "milkbot-tests (ops@example.com)")
        request.addfinalizer(client.close)
        new_york = parse_config(SHIPPED_CONFIG.read_text())[0].city("NYC")
        point = client.point(new_york.latitude, new_york.longitude)
        forecast = client.forecast(point)
        assert len(forecast.periods) >= 10
        assert all(p.temperature_f is not None for p in forecast.periods)
        latest = client.latest_cli_product("NYC")
        assert latest is not None
        (report,) = parse_cli_product(client.product_text(latest.id))
        assert report.station == "NYC" and report.max_temp_f is not None
    finally:
        sim.send_signal(signal.SIGINT)
        out, _ = sim.communicate(timeout=30)
    assert sim.returncode == 0, out
    assert "NWS simulator on http://127.0.0.1" in out
    assert (tmp_path / "nws-clock.json").exists()
