"""What ``/healthz`` reads: the ledger's position, the projections', the trading state and the feeds,
all from the read model (``milkbot.health.health`` turns them into the answer).

Feed ages are measured on the ledger clock, the clock the command handler trades on (an accelerated
one in the demo), against the risk limits' ``stale_after`` for each feed.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from api.public_queries import ledger_clock
from api.read_model import ReadModel
from domain.config import MilkbotConfig
from domain.events import MarketKind
from domain.risk.state import ALL
from milkbot.health import FeedFreshness, LedgerHealth, health
from projections.timefmt import from_text
from projections.trading_state import read_trading_states

LIVE_PREFIX = "proj_"


def health_provider(read_model: ReadModel, config: MilkbotConfig, *,
                    ledger_position: Callable[[], int],
                    started_at: datetime) -> Callable[[], Mapping[str, Any]]:
    def provide() -> Mapping[str, Any]:
        position = ledger_position()
        with read_model.read() as tx:
            projections = {name.removeprefix(LIVE_PREFIX): int(at) for name, at in tx.execute(
                "SELECT name, position FROM milkbot_projection_tracking")
                if name.startswith(LIVE_PREFIX)}
            clock = ledger_clock(tx)
            states = read_trading_states(tx)
            last_good = {(city, feed): from_text(at) for city, feed, at in tx.execute(
                "SELECT city, feed, last_good FROM proj_board_feeds")}
        now = datetime.now(UTC)
        at = clock or now
        feeds = []
        for city in config.enabled_cities:
            for kind in MarketKind:
                if city.source(kind) is None:
                    continue
                for feed in (f"weather:{kind.value}", f"market:{kind.value}"):
                    seen = last_good.get((city.code, feed))
                    feeds.append(FeedFreshness(
                        city=city.code, feed=feed,
                        age_seconds=None if seen is None else max(0.0, (at - seen).total_seconds()),
                        limit_seconds=config.risk.stale_after(feed).total_seconds()))
        return health(
            ledger=LedgerHealth(reachable=True, position=position, projections=projections,
                                clock=clock),
            feeds=feeds, book=states.scope_state(ALL, at),
            cities={c.code: states.state_for(c.code, at) for c in config.enabled_cities},
            started_at=started_at, now=now)

    return provide
