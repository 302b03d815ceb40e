"""The exchange's state: books per market, the account's orders, fills, positions and cash.

One account trades here (whoever holds the configured key); simulated traders (owners starting with
``sim:``) only provide liquidity, so their side of a trade is not booked. Money is integer micros,
prices 1/10,000 dollar, counts 1/100 contract (``domain.money``), so ``price * count`` is exact.

Cash follows Kalshi's collateral rule with a signed position (YES positive, NO negative): a bid
first closes NO contracts (receiving ``1 - p`` each), then buys YES at ``p``; an ask first closes YES
(receiving ``p`` each), then buys NO at ``1 - p``. A settled contract on the winning side pays $1.
Takers pay ``taker_fee`` per fill; makers pay nothing (weather markets).
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from adapters.kalshi.simulator.book import Book, Resting, SelfTradePrevention, Side
from domain.money import CONTRACT_PAYOUT, notional, taker_fee

USER = "sim-user"
TimeInForce = Literal["fill_or_kill", "good_till_canceled", "immediate_or_cancel"]


class OrderRejected(Exception):
    """The exchange refuses an order: ``status`` and ``code`` become the HTTP ErrorResponse."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


@dataclass
class Order:
    order_id: str
    owner: str
    client_order_id: str
    ticker: str
    event_ticker: str
    side: Side
    price: int
    initial: int
    remaining: int
    status: str  # resting | canceled | executed
    time_in_force: str
    stp: str
    created_ms: int
    updated_ms: int
    seq: int
    filled: int = 0
    taker_fees: int = 0
    maker_fees: int = 0
    taker_cost: int = 0
    maker_cost: int = 0


@dataclass(frozen=True)
class Fill:
    fill_id: str
    trade_id: str
    order_id: str
    ticker: str
    side: Side
    price: int
    count: int
    is_taker: bool
    fee: int
    ts_ms: int


@dataclass
class Position:
    ticker: str
    event_ticker: str
    position: int = 0  # signed count, YES positive
    cost: int = 0  # micros paid for the open position
    total_traded: int = 0
    realized_pnl: int = 0
    fees_paid: int = 0
    updated_ms: int = 0


@dataclass
class MarketStats:
    volume: int = 0
    last_price: int = 0


@dataclass
class Exchange:
    seed: int
    balance: int  # the account's cash, micros
    seq: int = 0
    orders: dict[str, Order] = field(default_factory=dict)  # the account's orders only
    client_ids: dict[str, str] = field(default_factory=dict)  # client_order_id -> order_id
    fills: list[Fill] = field(default_factory=list)
    positions: dict[str, Position] = field(default_factory=dict)
    stats: dict[str, MarketStats] = field(default_factory=dict)
    settled: dict[str, str] = field(default_factory=dict)  # ticker -> "yes" | "no"
    books: dict[str, Book] = field(default_factory=dict)
    updated_ms: int = 0
    #: Bumped on every change to the account's state: the app saves when it moves.
    revision: int = 0

    def _touch(self, now_ms: int) -> None:
        self.updated_ms = now_ms
        self.revision += 1

    # -- ids ----------------------------------------------------------------------------------

    def _next_id(self, kind: str) -> str:
        self.seq += 1
        digest = hashlib.sha256(f"{self.seed}:{kind}:{self.seq}".encode()).digest()
        return str(uuid.UUID(bytes=digest[:16], version=4))

    def book(self, ticker: str) -> Book:
        if ticker not in self.books:
            self.books[ticker] = Book(ticker)
        return self.books[ticker]

    # -- orders -------------------------------------------------------------------------------

    def submit(self, *, owner: str, ticker: str, event_ticker: str, side: Side, price: int, count: int,
               now_ms: int, client_order_id: str = "", time_in_force: TimeInForce = "good_till_canceled",
               stp: SelfTradePrevention = "taker_at_cross", post_only: bool = False) -> Order:
        """Match an order, rest or cancel what is left, and book the account's fills."""
        is_user = owner == USER
        if is_user and client_order_id and client_order_id in self.client_ids:
            raise OrderRejected(409, "order_already_exists",
                                f"client_order_id {client_order_id} is already used")
        book = self.book(ticker)
        if post_only and book.would_cross(side, price):
            raise OrderRejected(400, "post_only_cross", "a post-only order would cross the book")
        if time_in_force == "fill_or_kill" and book.fillable(owner, side, price, stp) < count:
            raise OrderRejected(409, "fill_or_kill_insufficient_resting_volume",
                                "not enough resting volume to fill the whole order")
        if is_user:
            self._check_balance(ticker, side, price, count)
        order = Order(order_id=self._next_id("order"), owner=owner,
                      client_order_id=client_order_id or "", ticker=ticker, event_ticker=event_ticker,
                      side=side, price=price, initial=count, remaining=count, status="resting",
                      time_in_force=time_in_force, stp=stp, created_ms=now_ms, updated_ms=now_ms,
                      seq=self.seq)
        result = book.match(owner, side, price, count, stp)
        for canceled in result.canceled_makers:
            self._mark_canceled(canceled, now_ms)
        for match in result.matches:
            trade_id = self._next_id("trade")
            fee = taker_fee(match.price, match.count)
            self._book_fill(order, match.price, match.count, fee, True, trade_id, now_ms)
            maker = self.orders.get(match.maker_order_id)
            if maker is not None:
                self._book_fill(maker, match.price, match.count, 0, False, trade_id, now_ms)
            stats = self.stats.setdefault(ticker, MarketStats())
            stats.volume += match.count
            stats.last_price = match.price
        order.remaining = result.remaining
        if order.remaining == 0:
            order.status = "executed"
        elif time_in_force == "good_till_canceled" and not result.stopped_by_self_trade:
            book.rest(Resting(order.order_id, owner, side, price, order.remaining, order.seq))
        else:
            order.status = "canceled"
        if is_user:
            self.orders[order.order_id] = order
            if client_order_id:
                self.client_ids[client_order_id] = order.order_id
            self._touch(now_ms)
        return order

    def _check_balance(self, ticker: str, side: Side, price: int, count: int) -> None:
        held = self.positions.get(ticker, Position(ticker, "")).position
        closing = min(count, max(-held, 0) if side == "bid" else max(held, 0))
        unit = price if side == "bid" else CONTRACT_PAYOUT - price
        needed = notional(unit, count - closing) + taker_fee(price, count)
        if needed > self.balance:
            raise OrderRejected(400, "insufficient_balance",
                                "the order's cost and fees exceed the available balance")

    def _book_fill(self, order: Order, price: int, count: int, fee: int, is_taker: bool,
                   trade_id: str, now_ms: int) -> None:
        order.filled += count
        order.updated_ms = now_ms
        if is_taker:
            order.taker_fees += fee
            order.taker_cost += notional(price, count)
        else:
            order.maker_cost += notional(price, count)
            order.remaining -= count
            if order.remaining == 0:
                order.status = "executed"
        if order.owner != USER:
            return
        self.fills.append(Fill(self._next_id("fill"), trade_id, order.order_id, order.ticker, order.side,
                               price, count, is_taker, fee, now_ms))
        self._apply_to_position(order.ticker, order.event_ticker, order.side, price, count, fee, now_ms)
        self._touch(now_ms)

    def _apply_to_position(self, ticker: str, event_ticker: str, side: Side, price: int, count: int,
                           fee: int, now_ms: int) -> None:
        pos = self.positions.setdefault(ticker, Position(ticker, event_ticker))
        held = abs(pos.position)
        closing = min(count, max(-pos.position, 0) if side == "bid" else max(pos.position, 0))
        # a bid closes NO at 1 - p and opens YES at p; an ask closes YES at p and opens NO at 1 - p
        close_unit = CONTRACT_PAYOUT - price if side == "bid" else price
        open_unit = price if side == "bid" else CONTRACT_PAYOUT - price
        if closing:
            released = pos.cost * closing // held
            proceeds = notional(close_unit, closing)
            pos.cost -= released
            pos.realized_pnl += proceeds - released
            self.balance += proceeds
        opening = count - closing
        pos.cost += notional(open_unit, opening)
        self.balance -= notional(open_unit, opening) + fee
        pos.position += count if side == "bid" else -count
        pos.total_traded += notional(price, count)
        pos.fees_paid += fee
        pos.realized_pnl -= fee
        pos.updated_ms = now_ms

    def _mark_canceled(self, order_id: str, now_ms: int) -> None:
        order = self.orders.get(order_id)
        if order is not None and order.status == "resting":
            order.status = "canceled"
            order.updated_ms = now_ms
            self._touch(now_ms)

    def cancel(self, order_id: str, now_ms: int) -> tuple[Order, int]:
        """Cancel the account's resting order; returns it and the count it was reduced by."""
        order = self.orders.get(order_id)
        if order is None:
            raise OrderRejected(404, "not_found", f"no order {order_id}")
        if order.status != "resting":
            raise OrderRejected(404, "not_found", f"order {order_id} is {order.status}, not resting")
        self.book(order.ticker).remove(order_id)
        reduced = order.remaining
        order.remaining = 0
        self._mark_canceled(order_id, now_ms)
        return order, reduced

    def cancel_owner_orders(self, ticker: str, owner: str) -> None:
        """Withdraw every resting order of a simulated trader in one market (before it re-quotes)."""
        book = self.book(ticker)
        for side in ("bid", "ask"):
            for resting in [o for o in book.orders(side) if o.owner == owner]:
                book.remove(resting.order_id)

    # -- settlement ---------------------------------------------------------------------------

    def close_market(self, ticker: str, now_ms: int) -> None:
        """Trading is over: cancel every resting order in the market."""
        book = self.books.pop(ticker, None)
        if book is None:
            return
        for side in ("bid", "ask"):
            for resting in list(book.orders(side)):
                if resting.owner == USER:
                    order = self.orders[resting.order_id]
                    order.remaining = 0
                    self._mark_canceled(resting.order_id, now_ms)

    def settle(self, ticker: str, result: str, now_ms: int) -> None:
        """Pay the winning side $1 a contract and close the position."""
        if ticker in self.settled:
            return
        self.close_market(ticker, now_ms)
        self.settled[ticker] = result
        pos = self.positions.get(ticker)
        if pos is not None and pos.position != 0:
            won = pos.position > 0 if result == "yes" else pos.position < 0
            payout = notional(CONTRACT_PAYOUT, abs(pos.position)) if won else 0
            self.balance += payout
            pos.realized_pnl += payout - pos.cost
            pos.position = 0
            pos.cost = 0
            pos.updated_ms = now_ms
        self._touch(now_ms)

    def open_tickers(self) -> set[str]:
        """Markets where the account still has a position or a resting order (to settle later)."""
        tickers = {t for t, p in self.positions.items() if p.position != 0}
        tickers |= {o.ticker for o in self.orders.values() if o.status == "resting"}
        return tickers - set(self.settled)

    # -- persistence --------------------------------------------------------------------------

    def to_json(self) -> dict[str, Any]:
        """The account's state (simulated traders' quotes are re-derived after a restart)."""
        return {"seed": self.seed, "balance": self.balance, "seq": self.seq,
                "updated_ms": self.updated_ms,
                "orders": [asdict(o) for o in self.orders.values()],
                "client_ids": self.client_ids, "fills": [asdict(f) for f in self.fills],
                "positions": [asdict(p) for p in self.positions.values()],
                "stats": {t: asdict(s) for t, s in self.stats.items()}, "settled": self.settled}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Exchange:
        exchange = cls(seed=data["seed"], balance=data["balance"], seq=data["seq"],
                       updated_ms=data["updated_ms"], client_ids=dict(data["client_ids"]),
                       settled=dict(data["settled"]))
        for raw in data["orders"]:
            order = Order(**raw)
            exchange.orders[order.order_id] = order
            if order.status == "resting":
                exchange.book(order.ticker).rest(
                    Resting(order.order_id, order.owner, order.side, order.price, order.remaining,
                            order.seq))
        exchange.fills = [Fill(**raw) for raw in data["fills"]]
        exchange.positions = {raw["ticker"]: Position(**raw) for raw in data["positions"]}
        exchange.stats = {t: MarketStats(**raw) for t, raw in data["stats"].items()}
        return exchange
