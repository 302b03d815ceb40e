"""Milkbot's configuration: cities, the markets each trades and where they settle, and limits.

Parsed from TOML text (``config/milkbot.toml``) and validated here; reading the file is the
caller's job. The configuration's version is the SHA-256 of its exact text
(``domain.events.config_version_of``), recorded in the ledger when it changes. Adding a city is a
``[[cities]]`` entry and nothing else.
"""

from __future__ import annotations

import tomllib
import uuid
from datetime import datetime
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from domain.accountability import AccountabilityParams
from domain.climatology import ClimateNormals
from domain.events.base import MarketKind, deterministic_id
from domain.events.trading import ConfigVersionRecorded, config_version_of
from domain.forecast.daily_high import DailyHighParams
from domain.forecast.precip import PrecipParams
from domain.learning import LearningParams
from domain.money import MONEY_SCALE
from domain.risk import RiskLimits
from domain.strategies import ConfiguredStrategy, StrategyError, StrategySpec, load_strategies


class ConfigError(ValueError):
    """The configuration text is not valid TOML or breaks a rule; the message says where."""


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class SettlementSource(_Strict):
    """Which Kalshi series a city trades for one market kind, and which report settles it."""

    series: str = Field(pattern=r"^KX[A-Z0-9]+$")
    #: The NWS CLI site code of the settling report (e.g. ``NYC``, ``MDW``, ``ORD``).
    cli_site: str = Field(pattern=r"^[A-Z0-9]{3,4}$")
    #: The ICAO station whose observations and forecasts matter (e.g. ``KNYC``).
    station: str = Field(pattern=r"^[A-Z0-9]{4}$")
    #: Where to forecast, when the settling station is not the city's own point.
    latitude: float | None = Field(default=None, ge=-90, le=90)
    longitude: float | None = Field(default=None, ge=-180, le=180)


class CityConfig(_Strict):
    code: str = Field(pattern=r"^[A-Z]{2,4}$")
    name: str
    timezone: str
    #: Cities whose weather moves together share a cluster for exposure limits.
    cluster: str
    enabled: bool = True
    latitude: float = Field(ge=-90, le=90)
    longitude: float = Field(ge=-180, le=180)
    daily_high: SettlementSource
    monthly_rain: SettlementSource | None = None
    monthly_snow: SettlementSource | None = None
    normals: ClimateNormals

    def source(self, kind: MarketKind) -> SettlementSource | None:
        return {MarketKind.DAILY_HIGH: self.daily_high, MarketKind.MONTHLY_RAIN: self.monthly_rain,
                MarketKind.MONTHLY_SNOW: self.monthly_snow}[kind]

    def forecast_point(self, kind: MarketKind) -> tuple[float, float]:
        source = self.source(kind)
        if source is not None and source.latitude is not None and source.longitude is not None:
            return source.latitude, source.longitude
        return self.latitude, self.longitude


class LedgerConfig(_Strict):
    projection_batch: int = Field(default=5_000, ge=1, le=100_000)


class EnsembleConfig(_Strict):
    #: The weight of each component model until it has enough scored forecasts to earn its own
    #: (``domain.learning``); renormalised over the components a ladder has.
    prior: dict[str, float] = Field(default_factory=lambda: {"nws": 0.9, "climatology": 0.1})
    #: Scored ladders every component needs before the learned weights replace the prior.
    min_samples: int = Field(default=30, ge=1)

    @model_validator(mode="after")
    def _positive(self) -> EnsembleConfig:
        if not self.prior or any(w < 0 for w in self.prior.values()) or sum(self.prior.values()) <= 0:
            raise ValueError("ensemble prior weights must be >= 0 with a positive total")
        return self


class TradingConfig(_Strict):
    #: The operator's confirmation, in the configuration, that live trading is intended. Live mode
    #: also needs ``--confirm-live`` on the command line and 10 days of paper or demo trading.
    live_confirmed: bool = False
    #: The paper account's starting cash in dollars (``milkbot run --mode paper``).
    paper_balance_dollars: Decimal = Field(default=Decimal("1000"), gt=0, le=Decimal("100000000"))

    @property
    def paper_balance(self) -> int:
        """The paper account's starting cash in micros."""
        return int(self.paper_balance_dollars * MONEY_SCALE)


class ModelsConfig(_Strict):
    daily_high: DailyHighParams = DailyHighParams()
    precip: PrecipParams = PrecipParams()
    ensemble: EnsembleConfig = EnsembleConfig()


class MilkbotConfig(_Strict):
    ledger: LedgerConfig = LedgerConfig()
    trading: TradingConfig = TradingConfig()
    models: ModelsConfig = ModelsConfig()
    accountability: AccountabilityParams = AccountabilityParams()
    #: What is learned from scored forecasts: window, bias shrinkage, ensemble weights.
    learning: LearningParams = LearningParams()
    #: Pre-trade limits, drawdown limits and stale-data limits (``domain.risk``).
    risk: RiskLimits = RiskLimits()
    #: The strategies that decide, in order: ``[[strategies]]`` entries naming a registered
    #: strategy (and the module defining it, for one outside ``domain.strategies``) and its params.
    strategies: tuple[StrategySpec, ...] = (StrategySpec(name="taker"),)
    cities: tuple[CityConfig, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique(self) -> MilkbotConfig:
        codes = [c.code for c in self.cities]
        if len(set(codes)) != len(codes):
            raise ValueError(f"city codes repeat: {sorted(c for c in codes if codes.count(c) > 1)}")
        series = [s.series for c in self.cities for s in (c.daily_high, c.monthly_rain,
                                                          c.monthly_snow) if s is not None]
        if len(set(series)) != len(series):
            raise ValueError("a series ticker is configured for two markets")
        try:
            load_strategies(self.strategies)
        except StrategyError as e:
            raise ValueError(str(e)) from None
        return self

    def configured_strategies(self) -> tuple[ConfiguredStrategy, ...]:
        """The strategies with their validated parameters (checked when the config was parsed)."""
        return load_strategies(self.strategies)

    def city(self, code: str) -> CityConfig:
        for city in self.cities:
            if city.code == code:
                return city
        raise KeyError(f"no city {code!r} in the configuration")

    @property
    def enabled_cities(self) -> tuple[CityConfig, ...]:
        return tuple(c for c in self.cities if c.enabled)


def parse_config(text: str, *, source: str = "config") -> tuple[MilkbotConfig, str]:
    """The validated configuration and its version (the SHA-256 of ``text``)."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{source} is not valid TOML: {e}") from None
    try:
        config = MilkbotConfig.model_validate(data)
    except ValidationError as e:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}"
            for err in e.errors(include_url=False, include_input=False)[:8])
        raise ConfigError(f"{source}: {problems}") from None
    return config, config_version_of(text)


def config_recorded(text: str, *, source: str, recorded_at: datetime,
                    correlation_id: uuid.UUID) -> ConfigVersionRecorded:
    """The event that brings ``text`` into force: the only event of ``config:{version}``, so
    recording the same configuration again is a no-op and each change is recorded once."""
    version = config_version_of(text)
    stream = f"config:{version}"
    return ConfigVersionRecorded(event_id=deterministic_id("config", stream), stream=stream, version=1,
                                 recorded_at=recorded_at, correlation_id=correlation_id,
                                 config_version=version, content=text, source=source)
