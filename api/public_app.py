"""The public app: read-only, delayed, no authentication, safe behind Cloudflare.

It reads projection tables only, through read-only transactions (``api.read_model``): it never
loads an aggregate, never reads an event (``/healthz`` asks the log its length, to say how far the
projections trail it), never calls Kalshi or NWS, and is given no settings, so it holds no
credential beyond its read connection. Every answer carries ``as_of``, the ledger
clock it reflects; nothing of ours in it is younger than the delay (see ``api.public_queries``).

Answers may be cached by anyone for a few seconds (``Cache-Control: public, max-age=5``), except
``/healthz``, which never is.

``with_baseline_route(app)`` (``milkbot serve`` with ``MILKBOT_BENCH_BASELINE=1``; never by
default) adds ``BASELINE_PATH``, a constant body served like a cached answer (same middleware,
headers and response path), which ``bench.api`` compares every endpoint with.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api import public_queries as q
from api.answers import Answers, Build
from api.health_provider import HealthAnswers
from api.params import Params
from api.public_openapi import (
    DEFAULT_POINTS,
    DEFAULT_TRADES,
    MAX_POINTS,
    MAX_TRADES,
    document,
)
from api.read_model import ReadModel
from domain.config import MilkbotConfig
from domain.events import MarketKind
from eventstore.chain import PublishedHead
from eventstore.errors import StoreUnavailable
from milkbot.health import health_endpoint
from projections.public_feed import check_delay

STATIC = Path(__file__).resolve().parent / "static"
PUBLIC_CACHE = "public, max-age=5"
#: The benchmark's baseline route (``with_baseline_route`` only): a constant body.
BASELINE_PATH = "/_bench/baseline"
BASELINE_BODY = b'{"as_of":null,"baseline":true}'
#: The page loads nothing from anywhere but this app.
CONTENT_SECURITY_POLICY = ("default-src 'self'; img-src 'self' data:; object-src 'none'; "
                           "base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
SECURITY_HEADERS = (
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
)


def json_response(body: bytes, *, status_code: int = 200, cache: str = PUBLIC_CACHE) -> Response:
    return Response(body, status_code=status_code, media_type="application/json",
                    headers={"Cache-Control": cache})


def error_response(status_code: int, message: str) -> Response:
    return json_response(orjson.dumps({"error": message}), status_code=status_code, cache="no-store")


class SecurityHeaders:
    """Headers every answer carries (a pure ASGI middleware: it never buffers a body)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *SECURITY_HEADERS]
            await send(message)

        await self.app(scope, receive, send_with_headers)


async def _bad_parameter(request: Request, exc: Exception) -> Response:
    return error_response(400, str(exc))


async def _unavailable(request: Request, exc: Exception) -> Response:
    return error_response(503, "the ledger database is unavailable")


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    response = error_response(exc.status_code, str(exc.detail))
    if exc.headers:
        response.headers.update(exc.headers)
    return response


def without_event_counts(body: Mapping[str, Any]) -> dict[str, Any]:
    """The health body less the log's and the projections' positions: watched from outside, the
    count of events would tick with every order and fill we record, a clock of our trading that
    owes nothing to the delay. How far each projection is behind says what health needs."""
    ledger = dict(body.get("ledger", {}))
    ledger.pop("position", None)
    ledger["projections"] = {name: {"behind": p["behind"]}
                             for name, p in ledger.get("projections", {}).items()}
    return {**body, "ledger": ledger} if "ledger" in body else dict(body)


def create_public_app(read_model: ReadModel, *, config: MilkbotConfig, delay_minutes: int,
                      ledger_position: Callable[[], int],
                      chain_head: Callable[[datetime], PublishedHead | None] | None = None,
                      started_at: datetime | None = None) -> Starlette:
    """The public ASGI app over ``read_model``'s projection tables. ``delay_minutes`` below 60 is
    refused (``DelayTooShort``). ``chain_head(cutoff)`` gives the ledger's hash chain at the
    newest record at or before ``cutoff`` (``eventstore.chain.head_at``), which the summary shows
    the delay late; without it the summary's ``ledger`` is null."""
    context = q.PublicContext(config, timedelta(minutes=check_delay(delay_minutes)))
    answers = Answers(read_model)
    cities = [c.code for c in config.cities]
    kinds = [k.value for k in MarketKind]
    openapi = orjson.dumps(document(config))
    page = (STATIC / "index.html").read_bytes()

    async def answer(key: Hashable, build: Build) -> Response:
        return json_response(await answers.answer(key, build))

    def head(as_of: datetime | None) -> PublishedHead | None:
        return None if chain_head is None or as_of is None else chain_head(as_of - context.delay)

    async def summary(request: Request) -> Response:
        return await answer("summary", lambda tx, as_of: q.summary(tx, as_of, context, head(as_of)))

    async def city_list(request: Request) -> Response:
        return await answer("cities", lambda tx, as_of: q.cities(tx, as_of, context))

    async def trades(request: Request) -> Response:
        params = Params(request.query_params)
        query = q.TradeQuery(
            limit=params.integer("limit", default=DEFAULT_TRADES, low=1, high=MAX_TRADES),
            cursor=params.cursor(), since=params.time("since"), until=params.time("until"),
            city=params.choice("city", cities))
        return await answer(("trades", query), lambda tx, as_of: q.trades(tx, as_of, context, query))

    async def equity(request: Request) -> Response:
        params = Params(request.query_params)
        query = q.RangeQuery(
            limit=params.integer("limit", default=DEFAULT_POINTS, low=1, high=MAX_POINTS),
            since=params.time("since"), until=params.time("until"))
        return await answer(("equity", query), lambda tx, as_of: q.equity(tx, as_of, context, query))

    async def calibration(request: Request) -> Response:
        params = Params(request.query_params)
        city, kind = params.choice("city", cities), params.choice("kind", kinds)
        return await answer(("calibration", city, kind),
                            lambda tx, as_of: q.calibration(tx, as_of, context, city, kind))

    async def execution(request: Request) -> Response:
        return await answer("execution", lambda tx, as_of: q.execution(tx, as_of, context))

    async def openapi_document(request: Request) -> Response:
        return json_response(openapi)

    async def dashboard(request: Request) -> Response:
        return Response(page, media_type="text/html", headers={"Cache-Control": PUBLIC_CACHE})

    healthz = health_endpoint(HealthAnswers(
        read_model, config, ledger_position=ledger_position,
        started_at=started_at or datetime.now(UTC), shown=without_event_counts))
    routes = [
        Route("/", dashboard),
        Route("/api/public/summary", summary),
        Route("/api/public/cities", city_list),
        Route("/api/public/trades", trades),
        Route("/api/public/equity", equity),
        Route("/api/public/calibration", calibration),
        Route("/api/public/execution", execution),
        Route("/api/public/openapi.json", openapi_document),
        Route("/healthz", healthz),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
    ]
    return Starlette(
        routes=routes, middleware=[Middleware(SecurityHeaders)],
        exception_handlers={q.BadParameter: _bad_parameter, StoreUnavailable: _unavailable,
                            HTTPException: _http_error})


async def _baseline(request: Request) -> Response:
    return json_response(BASELINE_BODY)


def with_baseline_route(app: Starlette) -> Starlette:
    """``app`` (a public app) with the benchmark's ``BASELINE_PATH`` added: a constant answer
    through the same middleware and response path as a cached one, no database involved. It is
    routed first, the cheapest place (the router tries its routes in turn, a few µs each)."""
    app.router.routes.insert(0, Route(BASELINE_PATH, _baseline, methods=["GET"]))
    return app
