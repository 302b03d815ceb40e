"""Raw numerical gridpoint data (``/gridpoints/{wfo}/{x},{y}``): its temperature, probability and
accumulation layers, converted, and read as hourly or daily-extreme forecast periods."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from adapters.nws.errors import MalformedPayload
from adapters.nws.wire.forecast import _period
from adapters.nws.wire.intervals import HOUR, _utc_hours, parse_interval
from adapters.nws.wire.json_fields import (
    _grid_index,
    _number,
    _optional_str,
    _optional_time,
    _percent_to_fraction,
    _properties,
    _to_fahrenheit,
    _to_inches,
    _unit,
)
from domain.events.weather import ForecastPeriod

TEMPERATURE_LAYERS = frozenset({"temperature", "dewpoint", "maxTemperature", "minTemperature",
                                "apparentTemperature", "heatIndex", "windChill"})
ACCUMULATION_LAYERS = frozenset({"quantitativePrecipitation", "snowfallAmount", "iceAccumulation"})
PERCENT_LAYERS = frozenset({"probabilityOfPrecipitation", "skyCover", "relativeHumidity"})


@dataclass(frozen=True)
class GridInterval:
    start: datetime
    end: datetime
    value: float | None


@dataclass(frozen=True)
class GridLayer:
    """One layer of raw gridpoint data, converted (``degF``, ``in`` or ``percent``)."""

    name: str
    unit: str
    #: An accumulation (precipitation, snow, ice) is a total over each interval; any other layer
    #: holds its value throughout the interval.
    accumulates: bool
    intervals: tuple[GridInterval, ...]

    def hourly(self) -> dict[datetime, float | None]:
        """The layer as one value per UTC hour.

        A level (temperature, probability) is repeated over each hour its interval covers. An
        accumulation is spread evenly over its interval, so the hours of a 6-hour total sum back
        to it; how the rain falls inside the 6 hours is not known, and this does not pretend to.
        A ``null`` value gives ``None`` for every hour it covers.
        """
        hours: dict[datetime, float | None] = {}
        for interval in self.intervals:
            duration = (interval.end - interval.start).total_seconds()
            for hour in _utc_hours(interval.start, interval.end):
                if interval.value is None:
                    hours[hour] = None
                elif not self.accumulates:
                    hours[hour] = interval.value
                else:
                    overlap = (min(hour + HOUR, interval.end) - max(hour, interval.start)).total_seconds()
                    # Not rounded: a month of hours must sum back to the intervals' totals.
                    share = interval.value * overlap / duration
                    previous = hours.get(hour, 0.0)
                    hours[hour] = None if previous is None else previous + share
        return dict(sorted(hours.items()))


@dataclass(frozen=True)
class Gridpoint:
    """Raw numerical forecast data for one 2.5 km grid square (``/gridpoints/{wfo}/{x},{y}``)."""

    grid_id: str | None
    grid_x: int | None
    grid_y: int | None
    update_time: datetime | None
    valid_times: tuple[datetime, datetime] | None
    layers: Mapping[str, GridLayer] = field(default_factory=dict)

    @property
    def issued_at(self) -> datetime | None:
        return self.update_time

    def layer(self, name: str) -> GridLayer | None:
        return self.layers.get(name)

    def hourly_periods(self) -> tuple[ForecastPeriod, ...]:
        """One period per UTC hour any of temperature, PoP, QPF or snowfall covers."""
        columns = {
            name: layer.hourly() if (layer := self.layers.get(name)) else {}
            for name in ("temperature", "probabilityOfPrecipitation", "quantitativePrecipitation",
                         "snowfallAmount")
        }
        hours = sorted({hour for column in columns.values() for hour in column})
        pop = columns["probabilityOfPrecipitation"]
        return tuple(
            _period(start=hour, end=hour + HOUR, where="gridpoint hour",
                    temperature_f=columns["temperature"].get(hour),
                    precip_probability=_percent_to_fraction(pop.get(hour)),
                    precip_in=columns["quantitativePrecipitation"].get(hour),
                    snow_in=columns["snowfallAmount"].get(hour))
            for hour in hours
        )

    def daily_extremes(self) -> tuple[ForecastPeriod, ...]:
        """``maxTemperature`` (daytime) and ``minTemperature`` (night) intervals as periods."""
        periods = [
            _period(start=interval.start, end=interval.end, is_daytime=daytime,
                    temperature_f=interval.value, where=f"gridpoint {name}")
            for name, daytime in (("maxTemperature", True), ("minTemperature", False))
            if (layer := self.layers.get(name))
            for interval in layer.intervals
        ]
        return tuple(sorted(periods, key=lambda p: p.start))


def parse_gridpoint(payload: Any, *, source: str = "gridpoint", now: datetime | None = None) -> Gridpoint:
    """``/gridpoints/{wfo}/{x},{y}``: the temperature, probability and accumulation layers.

    Other layers (wind, waves, fire weather...) are not read. ``now`` resolves an interval written
    with ``NOW``; without it such an interval is refused.
    """
    where = f"gridpoint {source}"
    props = _properties(payload, where)
    layers = {}
    for name in sorted(TEMPERATURE_LAYERS | ACCUMULATION_LAYERS | PERCENT_LAYERS):
        if props.get(name) is not None:
            layers[name] = _grid_layer(name, props[name], f"{where} '{name}'", now)
    valid = props.get("validTimes")
    return Gridpoint(
        grid_id=_optional_str(props, "gridId", where),
        grid_x=None if props.get("gridX") is None else _grid_index(props, "gridX", where),
        grid_y=None if props.get("gridY") is None else _grid_index(props, "gridY", where),
        update_time=_optional_time(props, "updateTime", where),
        valid_times=None if valid is None else parse_interval(valid, now=now, where=f"{where} validTimes"),
        layers=layers,
    )


def _grid_layer(name: str, raw: Any, where: str, now: datetime | None) -> GridLayer:
    if not isinstance(raw, dict) or not isinstance(raw.get("values"), list):
        raise MalformedPayload(f"{where} has no 'values' list")
    values = raw["values"]
    unit = _unit(raw.get("uom"))
    if values and unit is None:
        raise MalformedPayload(f"{where} has values but no 'uom'")
    intervals = []
    for index, entry in enumerate(values):
        item = f"{where} value {index}"
        if not isinstance(entry, dict) or "validTime" not in entry:
            raise MalformedPayload(f"{item} has no 'validTime'")
        start, end = parse_interval(entry["validTime"], now=now, where=item)
        value = _number(entry.get("value"), item)
        intervals.append(GridInterval(start, end, _convert_layer_value(name, value, unit, item)))
    out_unit = ("degF" if name in TEMPERATURE_LAYERS else "in" if name in ACCUMULATION_LAYERS
                else "percent")
    return GridLayer(name=name, unit=out_unit, accumulates=name in ACCUMULATION_LAYERS,
                     intervals=tuple(intervals))


def _convert_layer_value(name: str, value: float | None, unit: str | None, where: str) -> float | None:
    if name in TEMPERATURE_LAYERS:
        return _to_fahrenheit(value, unit, where)
    if name in ACCUMULATION_LAYERS:
        return _to_inches(value, unit, where)
    if value is not None and unit != "percent":
        raise MalformedPayload(f"{where} has unit {unit!r}, expected percent")
    return value
