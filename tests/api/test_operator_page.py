"""The operator page: its files answer without the token and hold nothing private; nothing
else does.

``/``, ``/static/operator.js``, ``/static/dom.js``, ``/static/theme.css``,
``/static/operator.css`` and ``/static/favicon.svg`` answer a GET
or HEAD without a token, with the public app's security headers. Every data route, any other file,
any unknown path and any other method on the open paths still answer 401 without the token or
with a wrong one. The files are served as they are on disk, hold no token, secret or ledger data,
load nothing but each other, and run no inline script or style.
"""

from __future__ import annotations

import asyncio
import re
from html.parser import HTMLParser
from urllib.parse import urlsplit

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from api.auth import BearerToken
from api.operator_app import PAGE_FILES
from api.public_app import CONTENT_SECURITY_POLICY, STATIC
from tests.api.conftest import SECRETS, TOKEN, Served
from tests.api.scenario import ALERT_MESSAGE, BALANCE_MICROS, SECRET_FILL_IDS, SECRET_ORDER_IDS

#: The open paths, each with its file in ``api/static`` and its media type.
OPEN = {
    "/": ("operator.html", "text/html; charset=utf-8"),
    "/static/operator.js": ("operator.js", "text/javascript; charset=utf-8"),
    "/static/dom.js": ("dom.js", "text/javascript; charset=utf-8"),
    "/static/theme.css": ("theme.css", "text/css; charset=utf-8"),
    "/static/operator.css": ("operator.css", "text/css; charset=utf-8"),
    "/static/favicon.svg": ("favicon.svg", "image/svg+xml"),
}
DATA_ROUTES = [
    ("GET", "/api/operator/positions"), ("GET", "/api/operator/exposure"),
    ("GET", "/api/operator/risk"), ("GET", "/api/operator/orders"),
    ("GET", "/api/operator/alerts?limit=5"), ("POST", "/api/operator/kill"),
    ("POST", "/api/operator/resume"), ("GET", "/metrics"), ("GET", "/healthz"),
]
#: Paths next to the open ones, or like them: none is open.
NEAR_MISSES = [
    "/api/operator/unknown", "/static/operator.js/", "/static/Operator.js", "/static/",
    "/static/index.html", "/static/dashboard.js", "/static/vendor/uPlot.iife.min.js",
    "/operator.html", "/static/operator.html", "/index.html", "/favicon.svg", "/static",
]
OTHER_METHODS = ["POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
WRONG_TOKENS = [None, "not-the-token", TOKEN[:-1], TOKEN + "x"]
#: What the page's script must never do: write HTML from data, keep the token beyond the tab,
#: ask with a browser dialog, run strings as code, or reach another host.
FORBIDDEN_IN_SCRIPT = ["innerHTML", "outerHTML", "insertAdjacentHTML", "document.write",
                       "localStorage", "document.cookie", "eval(", "new Function", "prompt(",
                       "http://", "https://"]


def request(served: Served, method: str, path: str, token: str | None) -> httpx.Response:
    body = None if method == "GET" else {"reason": "should never be recorded"}
    with served.operator(token) as client:
        return client.request(method, path, json=body)


def test_exactly_the_page_files_are_open() -> None:
    assert {path: name for path, (name, _) in PAGE_FILES.items()} == \
        {path: name for path, (name, _) in OPEN.items()}


def test_the_page_files_answer_without_a_token_with_the_security_headers(served: Served) -> None:
    with served.operator(token=None) as client:
        for path, (name, media_type) in OPEN.items():
            got = client.get(path)
            assert got.status_code == 200, path
            assert got.content == (STATIC / name).read_bytes()
            assert got.headers["content-type"] == media_type
            assert got.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
            assert "default-src 'self'" in got.headers["content-security-policy"]
            assert got.headers["x-frame-options"] == "DENY"
            assert got.headers["x-content-type-options"] == "nosniff"
            assert got.headers["cache-control"] == "no-store"
            head = client.head(path)
            assert head.status_code == 200 and head.content == b"", path


def test_data_routes_other_files_and_unknown_paths_still_need_the_token(served: Served) -> None:
    closed = [*DATA_ROUTES, *(("GET", path) for path in NEAR_MISSES),
              *((method, path) for path in OPEN for method in OTHER_METHODS)]
    for token in WRONG_TOKENS:
        for method, path in closed:
            answer = request(served, method, path, token)
            assert answer.status_code == 401, (method, path, token)
            assert answer.headers["www-authenticate"].startswith("Bearer")
            assert answer.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
            assert TOKEN not in answer.text
    with served.operator() as client:
        assert client.get("/api/operator/positions").status_code == 200
        assert client.get("/api/operator/unknown").status_code == 404
        assert client.get("/static/index.html").status_code == 404  # no static folder is mounted
        # A POST to / is not open, and with the token it is not served either.
        assert client.post("/", json={"reason": "x"}).status_code == 405
        # None of the refused commands was recorded.
        assert client.get("/api/operator/risk").json()["trading"]["state"] == "active"


def test_the_page_files_hold_no_token_secret_or_ledger_data(served: Served) -> None:
    forbidden = [*SECRETS, *SECRET_ORDER_IDS, *SECRET_FILL_IDS, ALERT_MESSAGE, "SECRET",
                 str(BALANCE_MICROS // 1_000_000)]
    password = urlsplit(served.settings.database_url).password
    if password:
        forbidden.append(password)
    with served.operator(token=None) as client:
        answers = [client.get(path) for path in OPEN]
    for answer in answers:
        seen = answer.text + "".join(f"{k}: {v}\n" for k, v in answer.headers.items())
        for secret in forbidden:
            assert secret not in seen, (answer.request.url.path, secret)


class PageParts(HTMLParser):
    """What an HTML page loads and what it would run inline."""

    def __init__(self) -> None:
        super().__init__()
        self.loads: list[str] = []
        self.inline: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        self.loads += [value for name, value in attrs if name in ("src", "href") and value]
        self.inline += [f"{tag} {name}" for name, _ in attrs if name == "style" or name.startswith("on")]
        if tag == "style":
            self.inline.append("a <style> element")
        if tag == "script":
            self._in_script = True
            if "src" not in found:
                self.inline.append("a <script> without src")

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script and data.strip():
            self.inline.append(f"inline script: {data.strip()[:40]}")


def test_the_page_loads_only_its_open_files_and_runs_no_inline_code() -> None:
    parts = PageParts()
    parts.feed((STATIC / "operator.html").read_text())
    assert sorted(set(parts.loads)) == sorted(set(OPEN) - {"/"})
    assert parts.inline == []
    script = (STATIC / "operator.js").read_text()
    for forbidden in FORBIDDEN_IN_SCRIPT:
        assert forbidden not in script, forbidden
    # The token is kept in sessionStorage, and goes out only as a bearer header.
    assert "sessionStorage" in script
    assert re.search(r"Authorization: `Bearer \$\{token\.get\(\)\}`", script)
    style = (STATIC / "operator.css").read_text()
    assert "url(" not in style and "@import" not in style


def test_the_gate_opens_only_the_exact_paths_it_is_given_and_only_to_get_and_head() -> None:
    async def endpoint(request: Request) -> Response:
        return PlainTextResponse("served")

    app = Starlette(routes=[Route("/{path:path}", endpoint, methods=["GET", "POST"])])
    bearer = {"Authorization": f"Bearer {TOKEN}"}
    cases = [
        ("GET", "/page", {}, 200), ("HEAD", "/page", {}, 200), ("POST", "/page", {}, 401),
        ("GET", "/page/", {}, 401), ("GET", "/pag", {}, 401), ("GET", "/other", {}, 401),
        ("POST", "/page", bearer, 200), ("GET", "/other", bearer, 200),
    ]

    async def statuses(gate: BearerToken) -> list[int]:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=gate),
                                     base_url="http://operator") as client:
            return [(await client.request(method, path, headers=headers)).status_code
                    for method, path, headers, _ in cases]

    gated = BearerToken(app, token=TOKEN, open_paths=frozenset({"/page"}))
    assert asyncio.run(statuses(gated)) == [status for *_, status in cases]
    # Without open paths, nothing is open.
    closed = asyncio.run(statuses(BearerToken(app, token=TOKEN)))
    assert closed[:6] == [401] * 6
