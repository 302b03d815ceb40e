"""Property: for any ledger of fills and orders at any times, and any clock, nothing younger than
the public delay is served by any public endpoint, however it is asked (limits, cursors, time and
city filters); and everything old enough is.

Each fill's fee is a distinct power of two cents, and each order's size a distinct power of two
contracts, so a total in an answer names exactly which fills or orders it counts. A position nets
fills on both sides, but a signed sum of distinct powers of two is zero only when it is empty, so
a position equal to the one the old-enough fills make counts exactly those: the positions on the
city cards' ladders and what each settlement closed are checked that way.
"""

from __future__ import annotations

import asyncio
import functools
import tempfile
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from api.public_app import create_public_app
from api.public_queries import Cursor, public_id
from api.read_model import SqliteReadModel, prepare
from domain.config import MilkbotConfig, parse_config
from domain.events import Action, Event, Side
from domain.money import ONE_CENT
from domain.positions import yes_terms
from eventstore.chain import head_at, seal
from eventstore.codec import recorded_at_of
from milkbot.bootstrap import Milkbot, bootstrap
from milkbot.settings import SHIPPED_CONFIG, Settings
from projections.registry import all_projections
from projections.runner import ProjectionRunner
from projections.timefmt import to_text
from tests.builders import (
    a_leg,
    a_leg_submitted,
    a_market_snapshot,
    a_settlement,
    an_order_filled,
    at,
)

CITIES = ("NYC", "CHI", None)
TICKERS = {"NYC": "KXHIGHNY-26AUG28-B81.5", "CHI": "KXHIGHCHI-26AUG28-B81.5",
           None: "KXHIGHDEN-26AUG28-B81.5"}
#: Each ticker's ladder and the city whose card shows it (a fill with no city still trades in a
#: market on Denver's board).
LADDERS = {"KXHIGHNY-26AUG28": "NYC", "KXHIGHCHI-26AUG28": "CHI", "KXHIGHDEN-26AUG28": "DEN"}
SETTLED = TICKERS["NYC"]
CONFIG: MilkbotConfig = parse_config(SHIPPED_CONFIG.read_text())[0]


@dataclass(frozen=True)
class Trade:
    index: int
    recorded: int  # minutes after T0
    executed: int  # venue_time, minutes after T0 (before or after it was recorded)
    submitted: int  # its order's submission, minutes after T0
    city: str | None
    side: Side
    action: Action

    @property
    def fill_id(self) -> str:
        return f"fill-{self.index}"

    @property
    def ts(self) -> datetime:
        return at(self.executed)

    @property
    def fee(self) -> int:
        return ONE_CENT << self.index

    @property
    def count(self) -> int:
        return 100 << self.index

    @property
    def ticker(self) -> str:
        return TICKERS[self.city]

    @property
    def signed(self) -> int:
        """The contracts it adds to its market's position (YES terms)."""
        return yes_terms(self.side, self.action, 4000, self.count)[0]


@st.composite
def trades(draw: st.DrawFn) -> list[Trade]:
    n = draw(st.integers(0, 9))
    out = []
    for i in range(n):
        recorded = draw(st.integers(0, 600))
        out.append(Trade(i, recorded, recorded + draw(st.integers(-240, 30)),
                         recorded - draw(st.integers(0, 120)), draw(st.sampled_from(CITIES)),
                         draw(st.sampled_from(list(Side))), draw(st.sampled_from(list(Action)))))
    return out


def commands(fills: list[Trade], clock: int, settle: int | None = None) -> list[list[Event]]:
    """The fills with their orders, the three ladders snapshotted at ``clock``, and (``settle``
    not None) New York's traded market settling at that minute."""
    out: list[tuple[int, list[Event]]] = []
    for t in fills:
        leg = a_leg(f"mb-{t.index}", ticker=TICKERS[t.city], side=t.side, action=t.action,
                    price=4000, count=t.count)
        out.append((t.submitted, [a_leg_submitted(leg, city=t.city, recorded_at=at(t.submitted))]))
        out.append((t.recorded, [an_order_filled(
            t.fill_id, client_order_id=leg.client_order_id, ticker=leg.ticker, side=t.side,
            action=t.action, price=4000, count=t.count, fee=t.fee, city=t.city,
            recorded_at=at(t.recorded), venue_time=t.ts)]))
    out.append((clock, [a_market_snapshot(ladder, version=1, city=city, recorded_at=at(clock))
                        for ladder, city in LADDERS.items()]))
    if settle is not None:
        out.append((settle, [a_settlement(SETTLED, recorded_at=at(settle))]))
    # The log is in recording order (ties as built), as one process records it.
    return [command for _, command in sorted(out, key=lambda pair: pair[0])]


def mask(dollars: str) -> int:
    """The fills a fee total counts (fee of fill i: 2^i cents)."""
    return int(Decimal(dollars) * 100)


def contracts_mask(text: str) -> int:
    return int(Decimal(text))


def members(fills: list[Trade], bits: int) -> set[int]:
    return {t.index for t in fills if bits >> t.index & 1}


def get_all(app: Any, requests: list[tuple[str, dict[str, Any]]]) -> list[dict[str, Any]]:
    async def go() -> list[dict[str, Any]]:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                     base_url="http://public") as client:
            answers = []
            for path, params in requests:
                answer = await client.get(path, params=params)
                assert answer.status_code == 200, (path, params, answer.text)
                answers.append(answer.json())
            return answers

    return asyncio.run(go())


def paged(app: Any, params: dict[str, Any], limit: int) -> list[dict[str, Any]]:
    """Every page of trades, following the cursors."""
    trades_seen: list[dict[str, Any]] = []
    cursor = None
    for _ in range(50):
        [page] = get_all(app, [("/api/public/trades",
                                {**params, "limit": limit, **({"cursor": cursor} if cursor else {})})])
        trades_seen += page["trades"]
        cursor = page["next_cursor"]
        if cursor is None:
            return trades_seen
    raise AssertionError("the cursors never ended")


#: New York short one contract (bought 1 YES, then 2 NO), a Denver position from a fill with no
#: city, a Chicago fill still too young; then the same with New York's market settled.
HELD = [Trade(0, 10, 10, 5, "NYC", Side.YES, Action.BUY), Trade(1, 20, 20, 15, "NYC", Side.NO, Action.BUY),
        Trade(2, 30, 30, 25, None, Side.YES, Action.BUY),
        Trade(3, 100, 100, 90, "CHI", Side.YES, Action.SELL)]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@example(fills=HELD, clock=140, delay=60, split=0, batch=3, limit=2, since=0, until=900, city="CHI",
         settle=None)
@example(fills=HELD, clock=140, delay=60, split=3, batch=2, limit=1, since=0, until=900, city="NYC",
         settle=130)
@given(fills=trades(), clock=st.integers(0, 900), delay=st.sampled_from([60, 61, 90, 240]),
       split=st.integers(0, 30), batch=st.integers(1, 7), limit=st.integers(1, 4),
       since=st.integers(-300, 900), until=st.integers(-300, 1200),
       city=st.sampled_from(["NYC", "CHI"]), settle=st.none() | st.integers(0, 900))
def test_nothing_younger_than_the_delay_is_public(
    fills: list[Trade], clock: int, delay: int, split: int, batch: int, limit: int, since: int,
    until: int, city: str, settle: int | None,
) -> None:
    with tempfile.TemporaryDirectory() as folder:
        settings_ = Settings(database_url=f"sqlite:///{Path(folder) / 'ledger.sqlite'}",
                             public_delay_minutes=delay)
        with bootstrap(settings_) as app:
            check(app, fills, clock, delay, split, batch, limit, since, until, city, settle)


def check(app: Milkbot, fills: list[Trade], clock: int, delay: int, split: int, batch: int,
          limit: int, since: int, until: int, city: str, settle: int | None = None) -> None:
    the_commands = commands(fills, clock, settle)
    runner = ProjectionRunner(app.ledger, all_projections(delay), batch_size=batch)
    # Part of the log is folded, then the rest: the live path and the batch cuts both vary.
    for command in the_commands[:split]:
        app.ledger.store.append(command)
    runner.catch_up()
    for command in the_commands[split:]:
        app.ledger.store.append(command)
    runner.catch_up()
    prepare(app)
    seal(app.ledger)
    read_model = SqliteReadModel(Path(app.ledger.url.removeprefix("sqlite:///")))
    try:
        public_app = create_public_app(read_model, config=CONFIG, delay_minutes=delay,
                                       ledger_position=app.ledger.store.max_position,
                                       chain_head=functools.partial(head_at, app.ledger))
        assert_delayed(public_app, fills, clock, timedelta(minutes=delay), limit, since, until, city,
                       settle)
        assert_head_delayed(public_app, app, timedelta(minutes=delay))
    finally:
        read_model.close()


def assert_head_delayed(public_app: Any, app: Milkbot, delay: timedelta) -> None:
    """The summary's chain head is a true seal of a record at least the delay old, whatever order
    the records' times came in (then it may be older than the newest such record, never newer);
    none only when the first record is younger than the delay."""
    summary, = get_all(public_app, [("/api/public/summary", {})])
    shown = summary["ledger"]
    cutoff = datetime.fromisoformat(summary["as_of"]) - delay
    if shown is None:  # (the bisection's last probe is the first record)
        assert all(recorded_at_of(r.topic, r.data) > cutoff
                   for r in app.ledger.store.read_records(0, 1))
        return
    record, = app.ledger.store.read_records(shown["position"] - 1, 1)
    assert record.position == shown["position"]
    recorded_at = recorded_at_of(record.topic, record.data)
    assert recorded_at <= cutoff and to_text(recorded_at) == shown["recorded_at"]
    with app.ledger.backend.snapshot() as tx:
        assert tx.execute("SELECT hash FROM ledger_chain WHERE position = ?",
                          (record.position,)) == [(shown["hash"],)]


def assert_delayed(app: Any, fills: list[Trade], clock: int, delay: timedelta, limit: int,
                   since: int, until: int, city: str, settle: int | None = None) -> None:
    true_clock = max([at(clock), *(at(t.recorded) for t in fills), *(at(t.submitted) for t in fills),
                      *([] if settle is None else [at(settle)])])
    summary, cities, execution, curve = get_all(app, [
        ("/api/public/summary", {}), ("/api/public/cities", {}), ("/api/public/execution", {}),
        ("/api/public/equity", {})])
    as_of = datetime.fromisoformat(summary["as_of"])
    assert as_of == true_clock

    def public(moment: datetime) -> set[int]:
        return {t.index for t in fills if t.ts + delay <= moment}

    def ordered(moment: datetime) -> set[int]:
        return {t.index for t in fills if at(t.submitted) + delay <= moment}

    # The headline counts exactly the fills old enough, and its execution the orders.
    assert members(fills, mask(summary["fees"])) == public(as_of)
    assert summary["trades"] == len(public(as_of))
    assert members(fills, contracts_mask(execution["all"]["contracts_ordered"])) == ordered(as_of)
    assert members(fills, contracts_mask(execution["all"]["contracts_filled"])) <= (
        public(as_of) & ordered(as_of))
    for answer in cities["cities"]:
        in_city = {t.index for t in fills if t.city == answer["code"]}
        assert members(fills, mask(answer["fees"])) == public(as_of) & in_city
    for answer in execution["cities"]:
        in_city = {t.index for t in fills if t.city == answer["code"]}
        assert members(fills, contracts_mask(answer["contracts_ordered"])) == ordered(as_of) & in_city

    # Our position in each market on the board, and what each settlement closed: exactly the
    # fills old enough, netted.
    def held(ticker: str) -> int:
        return sum(t.signed for t in fills if t.index in public(as_of) and t.ticker == ticker)

    for answer in cities["cities"]:
        for ladder in answer["ladders"]:
            assert LADDERS[ladder["event_ticker"]] == answer["code"]
            for market in ladder["markets"]:
                net = 0 if settle is not None and market["ticker"] == SETTLED else held(
                    market["ticker"])
                assert market["position"] == (None if net == 0 else {
                    "side": "yes" if net > 0 else "no", "count": f"{abs(net) // 100}.00",
                    "average_price": market["position"]["average_price"],
                    "unrealized": market["position"]["unrealized"]}), (market, net)
        settlements = answer["recent_settlements"]
        traded = {t.index for t in fills if t.ticker == SETTLED} & public(as_of)
        if answer["code"] != "NYC" or settle is None or not traded:
            assert settlements == []
            continue
        [settled] = settlements
        net = held(SETTLED)
        assert settled["ticker"] == SETTLED and settled["result"] == "yes"
        assert settled["position"] == (None if net == 0 else {
            "side": "yes" if net > 0 else "no", "count": f"{abs(net) // 100}.00"})
        # The market's terms: off the board maybe, but the snapshot showed them.
        assert (settled["strike_type"], settled["floor_strike"], settled["cap_strike"]) == (
            "between", "81", "82")

    # Each point of the curve counts only fills old enough at its own hour.
    for point in curve["points"]:
        hour = datetime.fromisoformat(point["ts"])
        assert hour <= as_of
        counted = members(fills, mask(point["fees"]))
        assert counted <= public(hour)
        assert point["trades"] == len(counted)
    ranged = get_all(app, [("/api/public/equity", {"since": at(since).isoformat(),
                                                   "until": at(until).isoformat(),
                                                   "limit": limit})])[0]["points"]
    assert all(p in curve["points"] for p in ranged)

    # The trade feed: all of it through any page size, and any filter keeps to the delay.
    expected = {public_id(f"fill-{i}") for i in public(as_of)}
    everything = paged(app, {}, limit)
    assert [t["id"] for t in everything] == [t["id"] for t in sorted(
        everything, key=lambda t: t["ts"], reverse=True)]
    assert {t["id"] for t in everything} == expected and len(everything) == len(expected)
    by_id = {public_id(t.fill_id): t for t in fills}
    for params in ({"since": at(since).isoformat()}, {"until": at(until).isoformat()},
                   {"since": at(since).isoformat(), "until": at(until).isoformat()},
                   {"city": city}, {"until": at(until).isoformat(), "city": city}):
        page = paged(app, params, limit)
        for trade in page:
            assert datetime.fromisoformat(trade["ts"]) + delay <= as_of
            assert trade["id"] in expected
        wanted = {i for i in expected
                  if ("since" not in params or by_id[i].ts >= at(since))
                  and ("until" not in params or by_id[i].ts <= at(until))
                  and ("city" not in params or by_id[i].city == city)}
        assert {t["id"] for t in page} == wanted, params
    # A cursor made up to point into the future still stops at the delay.
    future = Cursor(as_of + timedelta(days=365), 0).encode()
    [forged] = get_all(app, [("/api/public/trades", {"cursor": future, "limit": 500})])
    assert {t["id"] for t in forged["trades"]} <= expected
