"""``milkbot sim nws|exchange``: a local simulator on loopback, for tests, the demo and manual work.

The simulated clock runs ``speed`` times faster than the real one from ``start``. With ``--state
DIR`` the timeline is kept in ``DIR/<name>-clock.json``, so a restarted simulator carries on at the
simulated time it had reached instead of jumping back. The exchange settles on the same seeded
weather the NWS simulator serves (same seed, same config), so the two agree on every outcome.
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

from domain.config import MilkbotConfig

if TYPE_CHECKING:
    from adapters.kalshi.signing import PublicKey


@dataclass
class AcceleratedClock:
    """Simulated now = ``start`` + real seconds elapsed since ``anchor`` x ``speed``."""

    start: datetime
    speed: float
    anchor: float

    def __call__(self) -> datetime:
        return self.start + timedelta(seconds=(time.monotonic() - self.anchor) * self.speed)

    @classmethod
    def resume(cls, saved: Path | None, *, start: datetime, speed: float) -> AcceleratedClock:
        if saved is not None and saved.exists():
            start = datetime.fromisoformat(orjson.loads(saved.read_bytes())["now"])
        return cls(start=start, speed=speed, anchor=time.monotonic())

    def save(self, saved: Path) -> None:
        saved.parent.mkdir(parents=True, exist_ok=True)
        saved.write_bytes(orjson.dumps({"now": self().isoformat()}))


def serve_nws(config: MilkbotConfig, *, host: str, port: int, seed: int, start: datetime | None,
              speed: float, state_dir: Path | None,
              print_line: Callable[[str], object] = print) -> int:
    from adapters.nws.simulator.app import create_app

    clock = AcceleratedClock.resume(_clock_file(state_dir, "nws"),
                                    start=start or datetime.now(UTC), speed=speed)
    app = create_app(config, seed=seed, clock=clock)
    print_line(f"NWS simulator on http://{host}:{port} (seed {seed}, clock x{speed:g} from "
               f"{clock().isoformat(timespec='seconds')}); Ctrl-C stops it")
    return _serve(app, host, port, clock, _clock_file(state_dir, "nws"))


def serve_exchange(config: MilkbotConfig, *, host: str, port: int, seed: int,
                   start: datetime | None, speed: float, state_dir: Path | None,
                   public_key_file: Path | None,
                   print_line: Callable[[str], object] = print) -> int:
    from adapters.kalshi.signing import load_public_key
    from adapters.kalshi.simulator.app import create_app
    from adapters.nws.simulator.weather import WeatherGenerator

    if public_key_file is not None:
        try:
            pem = public_key_file.read_bytes()
        except OSError as e:
            raise SystemExit(f"milkbot: cannot read --public-key {public_key_file}: {e.strerror}"
                             ) from None
        public_key = load_public_key(pem, where=str(public_key_file))
    else:
        private_file, public_key = client_key(state_dir)
        print_line(f"no --public-key: the client's private key is {private_file} "
                   "(point MILKBOT_KALSHI_PRIVATE_KEY_FILE at it)")
    clock = AcceleratedClock.resume(_clock_file(state_dir, "exchange"),
                                    start=start or datetime.now(UTC), speed=speed)
    app = create_app(config, seed=seed, clock=clock, public_key=public_key,
                     weather=WeatherGenerator(config.cities, seed=seed), state_dir=state_dir)
    print_line(f"Kalshi exchange simulator on http://{host}:{port}/trade-api/v2 (seed {seed}, "
               f"clock x{speed:g} from {clock().isoformat(timespec='seconds')}); Ctrl-C stops it")
    return _serve(app, host, port, clock, _clock_file(state_dir, "exchange"))


def client_key(state_dir: Path | None) -> tuple[Path, PublicKey]:
    """The client key pair the exchange trusts: kept in ``state_dir`` (so a restart keeps it),
    or made fresh in a private temporary folder."""
    from adapters.kalshi.signing import load_private_key, new_rsa_key_pair

    key_dir = state_dir or Path(tempfile.mkdtemp(prefix="milkbot-exchange-"))
    key_dir.mkdir(parents=True, exist_ok=True)
    private_file = key_dir / "exchange-client-key.pem"
    if not private_file.exists():
        private_pem, _ = new_rsa_key_pair()
        descriptor = os.open(private_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "wb") as f:
            f.write(private_pem)
    private_key = load_private_key(private_file.read_bytes(), where=str(private_file))
    return private_file, private_key.public_key()


def _clock_file(state_dir: Path | None, name: str) -> Path | None:
    return None if state_dir is None else state_dir / f"{name}-clock.json"


def _serve(app: Any, host: str, port: int, clock: AcceleratedClock, saved: Path | None) -> int:
    import uvicorn

    try:
        uvicorn.run(app, host=host, port=port, log_level="warning")
    finally:
        if saved is not None:
            clock.save(saved)
    return 0
