"""Station observations (``/stations/{id}/observations[/latest]``): each reading with its METAR
read, and the choice of which readings to trade on.

An observation with no data has a ``null`` timestamp (or no properties but ``@id``): that
placeholder is skipped; one with values but no timestamp is a :class:`MalformedPayload`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError

from adapters.nws.errors import MalformedPayload
from adapters.nws.metar import MetarReport, celsius_to_fahrenheit, parse_metar
from adapters.nws.wire.json_fields import (
    _feature_properties,
    _first_error,
    _properties,
    _quantity,
    _required_time,
    _to_fahrenheit,
    _to_inches,
)
from domain.events.weather import Observation


@dataclass(frozen=True)
class ObservationReading:
    """One station observation as the API sent it, with its METAR read."""

    time: datetime
    station: str | None
    raw_message: str | None
    #: ``rawMessage`` read as a METAR; ``None`` when absent, unreadable, or stamped with another
    #: day-hour-minute than ``time`` (then it describes another observation).
    metar: MetarReport | None
    #: The API's own decoded values, converted.
    api_temperature_f: float | None = None
    max_temp_24h_f: float | None = None
    min_temp_24h_f: float | None = None
    precip_1h_in: float | None = None
    precip_3h_in: float | None = None
    precip_6h_in: float | None = None

    @property
    def temperature_f(self) -> float | None:
        """The METAR's T-group (a tenth of a degree C) first, then the API's value, then the
        METAR body's whole degree."""
        if self.metar is not None and self.metar.precise_temperature_c is not None:
            return celsius_to_fahrenheit(self.metar.precise_temperature_c)
        if self.api_temperature_f is not None:
            return self.api_temperature_f
        return None if self.metar is None else self.metar.temperature_f

    @property
    def temperature_source(self) -> str | None:
        if self.metar is not None and self.metar.precise_temperature_c is not None:
            return "metar_t_group"
        if self.api_temperature_f is not None:
            return "api"
        if self.metar is not None and self.metar.body_temperature_c is not None:
            return "metar_body"
        return None

    def to_observation(self) -> Observation:
        precip = self.precip_1h_in
        if precip is None and self.metar is not None:
            precip = self.metar.precip_1h_in
        try:
            return Observation(
                time=self.time,
                temperature_f=self.temperature_f,
                max_temp_6h_f=None if self.metar is None else self.metar.max_6h_f,
                min_temp_6h_f=None if self.metar is None else self.metar.min_6h_f,
                max_temp_24h_f=self.max_temp_24h_f if self.max_temp_24h_f is not None else (
                    None if self.metar is None else self.metar.max_24h_f),
                min_temp_24h_f=self.min_temp_24h_f if self.min_temp_24h_f is not None else (
                    None if self.metar is None else self.metar.min_24h_f),
                precip_1h_in=precip,
                raw_message=self.raw_message,
            )
        except ValidationError as e:
            raise MalformedPayload(f"observation at {self.time.isoformat()}: {_first_error(e)}") from e


def parse_observations(payload: Any, *, source: str = "observations") -> tuple[ObservationReading, ...]:
    """``/stations/{id}/observations``: every reading that has a timestamp, oldest first.

    An entry with no timestamp and no value at all is the API's "nothing here" placeholder and is
    skipped; an entry with values but no timestamp is malformed."""
    where = f"observation collection {source}"
    readings = []
    for index, props in enumerate(_feature_properties(payload, where)):
        reading = _observation(props, f"{where} feature {index}")
        if reading is not None:
            readings.append(reading)
    return tuple(sorted(readings, key=lambda r: r.time))


def parse_latest_observation(payload: Any, *, source: str = "latest observation") -> ObservationReading:
    """``/stations/{id}/observations/latest`` (a single Feature)."""
    where = f"latest observation {source}"
    reading = _observation(_properties(payload, where), where)
    if reading is None:
        raise MalformedPayload(f"{where} has no timestamp and no values")
    return reading


def prefer_metars(readings: tuple[ObservationReading, ...] | list[ObservationReading]
                  ) -> tuple[ObservationReading, ...]:
    """The readings to trade on: METARs when there are any, one per timestamp, oldest first.

    The observation list mixes hourly METARs (and SPECIs), whose T-group gives a tenth of a degree,
    with high-frequency readings that have no ``rawMessage`` and whose temperature went through a
    whole-degree °F round trip. When any METAR is present the others are dropped. Two entries
    with the same timestamp keep the better one: T-group, then any temperature, then the first."""
    with_metar = [r for r in readings if r.metar is not None]
    chosen = with_metar or list(readings)
    best: dict[datetime, ObservationReading] = {}
    for reading in chosen:
        current = best.get(reading.time)
        if current is None or _reading_rank(reading) > _reading_rank(current):
            best[reading.time] = reading
    return tuple(best[time] for time in sorted(best))


def _reading_rank(reading: ObservationReading) -> int:
    return {"metar_t_group": 3, "api": 2, "metar_body": 1, None: 0}[reading.temperature_source]


_OBSERVATION_VALUES = ("temperature", "dewpoint", "maxTemperatureLast24Hours", "minTemperatureLast24Hours",
                       "precipitationLastHour", "precipitationLast3Hours", "precipitationLast6Hours")


def _observation(props: Mapping[str, Any], where: str) -> ObservationReading | None:
    raw_message = props.get("rawMessage")
    if raw_message is not None and not isinstance(raw_message, str):
        raise MalformedPayload(f"{where} 'rawMessage' is not text")
    values = {name: _observation_quantity(props, name, where) for name in _OBSERVATION_VALUES}
    if props.get("timestamp") is None:
        if raw_message or any(v[0] is not None for v in values.values()):
            raise MalformedPayload(f"{where} has values but no 'timestamp'")
        return None
    time = _required_time(props, "timestamp", where)
    station = props.get("station")
    metar = parse_metar(raw_message)
    if metar is not None and not _same_minute(metar, time):
        # The METAR's own day-hour-minute group names another observation than this timestamp:
        # its values are not this reading's. The text is kept; its numbers are not used.
        metar = None
    return ObservationReading(
        time=time,
        station=station.rstrip("/").rsplit("/", 1)[-1] if isinstance(station, str) and station else None,
        raw_message=raw_message or None,
        metar=metar,
        api_temperature_f=_to_fahrenheit(*values["temperature"], f"{where} 'temperature'"),
        max_temp_24h_f=_to_fahrenheit(*values["maxTemperatureLast24Hours"],
                                      f"{where} 'maxTemperatureLast24Hours'"),
        min_temp_24h_f=_to_fahrenheit(*values["minTemperatureLast24Hours"],
                                      f"{where} 'minTemperatureLast24Hours'"),
        precip_1h_in=_to_inches(*values["precipitationLastHour"], f"{where} 'precipitationLastHour'"),
        precip_3h_in=_to_inches(*values["precipitationLast3Hours"], f"{where} 'precipitationLast3Hours'"),
        precip_6h_in=_to_inches(*values["precipitationLast6Hours"], f"{where} 'precipitationLast6Hours'"),
    )


def _same_minute(metar: MetarReport, time: datetime) -> bool:
    utc = time.astimezone(UTC)
    return (metar.day, metar.hour, metar.minute) == (utc.day, utc.hour, utc.minute)


def _observation_quantity(props: Mapping[str, Any], name: str, where: str) -> tuple[float | None, str | None]:
    raw = props.get(name)
    if raw is None:
        return None, None
    if not isinstance(raw, dict):
        raise MalformedPayload(f"{where} '{name}' is not a quantitative value")
    return _quantity(raw, f"{where} '{name}'")
