"""Archiving CLI climate reports as ledger events the moment they are seen.

api.weather.gov keeps CLI products for only about a week, and they are what markets settle on,
so every product listed for a site is fetched once and recorded whole: one
``ClimateReportRecorded`` per station summary, or one ``ClimateReportRejected`` with the reason
when the text cannot be trusted. Each product is its own stream (``cli:{product id}``) with ids
derived from it, so recording it twice changes nothing. The adapter records; it never decides
which report settles a market.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Sequence
from datetime import datetime

from adapters.nws.cli_report import ClimateReport, parse_cli_product
from adapters.nws.client import NwsClient
from adapters.nws.errors import NwsError
from adapters.nws.wire import TextProduct
from domain.events import ClimateReportRecorded, ClimateReportRejected, Event, deterministic_id

log = logging.getLogger(__name__)


def product_stream(product_id: str) -> str:
    return f"cli:{product_id}"


def climate_report_events(product: TextProduct, site: str, *, recorded_at: datetime,
                          correlation_id: uuid.UUID) -> list[Event]:
    """The events that archive one CLI product: its summaries, or its rejection."""
    stream = product_stream(product.id)

    def envelope(version: int) -> dict[str, object]:
        return {"event_id": deterministic_id("cli-product", product.id, version), "stream": stream,
                "version": version, "recorded_at": recorded_at,
                "venue_time": product.issuance_time, "correlation_id": correlation_id}

    try:
        reports = parse_cli_product(product.text)
    except NwsError as e:
        return [ClimateReportRejected(**envelope(1), site=site, product_id=product.id,
                                      issued_at=product.issuance_time, reason=str(e),
                                      raw_text=product.text)]
    return [_recorded(report, product, envelope(n)) for n, report in enumerate(reports, start=1)]


def _recorded(report: ClimateReport, product: TextProduct, envelope: dict[str, object]) -> (
    ClimateReportRecorded
):
    return ClimateReportRecorded(
        **envelope, station=report.station, station_name=report.station_name,
        climate_date=report.climate_date, preliminary=report.preliminary,
        correction=report.correction, issued_at=report.issued_at, product_id=product.id,
        max_temp_f=report.max_temp_f, min_temp_f=report.min_temp_f, precip_in=report.precip_in,
        precip_month_in=report.precip_month_in, snow_in=report.snow_in,
        snow_month_in=report.snow_month_in, inconsistencies=report.inconsistencies,
        raw_text=product.text,
    )


class ClimateReportArchive:
    """Records every CLI product listed for a site that the ledger does not hold yet."""

    def __init__(self, client: NwsClient, *, append: Callable[[Sequence[Event]], object],
                 is_recorded: Callable[[str], bool], clock: Callable[[], datetime]) -> None:
        self._client = client
        self._append = append
        self._is_recorded = is_recorded
        self._clock = clock

    def sweep(self, site: str) -> list[Event]:
        """Fetch and record the site's unseen products, oldest first; returns what was recorded."""
        recorded: list[Event] = []
        for ref in sorted(self._client.cli_products(site), key=lambda r: r.issuance_time):
            if self._is_recorded(product_stream(ref.id)):
                continue
            product = self._client.product(ref.id)
            events = climate_report_events(
                product, site, recorded_at=self._clock(),
                correlation_id=deterministic_id("cli-sweep", site, ref.id))
            self._append(events)
            recorded.extend(events)
            for event in events:
                if isinstance(event, ClimateReportRejected):
                    log.warning("CLI product %s for %s rejected: %s", ref.id, site, event.reason)
        return recorded
