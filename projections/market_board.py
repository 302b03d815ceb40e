"""The market board: each city's current ladders as the exchange last showed them, and when each
of its feeds last gave good data.

This is the venue's public data (books are public at Kalshi) and the times we read it: nothing in
it says what we hold or want, so it is published without delay.

What it folds:

- ``MarketSnapshotted``: the ladder's latest markets (best YES bid and ask, the mark, the strikes)
  replace its previous ones; the snapshot is also the city's ``market:{kind}`` feed's latest good
  read. A ladder leaves the board once every market in it has closed by the ledger clock (or, when
  its markets give no close time, a day after its last snapshot), so the board holds what is
  trading now, whatever the age of the ledger.
- ``WeatherSnapshotted``: the city's ``weather:{kind}`` feed's latest good read (the kind is the
  last part of its stream, ``weather:{city}:{kind}``, as the snapshotter names it). Only its
  envelope and city are read (``WeatherRead``): the forecasts, most of its bytes, are skipped.

Every market a snapshot shows also leaves its terms (strike type and strikes) behind, kept after
its ladder has left the board: a settled market, or an old trade in it, still reads as the range
it priced (a ``T79`` ticker does not say whether it is the low tail or the high one).

Tables (prefix ``proj_``):

- ``board_ladders``: one row per current ladder (event ticker): city, kind, when it was seen, the
  latest close time of its markets, and its markets as JSON
  (``[ticker, status, strike_type, floor, cap, yes_bid, yes_ask, mark, close_time]``, prices in
  1/10,000 dollar, strikes as strings, times as ISO 8601).
- ``board_feeds``: ``city|feed`` -> the ``recorded_at`` of its latest good snapshot.
- ``board_strikes``: every market ever snapshotted -> its strike type and strikes (strings), as
  the latest snapshot in log order gave them.
- ``board_clock``: the ledger clock the pruning has reached.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime, timedelta
from decimal import Decimal
from typing import ClassVar

from domain.book import best_bid, mark_price, yes_ask
from domain.events import Event, MarketKind
from eventstore.backend import ReadModelTx, Row
from eventstore.codec import EventView
from projections.base import Projection, delete_keys, upsert
from projections.timefmt import from_text, to_text
from projections.views import LadderView, QuoteView

#: How long a ladder whose markets name no close time stays on the board after its last snapshot.
UNDATED = timedelta(days=1)
#: A weather stream's last part names the market kind it feeds.
_KINDS = frozenset(k.value for k in MarketKind)
LADDER_COLUMNS = ("event_ticker", "city", "kind", "snapshot_at", "close_time", "markets")
FEED_COLUMNS = ("feed_key", "city", "feed", "last_good")
STRIKE_COLUMNS = ("ticker", "strike_type", "floor_strike", "cap_strike")


class WeatherRead(EventView, frozen=True, kw_only=True):
    """What the board reads of a ``WeatherSnapshotted``: when, and for which city and feed."""

    city: str


class MarketBoardProjection(Projection):
    name = "market_board"
    rebuild_weight = 6.0
    consumes = frozenset({"MarketSnapshotted", "WeatherSnapshotted"})
    views: ClassVar[Mapping[str, type[EventView]]] = {"MarketSnapshotted": LadderView,
                                                       "WeatherSnapshotted": WeatherRead}
    #: 2: ``board_strikes`` (a ledger folded before it has none until the board folds again).
    schema_version = 2
    tables: ClassVar[dict[str, str]] = {
        "board_ladders": (
            "event_ticker TEXT PRIMARY KEY, city TEXT NOT NULL, kind TEXT NOT NULL, "
            "snapshot_at TEXT NOT NULL, close_time TEXT, markets TEXT NOT NULL"
        ),
        "board_feeds": (
            "feed_key TEXT PRIMARY KEY, city TEXT NOT NULL, feed TEXT NOT NULL, last_good TEXT NOT NULL"
        ),
        "board_clock": "name TEXT PRIMARY KEY, as_of TEXT NOT NULL",
        "board_strikes": (
            "ticker TEXT PRIMARY KEY, strike_type TEXT, floor_strike TEXT, cap_strike TEXT"
        ),
    }

    def __init__(self, prefix: str = "proj_") -> None:
        super().__init__(prefix)
        self._clear()

    def _clear(self) -> None:
        #: Each ladder's row, or its latest snapshot until a flush writes it: most snapshots are
        #: replaced by the next one of their ladder within the batch they came in.
        self.ladders: dict[str, Row | LadderView] = {}
        #: When each ladder was seen and when it leaves the board.
        self._seen: dict[str, datetime] = {}
        self._ends: dict[str, datetime] = {}
        self.feeds: dict[str, Row] = {}
        self.strikes: dict[str, Row] = {}
        #: Each market's latest quote whose strikes are not read yet.
        self._quotes: dict[str, QuoteView] = {}
        self.clock: datetime | None = None
        self._dirty_ladders: set[str] = set()
        self._gone_ladders: set[str] = set()
        self._dirty_feeds: set[str] = set()
        self._dirty_strikes: set[str] = set()
        self._clock_moved = False

    def load(self, tx: ReadModelTx) -> None:
        self._clear()
        self.ladders = {r[0]: tuple(r) for r in tx.execute(
            f"SELECT {', '.join(LADDER_COLUMNS)} FROM {self.table('board_ladders')}")}
        for event_ticker, row in self.ladders.items():
            assert isinstance(row, tuple)
            self._seen[event_ticker] = from_text(row[3])
            self._ends[event_ticker] = (from_text(row[4]) if row[4] is not None else
                                        self._seen[event_ticker] + UNDATED)
        self.feeds = {r[0]: tuple(r) for r in tx.execute(
            f"SELECT {', '.join(FEED_COLUMNS)} FROM {self.table('board_feeds')}")}
        self.strikes = {r[0]: tuple(r) for r in tx.execute(
            f"SELECT {', '.join(STRIKE_COLUMNS)} FROM {self.table('board_strikes')}")}
        rows = tx.execute(f"SELECT as_of FROM {self.table('board_clock')} WHERE name = 'ledger'")
        self.clock = from_text(rows[0][0]) if rows else None

    def apply(self, event: Event | EventView, ledger_time: datetime) -> None:
        self._advance(ledger_time)
        if isinstance(event, LadderView):
            self._strikes(event)
            self._ladder(event)
            self._feed(event.city, f"market:{event.kind.value}", event.recorded_at)
        elif isinstance(event, WeatherRead):
            kind = event.stream.rsplit(":", 1)[-1]
            if kind in _KINDS:
                self._feed(event.city, f"weather:{kind}", event.recorded_at)

    def advance_clock(self, ledger_time: datetime) -> None:
        self._advance(ledger_time)

    def _advance(self, ledger_time: datetime) -> None:
        if self.clock is not None and ledger_time <= self.clock:
            return  # the clock never runs backwards
        self.clock = ledger_time
        self._clock_moved = True
        # Pruning is monotone in the clock, so where batches are cut changes no final row.
        for event_ticker in [t for t, end in self._ends.items() if end < ledger_time]:
            del self.ladders[event_ticker]
            del self._ends[event_ticker]
            del self._seen[event_ticker]
            self._dirty_ladders.discard(event_ticker)
            self._gone_ladders.add(event_ticker)

    def _ladder(self, event: LadderView) -> None:
        event_ticker = event.event_ticker
        seen = self._seen.get(event_ticker)
        if seen is not None and seen > event.recorded_at:
            return  # recorded out of order: the later snapshot stands
        closes = [q.close_time for q in event.markets if q.close_time is not None]
        dated = bool(closes) and len(closes) == len(event.markets)
        end = max(closes) if dated else event.recorded_at + UNDATED
        if self.clock is not None and end < self.clock:
            return  # a late record of a ladder that has already closed
        self.ladders[event_ticker] = event
        self._seen[event_ticker] = event.recorded_at
        self._ends[event_ticker] = end
        self._dirty_ladders.add(event_ticker)
        self._gone_ladders.discard(event_ticker)

    def _row(self, event_ticker: str) -> Row:
        kept = self.ladders[event_ticker]
        if isinstance(kept, tuple):
            return kept
        markets = [
            [q.ticker, q.status, q.strike_type, _strike(q.floor_strike), _strike(q.cap_strike),
             best_bid(q.yes_bids), yes_ask(q), mark_price(q),
             None if q.close_time is None else to_text(q.close_time)]
            for q in kept.markets
        ]
        closes = [q.close_time for q in kept.markets if q.close_time is not None]
        row = (event_ticker, kept.city, kept.kind.value, to_text(kept.recorded_at),
               to_text(max(closes)) if closes and len(closes) == len(kept.markets) else None,
               json.dumps(markets, separators=(",", ":")))
        self.ladders[event_ticker] = row
        return row

    def _strikes(self, event: LadderView) -> None:
        # Each market's latest quote; its strikes are read at the flush (``_read_strikes``).
        quotes = self._quotes
        for q in event.markets:
            quotes[q.ticker] = q

    def _read_strikes(self) -> None:
        for ticker, q in self._quotes.items():
            row = (ticker, q.strike_type, _strike(q.floor_strike), _strike(q.cap_strike))
            if self.strikes.get(ticker) != row:
                self.strikes[ticker] = row
                self._dirty_strikes.add(ticker)
        self._quotes.clear()

    def _feed(self, city: str, feed: str, at: datetime) -> None:
        key = f"{city}|{feed}"
        known = self.feeds.get(key)
        if known is not None and from_text(known[3]) >= at:
            return  # recorded out of order: the later good read stands
        self.feeds[key] = (key, city, feed, to_text(at))
        self._dirty_feeds.add(key)

    def flush(self, tx: ReadModelTx) -> None:
        delete_keys(tx, self.table("board_ladders"), "event_ticker", sorted(self._gone_ladders))
        upsert(tx, self.table("board_ladders"), LADDER_COLUMNS, LADDER_COLUMNS[:1],
               [self._row(t) for t in sorted(self._dirty_ladders)])
        upsert(tx, self.table("board_feeds"), FEED_COLUMNS, FEED_COLUMNS[:1],
               [self.feeds[k] for k in sorted(self._dirty_feeds)])
        self._read_strikes()
        upsert(tx, self.table("board_strikes"), STRIKE_COLUMNS, STRIKE_COLUMNS[:1],
               [self.strikes[t] for t in sorted(self._dirty_strikes)])
        if self._clock_moved and self.clock is not None:
            upsert(tx, self.table("board_clock"), ("name", "as_of"), ("name",),
                   [("ledger", to_text(self.clock))])
        self._dirty_ladders.clear()
        self._gone_ladders.clear()
        self._dirty_feeds.clear()
        self._dirty_strikes.clear()
        self._clock_moved = False


def _strike(value: Decimal | None) -> str | None:
    return None if value is None else str(value)

