"""The trading state as rows: each scope's standing state, the holds, the breakers.

It folds the same events, with the same rules, as ``domain.risk.state.TradingStates`` (it is that
fold, kept in tables), so the apps can read what may trade without folding the log themselves.
Whether a hold is in force depends on the time it is read at (``Hold.in_force(now)``): the rows keep
every hold the fold keeps, and readers pass the ledger clock.

Tables (prefix ``proj_``), all small (a few scopes, a breaker per city and feed):

- ``trading_clock``: the ledger clock the fold has reached (the time to read the holds at).
- ``trading_standing``: ``scope`` (``all`` or ``city:{code}``) -> its standing state and why.
- ``trading_holds``: the holds (a drawdown breach's REDUCING until its period ends).
- ``trading_breakers``: ``city|feed`` -> tripped or not, its stream version, why.
"""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

from domain.events import Event, TradingState
from domain.risk.state import Breaker, Hold, Standing, TradingStates
from eventstore.backend import ReadModelTx, Row
from eventstore.codec import EventView
from projections.base import Projection, insert_rows, upsert
from projections.timefmt import from_text, to_text

STANDING_COLUMNS = ("scope", "state", "reason")
HOLD_COLUMNS = ("hold_key", "scope", "state", "until", "reason", "stream")
BREAKER_COLUMNS = ("breaker_key", "city", "feed", "tripped", "version", "reason")


class TradingStateProjection(Projection):
    name = "trading_state"
    rebuild_weight = 1.0
    consumes = frozenset({"TradingStateChanged", "KillSwitchEngaged", "TradingResumed",
                          "BreakerTripped", "BreakerCleared"})
    # The clock comes first: it is the row an ordinary trading day always has.
    tables: ClassVar[dict[str, str]] = {
        "trading_clock": "name TEXT PRIMARY KEY, as_of TEXT NOT NULL",
        "trading_standing": "scope TEXT PRIMARY KEY, state TEXT NOT NULL, reason TEXT NOT NULL",
        "trading_holds": (
            "hold_key TEXT PRIMARY KEY, scope TEXT NOT NULL, state TEXT NOT NULL, "
            "until TEXT NOT NULL, reason TEXT NOT NULL, stream TEXT NOT NULL"
        ),
        "trading_breakers": (
            "breaker_key TEXT PRIMARY KEY, city TEXT NOT NULL, feed TEXT NOT NULL, "
            "tripped BIGINT NOT NULL, version BIGINT NOT NULL, reason TEXT NOT NULL"
        ),
    }

    def __init__(self, prefix: str = "proj_") -> None:
        super().__init__(prefix)
        self.states = TradingStates()
        self._written = self.states
        self.clock: datetime | None = None
        self._clock_moved = False

    def load(self, tx: ReadModelTx) -> None:
        self.states = read_trading_states(tx, self.prefix)
        self._written = self.states
        rows = tx.execute(f"SELECT as_of FROM {self.table('trading_clock')} WHERE name = 'ledger'")
        self.clock = from_text(rows[0][0]) if rows else None
        self._clock_moved = False

    def apply(self, event: Event | EventView, ledger_time: datetime) -> None:
        assert isinstance(event, Event)  # no views: every event it folds comes whole
        self.states = self.states.apply(event)

    def advance_clock(self, ledger_time: datetime) -> None:
        if self.clock is None or ledger_time > self.clock:
            self.clock = ledger_time
            self._clock_moved = True

    def flush(self, tx: ReadModelTx) -> None:
        if self._clock_moved and self.clock is not None:
            upsert(tx, self.table("trading_clock"), ("name", "as_of"), ("name",),
                   [("ledger", to_text(self.clock))])
            self._clock_moved = False
        if self.states == self._written:
            return
        # The tables are a handful of rows: writing them whole keeps them exactly the fold.
        for name in ("trading_standing", "trading_holds", "trading_breakers"):
            tx.clear(self.table(name))
        insert_rows(tx, self.table("trading_standing"), STANDING_COLUMNS, standing_rows(self.states))
        insert_rows(tx, self.table("trading_holds"), HOLD_COLUMNS, hold_rows(self.states))
        insert_rows(tx, self.table("trading_breakers"), BREAKER_COLUMNS, breaker_rows(self.states))
        self._written = self.states


def standing_rows(states: TradingStates) -> list[Row]:
    return [(scope, s.state.value, s.reason) for scope, s in sorted(states.standing.items())]


def hold_rows(states: TradingStates) -> list[Row]:
    rows = {}
    for h in states.holds:
        until = to_text(h.until)
        # Two holds alike in scope, stream and end hold the same back: one row says it.
        rows[f"{h.stream}|{h.scope}|{until}"] = (h.scope, h.state.value, until, h.reason, h.stream)
    return [(key, *row) for key, row in sorted(rows.items())]


def breaker_rows(states: TradingStates) -> list[Row]:
    return [(f"{city}|{feed}", city, feed, int(b.tripped), b.version, b.reason)
            for (city, feed), b in sorted(states.breakers.items())]


def read_trading_states(tx: ReadModelTx, prefix: str = "proj_") -> TradingStates:
    """The trading states the rows hold (the tables must exist)."""
    standing = {scope: Standing(TradingState(state), reason) for scope, state, reason in tx.execute(
        f"SELECT scope, state, reason FROM {prefix}trading_standing")}
    holds = tuple(Hold(scope, TradingState(state), from_text(until), reason, stream)
                  for _key, scope, state, until, reason, stream in tx.execute(
                      f"SELECT {', '.join(HOLD_COLUMNS)} FROM {prefix}trading_holds ORDER BY hold_key"))
    breakers = {(city, feed): Breaker(bool(tripped), version, reason)
                for _key, city, feed, tripped, version, reason in tx.execute(
                    f"SELECT {', '.join(BREAKER_COLUMNS)} FROM {prefix}trading_breakers")}
    return TradingStates(standing=standing, holds=holds, breakers=breakers)
