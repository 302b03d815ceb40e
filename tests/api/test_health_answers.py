"""``/healthz``'s cached answer: built once per change of the projections or the log, never stale,
its wall-clock fields fresh on every request (on SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from api.health_provider import HealthAnswers, feed_limits
from api.public_app import without_event_counts
from api.read_model import ReadModel, open_read_model, prepare
from milkbot.bootstrap import Milkbot, bootstrap
from milkbot.settings import Settings, load_config
from tests.api.scenario import CLOCK, TODAY, seed
from tests.builders import a_market_snapshot

STARTED = datetime(2026, 8, 28, 6, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = STARTED + timedelta(hours=1)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def opened(database_url: str) -> Iterator[tuple[Milkbot, ReadModel]]:
    with bootstrap(Settings(database_url=database_url)) as app:
        prepare(app)
        read_model = open_read_model(app)
        try:
            yield app, read_model
        finally:
            read_model.close()


def answers_over(app: Milkbot, read_model: ReadModel, clock: Clock,
                 **kwargs: Any) -> tuple[HealthAnswers, list[datetime]]:
    """The answers, and the list of the moments it read the projections for a body."""
    config, _ = load_config(app.settings)
    answers = HealthAnswers(read_model, config, ledger_position=app.ledger.store.max_position,
                            started_at=STARTED, now=clock, **kwargs)
    builds: list[datetime] = []
    read = answers._read

    def counted(now: datetime) -> Any:
        builds.append(now)
        return read(now)

    answers._read = counted  # type: ignore[method-assign]
    return answers, builds


def test_one_build_serves_every_request_until_something_moves(
        opened: tuple[Milkbot, ReadModel]) -> None:
    app, read_model = opened
    seed(app.ledger)
    app.runner().catch_up()
    clock = Clock()
    answers, builds = answers_over(app, read_model, clock)

    async def scenario() -> list[Any]:
        first = await answers()
        together = await asyncio.gather(*(answers() for _ in range(20)))
        clock.now += timedelta(seconds=90)
        later = await answers()
        return [first, together, later]

    first, together, later = asyncio.run(scenario())
    assert len(builds) == 1
    assert all(body["feeds"] == first["feeds"] for body in together)
    # The wall-clock fields are the request's, not the build's.
    assert first["as_of"] == (STARTED + timedelta(hours=1)).isoformat()
    assert first["uptime_seconds"] == 3600
    assert later["as_of"] == (STARTED + timedelta(hours=1, seconds=90)).isoformat()
    assert later["uptime_seconds"] == 3690
    # Ages run on the ledger clock, so a wall clock moving on changes none of them.
    assert later["feeds"] == first["feeds"]
    assert first["ledger"]["clock"] == CLOCK.isoformat()


def test_an_append_and_a_catch_up_are_each_seen_at_once(opened: tuple[Milkbot, ReadModel]) -> None:
    app, read_model = opened
    seed(app.ledger)
    app.runner().catch_up()
    clock = Clock()
    answers, builds = answers_over(app, read_model, clock)

    async def ask() -> Any:
        return await answers()

    before = asyncio.run(ask())
    assert all(p["behind"] == 0 for p in before["ledger"]["projections"].values())
    fresh = CLOCK + timedelta(minutes=20)
    app.ledger.store.append([a_market_snapshot(TODAY, version=4, recorded_at=fresh)])

    appended = asyncio.run(ask())  # the log moved, no projection did
    assert {p["behind"] for p in appended["ledger"]["projections"].values()} == {1}
    assert appended["ledger"]["position"] == before["ledger"]["position"] + 1
    assert len(builds) == 2

    app.runner().catch_up()
    caught_up = asyncio.run(ask())
    assert all(p["behind"] == 0 for p in caught_up["ledger"]["projections"].values())
    assert caught_up["ledger"]["clock"] == fresh.isoformat()
    assert caught_up["feeds"]["NYC"]["market:daily_high"]["age_seconds"] == 0.0
    assert len(builds) == 3


def test_a_ledger_without_a_clock_is_read_on_every_request(
        opened: tuple[Milkbot, ReadModel]) -> None:
    app, read_model = opened
    clock = Clock()
    answers, builds = answers_over(app, read_model, clock)

    async def twice() -> list[Any]:
        first = await answers()
        clock.now += timedelta(seconds=5)
        return [first, await answers()]

    first, second = asyncio.run(twice())
    assert first["ledger"]["clock"] is None and first["status"] == "degraded"
    assert first["feeds"]["NYC"]["market:daily_high"] == {
        "age_seconds": None, "limit_seconds": 1800.0, "stale": True}
    assert builds == [STARTED + timedelta(hours=1), STARTED + timedelta(hours=1, seconds=5)]
    assert second["uptime_seconds"] == 3605


def test_the_public_body_is_shown_without_event_counts(opened: tuple[Milkbot, ReadModel]) -> None:
    app, read_model = opened
    seed(app.ledger)
    app.runner().catch_up()
    answers, _ = answers_over(app, read_model, Clock(), shown=without_event_counts)

    async def ask() -> Any:
        return await answers()

    body = asyncio.run(ask())
    assert "position" not in body["ledger"]
    assert body["ledger"]["projections"]["public_feed"] == {"behind": 0}
    assert body["as_of"] == (STARTED + timedelta(hours=1)).isoformat()


def test_every_feed_is_listed_once_with_its_limit(opened: tuple[Milkbot, ReadModel]) -> None:
    app, _ = opened
    config, _ = load_config(app.settings)
    limits = feed_limits(config)
    assert len({(f.city, f.feed) for f in limits}) == len(limits)
    assert {f.city for f in limits} == {c.code for c in config.enabled_cities}
    daily = {f.feed: f.limit_seconds for f in limits if f.city == "NYC"}
    assert daily["market:daily_high"] == config.risk.stale_after("market:daily_high").total_seconds()
