"""The apps served on loopback over a seeded ledger, on SQLite and PostgreSQL.

Settings carry secret values (an operator token, a Kalshi key id, an OpenRouter key, a webhook
URL) so the security tests can show none of them ever reaches a public answer.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr

from api.serve import ServedApps, serve_apps
from milkbot.bootstrap import bootstrap
from milkbot.settings import Settings
from tests.api.scenario import Seeded, seed

TOKEN = "op-SECRET-token-5b0d7c1e9a2f4e6b8c3d"
KALSHI_KEY_ID = "kalshi-SECRET-key-id-0c9e"
OPENROUTER_KEY = "sk-or-SECRET-4f1e2d"
WEBHOOK = "https://hooks.example.test/services/SECRET-webhook-path"
SECRETS = (TOKEN, KALSHI_KEY_ID, OPENROUTER_KEY, "SECRET-webhook-path")


def secret_settings(database_url: str, tmp_path: Path, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "database_url": database_url, "operator_token": SecretStr(TOKEN),
        "kalshi_key_id": SecretStr(KALSHI_KEY_ID), "openrouter_api_key": SecretStr(OPENROUTER_KEY),
        "alert_webhook_url": SecretStr(WEBHOOK),
        "kalshi_private_key_file": tmp_path / "SECRET-private-key.pem",
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


def catch_up(settings: Settings) -> None:
    """Fold the projections, as the command handler would."""
    with bootstrap(settings) as app:
        app.runner().catch_up()


@dataclass
class Served:
    settings: Settings
    seeded: Seeded
    urls: ServedApps
    metrics_file: Path

    def public(self) -> httpx.Client:
        return httpx.Client(base_url=self.urls.public_url, timeout=10)

    def operator(self, token: str | None = TOKEN) -> httpx.Client:
        headers = {} if token is None else {"Authorization": f"Bearer {token}"}
        return httpx.Client(base_url=self.urls.operator_url, headers=headers, timeout=10)


@pytest.fixture
def served(database_url: str, tmp_path: Path) -> Iterator[Served]:
    settings = secret_settings(database_url, tmp_path)
    with bootstrap(settings) as app:
        seeded = seed(app.ledger)
        app.runner().catch_up()
    metrics_file = tmp_path / "metrics.prom"
    with serve_apps(settings, 0, 0, metrics_file=metrics_file) as urls:
        yield Served(settings, seeded, urls, metrics_file)
