"""What ``/healthz`` reads: the ledger's position, the projections', the trading state and the feeds,
all from the read model (``milkbot.health.health`` turns them into the answer).

Feed ages are measured on the ledger clock, the clock the command handler trades on (an accelerated
one in the demo), against the risk limits' ``stale_after`` for each feed.

A monitor polls ``/healthz`` and a load balancer may hammer it, so it is answered like the cached
public answers (``api.answers``): everything in the body but its two wall-clock fields (``as_of``
and ``uptime_seconds``) is a function of the projections' positions and the log's length, so it is
built once per change of those, in a worker thread, and each request in between costs a read of
the positions (on the event loop for a SQLite file, one shared read for PostgreSQL) and a copy of
the built body with the time filled in. The feeds and their limits are listed once, at start-up.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from starlette.concurrency import run_in_threadpool

from api.answers import PassVersions, VersionWatch
from api.public_queries import ledger_clock, version
from api.read_model import ReadModel, SqliteReadModel
from domain.config import MilkbotConfig
from domain.events import MarketKind
from domain.risk.state import ALL
from milkbot.health import FeedFreshness, LedgerHealth, health
from projections.timefmt import from_text
from projections.trading_state import read_trading_states

LIVE_PREFIX = "proj_"
Shown = Callable[[Mapping[str, Any]], Mapping[str, Any]]
#: What a health body depends on besides the time: the projections' positions and the log's.
Key = tuple[tuple[Any, ...], int]


@dataclass(frozen=True, slots=True)
class FeedLimit:
    city: str
    feed: str
    limit_seconds: float


def feed_limits(config: MilkbotConfig) -> tuple[FeedLimit, ...]:
    """Every feed a breaker watches: each enabled city's weather and market feed of each kind it
    trades, with the age past which the feed is stale."""
    return tuple(
        FeedLimit(city.code, feed, config.risk.stale_after(feed).total_seconds())
        for city in config.enabled_cities for kind in MarketKind if city.source(kind) is not None
        for feed in (f"weather:{kind.value}", f"market:{kind.value}"))


class HealthAnswers:
    """The ``/healthz`` provider (a coroutine function: ``await answers()`` is the body).

    ``shown`` turns the full body into what this app publishes (the public app drops the event
    counts: ``api.public_app.without_event_counts``). ``now`` is the wall clock (UTC)."""

    def __init__(self, read_model: ReadModel, config: MilkbotConfig, *,
                 ledger_position: Callable[[], int], started_at: datetime,
                 shown: Shown = dict, now: Callable[[], datetime] = lambda: datetime.now(UTC)
                 ) -> None:
        self._read_model = read_model
        self._ledger_position = ledger_position
        self._started_at = started_at
        self._shown = shown
        self._now = now
        self._feeds = feed_limits(config)
        self._cities = tuple(c.code for c in config.enabled_cities)
        self._versions: PassVersions[Key] | VersionWatch[Key] = (
            PassVersions(self._read_key) if isinstance(read_model, SqliteReadModel)
            else VersionWatch(self._read_key))
        self._built: tuple[Key | None, Mapping[str, Any]] | None = None
        self._building: tuple[Key, asyncio.Future[tuple[Key | None, Mapping[str, Any]]]] | None \
            = None

    async def __call__(self) -> Mapping[str, Any]:
        key = await self._versions.current()
        built = self._built
        if built is None or built[0] != key:
            # Built once for every request that missed the same positions while it ran (a body
            # that was done and is not in the cache held for its moment only).
            building = self._building
            if building is None or building[0] != key or building[1].done() \
                    or building[1].get_loop() is not asyncio.get_running_loop():
                building = self._building = (
                    key, asyncio.ensure_future(run_in_threadpool(self._build)))
            built = await asyncio.shield(building[1])
            if built[0] is not None:
                self._built = built
        now = self._now()
        return {**built[1], "as_of": now.isoformat(),
                "uptime_seconds": max(0, int((now - self._started_at).total_seconds()))}

    def _read_key(self) -> Key:
        with self._read_model.read() as tx:
            positions = version(tx)
        return positions, self._ledger_position()

    def _build(self) -> tuple[Key | None, Mapping[str, Any]]:
        """The shown body and the key it holds for, read after the key (so it is at least as new).
        The key is None when the ledger has no clock yet: the feeds' ages then run on the wall
        clock, and the body holds for this moment only."""
        key = self._read_key()
        clock, body = self._read(self._now())
        return (None if clock is None else key), self._shown(body)

    def body(self, now: datetime) -> dict[str, Any]:
        """The full body, read now (blocking)."""
        return self._read(now)[1]

    def _read(self, now: datetime) -> tuple[datetime | None, dict[str, Any]]:
        position = self._ledger_position()
        with self._read_model.read() as tx:
            projections = {name.removeprefix(LIVE_PREFIX): int(at) for name, at in tx.execute(
                "SELECT name, position FROM milkbot_projection_tracking")
                if name.startswith(LIVE_PREFIX)}
            clock = ledger_clock(tx)
            states = read_trading_states(tx)
            last_good = {(city, feed): from_text(at) for city, feed, at in tx.execute(
                "SELECT city, feed, last_good FROM proj_board_feeds")}
        at = clock or now
        feeds = []
        for f in self._feeds:
            seen = last_good.get((f.city, f.feed))
            feeds.append(FeedFreshness(
                city=f.city, feed=f.feed, limit_seconds=f.limit_seconds,
                age_seconds=None if seen is None else max(0.0, (at - seen).total_seconds())))
        return clock, health(
            ledger=LedgerHealth(reachable=True, position=position, projections=projections,
                                clock=clock),
            feeds=feeds, book=states.scope_state(ALL, at),
            cities={city: states.state_for(city, at) for city in self._cities},
            started_at=self._started_at, now=now)
