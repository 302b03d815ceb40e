"""What the weather providers told us: forecasts, observations and the CLI climate reports."""

from __future__ import annotations

from datetime import date

from pydantic import AwareDatetime

from domain.events.base import Event, Inches, Record


class ForecastPeriod(Record):
    """One forecast period (a day, a night, or an hour) as the provider issued it."""

    start: AwareDatetime
    end: AwareDatetime
    is_daytime: bool | None = None
    temperature_f: float | None = None
    precip_probability: float | None = None
    precip_in: float | None = None
    snow_in: float | None = None


class Observation(Record):
    """One station observation; ``None`` means the station did not report it, never zero."""

    time: AwareDatetime
    temperature_f: float | None = None
    max_temp_6h_f: float | None = None
    min_temp_6h_f: float | None = None
    #: The 24-hour extremes the station reports (METAR 4-group, or the API's decoded values).
    max_temp_24h_f: float | None = None
    min_temp_24h_f: float | None = None
    precip_1h_in: float | None = None
    raw_message: str | None = None


class WeatherSnapshotted(Event):
    """A forecast and the latest observations for one city, with the provider's own times."""

    city: str
    station: str
    provider: str
    #: When the provider issued (or last updated) the forecast.
    issued_at: AwareDatetime | None
    forecast: tuple[ForecastPeriod, ...] = ()
    hourly: tuple[ForecastPeriod, ...] = ()
    observations: tuple[Observation, ...] = ()


class WeatherFeedFailed(Event):
    """A weather provider could not give a usable answer for a city; nothing of it was used."""

    city: str
    station: str
    provider: str
    #: What was being fetched: ``point``, ``forecast``, ``hourly forecast``, ``observations``.
    operation: str
    error: str
    message: str
    #: True when the provider answered, but with data older than its freshness limit.
    stale: bool = False
    provider_correlation_id: str | None = None


class ClimateReportRecorded(Event):
    """An NWS CLI daily climate report, archived whole (the API keeps them only about a week).

    Only a final report (``preliminary`` false) settles a market.
    """

    station: str
    station_name: str | None = None
    climate_date: date
    preliminary: bool
    correction: bool
    issued_at: AwareDatetime | None
    product_id: str | None = None
    max_temp_f: int | None = None
    min_temp_f: int | None = None
    precip_in: Inches | None = None
    precip_month_in: Inches | None = None
    snow_in: Inches | None = None
    snow_month_in: Inches | None = None
    #: Contradictions between the report's own numbers: such a report never settles a market.
    inconsistencies: tuple[str, ...] = ()
    raw_text: str


class ClimateReportRejected(Event):
    """A CLI product we could not trust, archived with the reason (it never settles anything)."""

    site: str
    product_id: str
    issued_at: AwareDatetime | None
    reason: str
    raw_text: str
