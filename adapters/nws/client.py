"""The api.weather.gov client: HTTP, retries, caching; the JSON itself is read by ``wire``.

Every request carries the ``User-Agent`` the API requires and ``Accept: application/geo+json``.
What the client adds over a bare ``httpx.Client``:

* ``/points/{lat},{lon}`` answers are cached and re-asked after ``points_max_age``; when that
  refresh fails because the API is down, the cached grid is used (a grid assignment changes
  about never) and a warning is logged.
* Conditional GET: the ``Last-Modified`` of each URL is remembered (for the last ``cache_size``
  URLs) and sent back as ``If-Modified-Since``; a ``304`` returns the payload already held.
* Retries with exponential backoff (``backoff``, doubling, capped at ``max_backoff``; a numeric
  ``Retry-After`` lengthens the wait) on timeouts, transport errors, any 5xx (problem+json or an
  HTML 502 page) and an empty 200 body, ``attempts`` tries in all. Never on a 4xx: asking again
  will not change the answer. ``sleep`` is injected so tests do not wait.
* Errors, translated at this boundary (see ``errors.py``): a 4xx problem+json is
  :class:`NwsProblem`; a forecast grid that expired is :class:`ForecastGridExpired` whatever its
  status, and is not retried (the data is stale, not missing); 5xx and timeouts still failing after
  the retries are :class:`NwsUnavailable`; a body that is empty or not JSON, or JSON without the
  spec's shape, is :class:`MalformedPayload`. Every problem+json is logged with its
  ``correlationId`` (the id NWS asks for when reporting an issue).

Links inside answers (``forecast``, ``forecastHourly``...) name the production host; the client
follows their path on its own ``base_url``, so a simulator or a recording proxy stays in the loop.
"""

from __future__ import annotations

import json
import logging
import math
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

import httpx

from adapters.nws import wire
from adapters.nws.errors import ForecastGridExpired, MalformedPayload, NwsError, NwsProblem, NwsUnavailable
from adapters.nws.wire import (
    Forecast,
    Gridpoint,
    NwsAlert,
    ObservationReading,
    PointInfo,
    ProductRef,
    StationInfo,
    TextProduct,
)
from domain.events.weather import Observation

logger = logging.getLogger(__name__)

ACCEPT = "application/geo+json"
USER_AGENT_VARIABLE = "MILKBOT_NWS_USER_AGENT"


def _utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class _Cached:
    last_modified: str
    payload: Any


class _Transient(Exception):
    """An attempt failed in a way another attempt may not (5xx, timeout, empty body)."""

    def __init__(self, error: NwsError, retry_after: float | None = None) -> None:
        super().__init__(str(error))
        self.error = error
        self.retry_after = retry_after


class NwsClient:
    """A synchronous api.weather.gov client. Build one per process; ``close()`` it (or use ``with``)."""

    def __init__(
        self,
        base_url: str,
        user_agent: str | None,
        *,
        transport: httpx.BaseTransport | None = None,
        clock: Callable[[], datetime] = _utc_now,
        sleep: Callable[[float], None] = time.sleep,
        timeout: float = 15.0,
        attempts: int = 4,
        backoff: float = 1.0,
        max_backoff: float = 30.0,
        points_max_age: timedelta = timedelta(hours=24),
        latest_max_age: timedelta = timedelta(hours=2),
        cache_size: int = 512,
    ) -> None:
        if user_agent is None or not user_agent.strip():
            raise ValueError(
                f"{USER_AGENT_VARIABLE} is not set: api.weather.gov refuses requests without a "
                "User-Agent. Set it to name the application and a contact, e.g. 'milkbot (ops@example.com)'."
            )
        if not base_url.startswith(("http://", "https://")):
            raise ValueError(f"the NWS base URL must be http(s)://..., not {base_url!r}")
        if attempts < 1:
            raise ValueError("attempts must be at least 1")
        self._http = httpx.Client(
            base_url=base_url.rstrip("/"),
            headers={"User-Agent": user_agent.strip(), "Accept": ACCEPT},
            transport=transport,
            timeout=timeout,
            follow_redirects=True,  # /points with more than 4 decimals answers 301 to the rounded point
        )
        self._clock = clock
        self._sleep = sleep
        self._attempts = attempts
        self._backoff = backoff
        self._max_backoff = max_backoff
        self._points_max_age = points_max_age
        self._latest_max_age = latest_max_age
        self._cache_size = cache_size
        self._conditional: OrderedDict[str, _Cached] = OrderedDict()
        self._points: dict[str, tuple[PointInfo, datetime]] = {}

    # -- lifecycle --------------------------------------------------------------------------

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> NwsClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- points and stations ----------------------------------------------------------------

    def point(self, lat: float, lon: float) -> PointInfo:
        """The forecast grid and links for a place, cached for ``points_max_age``."""
        path = f"/points/{_coordinate(lat, 90, 'latitude')},{_coordinate(lon, 180, 'longitude')}"
        now = self._clock()
        cached = self._points.get(path)
        if cached is not None and now - cached[1] <= self._points_max_age:
            return cached[0]
        try:
            info = wire.parse_point(self._get_json(path), source=path)
        except NwsUnavailable as e:
            if cached is None:
                raise
            logger.warning("NWS %s could not be refreshed (%s); using the grid cached at %s",
                           path, e, cached[1].isoformat())
            return cached[0]
        self._points[path] = (info, now)
        return info

    def stations(self, point: PointInfo) -> tuple[StationInfo, ...]:
        """The observation stations usable for a point's grid, nearest first."""
        path = _path_of(point.observation_stations_url)
        return wire.parse_stations(self._get_json(path), source=path)

    # -- forecasts --------------------------------------------------------------------------

    def forecast(self, point: PointInfo, *, max_age: timedelta | None = None) -> Forecast:
        """The 12-hour-period forecast. With ``max_age``, an older ``updateTime`` is :class:`StaleData`."""
        return self._forecast(point.forecast_url, max_age)

    def hourly_forecast(self, point: PointInfo, *, max_age: timedelta | None = None) -> Forecast:
        return self._forecast(point.forecast_hourly_url, max_age)

    def gridpoint(self, point: PointInfo, *, max_age: timedelta | None = None) -> Gridpoint:
        """Raw gridpoint data (hourly values via :meth:`Gridpoint.hourly_periods`)."""
        path = _path_of(point.forecast_grid_data_url)
        grid = wire.parse_gridpoint(self._get_json(path), source=path, now=self._clock())
        if max_age is not None:
            wire.ensure_fresh(f"gridpoint data {path}", grid.issued_at, now=self._clock(), max_age=max_age)
        return grid

    def _forecast(self, url: str, max_age: timedelta | None) -> Forecast:
        path = _path_of(url)
        forecast = wire.parse_forecast(self._get_json(path), source=path)
        if max_age is not None:
            wire.ensure_fresh(f"forecast {path}", forecast.issued_at, now=self._clock(), max_age=max_age)
        return forecast

    # -- observations -----------------------------------------------------------------------

    def observation_readings(self, station: str, *, start: datetime | None = None,
                             end: datetime | None = None, limit: int | None = None
                             ) -> tuple[ObservationReading, ...]:
        """Every reading the API lists for ``station`` (oldest first), METAR or not."""
        params: dict[str, str | int] = {}
        for name, moment in (("start", start), ("end", end)):
            if moment is not None:
                if moment.tzinfo is None:
                    raise ValueError(f"observation {name} must carry a UTC offset")
                params[name] = moment.isoformat()
        if limit is not None:
            if not 1 <= limit <= 500:
                raise ValueError("limit must be between 1 and 500 (the API's range)")
            params["limit"] = limit
        path = f"/stations/{_segment(station)}/observations"
        return wire.parse_observations(self._get_json(path, params or None), source=path)

    def observations(self, station: str, *, start: datetime | None = None, end: datetime | None = None,
                     limit: int | None = None) -> tuple[Observation, ...]:
        """The station's observations, oldest first, preferring its METARs (see ``prefer_metars``)."""
        readings = self.observation_readings(station, start=start, end=end, limit=limit)
        return tuple(r.to_observation() for r in wire.prefer_metars(readings))

    def latest_observation(self, station: str, *, max_age: timedelta | None = None) -> Observation:
        """``/observations/latest``, refused as :class:`StaleData` when older than ``max_age``
        (default ``latest_max_age``): the API keeps answering with a station's last report long
        after the station stopped reporting."""
        path = f"/stations/{_segment(station)}/observations/latest"
        reading = wire.parse_latest_observation(self._get_json(path), source=path)
        wire.ensure_fresh(f"latest observation {path}", reading.time, now=self._clock(),
                          max_age=self._latest_max_age if max_age is None else max_age)
        return reading.to_observation()

    # -- text products ----------------------------------------------------------------------

    def cli_products(self, site: str) -> tuple[ProductRef, ...]:
        """The CLI (Daily Climate Report) products for a site (e.g. ``NYC``), newest first.

        The API keeps about a week of them."""
        path = f"/products/types/CLI/locations/{_segment(site)}"
        return wire.parse_product_list(self._get_json(path), source=path)

    def latest_cli_product(self, site: str) -> ProductRef | None:
        """The newest CLI product by ``issuanceTime``; ``None`` when the API lists none."""
        products = self.cli_products(site)
        return products[0] if products else None

    def product(self, product_id: str) -> TextProduct:
        path = f"/products/{_segment(product_id)}"
        return wire.parse_product(self._get_json(path), source=path)

    def product_text(self, product_id: str) -> str:
        """A product's text exactly as issued (the CLI parser reads it)."""
        return self.product(product_id).text

    # -- alerts -----------------------------------------------------------------------------

    def active_alerts(self, zone: str) -> tuple[NwsAlert, ...]:
        path = f"/alerts/active/zone/{_segment(zone)}"
        return wire.parse_alerts(self._get_json(path), source=path)

    # -- HTTP -------------------------------------------------------------------------------

    def _get_json(self, path: str, params: dict[str, str | int] | None = None) -> Any:
        request = self._http.build_request("GET", path, params=params)
        key = str(request.url)
        where = request.url.raw_path.decode("ascii", "replace")
        cached = self._conditional.get(key)
        if cached is not None:
            request.headers["If-Modified-Since"] = cached.last_modified
        failure: _Transient | None = None
        for attempt in range(self._attempts):
            if failure is not None:
                self._sleep(self._delay(attempt, failure.retry_after))
            try:
                return self._attempt(request, key, where, cached)
            except _Transient as transient:
                failure = transient
                logger.info("NWS GET %s failed on attempt %d of %d: %s",
                            where, attempt + 1, self._attempts, transient.error)
        assert failure is not None
        error = failure.error
        raise type(error)(f"{error} ({self._attempts} attempts)") from error

    def _delay(self, retry_number: int, retry_after: float | None) -> float:
        delay = min(self._max_backoff, self._backoff * float(2 ** (retry_number - 1)))
        if retry_after is not None:
            delay = max(delay, min(retry_after, self._max_backoff))
        return delay

    def _attempt(self, request: httpx.Request, key: str, where: str, cached: _Cached | None) -> Any:
        try:
            response = self._http.send(request)
        except httpx.TimeoutException as e:
            error = NwsUnavailable(f"GET {where} timed out ({type(e).__name__})")
            raise _Transient(_caused(error, e)) from e
        except httpx.TransportError as e:
            error = NwsUnavailable(f"GET {where} failed: {type(e).__name__}: {e}")
            raise _Transient(_caused(error, e)) from e
        status = response.status_code
        if status == 304:
            if cached is None:
                raise MalformedPayload(f"GET {where} answered 304 Not Modified but nothing is cached")
            self._conditional.move_to_end(key)
            return cached.payload
        if 200 <= status < 300:
            payload = self._json_body(response, where)
            last_modified = response.headers.get("Last-Modified")
            if last_modified:
                self._remember(key, _Cached(last_modified, payload))
            return payload
        if status >= 500:
            problem = self._problem(response, where)
            if isinstance(problem, ForecastGridExpired):
                raise problem
            what = f"{status} {problem.title}" if problem else _status_words(response)
            raise _Transient(NwsUnavailable(f"GET {where} answered {what}{_correlation(problem)}"),
                             _retry_after(response))
        if 400 <= status < 500:
            problem = self._problem(response, where)
            raise problem or NwsProblem(status, response.reason_phrase or "error",
                                        f"{_content_type(response) or 'no content type'}, not problem+json",
                                        path=where)
        raise NwsUnavailable(f"GET {where} answered an unexpected {_status_words(response)}")

    def _json_body(self, response: httpx.Response, where: str) -> Any:
        status = response.status_code
        if not response.content.strip():
            raise _Transient(MalformedPayload(f"GET {where} answered {status} with an empty body"))
        kind = _content_type(response)
        if "html" in kind:
            raise MalformedPayload(f"GET {where} answered {status} with an HTML page, not JSON")
        try:
            payload = _loads(response.content)
        except ValueError as e:
            raise MalformedPayload(f"GET {where} answered {status} {kind or 'with no content type'} "
                                   f"that is not JSON: {e}") from None
        if payload in (None, {}, []):
            raise _Transient(MalformedPayload(f"GET {where} answered {status} with an empty JSON value"))
        return payload

    def _problem(self, response: httpx.Response, where: str) -> NwsProblem | None:
        """The problem+json body of an error answer, logged with its correlationId; ``None`` when
        the body is not one (an HTML 502 page, an empty body)."""
        header_id = response.headers.get("X-Correlation-Id")
        try:
            body = _loads(response.content)
        except ValueError:
            body = None
        if not isinstance(body, dict) or not ("title" in body or "type" in body):
            if header_id:
                logger.warning("NWS GET %s answered %s, correlationId %s",
                               where, _status_words(response), header_id)
            return None
        problem = wire.problem_from_json(body, status=response.status_code, path=where,
                                         correlation_id=header_id)
        logger.warning("NWS GET %s answered problem %s %s (%s), correlationId %s",
                       where, problem.status, problem.title, problem.type or "no type",
                       problem.correlation_id or "absent")
        return problem

    def _remember(self, key: str, entry: _Cached) -> None:
        self._conditional[key] = entry
        self._conditional.move_to_end(key)
        while len(self._conditional) > self._cache_size:
            self._conditional.popitem(last=False)


def _reject_constant(name: str) -> float:
    raise ValueError(f"{name} is not a JSON number")


def _loads(content: bytes) -> Any:
    # Python's json accepts NaN and Infinity; JSON does not, and neither can the ledger.
    return json.loads(content, parse_constant=_reject_constant)


def _caused(error: NwsError, cause: BaseException) -> NwsError:
    error.__cause__ = cause
    return error


def _content_type(response: httpx.Response) -> str:
    return str(response.headers.get("Content-Type", "")).split(";")[0].strip().lower()


def _status_words(response: httpx.Response) -> str:
    kind = " (HTML error page)" if "html" in _content_type(response) else ""
    return f"{response.status_code} {response.reason_phrase}{kind}".replace("  ", " ")


def _correlation(problem: NwsProblem | None) -> str:
    return f" (correlationId {problem.correlation_id})" if problem and problem.correlation_id else ""


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After", "")
    try:
        seconds = float(value)
    except ValueError:
        return None  # absent, or an HTTP date: the backoff schedule applies
    return seconds if math.isfinite(seconds) and seconds >= 0 else None


def _path_of(link: str) -> str:
    """The path and query of a link the API gave, to be asked of this client's base URL."""
    url = httpx.URL(link)
    return str(url.raw_path.decode("ascii")) if url.is_absolute_url else link


def _segment(value: str) -> str:
    if not value or not value.strip():
        raise ValueError("an NWS path segment (station, site, product id, zone) may not be empty")
    return quote(value.strip(), safe="")


def _coordinate(value: float, limit: float, name: str) -> str:
    """The API's own spelling: at most 4 decimals, no trailing zeros (``30,-85``)."""
    if not math.isfinite(value) or abs(value) > limit:
        raise ValueError(f"{name} {value!r} is not a coordinate")
    text = f"{round(value, 4):.4f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text
