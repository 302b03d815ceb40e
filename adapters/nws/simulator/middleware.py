"""The app's ASGI middleware: answering a handler's ``_Refused`` with its response, and refusing a
request without a ``User-Agent`` as api.weather.gov does."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from adapters.nws.simulator.responses import problem

Scope_ = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
ASGIApp = Callable[[Scope_, Receive, Send], Awaitable[None]]


class _Refused(Exception):
    """A handler's early answer: raised with the response to send instead of the data."""

    def __init__(self, response: Response) -> None:
        super().__init__("refused")
        self.response = response


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
