"""api.weather.gov JSON into Milkbot's values: every recorded payload, with the numbers asserted."""

from __future__ import annotations

import contextlib
import copy
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters.nws import wire
from adapters.nws.errors import ForecastGridExpired, MalformedPayload, NwsProblem, StaleData
from domain.events.weather import ForecastPeriod, Observation
from tests import paths

FIXTURES = paths.FIXTURES / "nws/api"


def load(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


# ---------------------------------------------------------------------------------------------
# points, stations, alerts


def test_points() -> None:
    point = wire.parse_point(load("points.json"))
    assert point == wire.PointInfo(
        grid_id="TAE", grid_x=58, grid_y=65,
        forecast_url="https://api.weather.gov/gridpoints/TAE/58,65/forecast",
        forecast_hourly_url="https://api.weather.gov/gridpoints/TAE/58,65/forecast/hourly",
        forecast_grid_data_url="https://api.weather.gov/gridpoints/TAE/58,65",
        observation_stations_url="https://api.weather.gov/gridpoints/TAE/58,65/stations",
        time_zone="America/New_York", cwa="TAE",
        forecast_zone_url="https://api.weather.gov/zones/forecast/FLZ015",
    )


def test_points_grid_indexes_may_be_strings() -> None:
    payload = load("points.json")
    payload["properties"].update(gridX="58", gridY=" 65")
    point = wire.parse_point(payload)
    assert (point.grid_x, point.grid_y) == (58, 65)


def test_points_as_flat_json_ld() -> None:
    point = wire.parse_point(load("points.json")["properties"])
    assert point.grid_id == "TAE"


@pytest.mark.parametrize(("change", "message"), [
    ({"gridId": None}, "has no 'gridId'"),
    ({"gridX": None}, "has no 'gridX'"),
    ({"gridX": -1}, "'gridX' is negative"),
    ({"gridY": "6.5"}, "'gridY' is not a grid index"),
    ({"gridX": True}, "'gridX' is not a grid index: True"),
    ({"forecastHourly": None}, "has no 'forecastHourly'"),
    ({"observationStations": 7}, "'observationStations' is not text: 7"),
    ({"timeZone": ["America/New_York"]}, "'timeZone' is not text"),
])
def test_points_without_their_shape_are_malformed_by_name(change: dict[str, Any], message: str) -> None:
    payload = load("points.json")
    payload["properties"].update(change)
    with pytest.raises(MalformedPayload, match=message):
        wire.parse_point(payload, source="/points/30,-85")


@pytest.mark.parametrize("payload", [None, {}, [], "points", {"type": "Feature", "geometry": None},
                                     {"properties": []}])
def test_points_that_are_not_an_object_are_malformed(payload: Any) -> None:
    with pytest.raises(MalformedPayload, match="points payload"):
        wire.parse_point(payload)


def test_gridpoint_stations_in_api_order() -> None:
    payload = load("gridpoints_stations.json")
    stations = wire.parse_stations(payload)
    expected = [f["properties"]["stationIdentifier"] for f in payload["features"]]
    assert len(stations) == len(expected) == 41
    assert [s.identifier for s in stations] == expected
    assert stations[0] == wire.StationInfo("KCMH", "John Glenn Columbus International Airport",
                                           "America/New_York")
    assert stations[-1].identifier == "KSDF"


@pytest.mark.parametrize(("name", "ids"), [
    ("alerts_active_zone.json", ["NWS-IDP-PROD-3965873-3369046"]),
    ("alerts_active_zone_second.json", ["NWS-IDP-PROD-3965873-3369046", "NWS-IDP-PROD-3965873-001"]),
])
def test_active_alerts(name: str, ids: list[str]) -> None:
    alerts = wire.parse_alerts(load(name))
    assert [a.id for a in alerts] == ids
    first = alerts[0]
    assert (first.event, first.severity) == ("Flood Watch", "Severe")
    assert (first.urgency, first.certainty) == ("Future", "Possible")
    assert (first.status, first.message_type) == ("Actual", "Update")
    assert first.onset == datetime.fromisoformat("2019-12-20T13:34:00-08:00")
    assert first.ends == utc(2019, 12, 22, 18)
    assert first.expires == utc(2019, 12, 21, 13, 30)
    assert "https://api.weather.gov/zones/forecast/ORZ004" in first.affected_zones
    assert len(first.affected_zones) == 11
    assert first.headline is not None and first.headline.startswith("Flood Watch issued December 20")


# ---------------------------------------------------------------------------------------------
# forecasts


def period(start: str, end: str, *, daytime: bool | None, temperature: float | None,
           pop: float | None) -> ForecastPeriod:
    return ForecastPeriod(start=datetime.fromisoformat(start), end=datetime.fromisoformat(end),
                          is_daytime=daytime, temperature_f=temperature, precip_probability=pop)


AFTERNOON_AND_NIGHT = (
    period("2019-10-13T14:00:00-04:00", "2019-10-13T18:00:00-04:00", daytime=True, temperature=41.0,
           pop=0.2),
    period("2019-10-13T18:00:00-04:00", "2019-10-14T06:00:00-04:00", daytime=False, temperature=68.0,
           pop=None),
)


@pytest.mark.parametrize("name", ["gridpoints_forecast_us.json", "gridpoints_forecast_si.json",
                                  "gridpoints_forecast_relative_icon_us.json"])
def test_forecast_in_us_and_si_units_gives_the_same_fahrenheit(name: str) -> None:
    # The SI fixture says 5 °C and 20 °C where the US one says 41 °F and 68 °F.
    forecast = wire.parse_forecast(load(name))
    assert forecast.periods == AFTERNOON_AND_NIGHT
    assert forecast.update_time == utc(2019, 10, 13, 18, 16, 20)
    assert forecast.generated_at == utc(2019, 10, 13, 18, 42, 44)
    assert forecast.issued_at == forecast.update_time
    assert forecast.units == ("si" if "_si" in name else "us")


def test_forecast_with_numbers_as_strings() -> None:
    forecast = wire.parse_forecast(load("gridpoints_forecast_strings_us.json"))
    assert forecast.periods == AFTERNOON_AND_NIGHT[:1]


@pytest.mark.parametrize(("name", "first", "second"), [
    ("gridpoints_forecast_hourly_us.json", 78.0, 77.0),
    ("gridpoints_forecast_hourly_si.json", 77.9, 77.0),  # 25.5 °C and 25 °C
])
def test_hourly_forecast(name: str, first: float, second: float) -> None:
    forecast = wire.parse_forecast(load(name))
    assert forecast.periods == (
        period("2019-10-14T20:00:00-04:00", "2019-10-14T21:00:00-04:00", daytime=False, temperature=first,
               pop=0.2),
        period("2019-10-14T21:00:00-04:00", "2019-10-14T22:00:00-04:00", daytime=False, temperature=second,
               pop=0.2),
    )
    assert forecast.update_time == utc(2019, 10, 14, 23, 16, 24)
    assert forecast.generated_at == utc(2019, 10, 15, 0, 12, 54)


@pytest.mark.parametrize("name", ["gridpoints_forecast_empty_us.json",
                                  "gridpoints_forecast_hourly_empty_us.json"])
def test_an_empty_forecast_is_malformed_not_an_empty_list(name: str) -> None:
    with pytest.raises(MalformedPayload, match=r"has no forecast periods \(1 placeholder periods"):
        wire.parse_forecast(load(name), source="/gridpoints/TAE/58,65/forecast")


def test_forecast_temperature_as_a_quantitative_value() -> None:
    payload = load("gridpoints_forecast_us.json")
    first = payload["properties"]["periods"][0]
    del first["temperatureUnit"]
    first["temperature"] = {"unitCode": "wmoUnit:degC", "value": 5}
    payload["properties"]["periods"][1]["temperature"] = {"unitCode": "wmoUnit:degF", "value": None}
    periods = wire.parse_forecast(payload).periods
    assert [p.temperature_f for p in periods] == [41.0, None]


def test_forecast_temperature_unit_falls_back_to_the_forecast_units() -> None:
    payload = load("gridpoints_forecast_si.json")
    for raw in payload["properties"]["periods"]:
        del raw["temperatureUnit"]
    assert [p.temperature_f for p in wire.parse_forecast(payload).periods] == [41.0, 68.0]
    del payload["properties"]["units"]
    with pytest.raises(MalformedPayload, match="'temperatureUnit' is None, expected 'F' or 'C'"):
        wire.parse_forecast(payload)


def test_forecast_update_time_falls_back_to_the_deprecated_updated() -> None:
    payload = load("gridpoints_forecast_us.json")
    del payload["properties"]["updateTime"]
    assert wire.parse_forecast(payload).update_time == utc(2019, 10, 13, 18, 16, 20)
    del payload["properties"]["updated"]
    forecast = wire.parse_forecast(payload)
    assert forecast.update_time is None
    assert forecast.issued_at == utc(2019, 10, 13, 18, 42, 44)


@pytest.mark.parametrize(("change", "message"), [
    ({"startTime": None}, "period 1 has no 'startTime'"),
    ({"endTime": "tomorrow"}, "period 1 'endTime' is not an ISO-8601 time"),
    ({"endTime": "2019-10-13T18:00:00"}, "has no UTC offset"),
    ({"endTime": "2019-10-13T13:00:00-04:00"}, "ends .* before it starts"),
    ({"temperature": "warm"}, "'temperature' is not a number: 'warm'"),
    ({"temperature": float("nan")}, "not a finite number"),
    ({"isDaytime": "yes"}, "'isDaytime' is not a boolean"),
    ({"probabilityOfPrecipitation": {"unitCode": "wmoUnit:degC", "value": 20}}, "has unit 'degC'"),
    ({"temperatureUnit": "K"}, "'temperatureUnit' is 'K'"),
])
def test_a_broken_period_is_malformed_by_name(change: dict[str, Any], message: str) -> None:
    payload = load("gridpoints_forecast_us.json")
    payload["properties"]["periods"][0].update(change)
    with pytest.raises(MalformedPayload, match=message):
        wire.parse_forecast(payload)


@pytest.mark.parametrize(("properties", "message"), [
    ({}, "has no 'periods' list"),
    ({"periods": {}}, "has no 'periods' list"),
    ({"periods": []}, "has no forecast periods$"),
    ({"periods": ["x"]}, "period 1 is not an object"),
])
def test_a_forecast_without_periods_is_malformed(properties: dict[str, Any], message: str) -> None:
    with pytest.raises(MalformedPayload, match=message):
        wire.parse_forecast({"type": "Feature", "properties": properties})


# ---------------------------------------------------------------------------------------------
# raw gridpoint data (detailed_forecast.json is /gridpoints/TAE/58,65)


def f_from_c(celsius: float) -> float:
    return round(celsius * 9 / 5 + 32, 2)


def test_gridpoint_metadata_and_layers() -> None:
    grid = wire.parse_gridpoint(load("detailed_forecast.json"))
    assert (grid.grid_id, grid.grid_x, grid.grid_y) == ("TAE", 58, 65)
    assert grid.update_time == grid.issued_at == utc(2022, 2, 4, 3, 15, 41)
    assert grid.valid_times == (utc(2022, 2, 3, 21), utc(2022, 2, 11, 11))  # .../P7DT14H
    assert set(grid.layers) == wire.TEMPERATURE_LAYERS | wire.ACCUMULATION_LAYERS | wire.PERCENT_LAYERS
    assert grid.layer("windSpeed") is None
    temperature = grid.layers["temperature"]
    assert (temperature.unit, temperature.accumulates) == ("degF", False)
    assert grid.layers["quantitativePrecipitation"].unit == "in"
    assert grid.layers["quantitativePrecipitation"].accumulates
    assert grid.layers["probabilityOfPrecipitation"].unit == "percent"


def test_gridpoint_temperature_expands_to_hours_in_fahrenheit() -> None:
    raw = load("detailed_forecast.json")["properties"]["temperature"]["values"]
    hourly = wire.parse_gridpoint(load("detailed_forecast.json")).layers["temperature"].hourly()
    expected: dict[datetime, float] = {}
    for entry in raw:
        start, end = wire.parse_interval(entry["validTime"])
        hour = start
        while hour < end:
            expected[hour] = f_from_c(entry["value"])
            hour += timedelta(hours=1)
    assert hourly == expected
    assert hourly[utc(2022, 2, 3, 21)] == 73.0  # 22.777... °C
    # "2022-02-04T01:00:00+00:00/PT10H" at 18.888... °C is ten hours of 66 °F.
    assert [hourly[utc(2022, 2, 4, h)] for h in range(1, 11)] == [66.0] * 10
    assert utc(2022, 2, 4, 11) in hourly and hourly[utc(2022, 2, 4, 11)] != 66.0
    assert max(hourly) == utc(2022, 2, 11, 10)


def test_gridpoint_precipitation_is_spread_over_its_interval_in_inches() -> None:
    raw = load("detailed_forecast.json")["properties"]["quantitativePrecipitation"]["values"]
    layer = wire.parse_gridpoint(load("detailed_forecast.json")).layers["quantitativePrecipitation"]
    assert [i.value for i in layer.intervals] == [round(v["value"] / 25.4, 6) for v in raw]
    hourly = layer.hourly()
    # 2.032 mm over "2022-02-04T06:00:00+00:00/PT6H" is 0.08 in, 0.01333 in an hour.
    assert [hourly[utc(2022, 2, 4, h)] for h in range(6, 12)] == pytest.approx([0.08 / 6] * 6)
    total = sum(v for v in hourly.values() if v is not None)
    assert total == pytest.approx(sum(v["value"] for v in raw) / 25.4)
    assert total == pytest.approx(0.79)


def test_gridpoint_snowfall_of_zero_is_zero_and_not_missing() -> None:
    layer = wire.parse_gridpoint(load("detailed_forecast.json")).layers["snowfallAmount"]
    hourly = layer.hourly()
    assert len(layer.intervals) == 17
    assert set(hourly.values()) == {0.0}


def test_gridpoint_null_stays_none_for_every_hour_it_covers() -> None:
    layer = wire.parse_gridpoint(load("detailed_forecast.json")).layers["windChill"]
    hourly = layer.hourly()
    # "2022-02-03T21:00:00+00:00/P1DT6H" is null: 30 hours of no wind chill, not 0 °F.
    first_30 = [utc(2022, 2, 3, 21) + timedelta(hours=h) for h in range(30)]
    assert [hourly[h] for h in first_30] == [None] * 30
    assert hourly[utc(2022, 2, 5, 3)] == 47.0  # 8.333... °C


def test_gridpoint_hourly_periods() -> None:
    raw = load("detailed_forecast.json")["properties"]
    periods = wire.parse_gridpoint(load("detailed_forecast.json")).hourly_periods()
    hours: set[datetime] = set()
    for name in ("temperature", "probabilityOfPrecipitation", "quantitativePrecipitation", "snowfallAmount"):
        for entry in raw[name]["values"]:
            start, end = wire.parse_interval(entry["validTime"])
            hours.update(start + timedelta(hours=h) for h in range(int((end - start) / timedelta(hours=1))))
    assert [p.start for p in periods] == sorted(hours)
    assert all(p.end - p.start == timedelta(hours=1) for p in periods)
    first = periods[0]
    assert (first.temperature_f, first.precip_probability) == (73.0, 0.08)
    assert (first.precip_in, first.snow_in) == (0.0, 0.0)
    last = periods[-1]  # PoP runs to 2022-02-11T12:00Z, temperature only to 11:00Z
    assert last.start == utc(2022, 2, 11, 11)
    assert (last.temperature_f, last.precip_probability, last.precip_in) == (None, 0.16, None)


def test_gridpoint_daily_extremes() -> None:
    raw = load("detailed_forecast.json")["properties"]
    extremes = wire.parse_gridpoint(load("detailed_forecast.json")).daily_extremes()
    highs = [p for p in extremes if p.is_daytime]
    lows = [p for p in extremes if p.is_daytime is False]
    assert [p.temperature_f for p in highs] == [f_from_c(v["value"]) for v in raw["maxTemperature"]["values"]]
    assert [p.temperature_f for p in lows] == [f_from_c(v["value"]) for v in raw["minTemperature"]["values"]]
    assert highs[1] == ForecastPeriod(start=utc(2022, 2, 4, 12), end=utc(2022, 2, 5, 1), is_daytime=True,
                                      temperature_f=72.0)
    assert [p.start for p in extremes] == sorted(p.start for p in extremes)


def test_gridpoint_layer_without_unit_or_with_a_foreign_unit_is_malformed() -> None:
    payload = load("detailed_forecast.json")
    del payload["properties"]["temperature"]["uom"]
    with pytest.raises(MalformedPayload, match="'temperature' has values but no 'uom'"):
        wire.parse_gridpoint(payload)
    payload = load("detailed_forecast.json")
    payload["properties"]["snowfallAmount"]["uom"] = "wmoUnit:degC"
    with pytest.raises(MalformedPayload, match="length unit 'degC'"):
        wire.parse_gridpoint(payload)


def test_gridpoint_units_other_than_the_recorded_ones() -> None:
    def layer(uom: str, value: Any, duration: str = "PT1H") -> dict[str, Any]:
        return {"uom": uom, "values": [{"validTime": f"2022-02-04T00:00:00Z/{duration}", "value": value}]}

    grid = wire.parse_gridpoint({"properties": {
        "temperature": layer("K", 273.15),
        "maxTemperature": layer("[degF]", "71"),
        "quantitativePrecipitation": layer("wmoUnit:m", 0.0254, "PT2H"),
        "snowfallAmount": layer("uc:cm", 2.54),
        "probabilityOfPrecipitation": {"uom": "%", "values": []},
    }})
    assert grid.layers["temperature"].intervals[0].value == 32.0
    assert grid.layers["maxTemperature"].intervals[0].value == 71.0
    assert grid.layers["quantitativePrecipitation"].hourly() == {utc(2022, 2, 4, 0): 0.5,
                                                                 utc(2022, 2, 4, 1): 0.5}
    assert grid.layers["snowfallAmount"].intervals[0].value == 1.0
    assert grid.layers["probabilityOfPrecipitation"].hourly() == {}
    assert grid.update_time is None and grid.grid_id is None


@pytest.mark.parametrize(("text", "start", "end"), [
    ("2019-06-26T18:00:00+00:00/PT3H", utc(2019, 6, 26, 18), utc(2019, 6, 26, 21)),
    ("2022-02-03T21:00:00+00:00/P7DT14H", utc(2022, 2, 3, 21), utc(2022, 2, 11, 11)),
    ("2022-02-03T21:00:00+00:00/P1W", utc(2022, 2, 3, 21), utc(2022, 2, 10, 21)),
    ("2007-03-01T13:00:00Z/2008-05-11T15:30:00Z", utc(2007, 3, 1, 13), utc(2008, 5, 11, 15, 30)),
    ("PT2H30M/2008-05-11T15:30:00Z", utc(2008, 5, 11, 13), utc(2008, 5, 11, 15, 30)),
    ("2019-06-26T18:00:00-05:00/PT90S", utc(2019, 6, 26, 23), utc(2019, 6, 26, 23, 1, 30)),
])
def test_iso_8601_intervals(text: str, start: datetime, end: datetime) -> None:
    assert wire.parse_interval(text) == (start, end)


def test_an_interval_relative_to_now_needs_now() -> None:
    now = utc(2026, 8, 28, 12)
    assert wire.parse_interval("NOW/PT1H", now=now) == (now, now + timedelta(hours=1))
    assert wire.parse_interval("PT1H/NOW", now=now) == (now - timedelta(hours=1), now)
    with pytest.raises(MalformedPayload, match="relative to NOW needs"):
        wire.parse_interval("NOW/PT1H")


@pytest.mark.parametrize(("text", "message"), [
    ("2019-06-26T18:00:00+00:00", "not an ISO-8601 interval"),
    ("2019-06-26T18:00:00+00:00/PT3H/PT1H", "not an ISO-8601 interval"),
    (None, "not an ISO-8601 interval"),
    ("2019-06-26T18:00:00+00:00/P", "not an ISO-8601 duration"),
    ("2019-06-26T18:00:00+00:00/PT", "not an ISO-8601 duration"),
    ("2019-06-26T18:00:00+00:00/P1DT", "not an ISO-8601 duration"),
    ("2019-06-26T18:00:00+00:00/3H", "not an ISO-8601 time"),
    ("2019-06-26T18:00:00+00:00/PT0H", "does not move forward"),
    ("2019-06-26T18:00:00+00:00/2019-06-26T17:00:00+00:00", "does not move forward"),
    ("2019-06-26T18:00:00+00:00/P1M", "years or months"),
    ("2019-06-26T18:00:00/PT1H", "has no UTC offset"),
])
def test_bad_intervals_are_malformed(text: Any, message: str) -> None:
    with pytest.raises(MalformedPayload, match=message):
        wire.parse_interval(text)


# ---------------------------------------------------------------------------------------------
# observations

KFLL_TIME = utc(2019, 6, 27, 10, 53)
KFLL_RAW = "KFLL 271053Z 35005KT 10SM FEW025 FEW250 26/23 A3005 RMK AO2 SLP176 T02560228"


@pytest.mark.parametrize(("name", "api_temperature_f"), [
    ("stations_observations.json", 50.0),                   # 10 unit:degC
    ("stations_observations_alternate_units.json", 10.0),   # 10 unit:degF
    ("stations_observations_other_unitcode.json", 50.0),    # 10 wmoUnit:degC
    ("stations_observations_relative_icon.json", 50.0),
    ("stations_observations_strings.json", 50.0),           # "10" unit:degC
    ("stations_observations_metar.json", None),             # null: the METAR alone tells
])
def test_one_observation(name: str, api_temperature_f: float | None) -> None:
    (reading,) = wire.parse_observations(load(name))
    assert reading.time == KFLL_TIME
    assert reading.station == "KFLL"
    assert reading.raw_message == KFLL_RAW
    assert reading.api_temperature_f == api_temperature_f
    # The METAR's T02560228 (25.6 °C) is preferred to whatever the API decoded.
    assert reading.temperature_source == "metar_t_group"
    assert reading.temperature_f == 78.08
    assert (reading.max_temp_24h_f, reading.min_temp_24h_f) == (None, None)
    assert (reading.precip_1h_in, reading.precip_3h_in, reading.precip_6h_in) == (None, None, None)
    assert reading.to_observation() == Observation(time=KFLL_TIME, temperature_f=78.08, raw_message=KFLL_RAW)


def test_an_unparseable_metar_leaves_only_what_the_api_said() -> None:
    (reading,) = wire.parse_observations(load("stations_observations_metar_noparse.json"))
    assert reading.raw_message == "A clearly wrong code"
    assert reading.metar is None
    assert reading.temperature_f is None and reading.temperature_source is None
    assert reading.to_observation() == Observation(time=KFLL_TIME, raw_message="A clearly wrong code")


@pytest.mark.parametrize("name", ["stations_observations_empty.json",      # every value null
                                  "stations_observations_missing_value.json",  # properties: only @id
                                  "stations_observations_noprop.json"])    # no features at all
def test_observations_with_nothing_in_them_give_no_reading(name: str) -> None:
    assert wire.parse_observations(load(name)) == ()


def test_the_latest_observation() -> None:
    reading = wire.parse_latest_observation(load("stations_observations_latest.json"))
    assert reading.time == utc(2022, 3, 2, 23, 53)
    assert reading.station == "KFLL"
    assert reading.api_temperature_f == 73.04  # 22.8 wmoUnit:degC
    assert reading.temperature_f == 73.04 and reading.temperature_source == "metar_t_group"
    assert reading.precip_6h_in == 0.0         # a measured 0 stays 0 ...
    assert reading.precip_1h_in is None        # ... and a null stays None
    assert reading.to_observation() == Observation(
        time=utc(2022, 3, 2, 23, 53), temperature_f=73.04, max_temp_6h_f=75.92, min_temp_6h_f=73.04,
        raw_message="KFLL 022353Z 02004KT 10SM FEW026 BKN055 23/18 A3008 RMK AO2 SLP187 60000 T02280183 "
                    "10244 20228 53008 $")


def test_a_latest_observation_without_timestamp_is_malformed() -> None:
    payload = load("stations_observations_latest.json")
    payload["properties"]["timestamp"] = None
    with pytest.raises(MalformedPayload, match="has values but no 'timestamp'"):
        wire.parse_latest_observation(payload)
    with pytest.raises(MalformedPayload, match="has no timestamp and no values"):
        wire.parse_latest_observation(load("stations_observations_missing_value.json")["features"][0])


def test_two_readings_at_one_time_keep_the_better_one() -> None:
    readings = wire.parse_observations(load("stations_observations_multiple.json"))
    assert [r.time for r in readings] == [KFLL_TIME, KFLL_TIME]
    assert [r.api_temperature_f for r in readings] == [None, 50.0]
    (chosen,) = wire.prefer_metars(readings)
    assert chosen.api_temperature_f is None  # both have the T-group: the first is kept
    assert chosen.temperature_f == 78.08


def test_unsorted_observations_come_out_oldest_first() -> None:
    readings = wire.parse_observations(load("stations_observations_multiple_unsorted.json"))
    assert [r.time for r in readings] == [utc(2019, 6, 27, 10, 50), KFLL_TIME]
    old, new = readings
    # The 10:50 reading carries a METAR stamped 271053Z: another observation's, so not used.
    assert old.metar is None and old.raw_message == KFLL_RAW
    assert old.api_temperature_f == -148.0 and old.temperature_source == "api"
    assert new.temperature_f == 78.08
    assert wire.prefer_metars(readings) == (new,)


def test_without_any_metar_every_reading_is_kept() -> None:
    payload = load("stations_observations_multiple_unsorted.json")
    for feature in payload["features"]:
        feature["properties"]["rawMessage"] = ""
    chosen = wire.prefer_metars(wire.parse_observations(payload))
    assert [(r.time, r.temperature_f) for r in chosen] == [(utc(2019, 6, 27, 10, 50), -148.0),
                                                           (KFLL_TIME, 50.0)]


def test_observation_units_and_precipitation() -> None:
    payload = load("stations_observations_latest.json")
    props = payload["properties"]
    props["temperature"] = {"unitCode": "wmoUnit:K", "value": 300.15}
    props["maxTemperatureLast24Hours"] = {"unitCode": "wmoUnit:degC", "value": 25.6}
    props["minTemperatureLast24Hours"] = {"unitCode": "unit:degF", "value": "70.1"}
    props["precipitationLastHour"] = {"unitCode": "wmoUnit:mm", "value": 2.54}
    props["precipitationLast3Hours"] = {"unitCode": "wmoUnit:m", "value": 0.00508}
    props["rawMessage"] = None
    reading = wire.parse_latest_observation(payload)
    assert reading.temperature_f == 80.6 and reading.temperature_source == "api"
    assert (reading.max_temp_24h_f, reading.min_temp_24h_f) == (78.08, 70.1)
    assert (reading.precip_1h_in, reading.precip_3h_in, reading.precip_6h_in) == (0.1, 0.2, 0.0)
    assert reading.to_observation().precip_1h_in == 0.1


def test_observation_hourly_precipitation_falls_back_to_the_metar() -> None:
    payload = load("stations_observations_latest.json")
    payload["properties"]["rawMessage"] = "KFLL 022353Z 02004KT 10SM 23/18 A3008 RMK AO2 P0007 T02280183"
    assert wire.parse_latest_observation(payload).to_observation().precip_1h_in == 0.07


@pytest.mark.parametrize(("change", "message"), [
    ({"temperature": {"unitCode": "wmoUnit:km_h-1", "value": 3}}, "temperature unit 'km_h-1'"),
    ({"temperature": {"unitCode": None, "value": 3}}, "temperature unit None"),
    ({"temperature": 21.5}, "'temperature' is not a quantitative value"),
    ({"temperature": {"unitCode": "wmoUnit:degC", "value": "hot"}}, "is not a number: 'hot'"),
    ({"precipitationLastHour": {"unitCode": "wmoUnit:percent", "value": 3}}, "length unit 'percent'"),
    ({"rawMessage": 12}, "'rawMessage' is not text"),
    ({"timestamp": "yesterday"}, "'timestamp' is not an ISO-8601 time"),
])
def test_a_broken_observation_is_malformed_by_name(change: dict[str, Any], message: str) -> None:
    payload = load("stations_observations_latest.json")
    payload["properties"].update(change)
    with pytest.raises(MalformedPayload, match=message):
        wire.parse_latest_observation(payload)


@pytest.mark.parametrize("payload", [None, [], {"features": {}}, {"features": [1]}, {"features": [{}]},
                                     {"type": "FeatureCollection"}])
def test_a_broken_collection_is_malformed(payload: Any) -> None:
    with pytest.raises(MalformedPayload, match="observation collection"):
        wire.parse_observations(payload)


def test_observations_as_json_ld_graph() -> None:
    graph = [f["properties"] for f in load("stations_observations_multiple_unsorted.json")["features"]]
    readings = wire.parse_observations({"@context": {}, "@graph": graph})
    assert [r.time for r in readings] == [utc(2019, 6, 27, 10, 50), KFLL_TIME]


# ---------------------------------------------------------------------------------------------
# products (the spec's TextProductCollection / TextProduct; no recording of these exists)


def product_entry(product_id: str, issued: str) -> dict[str, Any]:
    return {"@id": f"https://api.weather.gov/products/{product_id}", "id": product_id,
            "wmoCollectiveId": "CDUS41", "issuingOffice": "KOKX", "issuanceTime": issued,
            "productCode": "CLI", "productName": "Climatological Report (Daily)"}


def test_product_list_newest_first() -> None:
    refs = wire.parse_product_list({"@context": {}, "@graph": [
        product_entry("b", "2026-08-27T21:30:00+00:00"),
        product_entry("c", "2026-08-28T06:17:00+00:00"),
        product_entry("a", "2026-08-28T02:17:00-04:00"),  # the same instant as c: id breaks the tie
    ]})
    assert [r.id for r in refs] == ["c", "a", "b"]
    assert refs[0] == wire.ProductRef(id="c", issuance_time=utc(2026, 8, 28, 6, 17), product_code="CLI",
                                      issuing_office="KOKX", wmo_collective_id="CDUS41",
                                      product_name="Climatological Report (Daily)")
    assert wire.parse_product_list({"@graph": []}) == ()


@pytest.mark.parametrize(("payload", "message"), [
    ({}, "has no '@graph' list"),
    ([], "is not a JSON object"),
    ({"@graph": [{"id": "x"}]}, "entry 0 has no 'issuanceTime'"),
    ({"@graph": [{"issuanceTime": "2026-08-28T06:17:00+00:00"}]}, "entry 0 has no 'id'"),
    ({"@graph": ["x"]}, "entry 0 is not an object"),
])
def test_a_broken_product_list_is_malformed(payload: Any, message: str) -> None:
    with pytest.raises(MalformedPayload, match=message):
        wire.parse_product_list(payload)


def test_a_product_keeps_its_text_untouched() -> None:
    text = "\n795 \nCDUS41 KOKX 030616\nCLINYC\n\nCLIMATE REPORT\n"
    product = wire.parse_product({**product_entry("c", "2026-08-28T06:17:00+00:00"), "productText": text})
    assert product == wire.TextProduct(id="c", issuance_time=utc(2026, 8, 28, 6, 17), product_code="CLI",
                                       issuing_office="KOKX", text=text)
    with pytest.raises(MalformedPayload, match="has no 'productText'"):
        wire.parse_product({**product_entry("c", "2026-08-28T06:17:00+00:00"), "productText": "  \n"})


# ---------------------------------------------------------------------------------------------
# problems and staleness


def test_problem_json_becomes_nws_problem() -> None:
    problem = wire.problem_from_json({
        "correlationId": "493c3a1d", "title": "Invalid Parameter", "type": "https://api.weather.gov/problems/"
        "InvalidParameter", "status": 400, "detail": "Parameter \"point\" is invalid", "instance": "urn:x"},
        status=400, path="/points/999,0")
    assert type(problem) is NwsProblem
    assert (problem.status, problem.title, problem.correlation_id, problem.path) == (
        400, "Invalid Parameter", "493c3a1d", "/points/999,0")
    assert problem.type.endswith("InvalidParameter")
    assert str(problem) == ('NWS answered 400 Invalid Parameter for /points/999,0: Parameter "point" is '
                            "invalid (correlationId 493c3a1d)")


@pytest.mark.parametrize("body", [
    {"type": "https://api.weather.gov/problems/ForecastGridExpired", "title": "Forecast Grid Expired"},
    {"type": "urn:noaa:nws:api:ForecastGridExpired", "title": "Expired"},
    {"type": "about:blank", "title": "Forecast Grid Expired"},
])
def test_an_expired_grid_is_its_own_problem(body: dict[str, Any]) -> None:
    problem = wire.problem_from_json({**body, "status": 503, "detail": "The requested forecast grid was "
                                      "issued 2026-08-20T10:02:12+00:00 and has expired."}, status=503)
    assert isinstance(problem, ForecastGridExpired) and isinstance(problem, NwsProblem)
    assert problem.status == 503


def test_problem_fallbacks() -> None:
    problem = wire.problem_from_json({"title": "Not Found", "status": "404"}, status=404,
                                     correlation_id="from-header")
    assert (problem.status, problem.correlation_id, problem.detail) == (404, "from-header", "")
    problem = wire.problem_from_json(["odd"], status=500)
    assert (problem.status, problem.title) == (500, "error")
    assert wire.problem_from_json({"title": "X", "status": 502.0}, status=500).status == 502


def test_staleness() -> None:
    now = utc(2026, 8, 28, 12)
    assert wire.age(utc(2026, 8, 28, 9, 30), now) == timedelta(hours=2, minutes=30)
    wire.ensure_fresh("forecast", utc(2026, 8, 28, 9), now=now, max_age=timedelta(hours=3))
    stale = r"forecast is from 2026-08-28T08:45:00\+00:00, 3h15m old \(limit 3h00m\)"
    with pytest.raises(StaleData, match=stale):
        wire.ensure_fresh("forecast", utc(2026, 8, 28, 8, 45), now=now, max_age=timedelta(hours=3))
    with pytest.raises(StaleData, match="carries no time"):
        wire.ensure_fresh("forecast", None, now=now, max_age=timedelta(hours=3))


def test_forecast_staleness_from_update_time() -> None:
    forecast = wire.parse_forecast(load("gridpoints_forecast_us.json"))
    now = utc(2019, 10, 13, 20)
    wire.ensure_fresh("forecast", forecast.issued_at, now=now, max_age=timedelta(hours=2))
    with pytest.raises(StaleData, match="1h43m old"):
        wire.ensure_fresh("forecast", forecast.issued_at, now=now, max_age=timedelta(minutes=90))


# ---------------------------------------------------------------------------------------------
# every recorded payload is read above; mutated ones never crash the parsers

SMALL_PAYLOADS = {
    "points.json": wire.parse_point,
    "gridpoints_forecast_us.json": wire.parse_forecast,
    "gridpoints_forecast_hourly_si.json": wire.parse_forecast,
    "stations_observations_latest.json": wire.parse_latest_observation,
    "stations_observations_multiple_unsorted.json": wire.parse_observations,
    "alerts_active_zone.json": wire.parse_alerts,
}

json_leaves = st.one_of(st.none(), st.booleans(), st.integers(-10**6, 10**6),
                        st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=12),
                        st.sampled_from(["2019-06-27T10:53:00+00:00", "PT3H", "wmoUnit:degC", "unit:degF",
                                         "58", "KFLL 271053Z 26/23 RMK T02560228 10244"]))
json_values = st.recursive(json_leaves, lambda inner: st.one_of(
    st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=8), inner, max_size=3)), max_leaves=6)


def mutate(node: Any, data: st.DataObject) -> Any:
    if data.draw(st.integers(0, 19)) == 0:
        return data.draw(json_values)
    if isinstance(node, dict):
        out = {k: mutate(v, data) for k, v in node.items() if data.draw(st.integers(0, 29)) != 0}
        return out
    if isinstance(node, list):
        return [mutate(v, data) for v in node]
    return node


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(name=st.sampled_from(sorted(SMALL_PAYLOADS)), data=st.data())
def test_mutated_payloads_give_a_value_or_a_typed_error(name: str, data: st.DataObject) -> None:
    payload = mutate(copy.deepcopy(json.loads((FIXTURES / name).read_text())), data)
    with contextlib.suppress(MalformedPayload):  # a value, or this typed error; anything else fails
        SMALL_PAYLOADS[name](payload)


def test_every_recorded_payload_is_exercised() -> None:
    # A new recording fails this until a test above reads it and asserts its values.
    recorded = {p.name for p in FIXTURES.glob("*.json")}
    assert len(recorded) == 26
    source = Path(__file__).read_text()
    assert {name for name in recorded if f'"{name}"' not in source} == set()


def test_the_24_hour_extremes_reach_the_observation_event() -> None:
    payload = load("stations_observations.json")
    props = payload["features"][0]["properties"]
    assert props["rawMessage"], "the recording has a METAR to extend"
    # A 24-hour group: max 11.2 C, min -8.4 C.
    props["rawMessage"] = props["rawMessage"].rstrip() + " 401121084"
    (reading,) = wire.parse_observations(payload)

    observation = reading.to_observation()

    assert observation.max_temp_24h_f == pytest.approx(52.16)
    assert observation.min_temp_24h_f == pytest.approx(16.88)
