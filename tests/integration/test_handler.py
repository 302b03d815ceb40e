"""The command handler against both simulators over HTTP on a stepped clock: a day and a half of
snapshots, decisions, risk verdicts, orders, fills and settlements for the 10 cities."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import NamedTuple

import httpx
import pytest
from pydantic import SecretStr

from adapters.kalshi.client import KalshiClient
from adapters.kalshi.rate_limit import RateLimiter
from adapters.kalshi.signing import Credentials, load_private_key, load_public_key, new_rsa_key_pair
from adapters.kalshi.simulator import PREFIX
from adapters.kalshi.simulator import create_app as exchange_app
from adapters.nws.client import NwsClient
from adapters.nws.simulator.app import create_app as nws_app
from adapters.nws.simulator.weather import WeatherGenerator
from domain.events import (
    AdvisoryNoteRecorded,
    AlertRaised,
    BreakerCleared,
    BreakerTripped,
    DecisionMade,
    Event,
    KillSwitchEngaged,
    MarketSettled,
    MarketSnapshotted,
    OrderFilled,
    OrderRiskChecked,
    OrderSubmitted,
    ReconciliationCompleted,
    WeatherSnapshotted,
)
from eventstore import open_ledger
from milkbot.advisory import Advisor
from milkbot.bootstrap import Milkbot, record_config
from milkbot.handler import Cadence, CommandHandler
from milkbot.operator import engage_kill_switch
from milkbot.paper import PaperVenue
from milkbot.settings import Settings
from projections.registry import all_projections
from tests import servers
from tests.integration.test_advisory import KEY, FakeOpenRouter
from tests.integration.test_kalshi_simulator import config

START = datetime(2026, 1, 20, 13, 0, tzinfo=UTC)  # 08:00 in New York
SEED = 5


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now


class Rig(NamedTuple):
    bot: CommandHandler
    clock: Clock
    seen: list[Event]
    account: KalshiClient
    exchange_url: str
    nws_url: str


@contextmanager
def handler_on_simulators(tmp_path: Path, *, paper: bool = False
                          ) -> Iterator[Rig]:
    """A handler against both simulators over HTTP on a stepped clock, and a signed client of the
    exchange's account, and both simulators' URLs (their ``/_sim`` controls). ``paper``: orders go to a
    ``PaperVenue``, market data comes unsigned. The clients retry without sleeping."""
    clock = Clock()
    private, public = new_rsa_key_pair()
    exchange = exchange_app(config(), seed=SEED, clock=clock, public_key=load_public_key(public),
                            weather=WeatherGenerator(config().cities, seed=SEED), state_dir=tmp_path / "sim",
                            auth_clock_ms=lambda: int(clock().timestamp() * 1000))
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'ledger.sqlite'}")
    credentials = Credentials("k", load_private_key(private))

    def client(url: str, signed: bool) -> KalshiClient:
        return KalshiClient(url + PREFIX, credentials if signed else None,
                            now_ms=lambda: int(clock().timestamp() * 1000), limiter=RateLimiter(1_000, 1_000),
                            sleep=lambda _: None)

    with servers.serving(exchange, name="exchange") as exchange_url, \
            servers.serving(nws_app(config(), seed=SEED, clock=clock), name="nws") as nws_url, \
            open_ledger(settings.database_url) as ledger, \
            client(exchange_url, not paper) as kalshi, client(exchange_url, True) as account, \
            NwsClient(nws_url, "milkbot-tests (ops@example.com)", clock=clock, sleep=lambda _: None) as nws:
        app = Milkbot(settings=settings, ledger=ledger, projections=all_projections())
        seen: list[Event] = []
        cadence = Cadence(daily_high=timedelta(hours=6), monthly=timedelta(hours=12),
                          fills=timedelta(hours=1), reconcile=timedelta(hours=4),
                          near_close=timedelta(0), observation_minute=None)
        venue = PaperVenue(kalshi, clock, starting_balance=config().trading.paper_balance) if paper else None
        _, version, _ = record_config(app, now=clock())
        yield Rig(CommandHandler(app, config(), version, clock=clock, kalshi=kalshi, nws=nws,
                                 cadence=cadence, on_event=seen.append, venue=venue), clock, seen, account,
                  exchange_url, nws_url)


@pytest.fixture
def handler(tmp_path: Path) -> Iterator[tuple[CommandHandler, Clock, list[Event]]]:
    with handler_on_simulators(tmp_path) as (bot, clock, seen, *_):
        yield bot, clock, seen


def test_a_day_and_a_half_of_trading_on_the_simulators(
        handler: tuple[CommandHandler, Clock, list[Event]]) -> None:
    bot, clock, seen = handler
    bot.start()
    while clock.now < START + timedelta(hours=36):
        bot.step()
        clock.now += timedelta(hours=6)
    bot.step()

    kinds = Counter(type(e).__name__ for e in seen)
    cities = {e.city for e in seen if isinstance(e, MarketSnapshotted)}
    assert cities == {c.code for c in config().cities}, kinds
    assert {e.city for e in seen if isinstance(e, WeatherSnapshotted)} == cities
    assert kinds["DecisionMade"] >= 2 * kinds["MarketSnapshotted"]
    assert kinds["OrderRiskChecked"] > 0 and kinds["OrderSubmitted"] > 0, kinds
    assert kinds["OrderFilled"] > 0, kinds
    assert any(isinstance(e, MarketSettled) for e in seen), kinds  # yesterday's climate day settled
    errors = [e for e in seen if isinstance(e, AlertRaised) and e.kind == "cycle_error"]
    assert errors == [], errors[0].context.get("traceback") if errors else ""
    decided = [e for e in seen if isinstance(e, DecisionMade) and e.intended_orders]
    verdicts = {e.client_order_id for e in seen if isinstance(e, OrderRiskChecked)}
    assert all(o.client_order_id in verdicts for d in decided for o in d.intended_orders)
    submitted = {e.client_order_id for e in seen if isinstance(e, OrderSubmitted)}
    approved = {e.client_order_id for e in seen if isinstance(e, OrderRiskChecked) and e.approved}
    assert submitted <= approved  # nothing reaches the venue without an approved verdict
    assert all(isinstance(e.fill_id, str) for e in seen if isinstance(e, OrderFilled))


def test_a_kill_switch_from_elsewhere_stops_new_orders_at_the_next_step(
        handler: tuple[CommandHandler, Clock, list[Event]]) -> None:
    bot, clock, seen = handler
    bot.start()
    engage_kill_switch(bot.store, operator="ops", reason="test", now=clock.now)
    seen.clear()
    bot.step()

    assert not any(isinstance(e, OrderSubmitted) for e in seen)
    verdicts = [e for e in seen if isinstance(e, OrderRiskChecked)]
    assert verdicts and not any(v.approved for v in verdicts)
    assert any(isinstance(e, KillSwitchEngaged) for e in (r.event for r in bot.store.iter_events()))


def test_the_daily_advisory_note_reviews_yesterday_once(
        handler: tuple[CommandHandler, Clock, list[Event]]) -> None:
    bot, clock, seen = handler
    fake = FakeOpenRouter()
    with servers.serving(fake.app(), name="fake-openrouter") as url:
        advisor = Advisor.from_settings(Settings(openrouter_api_key=SecretStr(KEY)),
                                        base_url=f"{url}/api/v1", sleep=lambda _: None)
        assert advisor is not None
        with advisor:
            bot.advisor = advisor
            bot.start()
            while clock.now < START + timedelta(hours=30):  # into the morning of the 21st
                bot.step()
                clock.now += timedelta(hours=6)
            bot.step()
    notes = [e for e in seen if isinstance(e, AdvisoryNoteRecorded)]
    assert [n.day for n in notes] == [START.date()]
    assert len(fake.requests) == 1
    facts = fake.requests[0]["messages"][-1]["content"]
    assert "decision" in facts.lower()


def test_an_exchange_outage_is_one_warning_then_a_reconciliation_on_its_return(tmp_path: Path) -> None:
    with handler_on_simulators(tmp_path) as (bot, clock, seen, _, exchange_url, _):
        bot.start()
        bot.step()
        httpx.post(f"{exchange_url}/_sim/faults", json={"server_error_next": 100_000}).raise_for_status()
        seen.clear()
        for _ in range(3):
            clock.now += timedelta(hours=6)
            bot.step()
        alerts = [e for e in seen if isinstance(e, AlertRaised)]
        assert [a.kind for a in alerts] == ["exchange_unreachable"], [a.message for a in alerts]
        assert not any(isinstance(e, OrderSubmitted) for e in seen)
        assert bot.exchange_down_since is not None

        httpx.post(f"{exchange_url}/_sim/faults", json={}).raise_for_status()
        seen.clear()
        clock.now += timedelta(hours=6)
        bot.step()
        assert [a.kind for a in seen if isinstance(a, AlertRaised)] == ["exchange_returned"]
        assert [r.trigger for r in seen if isinstance(r, ReconciliationCompleted)] == ["recovered"]
        assert bot.exchange_down_since is None


def test_an_nws_outage_trips_the_weather_breakers_and_raises_no_error(tmp_path: Path) -> None:
    with handler_on_simulators(tmp_path) as (bot, clock, seen, _, _, nws_url):
        bot.start()
        bot.step()
        httpx.post(f"{nws_url}/_sim/faults", json={"html_502": True}).raise_for_status()
        seen.clear()
        for _ in range(2):
            clock.now += timedelta(hours=6)
            bot.step()
        errors = [e for e in seen if isinstance(e, AlertRaised) and e.kind == "cycle_error"]
        assert errors == [], [e.message for e in errors]  # the CLI sweep's failures included
        tripped = {(e.city, e.feed) for e in seen if isinstance(e, BreakerTripped)}
        assert {f for _, f in tripped} >= {"weather:daily_high"} and len({c for c, _ in tripped}) == 10

        httpx.post(f"{nws_url}/_sim/faults", json={}).raise_for_status()
        seen.clear()
        clock.now += timedelta(hours=6)
        bot.step()
        cleared = {(e.city, e.feed) for e in seen if isinstance(e, BreakerCleared)}
        # The daily-high cycles ran again (the monthly ones are due later in this cadence).
        assert {k for k in tripped if k[1] == "weather:daily_high"} <= cleared
