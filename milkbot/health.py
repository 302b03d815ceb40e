"""``/healthz``: is Milkbot up, are its feeds fresh, is it trading; and the ``/metrics`` endpoint.

``health(...)`` builds the body from what the caller read (a pure function: no clock, no I/O).
The overall ``status``, worst first:

* **down**: the ledger is unreachable. Nothing can be recorded, so nothing may trade. HTTP 503.
* **degraded**: Milkbot runs but does not trade everywhere it should: a feed is stale (its latest
  good snapshot is older than its limit, or there has never been one), the whole book or a city is
  HALTED, or a projection is more than ``max_projection_lag`` events behind the ledger (the
  dashboard shows old numbers). HTTP 200, so a monitor that only reads the code does not restart a
  process for weather it cannot fix; one that reads the body sees ``degraded`` and ``problems``.
* **ok**: none of the above. REDUCING alone is ok: it is the risk engine doing its job (a drawdown
  hold); a stale feed that caused it is already reported as one.

The body is served by the public app, so it carries no free text from the ledger: states, not the
operator's reasons; names of feeds and projections, not URLs or error messages.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, cast

import orjson
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from domain.events.risk import TradingState
from milkbot.metrics import CONTENT_TYPE, MetricsSource

log = logging.getLogger(__name__)

OK, DEGRADED, DOWN = "ok", "degraded", "down"
#: How many events a projection may trail the ledger before the dashboard counts as stale: a few
#: seconds of the busiest traffic (a full 10-city cycle records a few hundred events).
DEFAULT_MAX_PROJECTION_LAG = 1_000


@dataclass(frozen=True, slots=True)
class FeedFreshness:
    """One city's feed (``weather:{kind}`` or ``market:{kind}``, as the breakers name them)."""

    city: str
    feed: str
    #: Seconds since its latest good snapshot; None when there has never been one.
    age_seconds: float | None
    #: The age past which it is stale (the risk limits' ``stale_after`` for the feed).
    limit_seconds: float

    @property
    def stale(self) -> bool:
        # The same rule as the breakers: stale once ``now - last_good > limit``.
        return self.age_seconds is None or self.age_seconds > self.limit_seconds


@dataclass(frozen=True, slots=True)
class LedgerHealth:
    """What reading the ledger found. ``reachable=False`` alone when it could not be read."""

    reachable: bool
    #: The log's last position (event count).
    position: int | None = None
    #: Each projection's position in the log, by name.
    projections: Mapping[str, int] = field(default_factory=dict)
    #: The ledger clock (the latest recorded time the public projections reflect).
    clock: datetime | None = None


def health(*, ledger: LedgerHealth, feeds: Iterable[FeedFreshness] = (),
           book: TradingState | str = TradingState.ACTIVE,
           cities: Mapping[str, TradingState | str] | None = None,
           started_at: datetime, now: datetime,
           max_projection_lag: int = DEFAULT_MAX_PROJECTION_LAG) -> dict[str, Any]:
    """The ``/healthz`` body. ``book`` is the whole book's state, ``cities`` each city's effective
    state (``TradingStates.state_for``); ``started_at`` and ``now`` are aware datetimes."""
    for name, moment in (("started_at", started_at), ("now", now)):
        if moment.tzinfo is None:
            raise ValueError(f"{name} must be timezone-aware")
    feeds = sorted(feeds, key=lambda f: (f.city, f.feed))
    book_state = TradingState(book)
    city_states = {city: TradingState(state) for city, state in sorted((cities or {}).items())}

    down: list[str] = []
    degraded: list[str] = []
    if not ledger.reachable:
        down.append("the ledger is unreachable")
    for f in feeds:
        if f.stale:
            age = "no snapshot yet" if f.age_seconds is None else f"{f.age_seconds:.0f}s old"
            degraded.append(f"{f.city} {f.feed} is stale: {age}, limit {f.limit_seconds:.0f}s")
    if book_state is TradingState.HALTED:
        degraded.append("all trading is halted")
    degraded += [f"{city} is halted" for city, state in city_states.items()
                 if state is TradingState.HALTED and book_state is not TradingState.HALTED]
    projections = {}
    if ledger.reachable and ledger.position is not None:
        for name, position in sorted(ledger.projections.items()):
            behind = ledger.position - position
            projections[name] = {"position": position, "behind": behind}
            if behind > max_projection_lag:
                degraded.append(f"projection {name} is {behind} events behind")

    status = DOWN if down else DEGRADED if degraded else OK
    return {
        "status": status,
        "problems": down + degraded,
        "as_of": now.isoformat(),
        "started_at": started_at.isoformat(),
        "uptime_seconds": max(0, int((now - started_at).total_seconds())),
        "ledger": {
            "reachable": ledger.reachable,
            "position": ledger.position if ledger.reachable else None,
            "clock": ledger.clock.isoformat() if ledger.reachable and ledger.clock else None,
            "projections": projections,
        },
        "trading": {"state": book_state.value,
                    "cities": {city: state.value for city, state in city_states.items()}},
        "feeds": _feeds_by_city(feeds),
    }


def _feeds_by_city(feeds: list[FeedFreshness]) -> dict[str, dict[str, dict[str, Any]]]:
    by_city: dict[str, dict[str, dict[str, Any]]] = {}
    for f in feeds:
        by_city.setdefault(f.city, {})[f.feed] = {
            "age_seconds": None if f.age_seconds is None else round(f.age_seconds, 3),
            "limit_seconds": f.limit_seconds, "stale": f.stale}
    return by_city


def http_status(body: Mapping[str, Any]) -> int:
    """503 when down, 200 otherwise (see the module's docstring for why degraded is 200)."""
    return 503 if body.get("status") == DOWN else 200


# -- endpoints the API mounts ----------------------------------------------------------------------

HealthProvider = Callable[[], Mapping[str, Any]] | Callable[[], Awaitable[Mapping[str, Any]]]
Endpoint = Callable[[Request], Awaitable[Response]]
_NO_STORE = {"Cache-Control": "no-store"}  # never cached, by Cloudflare or anyone


def health_endpoint(provider: HealthProvider, *,
                    clock: Callable[[], datetime] | None = None) -> Endpoint:
    """``GET /healthz``: ``provider()`` reads the ledger and returns ``health(...)``'s body (a
    plain function runs in the thread pool, a coroutine function or an object with an async
    ``__call__`` is awaited). A provider that raises answers ``down`` (503) instead of a 500, and
    the log names only the exception's type: its message may hold a database URL. ``clock``
    stamps that answer (default: now, UTC)."""

    awaited = inspect.iscoroutinefunction(provider) or inspect.iscoroutinefunction(
        type(provider).__call__)  # an object whose ``__call__`` is ``async def``

    async def endpoint(request: Request) -> Response:
        try:
            if awaited:
                body = await cast(Awaitable[Mapping[str, Any]], provider())
            else:
                body = await run_in_threadpool(cast(Callable[[], Mapping[str, Any]], provider))
        except Exception as e:
            log.error("health check failed: %s", type(e).__name__)
            now = clock() if clock is not None else datetime.now(UTC)
            body = {"status": DOWN, "problems": ["the health check failed"], "as_of": now.isoformat()}
        return Response(orjson.dumps(body), status_code=http_status(body),
                        media_type="application/json", headers=_NO_STORE)

    return endpoint


def metrics_endpoint(metrics: MetricsSource) -> Endpoint:
    """``GET /metrics`` for the operator app (which puts its token check in front of it):
    ``HandlerMetrics`` in the same process, or ``TextfileMetrics`` the handler writes."""

    async def endpoint(request: Request) -> Response:
        body = await run_in_threadpool(metrics.render)
        return Response(body, media_type=CONTENT_TYPE, headers=_NO_STORE)

    return endpoint
