"""The dashboard at ``/`` in headless Chromium, against the public app over a ten-city ledger.

What a visitor sees: the ten cities, with the markets we hold marked and what we held in each
settled market, headline performance, the charts drawn (the curve ending at the headline equity),
calibration and execution tables, and the exact trades; a trade shows up within 6 s of its
60-minute mark without the page reloading, and so does the position it makes; a failed refresh
keeps the data and says so; an empty ledger says so. Every request stays on 127.0.0.1, the console
stays clean and the Content-Security-Policy refuses nothing.
"""

from __future__ import annotations

import json
import re
import time
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from api.public_queries import public_id
from tests.browser.conftest import Dashboard, PageLog, csp_violations
from tests.browser.ten_cities import CLOCK, CONFIG

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = pytest.mark.browser

#: The refresh period is 5 s; a trade must appear within 6 s of crossing its 60-minute mark.
PUBLISHED_WITHIN_MS = 6_000
READY = "html[data-state=ready]"
CITY_NAMES = [c.name for c in CONFIG.cities]
#: An amount as the page writes it: "$5.38", "+$28.94", "\u2212$1.93" (a minus sign, not a hyphen).
MONEY = re.compile("[+\u2212]?\\$[0-9,]+\\.[0-9]{2}")


def api(dashboard: Dashboard, path: str) -> Any:
    with httpx.Client(base_url=dashboard.url, timeout=10) as client:
        answer = client.get(path)
        answer.raise_for_status()
        return answer.json()


def open_dashboard(opened: Page, dashboard: Dashboard) -> None:
    opened.goto(dashboard.url + "/")
    opened.wait_for_selector(READY, timeout=10_000)


def assert_clean(opened: Page, log: PageLog) -> None:
    assert log.requests, "the page made no request at all"
    assert log.foreign_requests() == [], "a request left 127.0.0.1"
    assert log.failed == []
    assert log.console_errors == []
    assert log.page_errors == []
    assert csp_violations(opened) == []


def drawn(opened: Page, chart: str, colour: str) -> int:
    """How many pixels of ``chart``'s canvas are painted in the CSS colour ``colour`` (a custom
    property): the series, not the axes, which are drawn in other colours."""
    return int(opened.evaluate("""([chart, colour]) => {
        const canvas = document.querySelector(`#chart-${chart} canvas`);
        if (!canvas || !canvas.width || !canvas.height) return 0;
        const hex = getComputedStyle(document.documentElement).getPropertyValue(colour).trim();
        const want = [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16));
        const pixels = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
        let count = 0;
        for (let i = 0; i < pixels.length; i += 4) {
          if (pixels[i + 3] > 120 && want.every((v, k) => Math.abs(pixels[i + k] - v) < 40)) count++;
        }
        return count;
    }""", [chart, colour]))


def cents(price: str) -> str:
    return f"{(Decimal(price) * 100).normalize():f}¢"


def dollars(amount: str) -> str:
    return f"${Decimal(amount):,.2f}"


def contracts(count: str) -> str:
    return f"{Decimal(count).normalize():f}"


def strike_range(market: dict[str, Any]) -> str:
    """A daily-high market's range as the page writes it: "<79°", "80\u201381°", ">86°"."""
    floor, cap = market["floor_strike"], market["cap_strike"]
    return {"less": f"<{cap}°", "greater": f">{floor}°",
            "between": f"{floor}\u2013{cap}°"}[market["strike_type"]]  # an en dash


def holding(position: dict[str, Any]) -> str:
    return f"{contracts(position['count'])} {position['side'].upper()}"


def held_per_api(cities: dict[str, Any]) -> dict[str, str]:
    """Every market on the board the API says we hold: ticker -> "10 YES"."""
    return {m["ticker"]: holding(m["position"]) for c in cities["cities"] for ladder in c["ladders"]
            for m in ladder["markets"] if m["position"] is not None}


def held_on_page(opened: Page) -> dict[str, str]:
    """Every market the cards mark as held: ticker -> the chip's text."""
    return dict(opened.eval_on_selector_all("#cities .mkt.is-held", """cells => cells.map((c) => [
        c.dataset.key, c.querySelector(".mkt__held").innerText.trim()])"""))


def trade_rows(opened: Page) -> list[dict[str, Any]]:
    return list(opened.eval_on_selector_all("#trades-body tr", """rows => rows.map((row) => ({
        id: row.dataset.key,
        ts: row.querySelector("time") && row.querySelector("time").getAttribute("datetime"),
        cells: [...row.cells].map((cell) => cell.innerText.trim()),
        ticker: row.querySelector(".ticker") && row.querySelector(".ticker").innerText,
        desc: row.querySelector(".desc") && row.querySelector(".desc").innerText,
    }))"""))


def assert_row_shows(row: dict[str, Any], trade: dict[str, Any]) -> None:
    time_cell, city, market, side, price, count, fee = row["cells"]
    assert row["id"] == trade["id"] and row["ts"] == trade["ts"] and time_cell
    assert city == CONFIG.city(trade["city"]).name
    assert row["ticker"] == trade["ticker"] and market.startswith(trade["ticker"])
    # The market's range from its terms: a "T" ticker reads as the tail it is.
    assert row["desc"].endswith(f" · {strike_range(trade)}"), (row["desc"], trade)
    assert side == f"{trade['action'].capitalize()} {trade['side'].upper()}"
    assert (price, count, fee) == (cents(trade["price"]), contracts(trade["count"]), dollars(trade["fee"]))


def test_the_first_load_shows_the_cities_performance_calibration_execution_and_trades(
    dashboard: Dashboard, page: tuple[Page, PageLog], artifacts: Path,
) -> None:
    opened, log = page
    open_dashboard(opened, dashboard)
    timing = opened.evaluate("""() => {
        const nav = performance.getEntriesByType("navigation")[0];
        const ready = performance.getEntriesByName("milkbot:first-render")[0];
        return {dom_content_loaded_ms: nav.domContentLoadedEventEnd, load_event_ms: nav.loadEventEnd,
                first_render_ms: ready ? ready.startTime : null};
    }""")
    summary = api(dashboard, "/api/public/summary")

    # The clock, and the delay it is shown with.
    assert opened.get_attribute("#as-of", "datetime") == summary["as_of"]
    assert opened.inner_text("#delay-minutes") == "60"
    assert "is-live" in (opened.get_attribute("#status", "class") or "")

    # The ten cities, each with its markets and its recent settled results.
    cards = opened.locator("#cities > li")
    assert cards.count() == 10
    assert opened.locator("#cities .city__name").all_inner_texts() == CITY_NAMES
    for card in cards.all():
        assert card.locator(".mkt").count() >= 12  # today's and tomorrow's six-rung ladders
        assert card.locator(".result").count() >= 1
        assert MONEY.fullmatch(card.locator(".city__pnl-value").inner_text())
        assert card.locator('[data-stat="positions"] dd').inner_text().isdigit()
    assert opened.locator("#empty-notice").is_hidden()

    # The markets we hold (an hour ago) are marked, with our side and contracts: one per city.
    cities = api(dashboard, "/api/public/cities")
    held = held_per_api(cities)
    assert len(held) == 10
    assert held_on_page(opened) == held
    # Each settled market says what we held when it settled, its range, and how it settled.
    for city in cities["cities"]:
        rows = opened.eval_on_selector_all(
            f'#cities > li[data-key="{city["code"]}"] .result', """rows => rows.map((r) => [
                r.dataset.key, r.querySelector(".result__market").innerText,
                r.querySelector(".result__held").innerText, r.querySelector(".pill").innerText])""")
        assert [r[0] for r in rows] == [s["ticker"] for s in city["recent_settlements"]]
        for (_, market, held_text, result), settled in zip(rows, city["recent_settlements"],
                                                           strict=True):
            assert market.endswith(f" {strike_range(settled)}")
            assert held_text == (holding(settled["position"]) if settled["position"] else "flat")
            assert result == settled["result"].upper()

    # The curve ends at the headline equity: no point of it carries the clock's time.
    curve = api(dashboard, "/api/public/equity")
    assert curve["current"]["ts"] == summary["as_of"] and curve["current"]["equity"] == summary["equity"]
    assert all(p["ts"] < curve["current"]["ts"] for p in curve["points"])
    assert f"equity {opened.inner_text('#kpi-pnl')} " in opened.inner_text("#equity-readout")

    # The ledger's fingerprint, an hour late like the rest.
    head = summary["ledger"]
    assert head is not None and opened.is_visible("#ledger-head")
    assert opened.inner_text("#ledger-hash") == head["hash"]
    assert opened.inner_text("#ledger-position").replace(",", "") == str(head["position"])
    assert opened.get_attribute("#ledger-at", "datetime") == head["recorded_at"]
    assert datetime.fromisoformat(head["recorded_at"]) + timedelta(minutes=60) <= CLOCK

    # Headline performance.
    assert opened.inner_text("#kpi-trades") == str(summary["trades"])
    assert opened.inner_text("#kpi-fees") == dollars(summary["fees"])
    assert opened.inner_text("#kpi-winrate").endswith("%")
    assert MONEY.fullmatch(opened.inner_text("#kpi-drawdown"))
    assert MONEY.fullmatch(opened.inner_text("#kpi-pnl"))

    # The charts drew their series.
    assert drawn(opened, "equity", "--accent") > 100
    assert drawn(opened, "drawdown", "--neg") > 50
    assert drawn(opened, "daily", "--pos") + drawn(opened, "daily", "--neg") > 100
    assert drawn(opened, "reliability", "--accent") > 100

    # Calibration and execution, by city.
    calibration = api(dashboard, "/api/public/calibration")
    brier = opened.locator("#brier-body tr")
    assert brier.count() == 10
    first = calibration["cities"][0]
    assert brier.first.locator("th").inner_text() == first["name"]
    assert brier.first.locator("td").nth(1).inner_text() == f"{first['brier']:.3f}"
    assert opened.locator("#execution-body tr").count() == 10

    # The exact trades, as the API gives them, newest first.
    trades = api(dashboard, "/api/public/trades")["trades"]
    rows = trade_rows(opened)
    assert len(trades) > 10
    assert [r["id"] for r in rows] == [t["id"] for t in trades]
    for row, trade in zip(rows, trades, strict=True):
        assert_row_shows(row, trade)
        assert datetime.fromisoformat(trade["ts"]) + timedelta(minutes=60) <= CLOCK

    assert_clean(opened, log)
    opened.screenshot(path=artifacts / "dashboard.png", full_page=True)
    (artifacts / "dashboard-timing.json").write_text(json.dumps(timing, indent=2) + "\n")
    assert timing["load_event_ms"] > 0 and timing["first_render_ms"] is not None


def test_a_trade_appears_within_6_seconds_of_its_60_minute_mark_without_a_reload(
    dashboard: Dashboard, page: tuple[Page, PageLog], artifacts: Path,
) -> None:
    opened, log = page
    open_dashboard(opened, dashboard)
    opened.evaluate("window.__sameDocument = true")
    first_row = opened.locator("#trades-body tr").first.element_handle()
    first_city = opened.locator("#cities > li").first.element_handle()
    equity_canvas = opened.locator("#chart-equity canvas").element_handle()
    rows_before = len(trade_rows(opened))

    # A fill one minute past the clock: recorded, but not yet an hour old.
    events, fill = dashboard.story.live_trade("SEA", CLOCK + timedelta(minutes=1))
    dashboard.append(events)
    trade_id = public_id(fill.fill_id)
    as_of = api(dashboard, "/api/public/summary")["as_of"]
    assert trade_id not in [t["id"] for t in api(dashboard, "/api/public/trades")["trades"]]
    opened.wait_for_function(
        "asOf => document.getElementById('as-of').getAttribute('datetime') === asOf", arg=as_of,
        timeout=PUBLISHED_WITHIN_MS)
    assert opened.locator(f'#trades-body tr[data-key="{trade_id}"]').count() == 0
    # Nor does the position it makes show: the card holds what it held before.
    before = held_per_api(api(dashboard, "/api/public/cities"))
    assert held_on_page(opened) == before

    # The ledger clock reaches the fill's 60-minute mark: the feed releases it, the page shows it.
    dashboard.append(dashboard.story.clock_tick("SEA", fill.recorded_at + timedelta(minutes=60)))
    crossed = time.monotonic()
    opened.wait_for_selector(f'#trades-body tr[data-key="{trade_id}"]', timeout=PUBLISHED_WITHIN_MS)
    waited = time.monotonic() - crossed
    (artifacts / "dashboard-trade-shown.json").write_text(
        json.dumps({"shown_after_crossing_s": round(waited, 3)}) + "\n")
    assert waited < PUBLISHED_WITHIN_MS / 1000

    rows = trade_rows(opened)
    [published] = [t for t in api(dashboard, "/api/public/trades")["trades"] if t["id"] == trade_id]
    assert rows[0]["id"] == trade_id
    assert_row_shows(rows[0], published)
    # The position it made is on Seattle's card too (the cities answer may have been read just
    # before the crossing: then the next refresh brings it).
    after = held_per_api(api(dashboard, "/api/public/cities"))
    assert after[fill.ticker] != before.get(fill.ticker)
    opened.wait_for_function("""([ticker, text]) => {
        const chip = document.querySelector(`#cities .mkt[data-key="${ticker}"] .mkt__held`);
        return chip !== null && !chip.hidden && chip.textContent === text;
    }""", arg=[fill.ticker, after[fill.ticker]], timeout=PUBLISHED_WITHIN_MS)
    assert held_on_page(opened) == after
    assert len(rows) == min(rows_before + 1, 100)
    # Updated in place: the same document, the same rows, cards and chart.
    assert opened.evaluate("window.__sameDocument") is True
    for kept in (first_row, first_city, equity_canvas):
        assert kept is not None and kept.evaluate("node => node.isConnected")
    assert_clean(opened, log)


def test_a_failed_refresh_keeps_the_data_and_says_since_when(
    dashboard: Dashboard, page: tuple[Page, PageLog],
) -> None:
    opened, log = page
    open_dashboard(opened, dashboard)
    rows = len(trade_rows(opened))

    opened.route("**/api/public/**", lambda route: route.abort())
    opened.wait_for_selector("#status.is-stale", timeout=PUBLISHED_WITHIN_MS)
    assert opened.inner_text("#status-text").startswith("Stale since")
    assert len(trade_rows(opened)) == rows
    assert opened.locator("#cities > li").count() == 10

    opened.unroute("**/api/public/**")
    opened.wait_for_selector("#status.is-live", timeout=PUBLISHED_WITHIN_MS)
    assert log.foreign_requests() == [] and log.page_errors == [] and csp_violations(opened) == []


def test_the_page_fits_a_phone(
    dashboard: Dashboard, page: tuple[Page, PageLog], artifacts: Path,
) -> None:
    opened, log = page
    opened.set_viewport_size({"width": 390, "height": 844})
    open_dashboard(opened, dashboard)
    assert opened.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    widths = opened.eval_on_selector_all("#cities > li", "cards => cards.map((c) => c.offsetWidth)")
    assert len(widths) == 10 and min(widths) == max(widths)  # one column
    assert drawn(opened, "equity", "--accent") > 50
    assert_clean(opened, log)
    opened.screenshot(path=artifacts / "dashboard-phone.png", full_page=True)


def test_an_empty_ledger_shows_the_cities_and_says_there_is_nothing_yet(
    empty_dashboard: Dashboard, page: tuple[Page, PageLog], artifacts: Path,
) -> None:
    opened, log = page
    open_dashboard(opened, empty_dashboard)
    assert opened.inner_text("#as-of") == "no data yet"
    assert opened.locator("#empty-notice").is_visible()
    assert "Nothing is published yet" in opened.inner_text("#empty-notice")
    assert held_on_page(opened) == {}
    assert opened.locator("#cities .city__name").all_inner_texts() == CITY_NAMES
    assert "No trades published yet" in opened.inner_text("#trades-body")
    assert opened.locator("#ledger-head").is_hidden()  # (nothing sealed is an hour old)
    for message in ("#equity-empty", "#daily-empty", "#reliability-empty"):
        assert opened.locator(message).is_visible()
    assert_clean(opened, log)
    opened.screenshot(path=artifacts / "dashboard-empty.png", full_page=True)
