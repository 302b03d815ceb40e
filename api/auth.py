"""The operator app's gate: ``Authorization: Bearer $MILKBOT_OPERATOR_TOKEN`` on every request.

Checked before routing, so an unknown path answers 401 like a known one (nothing tells a stranger
which routes exist). Both tokens are hashed before ``hmac.compare_digest``, so the comparison
takes the same time whatever the length or the content of what was sent.
"""

from __future__ import annotations

import hashlib
import hmac

import orjson
from starlette.datastructures import Headers
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from milkbot.settings import SettingsError


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
    """ASGI middleware: 401 unless the request carries the operator token."""

    def __init__(self, app: ASGIApp, *, token: str) -> None:
        self.app = app
        self._expected = _digest(required_token(token).encode())

    def authorized(self, headers: Headers) -> bool:
        scheme, _, given = headers.get("authorization", "").partition(" ")
        candidate = _digest(given.strip().encode("utf-8", "surrogateescape"))
        # Compared whatever the scheme, so a wrong scheme costs the same time as a wrong token.
        matches = hmac.compare_digest(candidate, self._expected)
        return matches and scheme.lower() == "bearer"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and not self.authorized(Headers(scope=scope)):
            response = Response(orjson.dumps({"error": "a valid operator bearer token is required"}),
                                status_code=401, media_type="application/json",
                                headers={"WWW-Authenticate": 'Bearer realm="milkbot-operator"',
                                         "Cache-Control": "no-store"})
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)
