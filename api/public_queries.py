"""The public app's answers, read from the projection tables in one read transaction each.

Every answer is a function of the tables and the ledger clock ``as_of`` they reflect. What is ours
comes only from tables the delay already governs (``proj_public_trades`` from the public feed,
``proj_public_*`` from the public portfolio: its positions count only released fills, and of its
fills table only the released rows are read), and fills are checked against the delay once more
here: a trade, or a fill counted in what a settlement closed, is served only when
``ts + delay <= as_of``, whatever the query asks. What is not ours (the venue's books and market
terms, settled forecasts' scores) is served as it is.

Every query is bounded: lists are paged or capped, lookups go through primary keys or indexes, and
the only aggregations run over small tables (a row per city, per probability bucket and lead, per
scored ladder).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from api.formats import average_price, contracts, dollars, per_contract, price, ratio
from domain.config import MilkbotConfig
from eventstore.backend import ReadModelTx, Row
from eventstore.chain import PublishedHead
from projections.public_portfolio import ALL, STAT_COLUMNS
from projections.timefmt import from_text, to_text

#: The most trades at one instant a cursor may step over (a forged one could ask the database
#: to walk far; real ties are a handful).
MAX_SKIP = 10_000
#: Recent settled markets shown per city.
RECENT_SETTLEMENTS = 5
#: The most markets one ``IN (...)`` names (SQLite's oldest limit on parameters is 999).
LOOKUP_CHUNK = 500
BUCKETS = 10


class BadParameter(ValueError):
    """A query parameter the public API cannot read; the message says which and why."""


@dataclass(frozen=True)
class PublicContext:
    config: MilkbotConfig
    delay: timedelta

    @property
    def delay_minutes(self) -> int:
        return int(self.delay.total_seconds() // 60)


@dataclass(frozen=True)
class Cursor:
    """Where a page of trades ended: before ``ts``, after skipping ``skip`` trades at ``ts``."""

    ts: datetime
    skip: int

    def encode(self) -> str:
        raw = orjson.dumps([to_text(self.ts), self.skip])
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    @classmethod
    def decode(cls, text: str) -> Cursor:
        try:
            raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
            ts, skip = orjson.loads(raw)
            moment = aware(datetime.fromisoformat(ts))
        except (binascii.Error, ValueError, TypeError, OverflowError, orjson.JSONDecodeError):
            raise BadParameter("cursor is not one this API gave") from None
        if not isinstance(skip, int) or isinstance(skip, bool) or not 0 <= skip <= MAX_SKIP:
            raise BadParameter("cursor is not one this API gave")
        return cls(moment, skip)


def aware(moment: datetime) -> datetime:
    """``moment`` in UTC; a time without an offset is refused (it would mean any of 26 hours)."""
    if moment.tzinfo is None:
        raise ValueError("a time needs its UTC offset")
    return moment.astimezone(UTC)  # OverflowError at the ends of the calendar


@dataclass(frozen=True)
class TradeQuery:
    limit: int = 100
    cursor: Cursor | None = None
    since: datetime | None = None
    until: datetime | None = None
    city: str | None = None


@dataclass(frozen=True)
class RangeQuery:
    limit: int
    since: datetime | None = None
    until: datetime | None = None


# -- the clock --------------------------------------------------------------------------------------

def ledger_clock(tx: ReadModelTx) -> datetime | None:
    """The ledger clock the public tables reflect: the latest either delayed projection reached
    (each releases only what is due by its own clock, so by the later of the two)."""
    clocks = [from_text(r[0]) for r in tx.execute(
        "SELECT as_of FROM proj_public_clock WHERE name = 'ledger'")]
    clocks += [from_text(r[0]) for r in tx.execute(
        "SELECT value FROM proj_public_portfolio_clock WHERE name = 'clock'")]
    return max(clocks, default=None)


def version(tx: ReadModelTx) -> tuple[Row, ...]:
    """Every projection's position: while it stands, every public answer stands."""
    return tuple(tuple(r) for r in tx.execute(
        "SELECT name, position FROM milkbot_projection_tracking ORDER BY name"))


def _envelope(as_of: datetime | None, context: PublicContext) -> dict[str, Any]:
    return {"as_of": None if as_of is None else to_text(as_of),
            "delay_minutes": context.delay_minutes}


# -- P&L and execution ------------------------------------------------------------------------------

def _stats(tx: ReadModelTx) -> dict[str, dict[str, int]]:
    return {r[0]: dict(zip(STAT_COLUMNS, (int(v) for v in r[1:]), strict=True))
            for r in tx.execute(f"SELECT scope, {', '.join(STAT_COLUMNS)} FROM proj_public_stats")}


_NO_STATS = dict.fromkeys(STAT_COLUMNS, 0)


def _pnl(s: dict[str, int]) -> dict[str, Any]:
    return {
        "pnl": dollars(s["realized"] + s["unrealized"] - s["fees"]),
        "realized": dollars(s["realized"]), "unrealized": dollars(s["unrealized"]),
        "fees": dollars(s["fees"]), "trades": s["trades"], "open_positions": s["open_positions"],
        "open_contracts": contracts(s["open_contracts"]), "settled_markets": s["settled"],
        "winning_markets": s["wins"], "win_rate": ratio(s["wins"], s["settled"]),
    }


def _execution(s: dict[str, int]) -> dict[str, Any]:
    return {
        "orders": s["orders"], "contracts_ordered": contracts(s["ordered"]),
        "contracts_filled": contracts(s["filled"]), "fill_rate": ratio(s["filled"], s["ordered"]),
        "mean_slippage": per_contract(s["slippage_sum"], s["slippage_contracts"]),
        "mean_seconds_to_first_fill": (None if not s["first_filled_orders"] else
                                       s["first_fill_us"] / s["first_filled_orders"] / 1e6),
    }


def _equity_at(tx: ReadModelTx, moment: datetime) -> int:
    """The curve's value at ``moment``: its last point at or before it (zero before the first).
    Only for a moment the ledger clock has passed: the point of the clock's own hour is written
    once the clock has moved past it."""
    rows = tx.execute("SELECT equity FROM proj_public_equity WHERE hour <= ? "
                      "ORDER BY hour DESC LIMIT 1", (to_text(moment),))
    return int(rows[0][0]) if rows else 0


def summary(tx: ReadModelTx, as_of: datetime | None, context: PublicContext,
            head: PublishedHead | None = None) -> dict[str, Any]:
    """The headline figures, and ``head``: the ledger's hash chain at the newest record at least
    the delay old (``eventstore.chain.head_at``), for anyone to keep and check a later export or
    ``milkbot replay verify`` against."""
    s = _stats(tx).get(ALL, _NO_STATS)
    equity = s["realized"] + s["unrealized"] - s["fees"]
    state: dict[str, str] = dict(tx.execute("SELECT name, value FROM proj_public_portfolio_clock"))
    peak = max(int(state.get("peak", 0)), equity)
    day_start = None if as_of is None else as_of.astimezone(UTC).replace(
        hour=0, minute=0, second=0, microsecond=0)
    # The day starts with the equity as of its midnight, events at midnight included (the rule
    # of the curve's points); on the stroke of midnight that is the equity now.
    start_equity = (0 if day_start is None else equity if day_start == as_of
                    else _equity_at(tx, day_start))
    return {
        **_envelope(as_of, context),
        "equity": dollars(equity),
        "day_start": None if day_start is None else to_text(day_start),
        "daily_pnl": dollars(equity - start_equity),
        "peak_equity": dollars(peak),
        "drawdown": dollars(peak - equity),
        "max_drawdown": dollars(max(int(state.get("max_drawdown", 0)), peak - equity)),
        **_pnl(s),
        "execution": _execution(s),
        "ledger": None if head is None else {
            "position": head.position, "hash": head.hash, "recorded_at": to_text(head.recorded_at)},
    }


def execution(tx: ReadModelTx, as_of: datetime | None, context: PublicContext) -> dict[str, Any]:
    stats = _stats(tx)
    return {
        **_envelope(as_of, context),
        "all": _execution(stats.get(ALL, _NO_STATS)),
        "cities": [{"code": c.code, "name": c.name, **_execution(stats.get(c.code, _NO_STATS))}
                   for c in context.config.cities],
    }


# -- cities -----------------------------------------------------------------------------------------

def _lookup(tx: ReadModelTx, sql: str, tickers: list[str], *params: Any) -> list[Row]:
    """``sql`` (whose ``{tickers}`` is a list of placeholders, after any other parameter's) over
    ``tickers``, a chunk at a time."""
    rows: list[Row] = []
    unique = sorted(set(tickers))
    for start in range(0, len(unique), LOOKUP_CHUNK):
        chunk = unique[start:start + LOOKUP_CHUNK]
        rows += tx.execute(sql.format(tickers=", ".join("?" * len(chunk))), [*params, *chunk])
    return rows


def _strikes(tx: ReadModelTx, tickers: list[str]) -> dict[str, dict[str, str | None]]:
    """Each market's terms as the venue last showed them (nulls for a market never snapshotted)."""
    return {t: {"strike_type": kind, "floor_strike": floor, "cap_strike": cap}
            for t, kind, floor, cap in _lookup(
                tx, "SELECT ticker, strike_type, floor_strike, cap_strike FROM proj_board_strikes "
                    "WHERE ticker IN ({tickers})", tickers)}


_NO_STRIKES: dict[str, str | None] = {"strike_type": None, "floor_strike": None, "cap_strike": None}


def _side(position: int) -> str:
    return "yes" if position > 0 else "no"


def _held(tx: ReadModelTx, tickers: list[str]) -> dict[str, dict[str, Any]]:
    """Our open position in each of ``tickers`` we hold, from the public portfolio (which counts a
    fill only once it is the delay old), in the side's own terms."""
    return {t: {"side": _side(position), "count": contracts(abs(position)),
                "average_price": average_price(int(cost), position),
                "unrealized": dollars(int(unrealized))}
            for t, position, cost, unrealized in _lookup(
                tx, "SELECT ticker, position, cost, unrealized FROM proj_public_positions "
                    "WHERE ticker IN ({tickers}) AND position <> 0", tickers)}


def _closed(tx: ReadModelTx, tickers: list[str], as_of: datetime | None,
            context: PublicContext) -> dict[str, int]:
    """The contracts (YES terms) each settlement of ``tickers`` closed: the market's released
    fills, netted, each checked against the delay once more."""
    if as_of is None:
        return {}
    # In YES terms (``domain.positions.yes_terms``): buying YES or selling NO adds YES contracts.
    return {t: int(net) for t, net in _lookup(
        tx, "SELECT ticker, SUM(CASE WHEN (side = 'yes') = (action = 'buy') THEN count "
            "ELSE -count END) FROM proj_public_portfolio_fills "
            "WHERE released = 1 AND ts <= ? AND ticker IN ({tickers}) GROUP BY ticker",
        tickers, to_text(as_of - context.delay))}


def _market(m: list[Any], held: dict[str, dict[str, Any]]) -> dict[str, Any]:
    ticker, status, strike_type, floor, cap, yes_bid, yes_ask, mark, close_time = m
    return {"ticker": ticker, "status": status, "strike_type": strike_type, "floor_strike": floor,
            "cap_strike": cap, "yes_bid": price(yes_bid), "yes_ask": price(yes_ask),
            "mark": price(mark), "close_time": close_time, "position": held.get(ticker)}


def _result(settled_value: int) -> str:
    return {10_000: "yes", 0: "no"}.get(settled_value, "scalar")


def cities(tx: ReadModelTx, as_of: datetime | None, context: PublicContext) -> dict[str, Any]:
    stats = _stats(tx)
    boards = [(event_ticker, city, kind, seen_at, close_time, orjson.loads(markets))
              for event_ticker, city, kind, seen_at, close_time, markets in tx.execute(
                  "SELECT event_ticker, city, kind, snapshot_at, close_time, markets "
                  "FROM proj_board_ladders ORDER BY city, kind, event_ticker")]
    held = _held(tx, [m[0] for *_, markets in boards for m in markets])
    ladders: dict[str, list[dict[str, Any]]] = {}
    for event_ticker, city, kind, seen_at, close_time, markets in boards:
        ladders.setdefault(city, []).append({
            "event_ticker": event_ticker, "kind": kind, "seen_at": seen_at,
            "close_time": close_time, "markets": [_market(m, held) for m in markets]})
    settled = {city.code: tx.execute(
        "SELECT ticker, settled_value, realized - fees, settled_at FROM proj_public_positions "
        "WHERE city = ? AND settled_at IS NOT NULL AND fills > 0 "
        "ORDER BY settled_at DESC, ticker DESC LIMIT ?", (city.code, RECENT_SETTLEMENTS))
        for city in context.config.cities}
    tickers = [row[0] for rows in settled.values() for row in rows]
    strikes, closed = _strikes(tx, tickers), _closed(tx, tickers, as_of, context)
    answer = []
    for city in context.config.cities:
        answer.append({
            "code": city.code, "name": city.name, "timezone": city.timezone,
            "enabled": city.enabled, **_pnl(stats.get(city.code, _NO_STATS)),
            "ladders": ladders.get(city.code, []),
            "recent_settlements": [
                {"ticker": t, "result": _result(v), "settled_at": at, "pnl": dollars(int(pnl)),
                 **strikes.get(t, _NO_STRIKES),
                 "position": None if not closed.get(t) else {
                     "side": _side(closed[t]), "count": contracts(abs(closed[t]))}}
                for t, v, pnl, at in settled[city.code]],
        })
    return {**_envelope(as_of, context), "cities": answer}


# -- trades and the curve ---------------------------------------------------------------------------

def public_id(fill_id: str) -> str:
    """A stable id for a public trade that does not give away the venue's trade id."""
    return hashlib.sha256(f"milkbot public trade|{fill_id}".encode()).hexdigest()[:20]


def trades(tx: ReadModelTx, as_of: datetime | None, context: PublicContext,
           query: TradeQuery) -> dict[str, Any]:
    """Newest first. Whatever the filters and cursor say, the bound is ``as_of - delay``."""
    if as_of is None:
        return {**_envelope(as_of, context), "trades": [], "next_cursor": None}
    cutoff = as_of - context.delay
    bounds = [cutoff]
    if query.until is not None:
        bounds.append(query.until)
    if query.cursor is not None:
        bounds.append(query.cursor.ts)
    bound = min(bounds)
    skip = query.cursor.skip if query.cursor is not None and query.cursor.ts == bound else 0
    sql = ("SELECT ts, city, ticker, side, action, price, count, fee, fill_id "
           "FROM proj_public_trades WHERE ts <= ?")
    params: list[Any] = [to_text(bound)]
    if query.since is not None:
        sql += " AND ts >= ?"
        params.append(to_text(query.since))
    if query.city is not None:
        sql += " AND city = ?"
        params.append(query.city)
    sql += " ORDER BY ts DESC, fill_id DESC LIMIT ? OFFSET ?"
    params += [query.limit + 1, skip]
    rows = tx.execute(sql, params)
    more = len(rows) > query.limit
    # The delay, checked again on what the table gave (it only holds trades the feed released).
    page = [r for r in rows[:query.limit] if from_text(r[0]) + context.delay <= as_of]
    next_cursor = None
    if more and page:
        last = page[-1][0]
        at_last = sum(1 for r in page if r[0] == last) + (skip if last == to_text(bound) else 0)
        next_cursor = Cursor(from_text(last), at_last).encode()
    strikes = _strikes(tx, [r[2] for r in page])
    return {
        **_envelope(as_of, context),
        "trades": [{"id": public_id(fill_id), "ts": ts, "city": city, "ticker": ticker,
                    **strikes.get(ticker, _NO_STRIKES), "side": side, "action": action,
                    "price": price(p), "count": contracts(c), "fee": dollars(fee)}
                   for ts, city, ticker, side, action, p, c, fee, fill_id in page],
        "next_cursor": next_cursor,
    }


def equity(tx: ReadModelTx, as_of: datetime | None, context: PublicContext,
           query: RangeQuery) -> dict[str, Any]:
    """The hourly points in range, oldest first (the latest ``limit`` of them), and the equity now.

    A point at hour ``H`` is the equity as of ``H``: every event up to and including ``H`` and
    every fill due by ``H`` (``projections.public_portfolio``). It is written once the clock has
    passed ``H``, so every point is older than ``current``, and the point at ``H`` is what
    ``current`` said when ``as_of`` was ``H``."""
    if as_of is None:
        return {**_envelope(as_of, context), "points": [], "current": None}
    upper = as_of if query.until is None else min(as_of, query.until)
    sql = ("SELECT hour, equity, realized, unrealized, fees, trades FROM proj_public_equity "
           "WHERE hour <= ?")
    params: list[Any] = [to_text(upper)]
    if query.since is not None:
        sql += " AND hour >= ?"
        params.append(to_text(query.since))
    sql += " ORDER BY hour DESC LIMIT ?"
    params.append(query.limit)
    rows = list(reversed(tx.execute(sql, params)))
    s = _stats(tx).get(ALL, _NO_STATS)
    return {
        **_envelope(as_of, context),
        "points": [{"ts": hour, "equity": dollars(e), "realized": dollars(r),
                    "unrealized": dollars(u), "fees": dollars(f), "trades": int(n)}
                   for hour, e, r, u, f, n in rows],
        "current": {"ts": to_text(as_of), "equity": dollars(s["realized"] + s["unrealized"] - s["fees"]),
                    "realized": dollars(s["realized"]), "unrealized": dollars(s["unrealized"]),
                    "fees": dollars(s["fees"]), "trades": s["trades"]},
    }


# -- calibration ------------------------------------------------------------------------------------

def _reliability(sums: dict[int, list[float]]) -> list[dict[str, Any]]:
    return [{"bucket": b, "lower": b / BUCKETS, "upper": (b + 1) / BUCKETS, "count": int(n),
             "mean_forecast": ratio(forecast, n), "observed_frequency": ratio(paid, n)}
            for b, (forecast, paid, n) in sorted(sums.items()) if n]


def _scores(row: list[float]) -> dict[str, Any]:
    n, brier, n_clim, clim, n_market, market = row
    return {"scored_ladders": int(n), "brier": ratio(brier, n),
            "climatology_brier": ratio(clim, n_clim), "market_brier": ratio(market, n_market)}


def calibration(tx: ReadModelTx, as_of: datetime | None, context: PublicContext,
                city: str | None = None, kind: str | None = None) -> dict[str, Any]:
    """Reliability buckets and Brier scores by city, over every settled ladder (every lead)."""
    where, params = [], []
    for column, value in (("city", city), ("kind", kind)):
        if value is not None:
            where.append(f"{column} = ?")
            params.append(value)
    clause = f" WHERE {' AND '.join(where)}" if where else ""
    buckets: dict[str, dict[int, list[float]]] = {}
    overall_buckets: dict[int, list[float]] = {}
    for c, bucket, forecast, paid, n in tx.execute(
            "SELECT city, bucket, SUM(forecast_sum), SUM(outcomes), SUM(count) "
            f"FROM proj_reliability{clause} GROUP BY city, bucket", params):
        for target in (buckets.setdefault(c, {}), overall_buckets):
            sums = target.setdefault(int(bucket), [0.0, 0.0, 0.0])
            sums[0] += float(forecast)
            sums[1] += float(paid)
            sums[2] += float(n)
    scores: dict[str, list[float]] = {}
    overall = [0.0] * 6
    for c, *values in tx.execute(
            "SELECT city, COUNT(*), SUM(brier), COUNT(climatology_brier), SUM(climatology_brier), "
            f"COUNT(market_brier), SUM(market_brier) FROM proj_forecast_scores{clause} "
            "GROUP BY city", params):
        row = [float(v or 0) for v in values]
        scores[c] = row
        overall = [a + b for a, b in zip(overall, row, strict=True)]
    shown = [c for c in context.config.cities if city is None or c.code == city]
    return {
        **_envelope(as_of, context),
        "overall": {**_scores(overall), "reliability": _reliability(overall_buckets)},
        "cities": [{"code": c.code, "name": c.name, **_scores(scores.get(c.code, [0.0] * 6)),
                    "reliability": _reliability(buckets.get(c.code, {}))} for c in shown],
    }
