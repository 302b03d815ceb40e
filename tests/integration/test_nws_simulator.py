"""The NWS simulator over real HTTP on loopback: shapes per the OpenAPI spec, faults, CLI products.

The spec (``shared/specs/nws-openapi.yaml``) is read with PyYAML when it is installed; the schemas
are checked by the small validator below (``$ref``, ``allOf``/``anyOf``/``oneOf``, ``type``,
``nullable``, ``enum``, ``required``, ``properties``, ``additionalProperties``, ``items``,
``pattern``, ``minimum``/``maximum``, ``minItems``), because no JSON-schema library is installed.
"""

from __future__ import annotations

import importlib.util
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

import httpx
import pytest

from adapters.nws.client import NwsClient
from adapters.nws.simulator import Faults, create_app
from adapters.nws.simulator.weather import c_tenths_to_f, round_f
from adapters.nws.snapshots import WeatherSnapshotter
from domain.config import MilkbotConfig, parse_config
from domain.events import MarketKind, WeatherFeedFailed, WeatherSnapshotted, deterministic_id
from tests import paths, servers
from tests.openapi import OpenApiSpec

ROOT = Path(__file__).resolve().parents[2]
SPEC_PATH = paths.SPECS / "nws-openapi.yaml"
NOW = datetime(2026, 1, 20, 23, 0, tzinfo=UTC)  # 18:00 EST: today's preliminary CLI is out
UA = {"User-Agent": "milkbot-tests (ops@example.com)", "Accept": "application/geo+json"}
#: Fields the real API sends in forecast periods that the spec's GridpointForecastPeriod
#: (additionalProperties: false) does not list; the recorded payloads have them.
PERIOD_EXTRAS = {"probabilityOfPrecipitation", "dewpoint", "relativeHumidity"}


@cache
def config() -> MilkbotConfig:
    return parse_config((ROOT / "config" / "milkbot.toml").read_text())[0]


@dataclass
class Simulator:
    url: str
    app: Any
    clock: list[datetime]

    def get(self, path: str, headers: dict[str, str] | None = None, **params: Any) -> httpx.Response:
        return httpx.get(self.url + path, headers=UA if headers is None else headers, params=params or None,
                         timeout=10)


@pytest.fixture(scope="module")
def sim() -> Iterator[Simulator]:
    clock = [NOW]
    app = create_app(config(), seed=5, clock=lambda: clock[0])
    with servers.serving(app, name="nws-sim") as url:
        yield Simulator(url, app, clock)


@pytest.fixture(autouse=True)
def no_faults(sim: Simulator) -> Iterator[None]:
    sim.clock[0] = NOW
    sim.app.state.set_faults(Faults())
    yield
    sim.app.state.set_faults(Faults())


# --- the spec ------------------------------------------------------------------------------------

#: Fields the real API sends in forecast periods that the spec does not list (the recorded
#: payloads in shared/fixtures carry them), so the simulator sends them too.
SPEC = OpenApiSpec(SPEC_PATH, allowed_extras=frozenset(PERIOD_EXTRAS))


# --- helpers -------------------------------------------------------------------------------------

def nyc_grid(sim: Simulator) -> str:
    city = config().city("NYC")
    props = sim.get(f"/points/{city.latitude},{city.longitude}").json()["properties"]
    return f"/gridpoints/{props['gridId']}/{props['gridX']},{props['gridY']}"


def endpoints(sim: Simulator) -> list[tuple[str, str, str]]:
    """(request path, spec path, media type) for every endpoint the simulator serves."""
    city = config().city("NYC")
    grid = nyc_grid(sim)
    products = sim.get("/products/types/CLI/locations/NYC").json()["@graph"]
    return [
        (f"/points/{city.latitude},{city.longitude}", "/points/{point}", "application/geo+json"),
        (grid, "/gridpoints/{wfo}/{x},{y}", "application/geo+json"),
        (f"{grid}/forecast", "/gridpoints/{wfo}/{x},{y}/forecast", "application/geo+json"),
        (f"{grid}/forecast/hourly", "/gridpoints/{wfo}/{x},{y}/forecast/hourly", "application/geo+json"),
        (f"{grid}/stations", "/gridpoints/{wfo}/{x},{y}/stations", "application/geo+json"),
        ("/stations/KNYC/observations", "/stations/{stationId}/observations", "application/geo+json"),
        ("/stations/KNYC/observations/latest", "/stations/{stationId}/observations/latest",
         "application/geo+json"),
        ("/products/types/CLI/locations/NYC", "/products/types/{typeId}/locations/{locationId}",
         "application/ld+json"),
        (f"/products/{products[0]['id']}", "/products/{productId}", "application/ld+json"),
    ]


# --- tests ---------------------------------------------------------------------------------------

def test_every_endpoint_answers_with_its_content_type_and_a_body(sim: Simulator) -> None:
    for path, _, media in endpoints(sim):
        response = sim.get(path)
        assert response.status_code == 200, (path, response.text[:300])
        assert response.headers["content-type"].split(";")[0] == media, path
        assert response.headers["x-correlation-id"]
        body = response.json()
        assert body, path


def test_every_answer_validates_against_the_openapi_spec(sim: Simulator) -> None:
    for path, spec_path, media in endpoints(sim):
        body = sim.get(path).json()
        schema = SPEC.response_schema(spec_path, 200, media=media)
        assert schema is not None
        problems = SPEC.problems(body, schema)
        assert problems == [], (path, problems[:5])
    error = sim.get("/points/10,10")
    problem_schema = SPEC.response_schema("/points/{point}", "default",
                                          media="application/problem+json")
    assert problem_schema is not None
    assert SPEC.problems(error.json(), problem_schema) == []


def test_shapes_follow_the_recorded_payloads(sim: Simulator) -> None:
    city = config().city("NYC")
    point = sim.get(f"/points/{city.latitude},{city.longitude}").json()["properties"]
    assert isinstance(point["gridX"], int) and point["timeZone"] == "America/New_York"
    grid = sim.get(point["forecastGridData"].removeprefix(sim.url)).json()["properties"]
    assert grid["temperature"]["uom"] == "wmoUnit:degC"
    assert grid["updateTime"] == "2026-01-20T23:00:00+00:00"
    intervals = [v["validTime"] for v in grid["temperature"]["values"]]
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:00:00\+00:00/P(T\d+H|\d+D(T\d+H)?)", v) for v in intervals)
    assert grid["quantitativePrecipitation"]["uom"] == "wmoUnit:mm"
    forecast = sim.get(point["forecast"].removeprefix(sim.url)).json()["properties"]
    assert forecast["units"] == "us" and len(forecast["periods"]) == 14
    assert forecast["periods"][0]["name"] == "Tonight" and forecast["periods"][1]["isDaytime"] is True
    assert forecast["periods"][0]["startTime"].endswith("-05:00")
    hourly = sim.get(point["forecastHourly"].removeprefix(sim.url)).json()["properties"]
    assert len(hourly["periods"]) == 156 and hourly["periods"][0]["temperatureUnit"] == "F"
    stations = sim.get(point["observationStations"].removeprefix(sim.url)).json()
    assert stations["features"][0]["properties"]["stationIdentifier"] == "KNYC"


def test_observations_are_hourly_metars_with_t_groups_and_six_hour_extremes(sim: Simulator) -> None:
    features = sim.get("/stations/KNYC/observations", limit=24).json()["features"]
    assert len(features) == 24
    times = [datetime.fromisoformat(f["properties"]["timestamp"]) for f in features]
    assert times == sorted(times, reverse=True) and all(t.minute == 51 for t in times)
    assert times[0] == datetime(2026, 1, 20, 22, 51, tzinfo=UTC)
    for feature in features:
        props = feature["properties"]
        t_group = re.search(r" T([01])(\d{3})([01])(\d{3})$", props["rawMessage"])
        assert t_group, props["rawMessage"]
        tenths = int(t_group[2]) * (-1 if t_group[1] == "1" else 1)
        assert props["temperature"] == {"unitCode": "wmoUnit:degC", "value": tenths / 10,
                                        "qualityControl": "V"}
        synoptic = datetime.fromisoformat(props["timestamp"]).hour in (23, 5, 11, 17)
        assert bool(re.search(r" 1[01]\d{3} 2[01]\d{3} ", props["rawMessage"])) == synoptic
    latest = sim.get("/stations/KNYC/observations/latest").json()
    assert latest["properties"]["timestamp"] == "2026-01-20T22:51:00+00:00"
    window = sim.get("/stations/KNYC/observations", start="2026-01-19T00:00:00+00:00",
                     end="2026-01-19T05:59:00+00:00").json()["features"]
    assert len(window) == 6


def test_a_user_agent_is_required(sim: Simulator) -> None:
    response = httpx.get(sim.url + "/stations/KNYC/observations/latest", headers={"User-Agent": ""})
    assert response.status_code == 403
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert {"type", "title", "status", "detail", "instance", "correlationId"} <= set(body)
    assert body["status"] == 403


def test_unknown_things_are_404_problems(sim: Simulator) -> None:
    for path in ("/points/10,10", "/gridpoints/OKX/1,1/forecast", "/stations/KXXX/observations",
                 "/products/not-a-product", "/no/such/path"):
        response = sim.get(path)
        assert response.status_code == 404, path
        assert response.headers["content-type"] == "application/problem+json", path
        assert response.json()["status"] == 404


def test_faults_switch_per_city_at_runtime(sim: Simulator) -> None:
    grid = nyc_grid(sim)
    chi = config().city("CHI")
    chi_props = sim.get(f"/points/{chi.latitude},{chi.longitude}").json()["properties"]
    chi_grid = f"/gridpoints/{chi_props['gridId']}/{chi_props['gridX']},{chi_props['gridY']}"

    answer = httpx.post(sim.url + "/_sim/faults", json={"stale_forecasts": ["NYC"]})
    assert answer.status_code == 200 and answer.json()["stale_forecasts"] == ["NYC"]
    stale = sim.get(f"{grid}/forecast").json()["properties"]
    assert datetime.fromisoformat(stale["updateTime"]) <= NOW - timedelta(days=2)
    assert datetime.fromisoformat(sim.get(grid).json()["properties"]["updateTime"]) <= NOW - timedelta(days=2)
    fresh = sim.get(f"{chi_grid}/forecast").json()["properties"]
    assert datetime.fromisoformat(fresh["updateTime"]) == NOW

    httpx.post(sim.url + "/_sim/faults", json={"server_error": ["NYC"]})
    broken = sim.get(f"{grid}/forecast")
    assert broken.status_code == 500 and broken.headers["content-type"] == "application/problem+json"
    assert broken.json()["correlationId"]
    assert sim.get("/stations/KNYC/observations").status_code == 500
    assert sim.get(f"{chi_grid}/forecast").status_code == 200

    httpx.post(sim.url + "/_sim/faults", json={"html_502": True})
    page = sim.get(f"{chi_grid}/forecast/hourly")
    assert page.status_code == 502 and page.headers["content-type"].startswith("text/html")
    assert "<html>" in page.text

    httpx.post(sim.url + "/_sim/faults", json={"grid_expired": ["CHI"]})
    expired = sim.get(f"{chi_grid}/forecast")
    assert expired.status_code == 503
    assert expired.json()["type"].endswith("/ForecastGridExpired")
    assert expired.json()["title"] == "Forecast Grid Expired"
    assert sim.get("/stations/KMDW/observations").status_code == 200  # observations unaffected

    httpx.post(sim.url + "/_sim/faults", json={"missing_observations": ["NYC"]})
    empty = sim.get("/stations/KNYC/observations")
    assert empty.status_code == 200 and empty.json()["features"] == []
    assert empty.json()["type"] == "FeatureCollection"
    assert sim.get("/stations/KNYC/observations/latest").status_code == 404
    assert sim.get("/stations/KMDW/observations").json()["features"]

    refused = httpx.post(sim.url + "/_sim/faults", json={"earthquake": True})
    assert refused.status_code == 400


def test_conditional_get_answers_304_until_the_next_forecast_cycle(sim: Simulator) -> None:
    path = f"{nyc_grid(sim)}/forecast"
    first = sim.get(path)
    again = sim.get(path, headers={**UA, "If-Modified-Since": first.headers["last-modified"]})
    assert again.status_code == 304
    sim.clock[0] = NOW + timedelta(hours=1)
    later = sim.get(path, headers={**UA, "If-Modified-Since": first.headers["last-modified"]})
    assert later.status_code == 200


def test_cli_products_list_a_week_newest_first(sim: Simulator) -> None:
    graph = sim.get("/products/types/CLI/locations/NYC").json()["@graph"]
    issued = [datetime.fromisoformat(p["issuanceTime"]) for p in graph]
    assert issued == sorted(issued, reverse=True)
    assert all(NOW - timedelta(days=7) <= t <= NOW for t in issued)
    assert len(graph) >= 13  # a preliminary and a final per day
    assert sim.get("/products/types/CLI/locations/ORD").json()["@graph"]  # Chicago's rain site
    assert sim.get("/products/types/CLI/locations/XYZ").json()["@graph"] == []


def test_cli_text_parses_and_matches_the_truth(sim: Simulator) -> None:
    if importlib.util.find_spec("adapters.nws.cli_report") is None:
        pytest.skip("adapters.nws.cli_report (the CLI parser) does not exist yet")
    from adapters.nws.cli_report import parse_cli_product

    weather = sim.app.state.world.weather
    graph = sim.get("/products/types/CLI/locations/NYC").json()["@graph"]
    seen = set()
    for ref in graph:
        text = sim.get(f"/products/{ref['id']}").json()["productText"]
        (report,) = parse_cli_product(text)
        truth = weather.day("NYC", report.climate_date)
        assert report.station == "NYC"
        seen.add((report.climate_date, report.preliminary))
        if report.preliminary:
            so_far = truth.hourly[:17]
            assert report.max_temp_f == round_f(max(c_tenths_to_f(r.tenths_c) for r in so_far))
        else:
            assert (report.max_temp_f, report.min_temp_f) == (truth.max_f, truth.min_f)
            assert report.precip_in is not None and float(report.precip_in) == truth.precip_in
    assert (date(2026, 1, 20), True) in seen and (date(2026, 1, 19), False) in seen
    assert (date(2026, 1, 20), False) not in seen  # today's final is tomorrow's news


def test_the_milkbot_client_reads_the_simulator(sim: Simulator) -> None:
    try:
        from adapters.nws.client import NwsClient
    except ImportError as e:
        pytest.skip(f"adapters.nws.client is not importable yet: {e}")
    city = config().city("NYC")
    with NwsClient(sim.url, "milkbot-tests (ops@example.com)", clock=lambda: sim.clock[0],
                   sleep=lambda _: None, attempts=1) as client:
        point = client.point(city.latitude, city.longitude)
        assert client.forecast(point, max_age=timedelta(hours=2)).periods
        assert client.hourly_forecast(point).periods
        assert client.gridpoint(point).layer("temperature") is not None
        assert client.observations("KNYC", limit=12)
        assert client.latest_observation("KNYC")
        latest = client.latest_cli_product("NYC")
        assert latest is not None and "CLIMATE SUMMARY" in client.product_text(latest.id)


# --- the snapshotter against the simulator ------------------------------------------------------

@pytest.fixture
def snapshotter(sim: Simulator) -> Iterator[WeatherSnapshotter]:
    client = NwsClient(sim.url, "milkbot-tests (ops@example.com)", clock=lambda: sim.clock[0],
                       sleep=lambda _: None)
    yield WeatherSnapshotter(client, clock=lambda: sim.clock[0])
    client.close()


def test_a_city_snapshot_carries_forecast_hourly_and_observations(
    snapshotter: WeatherSnapshotter,
) -> None:
    event = snapshotter.snapshot(config().city("CHI"), MarketKind.MONTHLY_RAIN, version=1,
                                      correlation_id=deterministic_id("test"))

    assert isinstance(event, WeatherSnapshotted)
    assert (event.stream, event.station, event.provider) == ("weather:CHI:monthly_rain", "KORD",
                                                             "nws")
    assert event.issued_at is not None
    assert event.issued_at <= NOW
    assert len(event.forecast) >= 10 and len(event.hourly) >= 48
    assert event.observations and all(o.time <= NOW for o in event.observations)
    assert all(o.temperature_f is not None for o in event.observations)
    # Monthly markets need the amounts: the grid's hours carry QPF and snowfall.
    assert sum(p.precip_in is not None for p in event.hourly) >= 48
    daily = snapshotter.snapshot(config().city("CHI"), MarketKind.DAILY_HIGH, version=1,
                                 correlation_id=deterministic_id("test"))
    assert isinstance(daily, WeatherSnapshotted) and daily.hourly[0].temperature_f is not None


@pytest.mark.parametrize(("fault", "operation", "error", "stale"), [
    ("html_502", "point", "NwsUnavailable", False),
    ("grid_expired", "forecast", "ForecastGridExpired", False),
    ("stale_forecasts", "forecast", "StaleData", True),
])
def test_a_failing_feed_is_recorded_as_a_failure_never_as_a_forecast(
    sim: Simulator, snapshotter: WeatherSnapshotter, fault: str, operation: str, error: str,
    stale: bool,
) -> None:
    sim.app.state.set_faults(Faults(**{fault: ["NYC"]}))

    event = snapshotter.snapshot(config().city("NYC"), MarketKind.DAILY_HIGH, version=3,
                                      correlation_id=deterministic_id("test"))

    assert isinstance(event, WeatherFeedFailed)
    assert (event.operation, event.error, event.stale) == (operation, error, stale)
    assert event.version == 3 and event.city == "NYC"
    assert snapshotter.snapshot(config().city("DEN"), MarketKind.DAILY_HIGH, version=1,
                                     correlation_id=deterministic_id("test")).event_type == (
        "WeatherSnapshotted")
