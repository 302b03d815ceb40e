"""kill -9 the trading process at the worst moments, over and over, against the exchange simulator
over HTTP; the ledger and the venue must still agree, with no order twice and no fill lost or
counted twice.

The driver (``tests.chaos.driver``) stops at each checkpoint of the order manager: after the intent
is recorded and before the request leaves, after the answer arrives and before it is recorded,
and after a reconciliation has read the venue and before it records anything. At each stop this
test either says ``go`` or sends SIGKILL, then starts the driver again on the same ledger, until
the driver has walked all its decisions. A last run only reconciles.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from adapters.kalshi.client import KalshiClient
from adapters.kalshi.signing import Credentials, load_private_key, load_public_key, new_rsa_key_pair
from adapters.kalshi.simulator import PREFIX, create_app
from adapters.nws.simulator.weather import WeatherGenerator
from domain.events import OrderFilled, OrderSubmitted, TradingStateChanged
from domain.oms import OrderBook
from eventstore import open_ledger
from milkbot.orders import BOOK_TYPES
from tests import servers
from tests.integration.test_kalshi_simulator import NOW, config

pytestmark = pytest.mark.chaos

KILLS_PER_POINT = {"intent recorded": 12, "answer received": 12, "venue read": 6}
DECISIONS = 45


@pytest.fixture
def exchange(tmp_path: Path) -> Iterator[tuple[str, Path, Credentials]]:
    private, public = new_rsa_key_pair()
    key_file = tmp_path / "client-key.pem"
    key_file.write_bytes(private)
    key_file.chmod(0o600)
    app = create_app(config(), seed=11, clock=lambda: NOW, public_key=load_public_key(public),
                     weather=WeatherGenerator(config().cities, seed=11), state_dir=tmp_path / "sim",
                     auth_clock_ms=lambda: int(NOW.timestamp() * 1000))
    with servers.serving(app, name="chaos-exchange") as url:
        yield url + PREFIX, key_file, Credentials("chaos", load_private_key(private))


def driver(url: str, key_file: Path, ledger: Path, *extra: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.chaos.driver", "--ledger", str(ledger), "--url", url,
         "--key-file", str(key_file), "--now", NOW.isoformat(), "--decisions", str(DECISIONS), *extra],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"})


def run_until_killed_or_done(process: subprocess.Popen[str], rng: random.Random,
                             kills: Counter[str]) -> bool:
    """Answer the driver's checkpoints, killing it at one of them; True when it finished."""
    assert process.stdin is not None and process.stdout is not None
    for line in process.stdout:
        if line.startswith("DONE"):
            process.wait(timeout=30)
            return True
        if not line.startswith("AT "):
            continue
        point = line[3:].rsplit(" ", 1)[0]
        if kills[point] < KILLS_PER_POINT.get(point, 0) and rng.random() < 0.4:
            process.send_signal(signal.SIGKILL)
            process.wait(timeout=30)
            kills[point] += 1
            return False
        process.stdin.write("go\n")
        process.stdin.flush()
    process.wait(timeout=30)
    stderr = process.stderr.read() if process.stderr else ""
    raise AssertionError(f"the driver stopped on its own (exit {process.returncode}): {stderr[-2000:]}")


def test_kill_minus_nine_never_duplicates_an_order_or_loses_a_fill(
        exchange: tuple[str, Path, Credentials], tmp_path: Path) -> None:
    url, key_file, credentials = exchange
    ledger_path = tmp_path / "ledger.sqlite"
    rng = random.Random(20261128)
    kills: Counter[str] = Counter()
    runs = 0
    while True:
        runs += 1
        assert runs < 200, f"no progress after {runs} runs ({dict(kills)})"
        with driver(url, key_file, ledger_path) as process:
            if run_until_killed_or_done(process, rng, kills):
                break
    with driver(url, key_file, ledger_path, "--reconcile") as final:
        assert run_until_killed_or_done(final, rng, Counter({p: 99 for p in KILLS_PER_POINT}))

    with open_ledger(f"sqlite:///{ledger_path}") as ledger, KalshiClient(
            url, credentials, now_ms=lambda: int(NOW.timestamp() * 1000)) as client:
        events = [r.event for r in ledger.store.iter_events()]
        book = OrderBook.fold(e for e in events if type(e).__name__ in BOOK_TYPES)
        venue_orders = client.orders()
        venue_fills = client.fills()
        venue_positions = {p.ticker: p.position for p in client.positions()[0] if p.position}

    submitted = [e for e in events if isinstance(e, OrderSubmitted)]
    fills = [e for e in events if isinstance(e, OrderFilled)]
    venue_ids = [o.client_order_id for o in venue_orders]
    print(f"\nchaos: {runs} runs, {sum(kills.values())} kill -9s {dict(kills)}, "
          f"{len(submitted)} intents, {len(venue_orders)} venue orders, {len(venue_fills)} fills")
    assert sum(kills.values()) >= 30 and all(kills[p] == n for p, n in KILLS_PER_POINT.items())
    # No decision's leg reached the venue twice, and nothing reached it that we did not intend.
    assert len(venue_ids) == len(set(venue_ids))
    assert set(venue_ids) <= {e.client_order_id for e in submitted}
    assert len(submitted) == len({e.client_order_id for e in submitted})
    # Every venue fill is in the ledger exactly once, and nothing else is.
    assert sorted(f.fill_id for f in fills) == sorted(f.fill_id for f in venue_fills)
    assert book.positions() == venue_positions
    assert book.in_flight() == ()
    assert not [e for e in events if isinstance(e, TradingStateChanged)], "no mismatch halted a city"
