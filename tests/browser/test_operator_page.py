"""The operator page at ``/`` of the operator app in headless Chromium, over the API tests' seeded
ledger (``tests.api.scenario``).

The operator gives the token and sees the trading state of the book and of each city, the limits
and what they are used, exposure, open positions, orders, alerts and the feeds; pulls the kill
switch through the page with a reason and sees trading halt, as the API says it has; resumes, and
sees a second resume refused. A wrong token is refused and asked for again, and so is one that
stops being accepted. The token is kept in the tab's sessionStorage and sent only as a bearer
header; every request stays on 127.0.0.1 and the Content-Security-Policy refuses nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import httpx
import pytest

from api.operator_app import OPERATOR, PAGE_FILES
from api.serve import serve_apps
from domain.events import KillSwitchEngaged
from domain.risk.state import OPERATOR_STREAM
from milkbot.bootstrap import bootstrap
from milkbot.settings import Settings
from tests.api.conftest import TOKEN, catch_up, secret_settings
from tests.api.scenario import ALERT_MESSAGE, CHICAGO, SECRET_ORDER_IDS, TODAY, seed
from tests.browser.conftest import PageLog, csp_violations

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = pytest.mark.browser

READY = "html[data-state=ready]"
TOKEN_KEY = "milkbot.operator.token"
#: The page refreshes every 5 s.
WITHIN_MS = 6_000
REFUSED = "The token was refused. Enter it again."
#: Shown as text, never run: markup in a reason must reach the page as the characters it is.
KILL_REASON = 'venue storm <img src="/x-injected" class="injected"> & "quotes"'


@dataclass
class Operator:
    """The operator app on loopback over the seeded ledger."""

    url: str
    settings: Settings

    def api(self, path: str) -> Any:
        with httpx.Client(base_url=self.url, headers={"Authorization": f"Bearer {TOKEN}"},
                          timeout=10) as client:
            answer = client.get(path)
            answer.raise_for_status()
            return answer.json()

    def fold(self) -> None:
        """Fold the projections, as the command handler would after a command."""
        catch_up(self.settings)


@pytest.fixture
def operator(tmp_path: Path) -> Iterator[Operator]:
    settings = secret_settings(f"sqlite:///{tmp_path / 'ledger.sqlite'}", tmp_path)
    with bootstrap(settings) as app:
        seed(app.ledger)
        app.runner().catch_up()
    with serve_apps(settings, 0, 0, metrics_file=tmp_path / "metrics.prom") as urls:
        yield Operator(urls.operator_url, settings)


def sign_in(opened: Page, token: str) -> None:
    opened.fill("#token", token)
    opened.press("#token", "Enter")


def open_console(opened: Page, operator: Operator) -> None:
    opened.goto(operator.url + "/")
    sign_in(opened, TOKEN)
    opened.wait_for_selector(READY, timeout=10_000)


def storage(opened: Page) -> dict[str, Any]:
    return dict(opened.evaluate("""() => ({
        session: sessionStorage.getItem("milkbot.operator.token"),
        local: localStorage.length, cookie: document.cookie, url: location.href})"""))


def rows(opened: Page, parent: str) -> dict[str, list[str]]:
    """The keyed rows of a table body or list, by key: the text of each of their cells."""
    return dict(opened.eval_on_selector_all(f"#{parent} > [data-key]", """rows => rows.map((row) => [
        row.dataset.key, [...row.children].map((cell) => cell.innerText.trim())])"""))


def feed_name(feed: str) -> str:
    """A feed as the page heads its column: "market:daily_high" -> "market · daily high"."""
    return feed.replace(":", " · ").replace("_", " ")


def assert_stays_home(log: PageLog) -> None:
    assert log.requests, "the page made no request at all"
    assert log.foreign_requests() == [], "a request left 127.0.0.1"
    assert not [url for url in log.requests if TOKEN in url], "the token went into a URL"


def assert_clean(opened: Page, log: PageLog) -> None:
    assert_stays_home(log)
    assert log.failed == []
    assert log.console_errors == []
    assert log.page_errors == []
    assert csp_violations(opened) == []


def test_the_token_opens_the_console_with_the_state_positions_orders_alerts_and_feeds(
    operator: Operator, page: tuple[Page, PageLog], artifacts: Path,
) -> None:
    opened, log = page
    authorization: dict[str, str | None] = {}
    opened.on("request", lambda r: authorization.setdefault(
        urlsplit(r.url).path, r.headers.get("authorization")))
    opened.goto(operator.url + "/")
    # Before the token, the page asks for it and loads only its own open files.
    assert opened.locator("#sign-in").is_visible() and opened.locator("#console").is_hidden()
    assert opened.get_attribute("#token", "type") == "password"
    assert {urlsplit(url).path for url in log.requests} <= set(PAGE_FILES)
    sign_in(opened, TOKEN)
    opened.wait_for_selector(READY, timeout=10_000)
    assert opened.locator("#sign-in").is_hidden() and opened.locator("#console").is_visible()

    # The trading state of the book and of each city, with why.
    risk = operator.api("/api/operator/risk")
    assert opened.inner_text("#book-state") == "ACTIVE"
    assert opened.inner_text("#book-why") == "Nothing holds the whole book back."
    cities = rows(opened, "cities-body")
    assert set(cities) == set(risk["trading"]["cities"]) and len(cities) == 10
    for code, city in risk["trading"]["cities"].items():
        assert cities[code][:2] == [code, city["state"].upper()]
    assert cities["CHI"][1] == "REDUCING" and "breakers tripped: market:daily_high" in cities["CHI"][2]
    assert opened.locator("#resume-scope option").count() == 11  # all cities, or one

    # The limits and what they are used, as bars.
    usage = rows(opened, "usage")
    assert list(usage) == ["open_orders", "market_loss", "city_loss", "cluster_loss", "portfolio_loss"]
    assert opened.inner_text('#usage [data-key="open_orders"] .usage__value') == "1 of 50"
    assert opened.get_attribute('#usage [data-key="open_orders"] .bar', "aria-valuenow") == "2.00"
    assert opened.locator("#limits .limit").count() == len(risk["limits"])
    assert "$987,654.32" in opened.inner_text("#balance")

    # Exposure by city and by cluster.
    exposure = operator.api("/api/operator/exposure")
    assert opened.inner_text("#exposure-total") == "$5.03"
    assert list(rows(opened, "exposure-cities-body")) == [c["city"] for c in exposure["cities"]]
    assert rows(opened, "exposure-cities-body")["NYC"][:3] == ["NYC", "northeast", "$3.80"]
    assert list(rows(opened, "exposure-clusters-body")) == ["midwest", "northeast"]

    # Open positions with their P&L.
    positions = rows(opened, "positions-body")
    assert set(positions) == {f"{TODAY}-B81.5", f"{CHICAGO}-B81.5"}
    assert positions[f"{TODAY}-B81.5"][1:6] == ["NYC", "5 YES", "43.5¢", "$1.80", "+$0.38"]
    assert positions[f"{CHICAGO}-B81.5"][5] == "\u2212$0.26"  # a minus sign, not a hyphen
    assert opened.inner_text("#pnl-realized") == "+$5.70"

    # The open order, and the alert.
    orders = rows(opened, "orders-body")
    assert list(orders) == [SECRET_ORDER_IDS[2]]
    assert orders[SECRET_ORDER_IDS[2]][2:8] == [f"{TODAY}-B83.5", "Buy YES", "20¢", "0 / 10", "10",
                                               "accepted"]
    [alert] = rows(opened, "alerts-body").values()
    assert alert[1:3] == ["warning", "venue_errors"] and alert[3].startswith(ALERT_MESSAGE)

    # Every feed of every city, the stale ones marked.
    feeds = operator.api("/healthz")["feeds"]
    assert list(rows(opened, "feeds-body")) == sorted(feeds)
    stale = {(city, feed_name(feed)) for city, by_feed in feeds.items()
             for feed, f in by_feed.items() if f["stale"]}
    marked = opened.eval_on_selector_all("#feeds-body td.is-stale", """cells => cells.map((c) => [
        c.closest("tr").dataset.key,
        document.querySelectorAll("#feeds-head th")[c.cellIndex].textContent])""")
    assert {(city, feed) for city, feed in marked} == stale and len(marked) == len(stale)
    assert ("CHI", "market · daily high") in stale
    assert ("NYC", "market · daily high") not in stale  # snapshotted at the clock: fresh
    assert "80 min / 30 min" in rows(opened, "feeds-body")["CHI"]

    # The token: in this tab's sessionStorage, sent as a bearer header, nowhere else.
    kept = storage(opened)
    assert kept["session"] == TOKEN and kept["local"] == 0 and kept["cookie"] == ""
    assert TOKEN not in kept["url"]
    assert authorization["/api/operator/risk"] == f"Bearer {TOKEN}"
    assert authorization["/healthz"] == f"Bearer {TOKEN}"
    assert all(authorization[path] is None for path in PAGE_FILES if path in authorization)
    assert_clean(opened, log)
    opened.screenshot(path=artifacts / "operator.png", full_page=True)


def test_the_kill_switch_through_the_page_halts_trading_and_resume_lifts_it(
    operator: Operator, page: tuple[Page, PageLog], artifacts: Path,
) -> None:
    opened, log = page
    open_console(opened, operator)
    first_city = opened.locator("#cities-body tr").first.element_handle()

    # A kill with no reason is not sent.
    opened.click("#kill-button")
    assert opened.evaluate("document.getElementById('kill-reason').validity.valueMissing")
    assert operator.api("/api/operator/risk")["trading"]["state"] == "active"

    opened.fill("#kill-reason", KILL_REASON)
    opened.click("#kill-button")
    opened.wait_for_selector("#action-result:not(.is-error)", timeout=WITHIN_MS)
    assert opened.inner_text("#action-title").startswith("Kill switch engaged")
    events = opened.locator("#action-events li").all_inner_texts()
    assert [e.split(" · ")[0] for e in events] == ["KillSwitchEngaged", "TradingStateChanged"]
    assert opened.input_value("#kill-reason") == ""

    # Once the command handler folds the command, the page shows the book halted, and why.
    operator.fold()
    opened.wait_for_selector('#book-state[data-state="halted"]', timeout=WITHIN_MS)
    assert opened.inner_text("#book-state") == "HALTED"
    assert opened.inner_text("#book-why") == \
        f"all is halted: kill switch engaged by {OPERATOR}: {KILL_REASON}"
    assert opened.locator("#book-why img, .injected").count() == 0
    assert not [url for url in log.requests if "x-injected" in url]
    risk = operator.api("/api/operator/risk")
    assert risk["trading"]["state"] == "halted"
    cities = rows(opened, "cities-body")
    for code, city in risk["trading"]["cities"].items():
        assert city["state"] == "halted" and cities[code][1] == "HALTED"
        assert KILL_REASON in city["why"]
        # The book's reason is shown once; each city says only what is its own.
        assert cities[code][2] == ("breakers tripped: market:daily_high" if code == "CHI"
                                   else "as the whole book")
    with bootstrap(operator.settings) as app:
        recorded = app.ledger.store.read_stream(OPERATOR_STREAM)
    assert [(e.operator, e.reason) for e in recorded if isinstance(e, KillSwitchEngaged)] == \
        [(OPERATOR, KILL_REASON)]
    opened.screenshot(path=artifacts / "operator-halted.png", full_page=True)

    # Resume the whole book through the page; a second resume is refused, and says why.
    opened.fill("#resume-reason", "the venue answers again")
    opened.click("#resume-button")
    opened.wait_for_function("""() => document.getElementById("action-title").textContent
        .startsWith("Resumed all cities")""", timeout=WITHIN_MS)
    operator.fold()
    opened.wait_for_selector('#book-state[data-state="active"]', timeout=WITHIN_MS)
    assert operator.api("/api/operator/risk")["trading"]["state"] == "active"
    # Updated in place all along: the same rows.
    assert first_city is not None and first_city.evaluate("node => node.isConnected")
    assert_clean(opened, log)

    opened.fill("#resume-reason", "once more")
    opened.click("#resume-button")
    opened.wait_for_selector("#action-result.is-error", timeout=WITHIN_MS)
    assert "refused (HTTP 409)" in opened.inner_text("#action-title")
    assert "cannot resume all" in opened.inner_text("#action-title")
    # The browser reports the refused request; nothing else went wrong.
    assert len(log.console_errors) == 1 and "409" in log.console_errors[0]


def test_a_wrong_token_is_refused_and_asked_for_again(
    operator: Operator, page: tuple[Page, PageLog],
) -> None:
    opened, log = page
    opened.goto(operator.url + "/")
    sign_in(opened, "not-the-token")
    opened.wait_for_function("text => document.getElementById('sign-in-message').textContent === text",
                             arg=REFUSED, timeout=WITHIN_MS)
    assert opened.locator("#console").is_hidden() and opened.locator("#sign-in").is_visible()
    assert opened.input_value("#token") == ""
    assert storage(opened)["session"] is None

    # The right one opens the console; one that stops being accepted is forgotten and asked for.
    sign_in(opened, TOKEN)
    opened.wait_for_selector(READY, timeout=10_000)
    assert opened.locator("#console").is_visible()
    opened.evaluate("key => sessionStorage.setItem(key, 'rotated-away')", TOKEN_KEY)
    opened.wait_for_function("text => document.getElementById('sign-in-message').textContent === text",
                             arg=REFUSED, timeout=WITHIN_MS)
    assert opened.locator("#console").is_hidden()
    assert storage(opened)["session"] is None

    # Forgetting the token on purpose asks for it again too.
    sign_in(opened, TOKEN)
    opened.wait_for_selector("#console:not([hidden])", timeout=10_000)
    opened.click("#sign-out")
    assert opened.locator("#console").is_hidden() and storage(opened)["session"] is None

    assert_stays_home(log)
    # The browser reports each refused request; nothing else went wrong.
    assert log.console_errors and all("401" in error for error in log.console_errors)
    assert log.page_errors == [] and csp_violations(opened) == []
