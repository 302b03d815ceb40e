"""api.weather.gov JSON, read into Milkbot's values: pure functions, no I/O, no clock.

The wire contract is ``shared/specs/nws-openapi.yaml``; what the API really sends is in the recorded
payloads (``shared/fixtures/nws/api``), and where the two differ we accept both:

* numbers arrive as numbers or as numeric strings (``"temperature": "41"``, ``"value": "10"``);
* ``gridX``/``gridY`` arrive as integers or as digit strings;
* unit codes arrive with the ``wmoUnit:``, ``unit:``, ``wmo:``, ``uc:`` or ``nwsUnit:`` namespace, or
  as bare UCUM codes (``Cel``, ``[degF]``);
* forecast periods carry ``probabilityOfPrecipitation``, ``dewpoint`` and ``relativeHumidity``,
  which the spec's ``GridpointForecastPeriod`` (``additionalProperties: false``) does not list;
* a forecast with no data is a list of periods whose every field is ``null``, and an observation
  with no data has a ``null`` timestamp (or no properties but ``@id``): those placeholders are
  skipped, and a forecast left with no period at all is a :class:`MalformedPayload`.

Units out: temperatures in °F, precipitation and snow in inches, probabilities as fractions 0..1.
``None`` always means "not reported", never zero. Anything that does not have the spec's shape is
a :class:`MalformedPayload` naming what was wrong and where; values are never guessed.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import ValidationError

from adapters.nws.errors import ForecastGridExpired, MalformedPayload, NwsProblem, StaleData
from adapters.nws.metar import MetarReport, celsius_to_fahrenheit, parse_metar
from domain.events.weather import ForecastPeriod, Observation

HOUR = timedelta(hours=1)

# ---------------------------------------------------------------------------------------------
# Values the adapter hands out (beside the domain's ForecastPeriod and Observation)


@dataclass(frozen=True)
class PointInfo:
    """What ``/points/{lat},{lon}`` says about a place: its forecast grid and where to look next."""

    grid_id: str
    grid_x: int
    grid_y: int
    forecast_url: str
    forecast_hourly_url: str
    forecast_grid_data_url: str
    observation_stations_url: str
    time_zone: str | None = None
    cwa: str | None = None
    forecast_zone_url: str | None = None


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
                precip_1h_in=precip,
                raw_message=self.raw_message,
            )
        except ValidationError as e:
            raise MalformedPayload(f"observation at {self.time.isoformat()}: {_first_error(e)}") from e


@dataclass(frozen=True)
class StationInfo:
    identifier: str
    name: str | None
    time_zone: str | None


@dataclass(frozen=True)
class ProductRef:
    """One entry of a text-product listing (``/products/types/{type}/locations/{site}``)."""

    id: str
    issuance_time: datetime
    product_code: str | None
    issuing_office: str | None
    wmo_collective_id: str | None
    product_name: str | None


@dataclass(frozen=True)
class TextProduct:
    id: str
    issuance_time: datetime | None
    product_code: str | None
    issuing_office: str | None
    text: str


@dataclass(frozen=True)
class NwsAlert:
    id: str
    event: str
    severity: str | None
    urgency: str | None
    certainty: str | None
    status: str | None
    message_type: str | None
    headline: str | None
    area: str | None
    sent: datetime | None
    effective: datetime | None
    onset: datetime | None
    expires: datetime | None
    ends: datetime | None
    affected_zones: tuple[str, ...] = ()


# ---------------------------------------------------------------------------------------------
# Points, stations


def parse_point(payload: Any, *, source: str = "/points") -> PointInfo:
    """``/points/{lat},{lon}``: the forecast grid and the URLs for a place."""
    props = _properties(payload, f"points payload {source}")
    where = f"points payload {source}"
    return PointInfo(
        grid_id=_required_str(props, "gridId", where),
        grid_x=_grid_index(props, "gridX", where),
        grid_y=_grid_index(props, "gridY", where),
        forecast_url=_required_str(props, "forecast", where),
        forecast_hourly_url=_required_str(props, "forecastHourly", where),
        forecast_grid_data_url=_required_str(props, "forecastGridData", where),
        observation_stations_url=_required_str(props, "observationStations", where),
        time_zone=_optional_str(props, "timeZone", where),
        cwa=_optional_str(props, "cwa", where),
        forecast_zone_url=_optional_str(props, "forecastZone", where),
    )


def parse_stations(payload: Any, *, source: str = "stations") -> tuple[StationInfo, ...]:
    """An observation-station collection (``/gridpoints/{wfo}/{x},{y}/stations``), in API order."""
    where = f"station collection {source}"
    stations = []
    for index, props in enumerate(_feature_properties(payload, where)):
        item = f"{where} feature {index}"
        stations.append(StationInfo(identifier=_required_str(props, "stationIdentifier", item),
                                    name=_optional_str(props, "name", item),
                                    time_zone=_optional_str(props, "timeZone", item)))
    return tuple(stations)


# ---------------------------------------------------------------------------------------------
# Forecasts


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


# ---------------------------------------------------------------------------------------------
# Raw gridpoint data

TEMPERATURE_LAYERS = frozenset({"temperature", "dewpoint", "maxTemperature", "minTemperature",
                                "apparentTemperature", "heatIndex", "windChill"})
ACCUMULATION_LAYERS = frozenset({"quantitativePrecipitation", "snowfallAmount", "iceAccumulation"})
PERCENT_LAYERS = frozenset({"probabilityOfPrecipitation", "skyCover", "relativeHumidity"})


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


_DURATION = re.compile(r"P(?:(?P<Y>\d+)Y)?(?:(?P<M>\d+)M)?(?:(?P<W>\d+)W)?(?:(?P<D>\d+)D)?"
                       r"(?:T(?:(?P<h>\d+)H)?(?:(?P<m>\d+)M)?(?:(?P<s>\d+(?:\.\d+)?)S)?)?")


def parse_duration(text: str, *, where: str = "duration") -> timedelta:
    """An ISO-8601 duration such as ``PT3H`` or ``P6DT22H`` (weeks, days, hours, minutes, seconds).

    Years and months have no fixed length, and the API never uses them for grid data: refused."""
    match = _DURATION.fullmatch(text) if isinstance(text, str) else None
    if match is None or text in ("P", "PT") or text.endswith("T"):
        raise MalformedPayload(f"{where}: {_show(text)} is not an ISO-8601 duration")
    if int(match["Y"] or 0) or int(match["M"] or 0):
        raise MalformedPayload(f"{where}: {text!r} uses years or months, which have no fixed length")
    return timedelta(weeks=int(match["W"] or 0), days=int(match["D"] or 0), hours=int(match["h"] or 0),
                     minutes=int(match["m"] or 0), seconds=float(match["s"] or 0))


def parse_interval(text: Any, *, now: datetime | None = None,
                   where: str = "interval") -> tuple[datetime, datetime]:
    """An ISO-8601 interval: ``start/end``, ``start/duration`` or ``duration/end`` (``NOW`` allowed
    for either end when ``now`` is given). Returns ``(start, end)`` with ``start < end``."""
    if not isinstance(text, str) or text.count("/") != 1:
        raise MalformedPayload(f"{where}: {_show(text)} is not an ISO-8601 interval")
    first, second = text.split("/")
    if first.startswith("P"):
        end = _interval_time(second, now, where)
        start = end - parse_duration(first, where=where)
    else:
        start = _interval_time(first, now, where)
        end = start + parse_duration(second, where=where) if second.startswith("P") \
            else _interval_time(second, now, where)
    if end <= start:
        raise MalformedPayload(f"{where}: interval {text!r} does not move forward in time")
    return start, end


def _interval_time(text: str, now: datetime | None, where: str) -> datetime:
    if text == "NOW":
        if now is None:
            raise MalformedPayload(f"{where}: an interval relative to NOW needs the time it was read")
        return now
    return _parse_time(text, where)


def _utc_hours(start: datetime, end: datetime) -> Iterator[datetime]:
    hour = start.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    while hour < end:
        yield hour
        hour += HOUR


# ---------------------------------------------------------------------------------------------
# Observations


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


# ---------------------------------------------------------------------------------------------
# Text products, alerts


def parse_product_list(payload: Any, *, source: str = "products") -> tuple[ProductRef, ...]:
    """A text-product listing (``@graph``), newest ``issuanceTime`` first."""
    where = f"product list {source}"
    if not isinstance(payload, dict):
        raise MalformedPayload(f"{where} is not a JSON object")
    graph = payload.get("@graph")
    if not isinstance(graph, list):
        raise MalformedPayload(f"{where} has no '@graph' list")
    refs = []
    for index, raw in enumerate(graph):
        item = f"{where} entry {index}"
        if not isinstance(raw, dict):
            raise MalformedPayload(f"{item} is not an object")
        refs.append(ProductRef(
            id=_required_str(raw, "id", item),
            issuance_time=_required_time(raw, "issuanceTime", item),
            product_code=_optional_str(raw, "productCode", item),
            issuing_office=_optional_str(raw, "issuingOffice", item),
            wmo_collective_id=_optional_str(raw, "wmoCollectiveId", item),
            product_name=_optional_str(raw, "productName", item),
        ))
    return tuple(sorted(refs, key=lambda r: (r.issuance_time, r.id), reverse=True))


def parse_product(payload: Any, *, source: str = "product") -> TextProduct:
    """``/products/{id}``: the product's text, untouched (parsing it is the CLI parser's job)."""
    where = f"product {source}"
    if not isinstance(payload, dict):
        raise MalformedPayload(f"{where} is not a JSON object")
    text = payload.get("productText")
    if not isinstance(text, str) or not text.strip():
        raise MalformedPayload(f"{where} has no 'productText'")
    return TextProduct(id=_required_str(payload, "id", where),
                       issuance_time=_optional_time(payload, "issuanceTime", where),
                       product_code=_optional_str(payload, "productCode", where),
                       issuing_office=_optional_str(payload, "issuingOffice", where),
                       text=text)


def parse_alerts(payload: Any, *, source: str = "alerts") -> tuple[NwsAlert, ...]:
    """An alert collection (``/alerts/active/zone/{zone}``), in API order."""
    where = f"alert collection {source}"
    alerts = []
    for index, props in enumerate(_feature_properties(payload, where)):
        item = f"{where} feature {index}"
        zones = props.get("affectedZones") or []
        if not isinstance(zones, list) or not all(isinstance(z, str) for z in zones):
            raise MalformedPayload(f"{item} 'affectedZones' is not a list of URLs")
        alerts.append(NwsAlert(
            id=_required_str(props, "id", item), event=_required_str(props, "event", item),
            severity=_optional_str(props, "severity", item), urgency=_optional_str(props, "urgency", item),
            certainty=_optional_str(props, "certainty", item), status=_optional_str(props, "status", item),
            message_type=_optional_str(props, "messageType", item),
            headline=_optional_str(props, "headline", item), area=_optional_str(props, "areaDesc", item),
            sent=_optional_time(props, "sent", item), effective=_optional_time(props, "effective", item),
            onset=_optional_time(props, "onset", item), expires=_optional_time(props, "expires", item),
            ends=_optional_time(props, "ends", item), affected_zones=tuple(zones),
        ))
    return tuple(alerts)


# ---------------------------------------------------------------------------------------------
# Errors and staleness


def problem_from_json(payload: Any, *, status: int, path: str = "",
                      correlation_id: str | None = None) -> NwsProblem:
    """A problem+json body (RFC 7807) as :class:`NwsProblem`, or :class:`ForecastGridExpired` when
    its ``type`` or ``title`` says the forecast grid expired. ``correlation_id`` (from the
    ``X-Correlation-Id`` header) is used when the body has none."""
    body = payload if isinstance(payload, dict) else {}

    def text(key: str) -> str:
        value = body.get(key)
        return value if isinstance(value, str) else ""

    body_status = body.get("status")
    if isinstance(body_status, int | float) and not isinstance(body_status, bool) \
            and math.isfinite(body_status) and 100 <= body_status <= 999:
        status = int(body_status)
    type_, title = text("type"), text("title") or "error"
    cls = ForecastGridExpired if is_forecast_grid_expired(type_, title) else NwsProblem
    return cls(status, title, text("detail"), type_=type_,
               correlation_id=text("correlationId") or correlation_id, path=path)


def is_forecast_grid_expired(type_: str, title: str) -> bool:
    # type is a URI such as https://api.weather.gov/problems/ForecastGridExpired; title reads
    # "Forecast Grid Expired".
    last = re.split(r"[/:#]", type_.rstrip("/"))[-1]
    return last == "ForecastGridExpired" or title.replace(" ", "").lower() == "forecastgridexpired"


def age(stamp: datetime, now: datetime) -> timedelta:
    """How old a provider time is at ``now`` (negative when the provider's clock is ahead)."""
    return now - stamp


def ensure_fresh(what: str, stamp: datetime | None, *, now: datetime, max_age: timedelta) -> None:
    """Raises :class:`StaleData` when ``stamp`` is older than ``max_age`` at ``now``, or missing."""
    if stamp is None:
        raise StaleData(f"{what} carries no time, so its freshness cannot be judged")
    if now - stamp > max_age:
        raise StaleData(f"{what} is from {stamp.isoformat()}, {_duration_words(now - stamp)} old "
                        f"(limit {_duration_words(max_age)})")


def _duration_words(delta: timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m" if hours else f"{minutes}m"


# ---------------------------------------------------------------------------------------------
# Shapes, numbers, units, times


def _properties(payload: Any, where: str) -> Mapping[str, Any]:
    """A GeoJSON Feature's ``properties``, or the object itself for JSON-LD (flat) answers."""
    if not isinstance(payload, dict) or not payload:
        raise MalformedPayload(f"{where} is empty or not a JSON object")
    if "properties" in payload:
        props = payload["properties"]
        if not isinstance(props, dict):
            raise MalformedPayload(f"{where} 'properties' is not an object")
        return props
    if payload.get("type") == "Feature":
        raise MalformedPayload(f"{where} is a Feature without 'properties'")
    return payload


def _feature_properties(payload: Any, where: str) -> list[Mapping[str, Any]]:
    """The properties of each feature of a FeatureCollection, or each ``@graph`` entry."""
    if not isinstance(payload, dict):
        raise MalformedPayload(f"{where} is empty or not a JSON object")
    if "features" in payload:
        features = payload["features"]
        if not isinstance(features, list):
            raise MalformedPayload(f"{where} 'features' is not a list")
        out: list[Mapping[str, Any]] = []
        for index, feature in enumerate(features):
            props = feature.get("properties") if isinstance(feature, dict) else None
            if not isinstance(props, dict):
                raise MalformedPayload(f"{where} feature {index} has no 'properties' object")
            out.append(props)
        return out
    graph = payload.get("@graph")
    if isinstance(graph, list) and all(isinstance(item, dict) for item in graph):
        return list(graph)
    raise MalformedPayload(f"{where} has no 'features' list")


def _required_str(obj: Mapping[str, Any], key: str, where: str) -> str:
    value = obj.get(key)
    if not isinstance(value, str) or not value:
        raise MalformedPayload(f"{where} has no {key!r}" if value in (None, "") else
                               f"{where} {key!r} is not text: {_show(value)}")
    return value


def _optional_str(obj: Mapping[str, Any], key: str, where: str) -> str | None:
    value = obj.get(key)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise MalformedPayload(f"{where} {key!r} is not text: {_show(value)}")
    return value


def _grid_index(obj: Mapping[str, Any], key: str, where: str) -> int:
    # The spec says integer; real answers have sent "58" as well as 58.
    value = obj.get(key)
    if value is None:
        raise MalformedPayload(f"{where} has no {key!r}")
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, str) and value.strip().isdigit():
        number = int(value.strip())
    else:
        raise MalformedPayload(f"{where} {key!r} is not a grid index: {_show(value)}")
    if number < 0:
        raise MalformedPayload(f"{where} {key!r} is negative: {number}")
    return number


def _number(value: Any, where: str) -> float | None:
    """A JSON number, or a numeric string (the API has sent both); ``None`` stays ``None``."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise MalformedPayload(f"{where} is a boolean, not a number")
    if isinstance(value, int | float):
        number = float(value)
    elif isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            raise MalformedPayload(f"{where} is not a number: {_show(value)}") from None
    else:
        raise MalformedPayload(f"{where} is not a number: {_show(value)}")
    if not math.isfinite(number):
        raise MalformedPayload(f"{where} is not a finite number: {_show(value)}")
    return number


def _quantity(raw: Mapping[str, Any], where: str) -> tuple[float | None, str | None]:
    """A QuantitativeValue's value and normalised unit code."""
    return _number(raw.get("value"), where), _unit(raw.get("unitCode"))


_UNIT_ALIASES = {"Cel": "degC", "[degF]": "degF", "[in_i]": "in", "%": "percent"}


def _unit(code: Any) -> str | None:
    """``wmoUnit:degC``, ``unit:degC``, ``uc:Cel``... -> ``degC``."""
    if not isinstance(code, str) or not code:
        return None
    bare = re.sub(r"^(?:wmoUnit|wmo|unit|uc|nwsUnit):", "", code)
    return _UNIT_ALIASES.get(bare, bare)


def _to_fahrenheit(value: float | None, unit: str | None, where: str) -> float | None:
    if value is None:
        return None
    if unit == "degF":
        return round(value, 2)
    if unit == "degC":
        return celsius_to_fahrenheit(value)
    if unit == "K":
        return celsius_to_fahrenheit(value - 273.15)
    raise MalformedPayload(f"{where} has temperature unit {unit!r}, not degC, degF or K")


_INCHES_PER = {"in": 1.0, "mm": 1 / 25.4, "cm": 1 / 2.54, "m": 1 / 0.0254}


def _to_inches(value: float | None, unit: str | None, where: str) -> float | None:
    if value is None:
        return None
    if unit not in _INCHES_PER:
        raise MalformedPayload(f"{where} has length unit {unit!r}, not mm, cm, m or in")
    # Six places strip float noise and keep a month of split hourly amounts summing true to 0.01".
    return round(value * _INCHES_PER[unit], 6)


def _percent_to_fraction(value: float | None) -> float | None:
    return None if value is None else round(value / 100, 6)


def _parse_time(value: Any, where: str) -> datetime:
    if not isinstance(value, str):
        raise MalformedPayload(f"{where} is not an ISO-8601 time: {_show(value)}")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise MalformedPayload(f"{where} is not an ISO-8601 time: {_show(value)}") from None
    if parsed.tzinfo is None:
        raise MalformedPayload(f"{where} has no UTC offset: {value!r}")
    return parsed


def _required_time(obj: Mapping[str, Any], key: str, where: str) -> datetime:
    if obj.get(key) is None:
        raise MalformedPayload(f"{where} has no {key!r}")
    return _parse_time(obj[key], f"{where} {key!r}")


def _optional_time(obj: Mapping[str, Any], key: str, where: str) -> datetime | None:
    return None if obj.get(key) is None else _parse_time(obj[key], f"{where} {key!r}")


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


def _first_error(error: ValidationError) -> str:
    first = error.errors()[0]
    return f"{'.'.join(str(p) for p in first['loc'])}: {first['msg']}"


def _show(value: Any) -> str:
    """A short rendering of a bad value for an error message; never a whole payload."""
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
