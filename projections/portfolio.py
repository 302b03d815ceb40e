"""Positions per market and city, realized and unrealized P&L, the private fill log, and marks.

Tables (prefix ``proj_``):
- ``marks``: the latest YES mark per market from market snapshots (what unrealized P&L uses).
- ``positions``: one row per market we ever traded: signed position (YES +, NO -), cost, P&L, fees.
- ``fills``: every fill once (the primary key is the venue's fill id, so a duplicate is a no-op).
- ``pnl``: totals per city and for the whole portfolio (``scope`` = ``city:NYC`` / ``portfolio``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime
from typing import ClassVar

from domain.book import mark_price
from domain.events import Event, MarketSettled
from domain.positions import MarketPosition
from eventstore.backend import ReadModelTx
from eventstore.codec import EventView
from projections.base import Projection, delete_keys, insert_rows, upsert
from projections.timefmt import to_text
from projections.views import FillView, LadderView

UNKNOWN_CITY = "?"
FILL_COLUMNS = ("fill_id", "ts", "city", "ticker", "side", "action", "price", "count", "fee",
                "is_taker", "client_order_id", "position")


class PortfolioProjection(Projection):
    name = "portfolio"
    rebuild_weight = 10.0
    consumes = frozenset({"MarketSnapshotted", "OrderFilled", "MarketSettled"})
    views: ClassVar[Mapping[str, type[EventView]]] = {"MarketSnapshotted": LadderView,
                                                       "OrderFilled": FillView}
    uses_ledger_clock = False  # what it folds is timed by the events themselves
    tables: ClassVar[dict[str, str]] = {
        "marks": "ticker TEXT PRIMARY KEY, mark BIGINT, updated_at TEXT NOT NULL",
        "positions": (
            "ticker TEXT PRIMARY KEY, city TEXT NOT NULL, position BIGINT NOT NULL, "
            "cost BIGINT NOT NULL, realized BIGINT NOT NULL, fees BIGINT NOT NULL, "
            "fills BIGINT NOT NULL, cash BIGINT NOT NULL, settled_value BIGINT, "
            "unrealized BIGINT NOT NULL, updated_at TEXT NOT NULL"
        ),
        "fills": (
            "fill_id TEXT PRIMARY KEY, ts TEXT NOT NULL, city TEXT NOT NULL, ticker TEXT NOT NULL, "
            "side TEXT NOT NULL, action TEXT NOT NULL, price BIGINT NOT NULL, "
            "count BIGINT NOT NULL, fee BIGINT NOT NULL, is_taker BIGINT NOT NULL, "
            "client_order_id TEXT, position BIGINT NOT NULL"
        ),
        "pnl": (
            "scope TEXT PRIMARY KEY, realized BIGINT NOT NULL, unrealized BIGINT NOT NULL, "
            "fees BIGINT NOT NULL, cash BIGINT NOT NULL, open_contracts BIGINT NOT NULL, "
            "fills BIGINT NOT NULL, updated_at TEXT NOT NULL"
        ),
    }

    def __init__(self, prefix: str = "proj_") -> None:
        super().__init__(prefix)
        self._clear()

    def _clear(self) -> None:
        self.marks: dict[str, tuple[int | None, str]] = {}
        self.positions: dict[str, MarketPosition] = {}
        self.updated: dict[str, str] = {}
        self.fill_ids: set[str] = set()
        self._new_fills: list[tuple[object, ...]] = []
        self._dirty_marks: set[str] = set()
        self._dirty_positions: set[str] = set()
        self._pnl_scopes: set[str] = set()

    def load(self, tx: ReadModelTx) -> None:
        self._clear()
        for ticker, mark, updated_at in tx.execute(f"SELECT * FROM {self.table('marks')}"):
            self.marks[ticker] = (mark, updated_at)
        for (ticker, city, position, cost, realized, fees, fills, cash, settled, _unrealized,
             updated_at) in tx.execute(f"SELECT * FROM {self.table('positions')}"):
            self.positions[ticker] = MarketPosition(
                ticker=ticker, city=city, position=position, cost=cost, realized=realized,
                fees=fees, cash=cash, fills=fills, settled_value=settled)
            self.updated[ticker] = updated_at
        self.fill_ids = {r[0] for r in tx.execute(f"SELECT fill_id FROM {self.table('fills')}")}
        self._pnl_scopes = {r[0] for r in tx.execute(f"SELECT scope FROM {self.table('pnl')}")}

    def apply(self, event: Event | EventView, ledger_time: datetime) -> None:
        if isinstance(event, LadderView):
            stamp = to_text(event.recorded_at)
            for quote in event.markets:
                mark = mark_price(quote)
                known = self.marks.get(quote.ticker)
                if known is None or known[0] != mark:
                    self.marks[quote.ticker] = (mark, stamp)
                    self._dirty_marks.add(quote.ticker)
                    if quote.ticker in self.positions:
                        self._dirty_positions.add(quote.ticker)
        elif isinstance(event, FillView):
            self._fill(event)
        elif isinstance(event, MarketSettled):
            # Kept even before any fill: a fill recorded late (it traded before the close) is
            # settled on arrival.
            held = self.positions.get(event.ticker) or MarketPosition(ticker=event.ticker,
                                                                      city=UNKNOWN_CITY)
            if held.settled_value is None:
                self.positions[event.ticker] = held.settle(event.settlement_value)
                self.updated[event.ticker] = to_text(event.recorded_at)
                self._dirty_positions.add(event.ticker)

    def _fill(self, fill: FillView) -> None:
        if fill.fill_id in self.fill_ids:
            return  # the venue told us twice; it happened once
        self.fill_ids.add(fill.fill_id)
        city = fill.city or UNKNOWN_CITY
        held = self.positions.get(fill.ticker) or MarketPosition(ticker=fill.ticker, city=city)
        if held.city == UNKNOWN_CITY and city != UNKNOWN_CITY:
            held = replace(held, city=city)
        held = held.fill(fill.side, fill.action, fill.price, fill.count, fill.fee)
        if held.settled_value is not None:
            held = held.settle(held.settled_value)
        self.positions[fill.ticker] = held
        stamp = to_text(fill.venue_time or fill.recorded_at)
        self.updated[fill.ticker] = to_text(fill.recorded_at)
        self._dirty_positions.add(fill.ticker)
        self._new_fills.append((fill.fill_id, stamp, city, fill.ticker, fill.side.value,
                                fill.action.value, fill.price, fill.count, fill.fee,
                                int(fill.is_taker), fill.client_order_id, held.position))

    def unrealized(self, ticker: str) -> int:
        held = self.positions[ticker]
        return held.unrealized(self.marks.get(ticker, (None, ""))[0])

    def flush(self, tx: ReadModelTx) -> None:
        upsert(tx, self.table("marks"), ("ticker", "mark", "updated_at"), ("ticker",),
               [(t, *self.marks[t]) for t in sorted(self._dirty_marks)])
        if self._new_fills:
            insert_rows(tx, self.table("fills"), FILL_COLUMNS, self._new_fills)
        upsert(
            tx, self.table("positions"),
            ("ticker", "city", "position", "cost", "realized", "fees", "fills", "cash",
             "settled_value", "unrealized", "updated_at"), ("ticker",),
            [self._position_row(t) for t in sorted(self._dirty_positions)],
        )
        if self._dirty_positions or self._new_fills:
            rows = self._pnl_rows()
            # A market's city can become known after its first fill; its old scope goes.
            scopes = {str(row[0]) for row in rows}
            gone = self._pnl_scopes - scopes
            if gone:
                delete_keys(tx, self.table("pnl"), "scope", sorted(gone))
            upsert(tx, self.table("pnl"),
                   ("scope", "realized", "unrealized", "fees", "cash", "open_contracts", "fills",
                    "updated_at"), ("scope",), rows)
            self._pnl_scopes = scopes
        self._dirty_marks.clear()
        self._dirty_positions.clear()
        self._new_fills.clear()

    def _position_row(self, ticker: str) -> tuple[object, ...]:
        p = self.positions[ticker]
        return (ticker, p.city, p.position, p.cost, p.realized, p.fees, p.fills, p.cash,
                p.settled_value, self.unrealized(ticker), self.updated[ticker])

    def _pnl_rows(self) -> list[tuple[object, ...]]:
        # Every value here follows from the events alone, never from where a batch was cut.
        totals: dict[str, list[int]] = {}
        latest: dict[str, str] = {}
        for ticker, p in self.positions.items():
            if p.fills == 0:
                continue  # a settlement of a market we never traded
            for scope in ("portfolio", f"city:{p.city}"):
                latest[scope] = max(latest.get(scope, ""), self.updated[ticker])
                t = totals.setdefault(scope, [0, 0, 0, 0, 0, 0])
                t[0] += p.realized
                t[1] += self.unrealized(ticker)
                t[2] += p.fees
                t[3] += p.cash
                t[4] += abs(p.position)
                t[5] += p.fills
        return [(scope, *values, latest[scope]) for scope, values in sorted(totals.items())]

