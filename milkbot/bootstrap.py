"""The one place that wires Milkbot together from settings: the ledger and its projections.

Nothing happens at import time anywhere in Milkbot; the command handler, the replay commands, the
API and the tests all start here (tests pass their own settings).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from domain.config import MilkbotConfig, config_recorded
from domain.events import deterministic_id
from eventstore import Ledger, open_ledger
from milkbot.settings import Settings, load_config
from projections.base import Projection
from projections.registry import all_projections
from projections.runner import ProjectionRunner


@dataclass
class Milkbot:
    settings: Settings
    ledger: Ledger
    projections: list[Projection]

    def runner(self, batch_size: int = 5_000) -> ProjectionRunner:
        return ProjectionRunner(self.ledger, self.projections, batch_size=batch_size)

    def close(self) -> None:
        self.ledger.close()

    def __enter__(self) -> Milkbot:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def record_config(app: Milkbot, *, now: datetime | None = None) -> tuple[MilkbotConfig, str, bool]:
    """Load ``MILKBOT_CONFIG`` and record it in the ledger if this version is new.

    Returns the configuration, its version, and whether this call recorded it (False: the ledger
    already held that exact text). ``SettingsError`` when the file is missing or invalid.
    """
    config, version = load_config(app.settings)
    text = app.settings.config.read_text(encoding="utf-8")
    event = config_recorded(text, source=str(app.settings.config),
                            recorded_at=now or datetime.now(UTC),
                            correlation_id=deterministic_id("config", version))
    return config, version, bool(app.ledger.store.append([event]).positions)


def bootstrap(settings: Settings) -> Milkbot:
    ledger = open_ledger(settings.database_url)
    return Milkbot(settings=settings, ledger=ledger,
                   projections=all_projections(settings.public_delay_minutes))
