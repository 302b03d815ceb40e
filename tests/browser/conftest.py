"""Headless Chromium driven by Playwright, and the public app on loopback over the ten-city ledger.

Playwright never downloads a browser here: it launches Debian's Chromium at ``/usr/bin/chromium``
(``scripts/ensure-chromium`` installs it). Without it the browser tests are skipped with the reason,
except under ``CI=true``, where a missing browser fails the run.

Each test gets a fresh browser context (an empty cache, so every first load is a cold one) and a
``PageLog`` of everything the page asked for and complained about. Screenshots and the load timing
go to ``test-artifacts/`` at the project's root.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import pytest
from pydantic import SecretStr

from api.serve import serve_apps
from domain.events import Event
from eventstore.chain import seal
from milkbot.bootstrap import Milkbot, bootstrap
from milkbot.settings import Settings
from tests.browser.ten_cities import TenCities
from tests.paths import ROOT

if TYPE_CHECKING:
    from playwright.sync_api import Browser, ConsoleMessage, Page, Request

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync")
ARTIFACTS = ROOT / "test-artifacts"
TOKEN = "browser-test-operator-token-6f1c2a9d"
LOOPBACK = "127.0.0.1"
#: Collects what the page's Content-Security-Policy refused (run before any of the page's scripts).
CSP_PROBE = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__cspViolations.push(`${e.violatedDirective} blocked ${e.blockedURI || "inline"}`);
});
"""


def browser_missing(reason: str) -> None:
    """Skip a browser test here, but fail it under CI, where a missing browser is a defect."""
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"CI needs headless Chromium and it is missing: {reason} "
                    "(scripts/ensure-chromium installs Debian's chromium)", pytrace=False)
    pytest.skip(f"headless Chromium unavailable: {reason}")


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    # Module scope, not session: Playwright's sync API holds an event loop in the main thread for
    # as long as it runs, and later tests that call asyncio.run() must find none.
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as e:
        browser_missing(f"playwright is not installed ({e}); pip install -e '.[dev]'")
    if not os.access(CHROMIUM, os.X_OK):
        browser_missing(f"no {CHROMIUM}")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=list(CHROMIUM_ARGS),
                                              headless=True)
        try:
            yield launched
        finally:
            launched.close()


@dataclass
class Dashboard:
    """The public app serving the ten-city ledger, and a way to extend that ledger."""

    url: str
    app: Milkbot
    story: TenCities

    def append(self, events: list[Event]) -> None:
        """Record ``events``, fold the projections and seal the log, as the command handler would."""
        self.app.ledger.store.append(events)
        self.app.runner().catch_up()
        seal(self.app.ledger)


@contextmanager
def serving_ledger(folder: Path, events: list[Event]) -> Iterator[Dashboard]:
    """The public app on a free loopback port over a SQLite ledger of ``events``, folded."""
    settings = Settings(database_url=f"sqlite:///{folder / 'ledger.sqlite'}",
                        operator_token=SecretStr(TOKEN))
    with bootstrap(settings) as app:
        for start in range(0, len(events), 200):
            app.ledger.store.append(events[start:start + 200])
        app.runner().catch_up()
        seal(app.ledger)
        with serve_apps(settings, 0, 0, metrics_file=folder / "metrics.prom") as urls:
            yield Dashboard(urls.public_url, app, TenCities())


@pytest.fixture(scope="module")
def dashboard(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dashboard]:
    """Four days of trading in the ten cities (``tests.browser.ten_cities``)."""
    story = TenCities()
    with serving_ledger(tmp_path_factory.mktemp("dashboard"), story.events()) as running:
        running.story = story
        yield running


@pytest.fixture(scope="module")
def empty_dashboard(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dashboard]:
    """A ledger with nothing in it yet."""
    with serving_ledger(tmp_path_factory.mktemp("empty-dashboard"), []) as running:
        yield running


@dataclass
class PageLog:
    """What a page requested and reported."""

    requests: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)

    def on_request(self, request: Request) -> None:
        self.requests.append(request.url)

    def on_failed(self, request: Request) -> None:
        self.failed.append(f"{request.url}: {request.failure}")

    def on_console(self, message: ConsoleMessage) -> None:
        if message.type == "error":
            self.console_errors.append(message.text)

    def foreign_requests(self) -> list[str]:
        """Every request to anywhere but loopback (a ``data:`` URL goes nowhere)."""
        return [url for url in self.requests
                if not url.startswith("data:") and urlsplit(url).hostname != LOOPBACK]


@pytest.fixture
def page(browser: Browser) -> Iterator[tuple[Page, PageLog]]:
    context = browser.new_context(viewport={"width": 1440, "height": 900}, color_scheme="light",
                                  locale="en-US")
    context.add_init_script(CSP_PROBE)
    opened = context.new_page()
    log = PageLog()
    opened.on("request", log.on_request)
    opened.on("requestfailed", log.on_failed)
    opened.on("console", log.on_console)
    opened.on("pageerror", lambda error: log.page_errors.append(str(error)))
    try:
        yield opened, log
    finally:
        context.close()


def csp_violations(opened: Page) -> Any:
    return opened.evaluate("window.__cspViolations")


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS
