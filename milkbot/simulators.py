"""``milkbot sim nws``: a local simulator on loopback, for tests, the demo and manual work.

The simulated clock runs ``speed`` times faster than the real one from ``start``. With ``--state
DIR`` the timeline is kept in ``DIR/nws-clock.json``, so a restarted simulator carries on at the
simulated time it had reached instead of jumping back.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson

from domain.config import MilkbotConfig


@dataclass
class AcceleratedClock:
    """Simulated now = ``start`` + real seconds elapsed since ``anchor`` x ``speed``."""

    start: datetime
    speed: float
    anchor: float

    def __call__(self) -> datetime:
        return self.start + timedelta(seconds=(time.monotonic() - self.anchor) * self.speed)

    @classmethod
    def resume(cls, state_dir: Path | None, *, start: datetime, speed: float) -> AcceleratedClock:
        if state_dir is not None:
            saved = state_dir / "nws-clock.json"
            if saved.exists():
                start = datetime.fromisoformat(orjson.loads(saved.read_bytes())["now"])
        return cls(start=start, speed=speed, anchor=time.monotonic())

    def save(self, state_dir: Path) -> None:
        state_dir.mkdir(parents=True, exist_ok=True)
        (state_dir / "nws-clock.json").write_bytes(orjson.dumps({"now": self().isoformat()}))


def serve_nws(config: MilkbotConfig, *, host: str, port: int, seed: int, start: datetime | None,
              speed: float, state_dir: Path | None,
              print_line: Callable[[str], object] = print) -> int:
    import uvicorn

    from adapters.nws.simulator.app import create_app

    clock = AcceleratedClock.resume(state_dir, start=start or datetime.now(UTC), speed=speed)
    app = create_app(config, seed=seed, clock=clock)
    print_line(f"NWS simulator on http://{host}:{port} (seed {seed}, clock x{speed:g} from "
               f"{clock().isoformat(timespec='seconds')}); Ctrl-C stops it")
    try:
        uvicorn.run(app, host=host, port=port, log_level="warning")
    finally:
        if state_dir is not None:
            clock.save(state_dir)
    return 0
