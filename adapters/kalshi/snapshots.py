"""Turning what Kalshi shows for one city's series into ledger events: ladders, or a failure.

``MarketSnapshotter.snapshot`` discovers the series' open events by series ticker (never by a
guessed event ticker), reads every market's order book, and returns one ``MarketSnapshotted`` per
event. When any read fails (unreachable, refused, a malformed answer) it returns a single
``MarketFeedFailed`` naming what failed and why instead: the failure is recorded, and a ladder
with half its books is never handed on. The adapter translates; the engine decides what a failure
means for trading.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime

from adapters.kalshi.client import KalshiClient
from adapters.kalshi.errors import KalshiError, KalshiRejected
from adapters.kalshi.recording import ladder_snapshot
from domain.config import CityConfig
from domain.events import Event, MarketFeedFailed, MarketKind, MarketSnapshotted, deterministic_id


def market_feed_stream(city: str, kind: MarketKind) -> str:
    return f"marketfeed:{city}:{kind.value}"


def ladder_stream(event_ticker: str) -> str:
    return f"market:{event_ticker}"


class MarketSnapshotter:
    """``next_version(stream)`` gives the version the next event of a stream must take."""

    def __init__(self, client: KalshiClient, clock: Callable[[], datetime],
                 next_version: Callable[[str], int]) -> None:
        self._client = client
        self._clock = clock
        self._next_version = next_version

    def snapshot(self, city: CityConfig, kind: MarketKind, *,
                 correlation_id: uuid.UUID) -> list[MarketSnapshotted] | MarketFeedFailed:
        source = city.source(kind)
        if source is None:
            raise ValueError(f"{city.code} trades no {kind.value} market")
        series = source.series
        now = self._clock()
        operation, event_ticker = "events", None
        try:
            events = self._client.events(series, status="open")
            ladders = []
            operation = "orderbook"
            for event in events:
                event_ticker = event.event_ticker
                ladders.append((event, self._client.quotes(event)))
        except KalshiError as e:
            stream = market_feed_stream(city.code, kind)
            version = self._next_version(stream)
            return MarketFeedFailed(
                event_id=deterministic_id("kalshi", stream, version, now.isoformat()),
                stream=stream, version=version, recorded_at=now, correlation_id=correlation_id,
                city=city.code, kind=kind, series_ticker=series, event_ticker=event_ticker,
                operation=operation, error=type(e).__name__, message=str(e),
                status=e.status if isinstance(e, KalshiRejected) else None)
        return [ladder_snapshot(event, quotes, city=city.code, kind=kind,
                                version=self._next_version(ladder_stream(event.event_ticker)),
                                recorded_at=now, correlation_id=correlation_id)
                for event, quotes in ladders]


def recorded(result: list[MarketSnapshotted] | MarketFeedFailed) -> list[Event]:
    """The events one snapshot attempt appends to the ledger."""
    return [result] if isinstance(result, MarketFeedFailed) else list(result)
