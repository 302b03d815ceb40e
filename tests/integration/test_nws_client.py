"""The NWS client over ``httpx.MockTransport`` serving the recorded payloads: headers, caching,
conditional GET, retries and every kind of bad answer the API gives."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from adapters.nws.client import NwsClient
from adapters.nws.errors import ForecastGridExpired, MalformedPayload, NwsProblem, NwsUnavailable, StaleData
from domain.events.weather import Observation
from tests import paths

SHARED = paths.FIXTURES / "nws"
FIXTURES = SHARED / "api"
USER_AGENT = "milkbot-tests (ops@example.com)"
HTML_502 = b"<html><head><title>502 Bad Gateway</title></head><body><h1>502 Bad Gateway</h1></body></html>"

Reply = httpx.Response | Callable[[httpx.Request], httpx.Response]


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def geojson(body: bytes | str | dict[str, Any], *, headers: dict[str, str] | None = None) -> httpx.Response:
    content = json.dumps(body).encode() if isinstance(body, dict) else body
    return httpx.Response(200, content=content,
                          headers={"Content-Type": "application/geo+json", **(headers or {})})


def problem(status: int, title: str, type_: str, correlation_id: str = "c0ffee-42", **headers: str
            ) -> httpx.Response:
    return httpx.Response(status, headers={"Content-Type": "application/problem+json", **headers}, json={
        "correlationId": correlation_id, "title": title, "type": f"https://api.weather.gov/problems/{type_}",
        "status": status, "detail": f"{title} (detail)", "instance": f"https://api.weather.gov/requests/{correlation_id}"})


def html(status: int, body: bytes = HTML_502) -> httpx.Response:
    return httpx.Response(status, content=body, headers={"Content-Type": "text/html"})


def timeout(request: httpx.Request) -> httpx.Response:
    raise httpx.ReadTimeout("timed out", request=request)


class FakeNws:
    """Routes a path to a queue of replies (the last one repeats) and records every request."""

    def __init__(self) -> None:
        self.routes: dict[str, list[Reply]] = {}
        self.requests: list[httpx.Request] = []

    def on(self, path: str, *replies: Reply) -> FakeNws:
        self.routes[path] = list(replies)
        return self

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        queue = self.routes.get(request.url.path)
        if not queue:
            return problem(404, "Not Found", "NotFound")
        reply = queue.pop(0) if len(queue) > 1 else queue[0]
        return reply(request) if callable(reply) else reply

    def paths(self) -> list[str]:
        return [r.url.path for r in self.requests]


class FakeClock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def nws() -> FakeNws:
    fake = FakeNws()
    fake.on("/points/30,-85", geojson(fixture("points.json")))
    fake.on("/gridpoints/TAE/58,65/forecast", geojson(fixture("gridpoints_forecast_us.json")))
    fake.on("/gridpoints/TAE/58,65/forecast/hourly", geojson(fixture("gridpoints_forecast_hourly_us.json")))
    fake.on("/gridpoints/TAE/58,65", geojson(fixture("detailed_forecast.json")))
    fake.on("/gridpoints/TAE/58,65/stations", geojson(fixture("gridpoints_stations.json")))
    fake.on("/stations/KFLL/observations", geojson(fixture("stations_observations_multiple_unsorted.json")))
    fake.on("/stations/KFLL/observations/latest", geojson(fixture("stations_observations_latest.json")))
    fake.on("/alerts/active/zone/ORZ004", geojson(fixture("alerts_active_zone_second.json")))
    return fake


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(datetime(2022, 3, 3, 0, 30, tzinfo=UTC))


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def client(nws: FakeNws, clock: FakeClock, sleeps: list[float]) -> NwsClient:
    return NwsClient("http://nws.test", USER_AGENT, transport=httpx.MockTransport(nws.handle),
                     clock=clock, sleep=sleeps.append)


# ---------------------------------------------------------------------------------------------
# construction and headers


@pytest.mark.parametrize("user_agent", [None, "", "   "])
def test_a_missing_user_agent_is_refused_by_its_variable_name(user_agent: str | None) -> None:
    with pytest.raises(ValueError, match="MILKBOT_NWS_USER_AGENT is not set"):
        NwsClient("https://api.weather.gov", user_agent)


def test_a_base_url_that_is_not_http_is_refused() -> None:
    with pytest.raises(ValueError, match="http"):
        NwsClient("api.weather.gov", USER_AGENT)


def test_every_request_carries_the_user_agent_and_geojson_accept(client: NwsClient, nws: FakeNws) -> None:
    nws.on("/products/types/CLI/locations/NYC", geojson(product_list("p1")))
    nws.on("/products/p1", geojson(product("p1", "text")))
    point = client.point(30, -85)
    client.forecast(point)
    client.hourly_forecast(point)
    client.gridpoint(point)
    client.stations(point)
    client.observations("KFLL")
    client.latest_observation("KFLL")
    client.cli_products("NYC")
    client.product_text("p1")
    client.active_alerts("ORZ004")
    assert len(nws.requests) == 10
    for request in nws.requests:
        assert request.headers["User-Agent"] == USER_AGENT
        assert request.headers["Accept"] == "application/geo+json"
        assert request.url.host == "nws.test"


def test_links_in_answers_are_followed_on_the_configured_base_url(client: NwsClient, nws: FakeNws) -> None:
    # points.json links to https://api.weather.gov/...; the client asks its own base URL instead.
    point = client.point(30, -85)
    assert point.forecast_url.startswith("https://api.weather.gov/")
    client.forecast(point)
    assert str(nws.requests[-1].url) == "http://nws.test/gridpoints/TAE/58,65/forecast"


@pytest.mark.parametrize(("lat", "lon", "path"), [
    (30.0, -85.0, "/points/30,-85"),
    (40.712776, -74.005974, "/points/40.7128,-74.006"),
    (-0.00001, 0.0, "/points/0,0"),
])
def test_points_are_asked_with_at_most_four_decimals(lat: float, lon: float, path: str, nws: FakeNws,
                                                    client: NwsClient) -> None:
    nws.on(path, geojson(fixture("points.json")))
    client.point(lat, lon)
    assert nws.requests[-1].url.path == path


def test_a_coordinate_out_of_range_is_refused(client: NwsClient) -> None:
    with pytest.raises(ValueError, match="latitude 91"):
        client.point(91, 0)


# ---------------------------------------------------------------------------------------------
# what the client returns


def test_forecasts_and_gridpoint(client: NwsClient) -> None:
    point = client.point(30, -85)
    assert (point.grid_id, point.grid_x, point.grid_y) == ("TAE", 58, 65)
    forecast = client.forecast(point)
    assert [p.temperature_f for p in forecast.periods] == [41.0, 68.0]
    assert forecast.issued_at == datetime(2019, 10, 13, 18, 16, 20, tzinfo=UTC)
    hourly = client.hourly_forecast(point)
    assert [p.temperature_f for p in hourly.periods] == [78.0, 77.0]
    grid = client.gridpoint(point)
    assert grid.hourly_periods()[0].temperature_f == 73.0
    assert [s.identifier for s in client.stations(point)][:3] == ["KCMH", "KOSU", "KTZR"]


def test_a_stale_forecast_is_refused_only_when_a_limit_is_asked(client: NwsClient, clock: FakeClock) -> None:
    point = client.point(30, -85)
    clock.now = datetime(2019, 10, 13, 20, tzinfo=UTC)
    assert client.forecast(point, max_age=timedelta(hours=2)).periods
    with pytest.raises(StaleData, match="forecast /gridpoints/TAE/58,65/forecast is from 2019-10-13T18:16"):
        client.forecast(point, max_age=timedelta(hours=1))
    clock.now = datetime(2022, 2, 4, 5, tzinfo=UTC)  # detailed_forecast.json: updateTime 03:15:41
    assert client.gridpoint(point, max_age=timedelta(hours=2)).update_time is not None
    with pytest.raises(StaleData, match=r"gridpoint data /gridpoints/TAE/58,65 is from .*, 1h44m old"):
        client.gridpoint(point, max_age=timedelta(hours=1))


def test_an_empty_forecast_is_malformed(client: NwsClient, nws: FakeNws) -> None:
    empty = geojson(fixture("gridpoints_forecast_hourly_empty_us.json"))
    nws.on("/gridpoints/TAE/58,65/forecast/hourly", empty)
    with pytest.raises(MalformedPayload, match="forecast /gridpoints/TAE/58,65/forecast/hourly has no"):
        client.hourly_forecast(client.point(30, -85))


def test_observations_prefer_the_metars_oldest_first(client: NwsClient, nws: FakeNws) -> None:
    observations = client.observations("KFLL", start=datetime(2019, 6, 27, tzinfo=UTC), limit=10)
    assert observations == (Observation(
        time=datetime(2019, 6, 27, 10, 53, tzinfo=UTC), temperature_f=78.08,
        raw_message="KFLL 271053Z 35005KT 10SM FEW025 FEW250 26/23 A3005 RMK AO2 SLP176 T02560228"),)
    params = nws.requests[-1].url.params
    assert (params["start"], params["limit"]) == ("2019-06-27T00:00:00+00:00", "10")
    assert "end" not in params
    readings = client.observation_readings("KFLL")
    assert [r.api_temperature_f for r in readings] == [-148.0, 50.0]


def test_observations_of_a_station_without_data(client: NwsClient, nws: FakeNws) -> None:
    nws.on("/stations/KXXX/observations", geojson(fixture("stations_observations_noprop.json")))
    assert client.observations("KXXX") == ()
    nws.on("/stations/KXXX/observations", geojson(fixture("stations_observations_empty.json")))
    assert client.observations("KXXX") == ()


def test_observation_arguments_are_checked(client: NwsClient) -> None:
    with pytest.raises(ValueError, match="UTC offset"):
        client.observations("KFLL", start=datetime(2019, 6, 27))
    with pytest.raises(ValueError, match="between 1 and 500"):
        client.observations("KFLL", limit=501)
    with pytest.raises(ValueError, match="may not be empty"):
        client.observations(" ")


def test_the_latest_observation_when_fresh(client: NwsClient) -> None:
    observation = client.latest_observation("KFLL")  # 37 minutes old at the fake clock
    assert (observation.temperature_f, observation.max_temp_6h_f, observation.min_temp_6h_f) == (73.04, 75.92,
                                                                                                  73.04)


def test_a_stale_latest_observation_is_refused(client: NwsClient, clock: FakeClock) -> None:
    clock.now = datetime(2022, 3, 3, 4, 0, tzinfo=UTC)
    with pytest.raises(StaleData, match=r"latest observation /stations/KFLL/observations/latest is from "
                                        r"2022-03-02T23:53:00\+00:00, 4h07m old \(limit 2h00m\)"):
        client.latest_observation("KFLL")
    assert client.latest_observation("KFLL", max_age=timedelta(hours=5)).temperature_f == 73.04


def test_a_latest_observation_with_nothing_in_it_is_malformed(client: NwsClient, nws: FakeNws) -> None:
    empty = json.loads(fixture("stations_observations_missing_value.json"))["features"][0]
    nws.on("/stations/KFLL/observations/latest", geojson(empty))
    with pytest.raises(MalformedPayload, match="has no timestamp and no values"):
        client.latest_observation("KFLL")


def product_list(*ids_and_times: str) -> dict[str, Any]:
    times = ["2026-08-27T21:31:00+00:00", "2026-08-28T06:17:00+00:00", "2026-08-26T06:12:00+00:00"]
    return {"@context": {"@version": "1.1"}, "@graph": [
        {"@id": f"https://api.weather.gov/products/{pid}", "id": pid, "wmoCollectiveId": "CDUS41",
         "issuingOffice": "KOKX", "issuanceTime": times[i % 3], "productCode": "CLI",
         "productName": "Climatological Report (Daily)"} for i, pid in enumerate(ids_and_times)]}


def product(product_id: str, text: str) -> dict[str, Any]:
    return {"@context": {"@version": "1.1"}, "@id": f"https://api.weather.gov/products/{product_id}",
            "id": product_id, "wmoCollectiveId": "CDUS41", "issuingOffice": "KOKX",
            "issuanceTime": "2013-01-03T06:16:00+00:00", "productCode": "CLI",
            "productName": "Climatological Report (Daily)", "productText": text}


def test_cli_reports_newest_by_issuance_time_and_their_text(client: NwsClient, nws: FakeNws) -> None:
    text = (SHARED / "cli/CLINYC.txt").read_text()
    nws.on("/products/types/CLI/locations/NYC", geojson(product_list("prelim", "final", "older")))
    nws.on("/products/final", geojson(product("final", text)))
    assert [p.id for p in client.cli_products("NYC")] == ["final", "prelim", "older"]
    latest = client.latest_cli_product("NYC")
    assert latest is not None and latest.issuance_time == datetime(2026, 8, 28, 6, 17, tzinfo=UTC)
    assert client.product_text(latest.id) == text
    assert "MAXIMUM         33    301 PM" in text
    assert nws.paths()[-3:] == ["/products/types/CLI/locations/NYC", "/products/types/CLI/locations/NYC",
                                "/products/final"]


def test_no_cli_report_listed_is_none(client: NwsClient, nws: FakeNws) -> None:
    nws.on("/products/types/CLI/locations/NYC", geojson({"@context": {}, "@graph": []}))
    assert client.latest_cli_product("NYC") is None


def test_active_alerts(client: NwsClient) -> None:
    assert [a.event for a in client.active_alerts("ORZ004")] == ["Flood Watch", "Flood Watch"]


# ---------------------------------------------------------------------------------------------
# caching


def test_points_are_cached_then_refreshed(client: NwsClient, nws: FakeNws, clock: FakeClock) -> None:
    first = client.point(30, -85)
    clock.now += timedelta(hours=23)
    assert client.point(30.0, -85.0) is first
    assert nws.paths() == ["/points/30,-85"]
    clock.now += timedelta(hours=2)
    assert client.point(30, -85) == first
    assert nws.paths() == ["/points/30,-85", "/points/30,-85"]


def test_a_failed_points_refresh_keeps_the_cached_grid(client: NwsClient, nws: FakeNws, clock: FakeClock,
                                                       caplog: pytest.LogCaptureFixture) -> None:
    first = client.point(30, -85)
    nws.on("/points/30,-85", html(502))
    clock.now += timedelta(days=2)
    with caplog.at_level(logging.WARNING, logger="adapters.nws.client"):
        assert client.point(30, -85) == first
    assert "could not be refreshed" in caplog.text
    nws.on("/points/31,-85", html(502))
    with pytest.raises(NwsUnavailable):
        client.point(31, -85)


def test_conditional_get_returns_the_cached_payload_on_304(client: NwsClient, nws: FakeNws) -> None:
    modified = "Sun, 13 Oct 2019 18:16:20 GMT"
    nws.on("/gridpoints/TAE/58,65/forecast",
           geojson(fixture("gridpoints_forecast_us.json"), headers={"Last-Modified": modified}),
           httpx.Response(304, headers={"Last-Modified": modified}))
    point = client.point(30, -85)
    first = client.forecast(point)
    second = client.forecast(point)
    assert second == first
    forecast_requests = [r for r in nws.requests if r.url.path.endswith("/forecast")]
    assert "If-Modified-Since" not in forecast_requests[0].headers
    assert forecast_requests[1].headers["If-Modified-Since"] == modified
    # /points answered without Last-Modified: nothing to be conditional about.
    assert "If-Modified-Since" not in nws.requests[0].headers


def test_a_304_without_a_cached_copy_is_malformed(client: NwsClient, nws: FakeNws) -> None:
    nws.on("/stations/KFLL/observations/latest", httpx.Response(304))
    with pytest.raises(MalformedPayload, match="304 Not Modified but nothing is cached"):
        client.latest_observation("KFLL")


def test_the_conditional_cache_is_bounded(nws: FakeNws, clock: FakeClock) -> None:
    client = NwsClient("http://nws.test", USER_AGENT, transport=httpx.MockTransport(nws.handle), clock=clock,
                       cache_size=1)
    stamp = {"Last-Modified": "Wed, 02 Mar 2022 23:53:00 GMT"}
    latest = geojson(fixture("stations_observations_latest.json"), headers=stamp)
    nws.on("/stations/KFLL/observations/latest", latest)
    nws.on("/stations/KFLL/observations", geojson(fixture("stations_observations.json"), headers=stamp))
    client.latest_observation("KFLL")
    client.observations("KFLL")
    client.latest_observation("KFLL")
    assert "If-Modified-Since" not in nws.requests[-1].headers


# ---------------------------------------------------------------------------------------------
# retries and errors


def test_5xx_is_retried_with_exponential_backoff(client: NwsClient, nws: FakeNws,
                                                 sleeps: list[float]) -> None:
    nws.on("/stations/KFLL/observations/latest",
           problem(500, "Unexpected Problem", "UnexpectedProblem"), html(502), timeout,
           geojson(fixture("stations_observations_latest.json")))
    assert client.latest_observation("KFLL").temperature_f == 73.04
    assert sleeps == [1.0, 2.0, 4.0]
    assert len(nws.requests) == 4


def test_retries_give_up_as_unavailable(client: NwsClient, nws: FakeNws, sleeps: list[float]) -> None:
    nws.on("/stations/KFLL/observations/latest", html(502))
    with pytest.raises(NwsUnavailable, match=r"GET /stations/KFLL/observations/latest answered "
                                             r"502 Bad Gateway \(HTML error page\) \(4 attempts\)"):
        client.latest_observation("KFLL")
    assert sleeps == [1.0, 2.0, 4.0]


def test_timeouts_give_up_as_unavailable(client: NwsClient, nws: FakeNws, sleeps: list[float]) -> None:
    nws.on("/stations/KFLL/observations/latest", timeout)
    with pytest.raises(NwsUnavailable, match="timed out") as caught:
        client.latest_observation("KFLL")
    assert isinstance(caught.value.__cause__, NwsUnavailable)
    assert isinstance(caught.value.__cause__.__cause__, httpx.ReadTimeout)
    assert len(nws.requests) == 4 and len(sleeps) == 3


def test_connection_errors_are_retried(client: NwsClient, nws: FakeNws, sleeps: list[float]) -> None:
    def refused(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    latest = geojson(fixture("stations_observations_latest.json"))
    nws.on("/stations/KFLL/observations/latest", refused, latest)
    assert client.latest_observation("KFLL").temperature_f == 73.04
    assert sleeps == [1.0]


def test_backoff_is_capped_and_honours_retry_after(nws: FakeNws, clock: FakeClock) -> None:
    sleeps: list[float] = []
    client = NwsClient("http://nws.test", USER_AGENT, transport=httpx.MockTransport(nws.handle), clock=clock,
                       sleep=sleeps.append, attempts=6, backoff=2.0, max_backoff=10.0)
    def unavailable(retry_after: str) -> httpx.Response:
        return problem(503, "Service Unavailable", "ServiceUnavailable", **{"Retry-After": retry_after})

    nws.on("/stations/KFLL/observations/latest",
           unavailable("7"), unavailable("600"), unavailable("Wed, 21 Oct 2026 07:28:00 GMT"),
           html(504, b"<html>Gateway Timeout</html>"), html(503, b""))
    with pytest.raises(NwsUnavailable, match="503 Service Unavailable"):
        client.latest_observation("KFLL")
    assert sleeps == [7.0, 10.0, 8.0, 10.0, 10.0]


def test_4xx_is_never_retried_and_its_correlation_id_is_logged(
        client: NwsClient, nws: FakeNws, sleeps: list[float], caplog: pytest.LogCaptureFixture) -> None:
    nws.on("/points/30,-85", problem(404, "Data Unavailable For Requested Point", "InvalidPoint",
                                     correlation_id="1f2e3d4c"))
    with caplog.at_level(logging.WARNING, logger="adapters.nws.client"), pytest.raises(NwsProblem) as caught:
        client.point(30, -85)
    error = caught.value
    assert type(error) is NwsProblem
    assert (error.status, error.title, error.correlation_id, error.path) == (
        404, "Data Unavailable For Requested Point", "1f2e3d4c", "/points/30,-85")
    assert error.type == "https://api.weather.gov/problems/InvalidPoint"
    assert len(nws.requests) == 1 and sleeps == []
    assert "correlationId 1f2e3d4c" in caplog.text


def test_5xx_problems_log_each_correlation_id(client: NwsClient, nws: FakeNws,
                                              caplog: pytest.LogCaptureFixture) -> None:
    nws.on("/stations/KFLL/observations/latest",
           problem(500, "Unexpected Problem", "UnexpectedProblem", "aaa"),
           problem(500, "Unexpected Problem", "UnexpectedProblem", "bbb"))
    gives_up = r"500 Unexpected Problem \(correlationId bbb\) \(4 attempts\)"
    with caplog.at_level(logging.WARNING, logger="adapters.nws.client"), \
            pytest.raises(NwsUnavailable, match=gives_up):
        client.latest_observation("KFLL")
    assert "correlationId aaa" in caplog.text and "correlationId bbb" in caplog.text


def test_an_expired_forecast_grid_is_raised_at_once(client: NwsClient, nws: FakeNws,
                                                    sleeps: list[float]) -> None:
    expired = problem(503, "Forecast Grid Expired", "ForecastGridExpired", "e1")
    nws.on("/gridpoints/TAE/58,65/forecast", expired)
    point = client.point(30, -85)
    with pytest.raises(ForecastGridExpired) as caught:
        client.forecast(point)
    assert (caught.value.status, caught.value.correlation_id) == (503, "e1")
    assert isinstance(caught.value, NwsProblem)
    assert nws.paths().count("/gridpoints/TAE/58,65/forecast") == 1 and sleeps == []


def test_the_correlation_id_header_stands_in_for_a_missing_body_one(client: NwsClient, nws: FakeNws) -> None:
    nws.on("/stations/KFLL/observations/latest", httpx.Response(
        400, headers={"Content-Type": "application/problem+json", "X-Correlation-Id": "hdr-1"},
        json={"type": "https://api.weather.gov/problems/BadRequest", "title": "Bad Request", "status": 400}))
    with pytest.raises(NwsProblem) as caught:
        client.latest_observation("KFLL")
    assert caught.value.correlation_id == "hdr-1"


def test_a_4xx_html_page_is_a_problem_not_retried(client: NwsClient, nws: FakeNws,
                                                  sleeps: list[float]) -> None:
    nws.on("/points/30,-85", html(403, b"<html>Access Denied</html>"))
    with pytest.raises(NwsProblem, match="403 Forbidden for /points/30,-85: text/html, not problem\\+json"):
        client.point(30, -85)
    assert sleeps == []


def test_an_empty_body_is_retried_then_malformed(client: NwsClient, nws: FakeNws,
                                                 sleeps: list[float]) -> None:
    nws.on("/stations/KFLL/observations/latest", geojson(b""))
    with pytest.raises(MalformedPayload, match="answered 200 with an empty body \\(4 attempts\\)"):
        client.latest_observation("KFLL")
    assert len(sleeps) == 3
    nws.on("/stations/KFLL/observations/latest", geojson(b"  \n"), geojson(b"{}"),
           geojson(fixture("stations_observations_latest.json")))
    assert client.latest_observation("KFLL").temperature_f == 73.04


@pytest.mark.parametrize(("body", "message"), [
    (b'{"type": "Feature", "properties": {', "that is not JSON"),
    (b'{"properties": {"temperature": NaN}}', "NaN is not a JSON number"),
    (b"\xff\xfe", "that is not JSON"),
])
def test_malformed_json_is_not_retried(body: bytes, message: str, client: NwsClient, nws: FakeNws,
                                       sleeps: list[float]) -> None:
    nws.on("/stations/KFLL/observations/latest", geojson(body))
    with pytest.raises(MalformedPayload, match=message):
        client.latest_observation("KFLL")
    assert sleeps == [] and len(nws.requests) == 1


def test_an_html_page_with_200_is_malformed(client: NwsClient, nws: FakeNws) -> None:
    nws.on("/stations/KFLL/observations/latest", html(200, b"<html>maintenance</html>"))
    with pytest.raises(MalformedPayload, match="answered 200 with an HTML page, not JSON"):
        client.latest_observation("KFLL")


def test_json_without_the_spec_shape_is_malformed(client: NwsClient, nws: FakeNws) -> None:
    grid_only = {"type": "Feature", "properties": {"gridId": "TAE", "gridX": 1, "gridY": 2}}
    nws.on("/points/30,-85", geojson(grid_only))
    with pytest.raises(MalformedPayload, match="points payload /points/30,-85 has no 'forecast'"):
        client.point(30, -85)


def test_redirects_are_followed(client: NwsClient, nws: FakeNws) -> None:
    nws.on("/points/30,-85", httpx.Response(301, headers={"Location": "/points/moved/30,-85"}))
    nws.on("/points/moved/30,-85", geojson(fixture("points.json")))
    assert client.point(30, -85).grid_id == "TAE"
    assert nws.paths() == ["/points/30,-85", "/points/moved/30,-85"]
    assert nws.requests[-1].headers["User-Agent"] == USER_AGENT


def test_the_client_closes(nws: FakeNws) -> None:
    with NwsClient("http://nws.test", USER_AGENT, transport=httpx.MockTransport(nws.handle)) as client:
        client.point(30, -85)
    with pytest.raises(RuntimeError):
        client.point(31, -85)
