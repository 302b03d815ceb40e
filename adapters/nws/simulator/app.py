"""A wire-compatible api.weather.gov for the configured cities, served from the seeded generator.

``create_app(config, seed=..., clock=..., faults=...)`` builds a starlette ASGI app answering, in the
shapes of ``shared/specs/nws-openapi.yaml`` and the recorded payloads in ``shared/fixtures/nws/api``:

    GET  /points/{lat},{lon}                              a configured point (else 404 problem+json)
    GET  /gridpoints/{wfo}/{x},{y}                        raw grid layers with ISO-8601 validTime runs
    GET  /gridpoints/{wfo}/{x},{y}/forecast               14 twelve-hour periods
    GET  /gridpoints/{wfo}/{x},{y}/forecast/hourly        156 hourly periods
    GET  /gridpoints/{wfo}/{x},{y}/stations               the grid's stations, settlement station first
    GET  /stations/{id}/observations[?start&end&limit]    hourly METARs (HH:51), newest first
    GET  /stations/{id}/observations/latest
    GET  /products/types/CLI/locations/{site}             a week of CLI products (``@graph``)
    GET  /products/{id}                                   one product with its ``productText``
    GET  /_sim/faults, POST /_sim/faults                  read / replace the switchable faults (JSON)

JSON answers are ``application/geo+json`` (text products ``application/ld+json``, as the spec lists
them); errors are ``application/problem+json`` with ``type``, ``title``, ``status``, ``detail``,
``instance`` and ``correlationId``, and every answer carries ``X-Correlation-Id``. Like the real API,
a request without a ``User-Agent`` is refused with 403. Nothing is read from the wall clock: "now" is
``clock()``, so an accelerated demo clock moves the whole simulated world.
"""

from __future__ import annotations

import hashlib
import math
import uuid
from collections.abc import Awaitable, Callable, Iterator, MutableMapping, Sequence
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime, parsedate_to_datetime
from typing import Any
from zoneinfo import ZoneInfo

import orjson
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from adapters.nws.simulator.products import CliProduct, office_of, products_for, render_cli
from adapters.nws.simulator.weather import (
    OBS_MINUTE,
    WeatherGenerator,
    climate_day_of,
    climate_day_start,
)
from domain.config import CityConfig, MilkbotConfig
from domain.events.base import MarketKind

GEO_JSON = "application/geo+json"
LD_JSON = "application/ld+json"
PROBLEM_JSON = "application/problem+json"
PROBLEMS = "https://api.weather.gov/problems"
#: How far back a stale forecast's ``updateTime`` lies.
STALE_AGE = timedelta(days=3)
#: How long the API keeps text products.
PRODUCT_RETENTION = timedelta(days=7)
_CONTEXT: list[Any] = [
    "https://geojson.org/geojson-ld/geojson-context.jsonld",
    {"@version": "1.1", "wx": "https://api.weather.gov/ontology#", "s": "https://schema.org/",
     "geo": "http://www.opengis.net/ont/geosparql#", "unit": "http://codes.wmo.int/common/unit/",
     "@vocab": "https://api.weather.gov/ontology#"},
]
_FORECAST_CONTEXT: list[Any] = [
    "https://geojson.org/geojson-ld/geojson-context.jsonld",
    {"@version": "1.1", "wx": "https://api.weather.gov/ontology#",
     "geo": "http://www.opengis.net/ont/geosparql#", "unit": "http://codes.wmo.int/common/unit/",
     "@vocab": "https://api.weather.gov/ontology#"},
]
_GRID_CONTEXT: list[Any] = [
    "https://geojson.org/geojson-ld/geojson-context.jsonld",
    {"@version": "1.1", "wmoUnit": "https://codes.wmo.int/common/unit/",
     "nwsUnit": "https://api.weather.gov/ontology/unit/"},
]
_PRODUCT_CONTEXT: dict[str, Any] = {"@version": "1.1", "@vocab": "https://api.weather.gov/ontology#"}
_HTML_502 = (b"<!DOCTYPE html>\n<html><head><title>502 Bad Gateway</title></head>\n<body>\n"
             b"<h1>Bad Gateway</h1>\n<p>The proxy server received an invalid response from an upstream "
             b"server.</p>\n<p>Reference&#32;&#35;97&#46;a8c1d017&#46;1700000000&#46;1f2e3d4c</p>\n"
             b"</body></html>\n")

Scope = bool | frozenset[str]


# --- faults --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Faults:
    """Switchable misbehaviour. Each is off (``False``), on for every city (``True``), or on for a
    set of city codes. ``POST /_sim/faults`` with e.g. ``{"html_502": ["NYC"]}`` replaces them."""

    #: Forecasts and grid data answer with an ``updateTime`` ``STALE_AGE`` in the past.
    stale_forecasts: Scope = False
    #: Every endpoint of the city answers 500 problem+json.
    server_error: Scope = False
    #: Every endpoint of the city answers an HTML 502 page (a CDN in front of a dead origin).
    html_502: Scope = False
    #: Forecast endpoints answer 503 ``ForecastGridExpired`` problem+json.
    grid_expired: Scope = False
    #: Observations answer an empty FeatureCollection (``/latest``: 404 problem+json).
    missing_observations: Scope = False

    def on(self, name: str, city: str | None) -> bool:
        scope: Scope = getattr(self, name)
        if isinstance(scope, bool):
            return scope
        return city is not None and city in scope

    @classmethod
    def from_json(cls, data: Any) -> Faults:
        if not isinstance(data, dict):
            raise ValueError("faults must be a JSON object")
        names = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - names)
        if unknown:
            raise ValueError(f"unknown faults {unknown}; known: {sorted(names)}")
        values: dict[str, Scope] = {}
        for name, raw in data.items():
            if isinstance(raw, bool):
                values[name] = raw
            elif isinstance(raw, list) and all(isinstance(c, str) for c in raw):
                values[name] = frozenset(c.upper() for c in raw)
            else:
                raise ValueError(f"fault {name!r} must be true, false or a list of city codes")
        return cls(**values)

    def to_json(self) -> dict[str, bool | list[str]]:
        out: dict[str, bool | list[str]] = {}
        for f in fields(self):
            scope: Scope = getattr(self, f.name)
            out[f.name] = scope if isinstance(scope, bool) else sorted(scope)
        return out


# --- the simulated geography ---------------------------------------------------------------------

@dataclass(frozen=True)
class Grid:
    """One forecast point and its 2.5 km grid square."""

    city: str
    wfo: str
    x: int
    y: int
    latitude: float
    longitude: float
    station: str  # the settlement station this point forecasts for

    @property
    def path(self) -> str:
        return f"/gridpoints/{self.wfo}/{self.x},{self.y}"


@dataclass(frozen=True)
class Station:
    id: str
    city: str
    latitude: float
    longitude: float
    name: str


@dataclass
class World:
    """What the simulator serves: the config's points, grids, stations and CLI sites."""

    config: MilkbotConfig
    weather: WeatherGenerator
    seed: int
    grids: dict[tuple[str, int, int], Grid] = field(default_factory=dict)
    points: dict[tuple[float, float], Grid] = field(default_factory=dict)
    stations: dict[str, Station] = field(default_factory=dict)
    cli_sites: dict[str, str] = field(default_factory=dict)  # site -> city code

    @classmethod
    def build(cls, config: MilkbotConfig, seed: int) -> World:
        world = cls(config, WeatherGenerator(config.cities, seed=seed), seed)
        for city in config.cities:
            office = office_of(city)
            for kind in MarketKind:
                source = city.source(kind)
                if source is None:
                    continue
                lat, lon = city.forecast_point(kind)
                world.cli_sites.setdefault(source.cli_site, city.code)
                world.stations.setdefault(source.station, Station(
                    source.station, city.code, lat, lon, f"{city.name} ({source.station})"))
                key = (round(lat, 4), round(lon, 4))
                if key in world.points:
                    continue
                # Grid indices: stable, plausible (0..~300), distinct within an office.
                x = 10 + int(abs(lon) * 1000) % 200
                y = 10 + int(abs(lat) * 1000) % 200
                while (office.wfo, x, y) in world.grids:
                    x += 1
                grid = Grid(city.code, office.wfo, x, y, lat, lon, source.station)
                world.grids[(office.wfo, x, y)] = grid
                world.points[key] = grid
        return world

    def city(self, code: str) -> CityConfig:
        return self.config.city(code)


# --- the app -------------------------------------------------------------------------------------

class _Refused(Exception):
    def __init__(self, response: Response) -> None:
        super().__init__("refused")
        self.response = response


def create_app(config: MilkbotConfig, *, seed: int = 0, clock: Callable[[], datetime],
               faults: Faults | None = None) -> Starlette:
    """The simulator as an ASGI app. ``clock`` is "now" (aware); ``faults`` the initial faults."""
    world = World.build(config, seed)
    state = {"faults": faults or Faults()}

    def now() -> datetime:
        moment = clock()
        if moment.tzinfo is None:
            raise ValueError("the simulator's clock must return an aware datetime")
        return moment.astimezone(UTC)

    def current() -> Faults:
        return state["faults"]

    def guard(request: Request, city: str | None, *, forecast: bool = False) -> None:
        """Answer a switched-on fault for this city instead of the data."""
        f = current()
        if f.on("html_502", city):
            raise _Refused(Response(_HTML_502, status_code=502, media_type="text/html"))
        if f.on("server_error", city):
            raise _Refused(problem(request, 500, "Unexpected Problem",
                                   "An unexpected problem has occurred.", "UnexpectedProblem"))
        if forecast and f.on("grid_expired", city):
            issued = now() - timedelta(days=2)
            raise _Refused(problem(request, 503, "Forecast Grid Expired",
                                   f"The requested forecast grid was issued {issued:%Y-%m-%dT%H:%M:%S+00:00} "
                                   "and has expired.", "ForecastGridExpired"))

    def grid_of(request: Request) -> Grid:
        wfo = request.path_params["wfo"].upper()
        try:
            x, y = int(request.path_params["x"]), int(request.path_params["y"])
        except ValueError:
            raise _Refused(problem(request, 400, "Bad Request", "Invalid grid coordinates",
                                   "InvalidParameter")) from None
        grid = world.grids.get((wfo, x, y))
        if grid is None:
            raise _Refused(problem(request, 404, "Data Unavailable For Requested Point",
                                   f"Unable to provide data for requested point {wfo}/{x},{y}",
                                   "InvalidPoint"))
        return grid

    async def point(request: Request) -> Response:
        raw = request.path_params["point"]
        try:
            lat_text, lon_text = raw.split(",")
            lat, lon = float(lat_text), float(lon_text)
        except ValueError:
            return problem(request, 400, "Invalid Parameter",
                           f"Parameter \"point\" is invalid: '{raw}' does not appear to be a valid "
                           "coordinate", "InvalidParameter")
        grid = world.points.get((round(lat, 4), round(lon, 4)))
        if grid is None:
            return problem(request, 404, "Data Unavailable For Requested Point",
                           f"Unable to provide data for requested point {lat_text},{lon_text}",
                           "InvalidPoint")
        guard(request, grid.city)
        return geo(request, point_json(world, grid, base(request)))

    async def gridpoint(request: Request) -> Response:
        grid = grid_of(request)
        guard(request, grid.city, forecast=True)
        issued = issue_time(grid.city)
        return geo(request, gridpoint_json(world, grid, issued, base(request)),
                   last_modified=issued)

    async def forecast(request: Request) -> Response:
        grid = grid_of(request)
        guard(request, grid.city, forecast=True)
        issued = issue_time(grid.city)
        return geo(request, forecast_json(world, grid, issued, now(), hourly=False), last_modified=issued)

    async def forecast_hourly(request: Request) -> Response:
        grid = grid_of(request)
        guard(request, grid.city, forecast=True)
        issued = issue_time(grid.city)
        return geo(request, forecast_json(world, grid, issued, now(), hourly=True), last_modified=issued)

    async def grid_stations(request: Request) -> Response:
        grid = grid_of(request)
        guard(request, grid.city)
        others = sorted(s for s, st in world.stations.items() if st.city == grid.city and s != grid.station)
        ids = [grid.station, *others]
        stations = [world.stations[s] for s in ids]
        return geo(request, stations_json(world, stations, base(request)))

    def station_of(request: Request) -> Station:
        station = world.stations.get(request.path_params["station"].upper())
        if station is None:
            raise _Refused(problem(request, 404, "Not Found",
                                   f"Station {request.path_params['station']} not found", "NotFound"))
        return station

    async def observations(request: Request) -> Response:
        station = station_of(request)
        guard(request, station.city)
        end = min(now(), _query_time(request, "end") or now())
        start = _query_time(request, "start") or end - timedelta(hours=72)
        limit = _query_int(request, "limit", 500)
        if current().on("missing_observations", station.city):
            features: list[dict[str, Any]] = []
        else:
            times = list(_observation_times(start, end))[::-1][:limit]
            features = [observation_json(world, station, t, base(request)) for t in times]
        return geo(request, {"@context": _CONTEXT, "type": "FeatureCollection", "features": features})

    async def latest(request: Request) -> Response:
        station = station_of(request)
        guard(request, station.city)
        times = list(_observation_times(now() - timedelta(hours=2), now()))
        if current().on("missing_observations", station.city) or not times:
            return problem(request, 404, "Not Found", f"No observations found for station {station.id}",
                           "NotFound")
        feature = observation_json(world, station, times[-1], base(request))
        return geo(request, {"@context": _CONTEXT, **feature})

    async def product_list(request: Request) -> Response:
        kind = request.path_params["type"].upper()
        site = request.path_params["location"].upper()
        city_code = world.cli_sites.get(site)
        guard(request, city_code)
        graph = []
        if kind == "CLI" and city_code is not None:
            graph = [product_ref(p, base(request)) for p in cli_products(city_code, site)]
        return Response(orjson.dumps({"@context": _PRODUCT_CONTEXT, "@graph": graph}),
                        media_type=LD_JSON, headers=ids_headers(request))

    async def product(request: Request) -> Response:
        wanted = request.path_params["id"]
        for site, city_code in world.cli_sites.items():
            for p in cli_products(city_code, site):
                if p.id == wanted:
                    guard(request, city_code)
                    body = {"@context": _PRODUCT_CONTEXT, **product_ref(p, base(request)),
                            "productText": render_cli(p, world.weather)}
                    return Response(orjson.dumps(body), media_type=LD_JSON, headers=ids_headers(request))
        return problem(request, 404, "Not Found", f"Product {wanted} not found", "NotFound")

    async def get_faults(request: Request) -> Response:
        return Response(orjson.dumps(current().to_json()), media_type="application/json")

    async def set_faults(request: Request) -> Response:
        try:
            state["faults"] = Faults.from_json(orjson.loads(await request.body()))
        except (ValueError, TypeError) as e:
            return problem(request, 400, "Bad Request", str(e), "InvalidParameter")
        return Response(orjson.dumps(current().to_json()), media_type="application/json")

    def issue_time(city: str) -> datetime:
        """The forecast cycle in force: hourly updates, or one ``STALE_AGE`` old when stale."""
        moment = now() - (STALE_AGE if current().on("stale_forecasts", city) else timedelta(0))
        return moment.replace(minute=0, second=0, microsecond=0)

    def cli_products(city_code: str, site: str) -> list[CliProduct]:
        """The products already issued and still kept, newest first."""
        city = world.city(city_code)
        moment = now()
        today = climate_day_of(city.timezone, moment)
        found = [p for d in range(-8, 1) for p in products_for(city, site, today + timedelta(days=d), seed)
                 if moment - PRODUCT_RETENTION <= p.issuance_time <= moment]
        return sorted(found, key=lambda p: p.issuance_time, reverse=True)

    async def not_found(request: Request, exc: Exception) -> Response:
        status = exc.status_code if isinstance(exc, HTTPException) else 500
        title = {404: "Not Found", 405: "Method Not Allowed"}.get(status, "Unexpected Problem")
        return problem(request, status, title, f"{request.url.path}: {title.lower()}", title.replace(" ", ""))

    routes = [
        Route("/points/{point}", point),
        Route("/gridpoints/{wfo}/{x},{y}", gridpoint),
        Route("/gridpoints/{wfo}/{x},{y}/forecast", forecast),
        Route("/gridpoints/{wfo}/{x},{y}/forecast/hourly", forecast_hourly),
        Route("/gridpoints/{wfo}/{x},{y}/stations", grid_stations),
        Route("/stations/{station}/observations", observations),
        Route("/stations/{station}/observations/latest", latest),
        Route("/products/types/{type}/locations/{location}", product_list),
        Route("/products/{id}", product),
        Route("/_sim/faults", get_faults, methods=["GET"]),
        Route("/_sim/faults", set_faults, methods=["POST"]),
    ]
    app = Starlette(routes=routes, exception_handlers={HTTPException: not_found})
    app.state.world = world
    app.state.set_faults = lambda new: state.__setitem__("faults", new)
    app.add_middleware(_RequireUserAgent)
    app.add_middleware(_Refusals)
    return app


# --- middleware ----------------------------------------------------------------------------------

Scope_ = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
ASGIApp = Callable[[Scope_, Receive, Send], Awaitable[None]]


class _Refusals:
    """Turns a handler's ``_Refused`` into its response (faults and lookups raise it)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope_, receive: Receive, send: Send) -> None:
        try:
            await self.app(scope, receive, send)
        except _Refused as refused:
            await refused.response(scope, receive, send)


class _RequireUserAgent:
    """api.weather.gov refuses requests without a User-Agent (403 problem+json)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope_, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and not str(scope.get("path", "")).startswith("/_sim/"):
            agent = dict(scope.get("headers") or []).get(b"user-agent", b"").strip()
            if not agent:
                request = Request(scope)
                response = problem(request, 403, "Forbidden",
                                   "Access denied: a User-Agent header is required. Please identify "
                                   "your application and a contact.", "Forbidden")
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


# --- JSON bodies ---------------------------------------------------------------------------------

def base(request: Request) -> str:
    return str(request.base_url).rstrip("/")


def ids_headers(request: Request, correlation: str | None = None) -> dict[str, str]:
    correlation = correlation or uuid.uuid4().hex[:8] + "-" + uuid.uuid4().hex[:4]
    return {"X-Correlation-Id": correlation, "X-Request-Id": correlation, "X-Server-Id": "milkbot-sim",
            "Access-Control-Allow-Origin": "*"}


def geo(request: Request, body: dict[str, Any], *, last_modified: datetime | None = None) -> Response:
    headers = ids_headers(request)
    if last_modified is not None:
        headers["Last-Modified"] = format_datetime(last_modified, usegmt=True)
        since = request.headers.get("if-modified-since")
        if since:
            try:
                if parsedate_to_datetime(since) >= last_modified:
                    return Response(status_code=304, headers=headers)
            except (TypeError, ValueError):
                pass
    headers["Cache-Control"] = "public, max-age=600"
    return Response(orjson.dumps(body), media_type=GEO_JSON, headers=headers)


def problem(request: Request, status: int, title: str, detail: str, kind: str) -> Response:
    correlation = uuid.uuid4().hex[:8]
    body = {"correlationId": correlation, "title": title, "type": f"{PROBLEMS}/{kind}", "status": status,
            "detail": detail, "instance": f"https://api.weather.gov/requests/{correlation}"}
    return Response(orjson.dumps(body), status_code=status, media_type=PROBLEM_JSON,
                    headers=ids_headers(request, correlation))


def _qv(value: float | None, unit: str, qc: str | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"unitCode": unit, "value": value}
    if qc is not None:
        out["qualityControl"] = qc
    return out


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S+00:00")


def _square(lat: float, lon: float) -> dict[str, Any]:
    d = 0.0125
    ring = [[lon - d, lat + d], [lon - d, lat - d], [lon + d, lat - d], [lon + d, lat + d],
            [lon - d, lat + d]]
    return {"type": "Polygon", "coordinates": [[[round(a, 7), round(b, 7)] for a, b in ring]]}


def point_json(world: World, grid: Grid, root: str) -> dict[str, Any]:
    city = world.city(grid.city)
    lat_text = f"{round(grid.latitude, 4):.4f}".rstrip("0").rstrip(".")
    lon_text = f"{round(grid.longitude, 4):.4f}".rstrip("0").rstrip(".")
    here = f"{root}/points/{lat_text},{lon_text}"
    state = {"NYC": "NY", "CHI": "IL", "MIA": "FL", "AUS": "TX", "LAX": "CA", "DEN": "CO", "PHL": "PA",
             "HOU": "TX", "SEA": "WA", "DCA": "DC"}.get(city.code, "US")
    return {
        "@context": _CONTEXT,
        "id": here,
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [grid.longitude, grid.latitude]},
        "properties": {
            "@id": here,
            "@type": "wx:Point",
            "cwa": grid.wfo,
            "forecastOffice": f"{root}/offices/{grid.wfo}",
            "gridId": grid.wfo,
            "gridX": grid.x,
            "gridY": grid.y,
            "forecast": f"{root}{grid.path}/forecast",
            "forecastHourly": f"{root}{grid.path}/forecast/hourly",
            "forecastGridData": f"{root}{grid.path}",
            "observationStations": f"{root}{grid.path}/stations",
            "relativeLocation": {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [grid.longitude, grid.latitude]},
                "properties": {
                    "city": city.name, "state": state,
                    "distance": _qv(0.0, "wmoUnit:m"),
                    "bearing": _qv(0, "wmoUnit:degree_(angle)"),
                },
            },
            "forecastZone": f"{root}/zones/forecast/{state}Z001",
            "county": f"{root}/zones/county/{state}C001",
            "fireWeatherZone": f"{root}/zones/fire/{state}Z001",
            "timeZone": city.timezone,
            "radarStation": f"K{grid.wfo}",
        },
    }


def stations_json(world: World, stations: list[Station], root: str) -> dict[str, Any]:
    features = []
    for st in stations:
        city = world.city(st.city)
        features.append({
            "id": f"{root}/stations/{st.id}",
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [st.longitude, st.latitude]},
            "properties": {
                "@id": f"{root}/stations/{st.id}",
                "@type": "wx:ObservationStation",
                "elevation": _qv(10.0, "wmoUnit:m"),
                "stationIdentifier": st.id,
                "name": st.name,
                "timeZone": city.timezone,
                "forecast": f"{root}/zones/forecast/{st.city}Z001",
                "county": f"{root}/zones/county/{st.city}C001",
                "fireWeatherZone": f"{root}/zones/fire/{st.city}Z001",
            },
        })
    return {"@context": _CONTEXT, "type": "FeatureCollection", "features": features,
            "observationStations": [f"{root}/stations/{st.id}" for st in stations]}


def _sky(pop: int) -> tuple[str, str, str]:
    """(icon word, short forecast, METAR sky) for a probability of precipitation."""
    if pop >= 60:
        return "rain", "Rain Likely", "OVC012"
    if pop >= 30:
        return "rain_showers", "Chance Rain Showers", "BKN030"
    if pop >= 20:
        return "bkn", "Mostly Cloudy", "BKN050"
    return "few", "Mostly Sunny", "FEW250"


def forecast_json(world: World, grid: Grid, issued: datetime, generated: datetime, *,
                  hourly: bool) -> dict[str, Any]:
    weather = world.weather
    city = world.city(grid.city)
    zone = ZoneInfo(city.timezone)
    periods: list[dict[str, Any]] = []
    if hourly:
        first = generated.replace(minute=0, second=0, microsecond=0)
        for n in range(156):
            start = (first + timedelta(hours=n)).astimezone(zone)
            day = climate_day_of(city.timezone, start)
            fc = weather.forecast(grid.city, issued, day)
            temp = round(weather.forecast_temperature_f_at(grid.city, issued, start))
            periods.append(_period(n + 1, "", start, start + timedelta(hours=1), 6 <= start.hour < 18,
                                   temp, fc.pop_percent, "small", detailed=""))
        generator = "HourlyForecastGenerator"
        valid_hours = 156
    else:
        local = generated.astimezone(zone)
        daytime = 6 <= local.hour < 18
        boundary = local.replace(hour=18 if daytime else 6, minute=0, second=0, microsecond=0)
        if not daytime and local.hour >= 18:
            boundary += timedelta(days=1)
        start = local.replace(minute=0, second=0, microsecond=0)
        for n in range(14):
            end = boundary
            day = climate_day_of(city.timezone, end - timedelta(hours=1))
            fc = weather.forecast(grid.city, issued, day)
            if daytime:
                temp = round(fc.high_f)
                name = ("This Afternoon" if start.hour >= 12 else "Today") if n == 0 else f"{start:%A}"
                words = f"High near {temp}."
            else:
                fc = weather.forecast(grid.city, issued, climate_day_of(city.timezone, end))
                temp = round(fc.low_f)
                name = ("Tonight" if start.hour >= 18 or start.hour < 6 else "Overnight") if n == 0 \
                    else f"{start:%A} Night"
                words = f"Low around {temp}."
            _, short, _ = _sky(fc.pop_percent)
            chance = f" Chance of precipitation is {fc.pop_percent}%." if fc.pop_percent >= 20 else ""
            periods.append(_period(n + 1, name, start, end, daytime, temp, fc.pop_percent, "medium",
                                   detailed=f"{short}, with a {words[0].lower()}{words[1:]}{chance}"))
            start, daytime = end, not daytime
            boundary = end + timedelta(hours=12)
        generator = "BaselineForecastGenerator"
        valid_hours = 7 * 24
    return {
        "@context": _FORECAST_CONTEXT,
        "type": "Feature",
        "geometry": _square(grid.latitude, grid.longitude),
        "properties": {
            "units": "us",
            "forecastGenerator": generator,
            "generatedAt": _iso(generated),
            "updateTime": _iso(issued),
            "validTimes": f"{_iso(issued)}/P{valid_hours // 24}DT{valid_hours % 24}H",
            "elevation": _qv(10.0, "wmoUnit:m"),
            "periods": periods,
        },
    }


def _period(number: int, name: str, start: datetime, end: datetime, daytime: bool, temp: int, pop: int,
            size: str, *, detailed: str) -> dict[str, Any]:
    icon, short, _ = _sky(pop)
    when = "day" if daytime else "night"
    return {
        "number": number,
        "name": name,
        "startTime": start.isoformat(),
        "endTime": end.isoformat(),
        "isDaytime": daytime,
        "temperature": temp,
        "temperatureUnit": "F",
        "temperatureTrend": None,
        "probabilityOfPrecipitation": _qv(pop, "wmoUnit:percent"),
        "dewpoint": _qv(round((temp - 10 - 32) / 1.8, 2), "wmoUnit:degC"),
        "relativeHumidity": _qv(min(100, 50 + pop // 2), "wmoUnit:percent"),
        "windSpeed": "5 to 10 mph" if size == "medium" else "5 mph",
        "windDirection": "S",
        "icon": f"https://api.weather.gov/icons/land/{when}/{icon}?size={size}",
        "shortForecast": short,
        "detailedForecast": detailed,
    }


def _runs(values: Sequence[tuple[datetime, float | None]], step: timedelta) -> list[dict[str, Any]]:
    """Merge equal consecutive values into ``start/PTnH`` intervals, as the real grid does."""
    out: list[dict[str, Any]] = []
    i = 0
    while i < len(values):
        start, value = values[i]
        j = i + 1
        while j < len(values) and values[j][1] == value:
            j += 1
        out.append({"validTime": f"{_iso(start)}/{_duration(step * (j - i))}", "value": value})
        i = j
    return out


def _duration(span: timedelta) -> str:
    hours = int(span.total_seconds() // 3600)
    days, hours = divmod(hours, 24)
    return f"P{days}DT{hours}H" if days and hours else f"P{days}D" if days else f"PT{hours}H"


def gridpoint_json(world: World, grid: Grid, issued: datetime, root: str) -> dict[str, Any]:
    weather = world.weather
    city = world.city(grid.city)
    hours = [issued + timedelta(hours=h) for h in range(7 * 24)]
    temps = [(t, round((round(weather.forecast_temperature_f_at(grid.city, issued, t)) - 32) / 1.8, 4))
             for t in hours]
    first_day = climate_day_of(city.timezone, issued)
    days = [first_day + timedelta(days=d) for d in range(8)]
    highs: list[dict[str, Any]] = []
    lows: list[dict[str, Any]] = []
    pops: list[tuple[datetime, float | None]] = []
    qpf: list[tuple[datetime, float | None]] = []
    snow: list[tuple[datetime, float | None]] = []
    for day in days:
        fc = weather.forecast(grid.city, issued, day)
        start = climate_day_start(city.timezone, day)
        if start + timedelta(hours=19) > issued:
            highs.append({"validTime": f"{_iso(start + timedelta(hours=7))}/PT13H",
                          "value": round((round(fc.high_f) - 32) / 1.8, 4)})
        if start + timedelta(hours=8) > issued:
            lows.append({"validTime": f"{_iso(start - timedelta(hours=5))}/PT13H",
                         "value": round((round(fc.low_f) - 32) / 1.8, 4)})
        for block in range(4):
            t = start + timedelta(hours=6 * block)
            if t < issued or t >= hours[-1]:
                continue
            pops.append((t, float(fc.pop_percent)))
            qpf.append((t, round(fc.precip_in * 25.4 / 4, 2)))
            snow.append((t, round(fc.snow_in * 25.4 / 4, 1)))
    return {
        "@context": _GRID_CONTEXT,
        "id": f"{root}{grid.path}",
        "type": "Feature",
        "geometry": _square(grid.latitude, grid.longitude),
        "properties": {
            "@id": f"{root}{grid.path}",
            "@type": "wx:Gridpoint",
            "updateTime": _iso(issued),
            "validTimes": f"{_iso(issued)}/P7D",
            "elevation": _qv(10.0, "wmoUnit:m"),
            "forecastOffice": f"{root}/offices/{grid.wfo}",
            "gridId": grid.wfo,
            "gridX": grid.x,
            "gridY": grid.y,
            "temperature": {"uom": "wmoUnit:degC", "values": _runs(temps, timedelta(hours=1))},
            "maxTemperature": {"uom": "wmoUnit:degC", "values": highs},
            "minTemperature": {"uom": "wmoUnit:degC", "values": lows},
            "probabilityOfPrecipitation": {"uom": "wmoUnit:percent",
                                           "values": _runs(pops, timedelta(hours=6))},
            "quantitativePrecipitation": {"uom": "wmoUnit:mm", "values": _runs(qpf, timedelta(hours=6))},
            "snowfallAmount": {"uom": "wmoUnit:mm", "values": _runs(snow, timedelta(hours=6))},
        },
    }


def _observation_times(start: datetime, end: datetime) -> Iterator[datetime]:
    """The routine METAR times (HH:51 UTC; every US zone's offset is whole hours) in [start, end]."""
    t = start.astimezone(UTC).replace(minute=OBS_MINUTE, second=0, microsecond=0)
    if t < start:
        t += timedelta(hours=1)
    while t <= end:
        yield t
        t += timedelta(hours=1)


def _metar_temp(tenths: int) -> str:
    whole = math.floor(abs(tenths) / 10 + 0.5)
    return f"M{whole:02d}" if tenths < 0 and whole else f"{whole:02d}"


def _t_digits(tenths: int) -> str:
    return f"{1 if tenths < 0 else 0}{abs(tenths):03d}"


def observation_json(world: World, station: Station, t: datetime, root: str) -> dict[str, Any]:
    weather = world.weather
    city = world.city(station.city)
    reading = weather.reading_at(station.city, t)
    tenths = reading.tenths_c
    dew = tenths - 60 - (_hash_small(station.id, t) % 40)
    day = weather.day(station.city, climate_day_of(city.timezone, t))
    # Rain falls evenly over a wet day in this model; a METAR reports the last hour's share.
    hourly_precip_in = day.precip_hundredths / 100 / 24
    remarks = ["RMK", "AO2", f"SLP{150 + _hash_small(station.id, t) % 100:03d}"]
    if hourly_precip_in > 0:
        remarks.append(f"P{round(hourly_precip_in * 100):04d}")
    if t.hour in (23, 5, 11, 17):  # the reports closing a synoptic 6-hour window
        window = [weather.reading_at(station.city, t - timedelta(hours=h)).tenths_c for h in range(6)]
        remarks += [f"1{_t_digits(max(window))}", f"2{_t_digits(min(window))}"]
    remarks.append(f"T{_t_digits(tenths)}{_t_digits(dew)}")
    pop = 80 if day.precip_hundredths else 10
    _, text, sky = _sky(pop)
    raw = (f"{station.id} {t:%d%H%M}Z {_wind(station.id, t)}KT 10SM {sky} "
           f"{_metar_temp(tenths)}/{_metar_temp(dew)} A{2990 + _hash_small(station.id, t) % 40} "
           + " ".join(remarks))
    here = f"{root}/stations/{station.id}/observations/{_iso(t)}"
    temp_c = tenths / 10
    dew_c = dew / 10
    rh = 100 * math.exp(17.625 * dew_c / (243.04 + dew_c)) / math.exp(17.625 * temp_c / (243.04 + temp_c))
    return {
        "id": here,
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [station.longitude, station.latitude]},
        "properties": {
            "@id": here,
            "@type": "wx:ObservationStation",
            "elevation": _qv(10, "wmoUnit:m"),
            "station": f"{root}/stations/{station.id}",
            "timestamp": _iso(t),
            "rawMessage": raw,
            "textDescription": text,
            "icon": f"https://api.weather.gov/icons/land/day/{_sky(pop)[0]}?size=medium",
            "presentWeather": [],
            "temperature": _qv(temp_c, "wmoUnit:degC", "V"),
            "dewpoint": _qv(dew_c, "wmoUnit:degC", "V"),
            "windDirection": _qv(180, "wmoUnit:degree_(angle)", "V"),
            "windSpeed": _qv(14.76, "wmoUnit:km_h-1", "V"),
            "windGust": _qv(None, "wmoUnit:km_h-1", "Z"),
            "barometricPressure": _qv(101600, "wmoUnit:Pa", "V"),
            "seaLevelPressure": _qv(101600, "wmoUnit:Pa", "V"),
            "visibility": _qv(16090, "wmoUnit:m", "C"),
            "maxTemperatureLast24Hours": _qv(None, "wmoUnit:degC"),
            "minTemperatureLast24Hours": _qv(None, "wmoUnit:degC"),
            "precipitationLastHour": _qv(round(hourly_precip_in * 0.0254, 6), "wmoUnit:m", "C"),
            "precipitationLast3Hours": _qv(None, "wmoUnit:m", "Z"),
            "precipitationLast6Hours": _qv(None, "wmoUnit:m", "Z"),
            "relativeHumidity": _qv(round(rh, 4), "wmoUnit:percent", "V"),
            "windChill": _qv(None, "wmoUnit:degC", "V"),
            "heatIndex": _qv(None, "wmoUnit:degC", "V"),
            "cloudLayers": [{"base": _qv(7620, "wmoUnit:m"), "amount": sky[:3]}],
        },
    }


def _wind(station: str, t: datetime) -> str:
    h = _hash_small(station, t, "wind")
    return f"{(h % 36 + 1) * 10:03d}{h % 15 + 2:02d}"


def _hash_small(*key: object) -> int:
    return int.from_bytes(hashlib.blake2b(repr(key).encode(), digest_size=4).digest(), "big")


def product_ref(p: CliProduct, root: str) -> dict[str, Any]:
    return {
        "@id": f"{root}/products/{p.id}",
        "id": p.id,
        "wmoCollectiveId": p.office.wmo_heading,
        "issuingOffice": f"K{p.office.wfo}",
        "issuanceTime": _iso(p.issuance_time),
        "productCode": "CLI",
        "productName": "Climatological Report (Daily)",
    }


def _query_time(request: Request, name: str) -> datetime | None:
    raw = request.query_params.get(name)
    if raw is None:
        return None
    try:
        moment = datetime.fromisoformat(raw.replace("Z", "+00:00").replace(" ", "+"))
    except ValueError:
        raise _Refused(problem(request, 400, "Bad Request", f"Parameter \"{name}\" is invalid",
                               "InvalidParameter")) from None
    if moment.tzinfo is None:
        raise _Refused(problem(request, 400, "Bad Request", f"Parameter \"{name}\" needs a UTC offset",
                               "InvalidParameter"))
    return moment.astimezone(UTC)


def _query_int(request: Request, name: str, default: int) -> int:
    raw = request.query_params.get(name)
    if raw is None:
        return default
    if not raw.isdigit() or not 1 <= int(raw) <= 500:
        raise _Refused(problem(request, 400, "Bad Request", f"Parameter \"{name}\" must be 1..500",
                               "InvalidParameter"))
    return int(raw)


