"""The public trade feed: exact trades, each published only once it is at least the delay old.

The delay is enforced here, where the public data is produced: a fill waits in ``public_pending``
until the ledger clock (the newest ``recorded_at`` in the log) reaches its execution time plus the
delay, and only then enters ``public_trades``, the only table the public app reads. The API checks
the same rule again before answering.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import ClassVar

from domain.events import Event
from eventstore.backend import ReadModelTx, Row
from eventstore.codec import EventView
from projections.base import Projection, delete_keys, insert_rows, upsert
from projections.timefmt import from_text, to_text
from projections.views import FillView

MINIMUM_DELAY_MINUTES = 60
TRADE_COLUMNS = ("fill_id", "ts", "city", "ticker", "side", "action", "price", "count", "fee")
_TRADE_TABLE = (
    "fill_id TEXT PRIMARY KEY, ts TEXT NOT NULL, city TEXT NOT NULL, ticker TEXT NOT NULL, "
    "side TEXT NOT NULL, action TEXT NOT NULL, price BIGINT NOT NULL, count BIGINT NOT NULL, "
    "fee BIGINT NOT NULL"
)


class DelayTooShort(ValueError):
    pass


def check_delay(minutes: int) -> int:
    if minutes < MINIMUM_DELAY_MINUTES:
        raise DelayTooShort(
            f"MILKBOT_PUBLIC_DELAY_MINUTES={minutes} is refused: trades may not be public "
            f"before {MINIMUM_DELAY_MINUTES} minutes"
        )
    return minutes


class PublicTradeFeed(Projection):
    name = "public_feed"
    rebuild_weight = 5.0
    consumes = frozenset({"OrderFilled"})
    views: ClassVar[Mapping[str, type[EventView]]] = {"OrderFilled": FillView}
    tables: ClassVar[dict[str, str]] = {
        "public_trades": _TRADE_TABLE,
        "public_pending": _TRADE_TABLE,
        "public_clock": "name TEXT PRIMARY KEY, as_of TEXT NOT NULL",
    }

    def __init__(self, delay_minutes: int = MINIMUM_DELAY_MINUTES, prefix: str = "proj_") -> None:
        super().__init__(prefix)
        self.delay = timedelta(minutes=check_delay(delay_minutes))
        self._clear()

    def create_tables(self, tx: ReadModelTx) -> None:
        super().create_tables(tx)
        # The trades endpoint pages through the table newest first, by city or not (the table
        # is keyed by fill id): made with the table, so a refold that drops it makes them again.
        trades = self.table("public_trades")
        tx.execute(f"CREATE INDEX IF NOT EXISTS {trades}_by_ts ON {trades} (ts, fill_id)")
        tx.execute(f"CREATE INDEX IF NOT EXISTS {trades}_by_city ON {trades} (city, ts, fill_id)")

    def _clear(self) -> None:
        self.pending: dict[str, Row] = {}
        self.published: set[str] = set()
        self.as_of: str | None = None
        self._new_pending: list[Row] = []
        self._released: list[Row] = []

    def load(self, tx: ReadModelTx) -> None:
        self._clear()
        self.pending = {r[0]: tuple(r) for r in tx.execute(
            f"SELECT * FROM {self.table('public_pending')}")}
        self.published = {r[0] for r in tx.execute(
            f"SELECT fill_id FROM {self.table('public_trades')}")}
        rows = tx.execute(f"SELECT as_of FROM {self.table('public_clock')} WHERE name = 'ledger'")
        self.as_of = rows[0][0] if rows else None

    def apply(self, event: Event | EventView, ledger_time: datetime) -> None:
        if not isinstance(event, FillView):
            return
        if event.fill_id in self.pending or event.fill_id in self.published:
            return
        row = (event.fill_id, to_text(event.venue_time or event.recorded_at), event.city or "?",
               event.ticker, event.side.value, event.action.value, event.price, event.count,
               event.fee)
        self.pending[event.fill_id] = row
        self._new_pending.append(row)

    def advance_clock(self, ledger_time: datetime) -> None:
        if self.as_of is not None and ledger_time < from_text(self.as_of):
            ledger_time = from_text(self.as_of)  # the clock never runs backwards
        self.as_of = to_text(ledger_time)
        due = [row for row in self.pending.values()
               if from_text(row[1]) + self.delay <= ledger_time]
        for row in due:
            del self.pending[row[0]]
            self.published.add(row[0])
        self._released.extend(due)

    def flush(self, tx: ReadModelTx) -> None:
        released = {row[0] for row in self._released}
        arrived = {row[0] for row in self._new_pending}
        # A trade that arrived and came due within this batch goes straight to the public table.
        insert_rows(tx, self.table("public_pending"), TRADE_COLUMNS,
                    [row for row in self._new_pending if row[0] not in released])
        delete_keys(tx, self.table("public_pending"), "fill_id", sorted(released - arrived))
        insert_rows(tx, self.table("public_trades"), TRADE_COLUMNS, self._released)
        if self.as_of is not None:
            upsert(tx, self.table("public_clock"), ("name", "as_of"), ("name",),
                   [("ledger", self.as_of)])
        self._new_pending.clear()
        self._released.clear()
