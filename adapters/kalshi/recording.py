"""What the venue said, as ledger events: fills, settlements and ladder snapshots.

The adapter records; the engine reconciles. Each report becomes an event whose identity comes
from the venue's own ids, so the store turns a report heard twice (REST poll and WebSocket, a
retry, a restart) into a no-op:

- a fill is the only event of ``fill:{venue fill id}``;
- a settlement is the only event of ``settlement:{ticker}``;
- a ladder snapshot is the next version of ``market:{event ticker}`` (the caller knows it).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from adapters.kalshi.wire.markets import Event as VenueEvent
from adapters.kalshi.wire.portfolio import Settlement, VenueFill
from domain.events import (
    MarketKind,
    MarketQuote,
    MarketSettled,
    MarketSnapshotted,
    OrderFilled,
    deterministic_id,
)
from domain.money import PRICE_SCALE

SOURCE = "kalshi-rest"


def _envelope(stream: str, version: int, key: object, *, recorded_at: datetime,
              venue_time: datetime | None, correlation_id: uuid.UUID) -> dict[str, Any]:
    return {"event_id": deterministic_id("kalshi", stream, version, key), "stream": stream,
            "version": version, "recorded_at": recorded_at, "venue_time": venue_time,
            "correlation_id": correlation_id}


def fill_event(fill: VenueFill, *, client_order_id: str | None, city: str | None,
               recorded_at: datetime, correlation_id: uuid.UUID) -> OrderFilled:
    """The fill as the venue reported it; ``client_order_id`` and ``city`` from our own order."""
    stream = f"fill:{fill.fill_id}"
    return OrderFilled(**_envelope(stream, 1, None, recorded_at=recorded_at,
                                   venue_time=fill.created_time, correlation_id=correlation_id),
                       **fill.event_fields(client_order_id=client_order_id, city=city))


def settlement_event(settlement: Settlement, *, recorded_at: datetime,
                     correlation_id: uuid.UUID) -> MarketSettled:
    """The venue's determination of one market. Without a stated value, YES pays 1 or 0."""
    value = settlement.settlement_value
    if value is None:
        if settlement.market_result not in ("yes", "no"):
            raise ValueError(f"settlement of {settlement.ticker} ({settlement.market_result}) "
                             "gives no settlement value")
        value = PRICE_SCALE if settlement.market_result == "yes" else 0
    stream = f"settlement:{settlement.ticker}"
    return MarketSettled(**_envelope(stream, 1, None, recorded_at=recorded_at,
                                     venue_time=settlement.settled_time,
                                     correlation_id=correlation_id),
                         ticker=settlement.ticker, event_ticker=settlement.event_ticker,
                         result=settlement.market_result, settlement_value=value)


def ladder_snapshot(event: VenueEvent, quotes: Sequence[MarketQuote], *, city: str,
                    kind: MarketKind, version: int, recorded_at: datetime,
                    correlation_id: uuid.UUID) -> MarketSnapshotted:
    """The whole ladder of one Kalshi event with its books, as seen now."""
    stream = f"market:{event.event_ticker}"
    return MarketSnapshotted(**_envelope(stream, version, recorded_at.isoformat(),
                                         recorded_at=recorded_at, venue_time=None,
                                         correlation_id=correlation_id),
                             series_ticker=event.series_ticker, event_ticker=event.event_ticker,
                             city=city, kind=kind, source=SOURCE, markets=tuple(quotes))
