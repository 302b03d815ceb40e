"""Turning what the NWS says about a city into one ledger event: a snapshot, or a failure.

``WeatherSnapshotter.snapshot`` asks the client for the city's 12-hour forecast, an hourly forecast
(for monthly rain and snow, the raw grid's hours, the only ones with precipitation and snowfall
amounts) and the settling station's observations, and returns a ``WeatherSnapshotted`` carrying them with
the provider's own times. When any of those fails (unreachable, a problem answer, stale or
malformed data), it returns a ``WeatherFeedFailed`` naming what failed and why instead: the
failure is recorded, and nothing half-fetched ever becomes a forecast. The adapter translates;
the engine decides what a failure means for trading.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime, timedelta

from adapters.nws.client import NwsClient
from adapters.nws.errors import NwsError, NwsProblem, StaleData
from domain.config import CityConfig
from domain.events import Event, MarketKind, WeatherFeedFailed, WeatherSnapshotted, deterministic_id

PROVIDER = "nws"


def weather_stream(city: str, kind: MarketKind) -> str:
    return f"weather:{city}:{kind.value}"


class WeatherSnapshotter:
    def __init__(self, client: NwsClient, clock: Callable[[], datetime], *,
                 forecast_max_age: timedelta = timedelta(hours=6),
                 observation_window: timedelta = timedelta(hours=30),
                 hourly_horizon: timedelta = timedelta(hours=72)) -> None:
        self._client = client
        self._clock = clock
        self._forecast_max_age = forecast_max_age
        self._observation_window = observation_window
        self._hourly_horizon = hourly_horizon

    def snapshot(self, city: CityConfig, kind: MarketKind, *, version: int,
                 correlation_id: uuid.UUID) -> Event:
        """The next event of ``weather_stream(city, kind)`` (at ``version``)."""
        source = city.source(kind)
        if source is None:
            raise ValueError(f"{city.code} trades no {kind.value} market")
        stream = weather_stream(city.code, kind)
        now = self._clock()
        envelope = {"event_id": deterministic_id("weather", stream, version, now.isoformat()),
                    "stream": stream, "version": version, "recorded_at": now,
                    "correlation_id": correlation_id}
        operation = "point"
        try:
            point = self._client.point(*city.forecast_point(kind))
            operation = "forecast"
            forecast = self._client.forecast(point, max_age=self._forecast_max_age)
            if kind is MarketKind.DAILY_HIGH:
                operation = "hourly forecast"
                hourly = self._client.hourly_forecast(point, max_age=self._forecast_max_age).periods
            else:
                # Only the raw grid carries the quantitative precipitation and snowfall forecasts.
                operation = "gridpoint"
                hourly = self._client.gridpoint(point, max_age=self._forecast_max_age).hourly_periods()
            operation = "observations"
            observations = self._client.observations(source.station,
                                                     start=now - self._observation_window, end=now)
        except NwsError as e:
            return WeatherFeedFailed(
                **envelope, city=city.code, station=source.station, provider=PROVIDER,
                operation=operation, error=type(e).__name__, message=str(e),
                stale=isinstance(e, StaleData),
                provider_correlation_id=e.correlation_id if isinstance(e, NwsProblem) else None)
        horizon = now + self._hourly_horizon
        return WeatherSnapshotted(
            **envelope, venue_time=forecast.update_time, city=city.code, station=source.station,
            provider=PROVIDER, issued_at=forecast.update_time, forecast=forecast.periods,
            hourly=tuple(p for p in hourly if p.start < horizon),
            observations=observations,
        )
