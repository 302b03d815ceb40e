"""``milkbot run``: refusals that say exactly what is missing, and a demo-mode run against the
simulators that stops cleanly on SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from adapters.kalshi.signing import load_public_key, new_rsa_key_pair
from adapters.kalshi.simulator import PREFIX
from adapters.kalshi.simulator import create_app as exchange_app
from adapters.nws.simulator.app import create_app as nws_app
from adapters.nws.simulator.weather import WeatherGenerator
from domain.config import parse_config
from domain.events import DecisionMade
from domain.events.risk import HandlerStarted
from eventstore import open_ledger
from milkbot.cli import EXIT_ERROR, main
from milkbot.run import LIVE_AFTER_DAYS, live_refusals, practice_days
from milkbot.settings import SHIPPED_CONFIG
from tests import servers
from tests.builders import a_priced_decision, envelope
from tests.integration.test_kalshi_simulator import config


def started(mode: str, at: datetime) -> HandlerStarted:
    return HandlerStarted(**envelope(f"handler:{at.isoformat()}", recorded_at=at), mode=mode,  # type: ignore[arg-type]
                          config_version="0" * 64, venue="https://example.test")


def test_live_is_refused_with_every_missing_prerequisite(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("MILKBOT_DATABASE_URL", f"sqlite:///{tmp_path / 'ledger.sqlite'}")
    assert main(["run", "--mode", "live"]) == EXIT_ERROR
    err = capsys.readouterr().err
    assert "live trading refused" in err and "0 day(s) of paper or demo trading" in err
    assert "live_confirmed = true" in err and "--confirm-live" in err


def test_ten_days_of_practice_confirmed_twice_opens_live(tmp_path: Path) -> None:
    day0 = datetime(2026, 8, 1, 15, tzinfo=UTC)
    text = SHIPPED_CONFIG.read_text().replace("live_confirmed = false", "live_confirmed = true")
    confirmed, _ = parse_config(text)
    with open_ledger(f"sqlite:///{tmp_path / 'ledger.sqlite'}") as ledger:
        ledger.store.append([started("demo", day0)])
        for day in range(LIVE_AFTER_DAYS - 1):
            ledger.store.append([a_priced_decision(f"KXHIGHNY-26AUG{day + 2:02d}",
                                                   recorded_at=day0 + timedelta(days=day))])
        assert practice_days(ledger.store) == LIVE_AFTER_DAYS - 1
        assert live_refusals(ledger.store, confirmed, confirmed_on_command_line=True) == [
            f"the ledger shows {LIVE_AFTER_DAYS - 1} day(s) of paper or demo trading; live needs "
            f"{LIVE_AFTER_DAYS}"]
        last = day0 + timedelta(days=LIVE_AFTER_DAYS)
        ledger.store.append([a_priced_decision("KXHIGHNY-26AUG30", recorded_at=last)])
        assert live_refusals(ledger.store, confirmed, confirmed_on_command_line=True) == []
        # Decisions made while trading live do not count as practice.
        ledger.store.append([started("live", last + timedelta(days=1))])
        ledger.store.append([a_priced_decision("KXHIGHNY-26SEP15", recorded_at=last + timedelta(days=2))])
        assert practice_days(ledger.store) == LIVE_AFTER_DAYS


def test_practice_counts_decisions_under_the_mode_of_the_last_start_before_them(
        tmp_path: Path) -> None:
    day0 = datetime(2026, 8, 1, 15, tzinfo=UTC)

    def decided(ticker: str, days: float) -> list:
        return [a_priced_decision(ticker, recorded_at=day0 + timedelta(days=days))]

    with open_ledger(f"sqlite:///{tmp_path / 'ledger.sqlite'}") as ledger:
        ledger.store.append(decided("KXHIGHNY-26AUG01", 0))  # before any start: not practice
        ledger.store.append([started("paper", day0 + timedelta(days=1))])
        ledger.store.append(decided("KXHIGHNY-26AUG02", 1.1))
        ledger.store.append(decided("KXHIGHNY-26AUG03", 1.2))  # the same UTC day: counted once
        ledger.store.append([started("live", day0 + timedelta(days=2))])
        ledger.store.append(decided("KXHIGHNY-26AUG04", 2.1))
        ledger.store.append([started("demo", day0 + timedelta(days=3))])
        ledger.store.append(decided("KXHIGHNY-26AUG05", 3.1))
        ledger.store.append(decided("KXHIGHNY-26AUG06", 4.1))

        assert practice_days(ledger.store) == 3


def test_an_unreachable_database_exits_with_a_clear_message(monkeypatch: pytest.MonkeyPatch,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("MILKBOT_DATABASE_URL", "postgresql://milkbot@127.0.0.1:9/nowhere")
    assert main(["run", "--mode", "demo"]) == EXIT_ERROR
    assert "milkbot:" in capsys.readouterr().err


@pytest.fixture
def simulators(tmp_path: Path) -> Iterator[dict[str, str]]:
    private, public = new_rsa_key_pair()
    key_file = tmp_path / "key.pem"
    key_file.write_bytes(private)
    key_file.chmod(0o600)
    now = lambda: datetime.now(UTC)  # noqa: E731 - real time, as against Kalshi's demo
    exchange = exchange_app(config(), seed=3, clock=now, public_key=load_public_key(public),
                            weather=WeatherGenerator(config().cities, seed=3), state_dir=tmp_path / "sim")
    with servers.serving(exchange, name="exchange") as exchange_url, \
            servers.serving(nws_app(config(), seed=3, clock=now), name="nws") as nws_url:
        yield {"MILKBOT_KALSHI_BASE_URL": exchange_url + PREFIX, "MILKBOT_KALSHI_KEY_ID": "demo",
               "MILKBOT_KALSHI_PRIVATE_KEY_FILE": str(key_file), "MILKBOT_NWS_BASE_URL": nws_url,
               "MILKBOT_NWS_USER_AGENT": "milkbot-tests (ops@example.com)",
               "MILKBOT_DATABASE_URL": f"sqlite:///{tmp_path / 'ledger.sqlite'}",
               "MILKBOT_METRICS_FILE": str(tmp_path / "metrics.prom")}


@pytest.mark.e2e
@pytest.mark.parametrize("mode", ["demo", "paper"])
def test_a_mode_trades_until_sigterm_then_stops_cleanly(simulators: dict[str, str], mode: str) -> None:
    """Paper needs no key: it reads public market data and sends no order to the exchange."""
    env = {**os.environ, **simulators}
    if mode == "paper":
        for name in ("MILKBOT_KALSHI_KEY_ID", "MILKBOT_KALSHI_PRIVATE_KEY_FILE"):
            env.pop(name, None)
    process = subprocess.Popen([sys.executable, "-m", "milkbot.cli", "run", "--mode", mode],
                               env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 120
        decided = False
        while not decided and time.monotonic() < deadline and process.poll() is None:
            with open_ledger(simulators["MILKBOT_DATABASE_URL"]) as ledger:
                decided = any(isinstance(r.event, DecisionMade) for r in ledger.store.iter_events())
            if not decided:
                look_again_later()
        assert decided, "no decision within two minutes"
        process.send_signal(signal.SIGTERM)
        out, _ = process.communicate(timeout=120)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, out
    assert "stopped cleanly" in out and "Traceback" not in out
    with open_ledger(simulators["MILKBOT_DATABASE_URL"]) as ledger:
        events = [r.event for r in ledger.store.iter_events()]
    assert next(e for e in events if isinstance(e, HandlerStarted)).mode == mode
    # The metrics the operator app serves, written by the handler as it runs.
    assert "milkbot_cycle_seconds_count" in Path(simulators["MILKBOT_METRICS_FILE"]).read_text()


def look_again_later() -> None:
    """The interval between two looks at the ledger from outside the process (a deadline bounds
    the polling; nothing waits on it as a synchronisation point)."""
    threading.Event().wait(0.5)
