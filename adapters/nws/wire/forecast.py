"""The 12-hour and hourly text forecasts (``/gridpoints/{wfo}/{x},{y}/forecast[/hourly]``), and the
checked builder of the domain's :class:`ForecastPeriod` that the raw grid uses too.

A forecast with no data is a list of periods whose every field is ``null``: those placeholders are
skipped, and a forecast left with no period at all is a :class:`MalformedPayload`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import ValidationError

from adapters.nws.errors import MalformedPayload
from adapters.nws.metar import celsius_to_fahrenheit
from adapters.nws.wire.json_fields import (
    _first_error,
    _number,
    _optional_str,
    _optional_time,
    _percent_to_fraction,
    _properties,
    _quantity,
    _required_time,
    _show,
    _to_fahrenheit,
)
from domain.events.weather import ForecastPeriod


@dataclass(frozen=True)
class Forecast:
    """A 12-hour or hourly forecast: its periods and the provider's own times."""

    periods: tuple[ForecastPeriod, ...]
    #: When the data this forecast was made from last changed (``updateTime``).
    update_time: datetime | None
    #: When the text forecast was generated from it (``generatedAt``); always recent, so it says
    #: little about freshness on its own.
    generated_at: datetime | None
    units: str | None = None

    @property
    def issued_at(self) -> datetime | None:
        """The time to judge staleness by: ``updateTime``, else ``generatedAt``."""
        return self.update_time or self.generated_at


def parse_forecast(payload: Any, *, source: str = "forecast") -> Forecast:
    """``/gridpoints/{wfo}/{x},{y}/forecast`` and ``.../forecast/hourly``."""
    where = f"forecast {source}"
    props = _properties(payload, where)
    units = _optional_str(props, "units", where)
    raw_periods = props.get("periods")
    if not isinstance(raw_periods, list):
        raise MalformedPayload(f"{where} has no 'periods' list")
    periods = []
    placeholders = 0
    for index, raw in enumerate(raw_periods):
        item = f"{where} period {index + 1}"
        if not isinstance(raw, dict):
            raise MalformedPayload(f"{item} is not an object")
        if _is_placeholder_period(raw):
            placeholders += 1
            continue
        periods.append(_forecast_period(raw, units, item))
    if not periods:
        why = f" ({placeholders} placeholder periods with every field null)" if placeholders else ""
        raise MalformedPayload(f"{where} has no forecast periods{why}")
    update_time = _optional_time(props, "updateTime", where) or _optional_time(props, "updated", where)
    return Forecast(periods=tuple(periods), update_time=update_time,
                    generated_at=_optional_time(props, "generatedAt", where), units=units)


def _is_placeholder_period(raw: Mapping[str, Any]) -> bool:
    # The API's "no forecast" answer keeps the period's keys and nulls their values.
    return all(raw.get(key) is None
               for key in ("startTime", "endTime", "temperature", "isDaytime", "number"))


def _forecast_period(raw: Mapping[str, Any], units: str | None, where: str) -> ForecastPeriod:
    start = _required_time(raw, "startTime", where)
    end = _required_time(raw, "endTime", where)
    is_daytime = raw.get("isDaytime")
    if is_daytime is not None and not isinstance(is_daytime, bool):
        raise MalformedPayload(f"{where} 'isDaytime' is not a boolean: {_show(is_daytime)}")
    pop = raw.get("probabilityOfPrecipitation")
    if isinstance(pop, dict):
        pop_value, pop_unit = _quantity(pop, f"{where} 'probabilityOfPrecipitation'")
        if pop_value is not None and pop_unit not in (None, "percent"):
            raise MalformedPayload(f"{where} 'probabilityOfPrecipitation' has unit {pop_unit!r}")
    else:
        pop_value = _number(pop, f"{where} 'probabilityOfPrecipitation'")
    return _period(start=start, end=end, is_daytime=is_daytime, where=where,
                   temperature_f=_period_temperature(raw, units, where),
                   precip_probability=_percent_to_fraction(pop_value))


def _period_temperature(raw: Mapping[str, Any], units: str | None, where: str) -> float | None:
    temperature = raw.get("temperature")
    if isinstance(temperature, dict):  # the "forecast_temperature_qv" feature flag
        value, unit = _quantity(temperature, f"{where} 'temperature'")
        return _to_fahrenheit(value, unit, f"{where} 'temperature'")
    value = _number(temperature, f"{where} 'temperature'")
    if value is None:
        return None
    unit = raw.get("temperatureUnit")
    if unit is None:  # deprecated field; the forecast's own `units` says which scale the text uses
        unit = {"us": "F", "si": "C"}.get(units or "")
    if unit == "F":
        return value
    if unit == "C":
        return celsius_to_fahrenheit(value)
    raise MalformedPayload(f"{where} 'temperatureUnit' is {_show(unit)}, expected 'F' or 'C'")


def _period(*, start: datetime, end: datetime, where: str, is_daytime: bool | None = None,
            temperature_f: float | None = None, precip_probability: float | None = None,
            precip_in: float | None = None, snow_in: float | None = None) -> ForecastPeriod:
    if end <= start:
        raise MalformedPayload(f"{where} ends ({end.isoformat()}) before it starts ({start.isoformat()})")
    try:
        return ForecastPeriod(start=start, end=end, is_daytime=is_daytime, temperature_f=temperature_f,
                              precip_probability=precip_probability, precip_in=precip_in, snow_in=snow_in)
    except ValidationError as e:
        raise MalformedPayload(f"{where}: {_first_error(e)}") from e
