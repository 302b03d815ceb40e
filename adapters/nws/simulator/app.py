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

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from adapters.nws.simulator.faults import STALE_AGE, Faults, Scope
from adapters.nws.simulator.forecast_bodies import forecast_json, gridpoint_json
from adapters.nws.simulator.geojson import _CONTEXT
from adapters.nws.simulator.middleware import _Refusals, _Refused, _RequireUserAgent
from adapters.nws.simulator.observation_bodies import _observation_times, observation_json
from adapters.nws.simulator.point_bodies import point_json, stations_json
from adapters.nws.simulator.product_bodies import _PRODUCT_CONTEXT, product_ref
from adapters.nws.simulator.products import CliProduct, products_for, render_cli
from adapters.nws.simulator.responses import (
    _HTML_502,
    GEO_JSON,
    LD_JSON,
    PROBLEM_JSON,
    PROBLEMS,
    base,
    geo,
    ids_headers,
    problem,
)
from adapters.nws.simulator.world import Grid, Station, World
from domain.climate_day import climate_day_of
from domain.config import MilkbotConfig

# The public names this module offered before the split, still importable from here.
__all__ = [
    "GEO_JSON", "LD_JSON", "PROBLEMS", "PROBLEM_JSON", "PRODUCT_RETENTION", "STALE_AGE", "Faults", "Grid",
    "Scope", "Station", "World", "base", "create_app", "forecast_json", "geo", "gridpoint_json",
    "ids_headers", "observation_json", "point_json", "problem", "product_ref", "stations_json",
]

#: How long the API keeps text products.
PRODUCT_RETENTION = timedelta(days=7)


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
