"""The operator app: private, live, token-protected; served on its own port (loopback by default).

Every route, ``/metrics`` and ``/healthz`` included, needs ``Authorization: Bearer
$MILKBOT_OPERATOR_TOKEN`` (``api.auth``); without a configured token the app refuses to be built.
Only the operator page's files (``PAGE_FILES``: ``/``, its scripts, its style sheets and the
favicon) answer a GET or HEAD without it: a browser loading a page cannot send a bearer header,
and those files hold no data and no secret. The page asks for the token, keeps it in the tab's
``sessionStorage`` and sends it as a bearer header with every request for data. It is served with
the public app's security headers (``default-src 'self'``: no inline script or style, no other
host).

The kill switch and resume are recorded as events through ``milkbot.operator``, by
``operator-api``, exactly as ``milkbot kill`` and ``milkbot resume`` record them. Nothing it answers
is ever cached (``Cache-Control: no-store``).

| route | answers |
| --- | --- |
| ``GET /`` (open) | the operator page (``api/static/operator.html``) |
| ``GET /static/{operator.js,dom.js,theme.css,operator.css,favicon.svg}`` (open) | its files |
| ``GET /api/operator/positions`` | open positions with their marks and P&L; P&L per scope |
| ``GET /api/operator/exposure`` | worst-case loss by market, city and cluster, against the caps |
| ``GET /api/operator/risk`` | the trading state, every limit, what each is used, recent breaches |
| ``GET /api/operator/orders`` | our open orders, as the order manager sees them |
| ``GET /api/operator/alerts?limit=N`` | the latest alerts, newest first |
| ``POST /api/operator/kill`` | ``{"reason": ...}``: halt all trading |
| ``POST /api/operator/resume`` | ``{"reason": ..., "city": optional}``: lift a halt |
| ``GET /metrics`` | the command handler's Prometheus metrics |
| ``GET /healthz`` | the same body as the public ``/healthz`` |
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Annotated, Any, TypeVar

import orjson
from pydantic import BaseModel, ConfigDict, StringConstraints, ValidationError
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from api import operator_queries as oq
from api.auth import BearerToken, required_token
from api.health_provider import HealthAnswers
from api.operator_ledger import LedgerFollower, OperatorView
from api.params import Params
from api.public_app import STATIC, SecurityHeaders
from api.public_queries import BadParameter
from api.read_model import ReadModel
from domain.config import MilkbotConfig
from domain.events import Event
from domain.risk import NotHalted, RiskError
from eventstore import EventStore
from eventstore.errors import StoreUnavailable
from milkbot.health import health_endpoint, metrics_endpoint
from milkbot.metrics import MetricsSource
from milkbot.operator import engage_kill_switch, resume_trading

#: Who the ledger says acted, for commands that came through this app.
OPERATOR = "operator-api"
MAX_BODY = 8_192
NO_STORE = "no-store"

#: The operator page's files, by path: (file in ``api/static``, media type). GET and HEAD on
#: exactly these paths answer without the token (``api.auth.BearerToken``'s ``open_paths``).
PAGE_FILES = {
    "/": ("operator.html", "text/html"),
    "/static/operator.js": ("operator.js", "text/javascript"),
    "/static/theme.css": ("theme.css", "text/css"),
    "/static/operator.css": ("operator.css", "text/css"),
    "/static/dom.js": ("dom.js", "text/javascript"),
    "/static/favicon.svg": ("favicon.svg", "image/svg+xml"),
}

Reason = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]


class KillRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    reason: Reason


class ResumeRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    reason: Reason
    #: Lift only this city's halt (e.g. after reconciliation); absent: the whole book's.
    city: str | None = None


Body = TypeVar("Body", bound=BaseModel)


def _json(body: Any, status_code: int = 200) -> Response:
    return Response(orjson.dumps(body), status_code=status_code, media_type="application/json",
                    headers={"Cache-Control": NO_STORE})


def _error(status_code: int, message: str) -> Response:
    return _json({"error": message}, status_code)


async def _read_body(request: Request, model: type[Body]) -> Body:
    declared = request.headers.get("content-length", "0")
    if not declared.isdigit() or int(declared) > MAX_BODY:
        raise BadParameter("the body is too large")
    raw = await request.body()
    if len(raw) > MAX_BODY:
        raise BadParameter("the body is too large")
    try:
        return model.model_validate(orjson.loads(raw or b"null"))
    except orjson.JSONDecodeError:
        raise BadParameter("the body must be a JSON object") from None
    except ValidationError as e:
        problems = "; ".join(f"{'.'.join(str(p) for p in err['loc']) or 'body'}: {err['msg']}"
                             for err in e.errors(include_input=False, include_url=False))
        raise BadParameter(problems) from None


def _recorded(events: list[Event]) -> list[dict[str, Any]]:
    return [{"event": e.event_type, "stream": e.stream, "version": e.version,
             "recorded_at": e.recorded_at.isoformat()} for e in events]


def _page_file(name: str, media_type: str) -> Callable[[Request], Awaitable[Response]]:
    """An endpoint answering ``api/static/{name}``, read once, when the app is built."""
    body = (STATIC / name).read_bytes()

    async def page_file(request: Request) -> Response:
        return Response(body, media_type=media_type, headers={"Cache-Control": NO_STORE})

    return page_file


def create_operator_app(store: EventStore, read_model: ReadModel, *, config: MilkbotConfig,
                        token: str | None, metrics: MetricsSource,
                        ledger_position: Callable[[], int],
                        started_at: datetime | None = None) -> Starlette:
    """The operator ASGI app. ``OperatorTokenMissing`` when ``token`` is empty: it never starts
    open. Starts folding the order book from ``store`` in the background (a request that comes
    before the fold ends waits for it), then folds incrementally per request."""
    token = required_token(token)
    follower = LedgerFollower(store)
    follower.warm_up()
    cities = {c.code for c in config.cities}

    def answer(build: Callable[[oq.OperatorReads, OperatorView], dict[str, Any]]) -> bytes:
        view = follower.view()
        with read_model.read() as tx:
            reads = oq.OperatorReads(tx)
        return orjson.dumps(build(reads, view))

    async def get(build: Callable[[oq.OperatorReads, OperatorView], dict[str, Any]]) -> Response:
        return Response(await run_in_threadpool(answer, build), media_type="application/json",
                        headers={"Cache-Control": NO_STORE})

    async def positions(request: Request) -> Response:
        return await get(lambda reads, _view: oq.positions(reads))

    async def exposure(request: Request) -> Response:
        return await get(lambda reads, view: oq.exposure_answer(reads, view, config))

    async def risk(request: Request) -> Response:
        return await get(lambda reads, view: oq.risk(reads, view, config))

    async def orders(request: Request) -> Response:
        return await get(oq.orders)

    async def alerts(request: Request) -> Response:
        limit = Params(request.query_params).integer("limit", default=100, low=1, high=500)
        return await get(lambda reads, view: oq.alerts(reads, view, limit))

    async def kill(request: Request) -> Response:
        body = await _read_body(request, KillRequest)
        events = await run_in_threadpool(lambda: engage_kill_switch(
            store, operator=OPERATOR, reason=body.reason))
        return _json({"recorded": _recorded(events), "trading": "halted"})

    async def resume(request: Request) -> Response:
        body = await _read_body(request, ResumeRequest)
        if body.city is not None and body.city not in cities:
            raise BadParameter(f"city must be one of {', '.join(sorted(cities))}")
        scope = "all" if body.city is None else f"city:{body.city}"
        try:
            events = await run_in_threadpool(lambda: resume_trading(
                store, operator=OPERATOR, reason=body.reason, scope=scope))
        except NotHalted as e:
            return _error(409, str(e))
        return _json({"recorded": _recorded(events), "scope": scope})

    healthz = health_endpoint(HealthAnswers(
        read_model, config, ledger_position=ledger_position,
        started_at=started_at or datetime.now(UTC)))
    routes = [
        Route("/api/operator/positions", positions),
        Route("/api/operator/exposure", exposure),
        Route("/api/operator/risk", risk),
        Route("/api/operator/orders", orders),
        Route("/api/operator/alerts", alerts),
        Route("/api/operator/kill", kill, methods=["POST"]),
        Route("/api/operator/resume", resume, methods=["POST"]),
        Route("/metrics", metrics_endpoint(metrics)),
        Route("/healthz", healthz),
        *(Route(path, _page_file(name, media_type), methods=["GET"])
          for path, (name, media_type) in PAGE_FILES.items()),
    ]

    async def bad_request(request: Request, exc: Exception) -> Response:
        return _error(400, str(exc))

    async def unavailable(request: Request, exc: Exception) -> Response:
        return _error(503, "the ledger database is unavailable")

    async def refused(request: Request, exc: Exception) -> Response:
        return _error(400, str(exc))

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        response = _error(exc.status_code, str(exc.detail))
        if exc.headers:
            response.headers.update(exc.headers)
        return response

    return Starlette(
        routes=routes,
        middleware=[Middleware(SecurityHeaders),
                    Middleware(BearerToken, token=token, open_paths=frozenset(PAGE_FILES))],
        exception_handlers={BadParameter: bad_request, StoreUnavailable: unavailable,
                            RiskError: refused, HTTPException: http_error})
