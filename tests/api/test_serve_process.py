"""``milkbot serve`` as its own process: both apps on their ports, reading a ledger another process
writes, stopping cleanly on SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from milkbot.bootstrap import bootstrap
from milkbot.serving import free_port
from milkbot.settings import Settings
from tests.api.conftest import TOKEN, secret_settings
from tests.api.scenario import seed
from tests.builders import a_market_snapshot, at

pytestmark = pytest.mark.e2e


def look_again_later() -> None:
    """The interval between two looks from outside the process (a deadline bounds the polling)."""
    threading.Event().wait(0.2)


@dataclass
class ServeProcess:
    """A ``milkbot serve`` subprocess over a seeded ledger, answering, and clients of both apps."""

    process: subprocess.Popen[str]
    public: httpx.Client
    operator: httpx.Client
    public_port: int
    settings: Settings

    def stop(self) -> str:
        """SIGTERM, then everything it printed."""
        self.process.send_signal(signal.SIGTERM)
        out, _ = self.process.communicate(timeout=30)
        return out


@contextmanager
def serve_process(tmp_path: Path, *args: str) -> Iterator[ServeProcess]:
    """Seed a SQLite ledger, start ``milkbot serve ARGS`` on free ports, wait until its public app
    answers; kill it if the block leaves it running."""
    database_url = f"sqlite:///{tmp_path / 'ledger.sqlite'}"
    settings = secret_settings(database_url, tmp_path)
    with bootstrap(settings) as app:
        seed(app.ledger)
        app.runner().catch_up()
    public_port, operator_port = free_port(), free_port()
    env = {**os.environ, "MILKBOT_DATABASE_URL": database_url, "MILKBOT_OPERATOR_TOKEN": TOKEN,
           "MILKBOT_METRICS_FILE": str(tmp_path / "metrics.prom")}
    env.pop("MILKBOT_BENCH_BASELINE", None)
    process = subprocess.Popen(
        [sys.executable, "-m", "milkbot.cli", "serve", "--public-port", str(public_port),
         "--operator-port", str(operator_port), *args],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    public = httpx.Client(base_url=f"http://127.0.0.1:{public_port}", timeout=10)
    operator = httpx.Client(base_url=f"http://127.0.0.1:{operator_port}", timeout=10)
    try:
        deadline = time.monotonic() + 60
        while process.poll() is None and time.monotonic() < deadline:
            try:
                if public.get("/healthz").status_code == 200:
                    break
            except httpx.TransportError:
                pass  # not listening yet
            look_again_later()
        yield ServeProcess(process, public, operator, public_port, settings)
    finally:
        public.close()
        operator.close()
        if process.poll() is None:
            process.kill()
            process.communicate(timeout=30)


def test_serve_runs_both_apps_until_sigterm(tmp_path: Path) -> None:
    with serve_process(tmp_path) as served:
        public, operator = served.public, served.operator
        summary = public.get("/api/public/summary").json()
        assert summary["as_of"] == at(180).isoformat() and summary["trades"] == 2
        assert operator.get("/api/operator/risk").status_code == 401
        assert operator.get("/api/operator/risk",
                            headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200
        # Another process moves the ledger on; the server's next answer reads it.
        with bootstrap(served.settings) as app:
            app.ledger.store.append([a_market_snapshot(version=9, recorded_at=at(600))])
            app.runner().catch_up()
        assert public.get("/api/public/summary").json()["as_of"] == at(600).isoformat()
        out = served.stop()
    assert served.process.returncode == 0, out
    assert "public app http://127.0.0.1" in out and "stopped" in out and "Traceback" not in out
