"""The operator app's gate: ``Authorization: Bearer $MILKBOT_OPERATOR_TOKEN`` on every request.

Checked before routing, so an unknown path answers 401 like a known one (nothing tells a stranger
which routes exist). Both tokens are hashed before ``hmac.compare_digest``, so the comparison
takes the same time whatever the length or the content of what was sent.

One exception, named by whoever builds the gate: ``open_paths``, exact paths a GET or HEAD may
fetch without the token. The operator app opens its page's files (``/``, its scripts, its
style sheets and the favicon) and nothing else: a browser cannot put a bearer header on the
requests that load a page, and those files hold no data and no secret, only the code that asks
the operator for the token and then sends it with every request for data. Any other method on
those paths, a path that merely resembles one (``/static/operator.js/``), and every other path,
known or not, still needs the token.
"""

from __future__ import annotations

import hashlib
import hmac

import orjson
from starlette.datastructures import Headers
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from milkbot.settings import SettingsError

#: The only methods an open path answers without the token: reading a file, never acting.
OPEN_METHODS = frozenset({"GET", "HEAD"})


class OperatorTokenMissing(SettingsError):
    """No operator token is configured: the operator app refuses to start."""


def required_token(token: str | None) -> str:
    if token is None or not token.strip():
        raise OperatorTokenMissing(
            "MILKBOT_OPERATOR_TOKEN is not set: the operator app will not start without a bearer "
            "token (set it to a long random string, e.g. the output of `openssl rand -hex 32`)")
    return token.strip()


def _digest(value: bytes) -> bytes:
    return hashlib.sha256(value).digest()


class BearerToken:
    """ASGI middleware: 401 unless the request carries the operator token, or is a GET or HEAD
    of one of ``open_paths`` (compared exactly with the request's path; none by default)."""

    def __init__(self, app: ASGIApp, *, token: str,
                 open_paths: frozenset[str] = frozenset()) -> None:
        self.app = app
        self._expected = _digest(required_token(token).encode())
        self._open_paths = open_paths

    def is_open(self, scope: Scope) -> bool:
        return scope["method"] in OPEN_METHODS and scope["path"] in self._open_paths

    def authorized(self, headers: Headers) -> bool:
        scheme, _, given = headers.get("authorization", "").partition(" ")
        candidate = _digest(given.strip().encode("utf-8", "surrogateescape"))
        # Compared whatever the scheme, so a wrong scheme costs the same time as a wrong token.
        matches = hmac.compare_digest(candidate, self._expected)
        return matches and scheme.lower() == "bearer"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self.is_open(scope) \
                or self.authorized(Headers(scope=scope)):
            await self.app(scope, receive, send)
            return
        response = Response(orjson.dumps({"error": "a valid operator bearer token is required"}),
                            status_code=401, media_type="application/json",
                            headers={"WWW-Authenticate": 'Bearer realm="milkbot-operator"',
                                     "Cache-Control": "no-store"})
        await response(scope, receive, send)
