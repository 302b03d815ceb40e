"""How every answer is framed: the api.weather.gov headers, geo+json with ``Last-Modified`` and 304,
problem+json errors and the CDN's HTML 502 page."""

from __future__ import annotations

import uuid
from datetime import datetime
from email.utils import format_datetime, parsedate_to_datetime
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

GEO_JSON = "application/geo+json"
LD_JSON = "application/ld+json"
PROBLEM_JSON = "application/problem+json"
PROBLEMS = "https://api.weather.gov/problems"
_HTML_502 = (b"<!DOCTYPE html>\n<html><head><title>502 Bad Gateway</title></head>\n<body>\n"
             b"<h1>Bad Gateway</h1>\n<p>The proxy server received an invalid response from an upstream "
             b"server.</p>\n<p>Reference&#32;&#35;97&#46;a8c1d017&#46;1700000000&#46;1f2e3d4c</p>\n"
             b"</body></html>\n")


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
