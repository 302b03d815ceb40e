"""Milkbot's settings: read once from the environment at start, typed, with errors that name the
variable and never echo a value (some are secrets)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from domain.config import ConfigError, MilkbotConfig, parse_config
from eventstore.url import DEFAULT_URL
from projections.public_feed import MINIMUM_DELAY_MINUTES

SHIPPED_CONFIG = Path(__file__).resolve().parent.parent / "config" / "milkbot.toml"


class SettingsError(ValueError):
    """A setting is missing or malformed; the message names the variable."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="MILKBOT_", extra="ignore", frozen=True)

    database_url: str = DEFAULT_URL
    config: Path = SHIPPED_CONFIG
    kalshi_base_url: str = "https://external-api.demo.kalshi.co/trade-api/v2"
    #: Unset: derived from kalshi_base_url (adapters.kalshi.websocket.websocket_url).
    kalshi_ws_url: str | None = None
    kalshi_key_id: SecretStr | None = None
    kalshi_private_key_file: Path | None = None
    nws_base_url: str = "https://api.weather.gov"
    nws_user_agent: str | None = None
    operator_token: SecretStr | None = None
    alert_webhook_url: SecretStr | None = None
    public_delay_minutes: int = Field(default=MINIMUM_DELAY_MINUTES)
    openrouter_api_key: SecretStr | None = None
    #: Where ``milkbot run`` writes its Prometheus metrics for the operator app's ``/metrics``.
    metrics_file: Path = Path("var/metrics.prom")

    @field_validator("public_delay_minutes")
    @classmethod
    def _delay_at_least_an_hour(cls, value: int) -> int:
        if value < MINIMUM_DELAY_MINUTES:
            raise ValueError(f"must be at least {MINIMUM_DELAY_MINUTES} (trades may not be "
                             "public sooner)")
        return value


def load_settings() -> Settings:
    """Read the environment once. Raises ``SettingsError`` naming each bad variable."""
    try:
        return Settings()
    except ValidationError as e:
        problems = []
        for error in e.errors(include_input=False, include_url=False):
            field = str(error["loc"][0]) if error["loc"] else "?"
            problems.append(f"MILKBOT_{field.upper()}: {error['msg']}")
        raise SettingsError("; ".join(problems)) from None


def load_config(settings: Settings) -> tuple[MilkbotConfig, str]:
    """The configuration named by ``MILKBOT_CONFIG`` and its version, or ``SettingsError``."""
    try:
        text = settings.config.read_text(encoding="utf-8")
    except OSError as e:
        raise SettingsError(f"MILKBOT_CONFIG: cannot read {settings.config}: {e.strerror}") from None
    try:
        return parse_config(text, source=str(settings.config))
    except ConfigError as e:
        raise SettingsError(f"MILKBOT_CONFIG: {e}") from None
