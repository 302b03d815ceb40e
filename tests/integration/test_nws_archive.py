"""CLI products are archived into the real ledger once each, rejected ones with their reason."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import httpx

from adapters.nws.archive import ClimateReportArchive
from adapters.nws.client import NwsClient
from domain.events import ClimateReportRecorded, ClimateReportRejected
from eventstore import Ledger
from tests.integration.test_nws_client import (
    SHARED,
    USER_AGENT,
    FakeNws,
    geojson,
    product,
    product_list,
)

NOW = datetime(2026, 8, 28, 12, tzinfo=UTC)


def archive_for(ledger: Ledger, nws: FakeNws) -> ClimateReportArchive:
    client = NwsClient("http://nws.test", USER_AGENT, transport=httpx.MockTransport(nws.handle),
                       clock=lambda: NOW, sleep=lambda _: None)
    return ClimateReportArchive(client, append=ledger.store.append,
                                is_recorded=lambda stream: ledger.store.stream_version(stream) > 0,
                                clock=lambda: NOW)


def test_each_listed_product_is_recorded_once(ledger: Ledger) -> None:
    nws = FakeNws()
    nws.on("/products/types/CLI/locations/HOU", geojson(product_list("houston", "cut")))
    nws.on("/products/houston", geojson(product("houston", (SHARED / "cli/CLIHOU.txt").read_text())))
    cut = (SHARED / "cli/CLINYC.txt").read_text().split("PRECIPITATION")[0]
    nws.on("/products/cut", geojson(product("cut", cut)))
    archive = archive_for(ledger, nws)

    first = archive.sweep("HOU")
    again = archive.sweep("HOU")

    assert again == []
    assert nws.paths().count("/products/houston") == 1
    events = [r.event for r in ledger.store.read()]
    assert events == first
    recorded = [e for e in events if isinstance(e, ClimateReportRecorded)]
    assert [(e.station, e.max_temp_f, e.precip_month_in) for e in recorded] == [
        ("HOU:HOUSTON_INTERCONTINENTAL", 80, Decimal("3.40")),
        ("HOU:HOUSTON_HOBBY_AIRPORT", 79, Decimal("4.44"))]
    assert all(e.product_id == "houston" and "CLIMATE SUMMARY" in e.raw_text for e in recorded)
    (rejected,) = [e for e in events if isinstance(e, ClimateReportRejected)]
    assert rejected.product_id == "cut" and "$$" in rejected.reason
    assert rejected.raw_text == cut
