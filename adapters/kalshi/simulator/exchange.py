"""The exchange's state: books per market, the account's orders, fills, positions and cash.

One account trades here (whoever holds the configured key); simulated traders (owners starting with
``sim:``) only provide liquidity, so their side of a trade is not booked. Money is integer micros,
prices 1/10,000 dollar, counts 1/100 contract (``domain.money``), so ``price * count`` is exact.

Cash follows Kalshi's collateral rule with a signed position (YES positive, NO negative): a bid
first closes NO contracts (receiving ``1 - p`` each), then buys YES at ``p``; an ask first closes YES
(receiving ``p`` each), then buys NO at ``1 - p``. A settled contract on the winning side pays $1.
Takers pay ``taker_fee`` per fill; makers pay nothing (weather markets).

A resting order holds collateral: the cost of the contracts it would open (what it would close is
free). Older resting orders claim the position they would close first, so two asks against one
long position do not both rest for free. The hold is derived from the resting orders and the
position (:meth:`Exchange.reservations`), never stored: a cancel or decrease releases it, a fill
turns it into spent cash, and ``available`` (cash minus holds) is what an order must fit in.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from adapters.kalshi.simulator.book import Book, Resting, SelfTradePrevention, Side
from adapters.kalshi.simulator.records import Fill, MarketStats, Order, Position, Settlement, Taken
from domain.money import CONTRACT_PAYOUT, notional, taker_fee

__all__ = ["USER", "Exchange", "Fill", "MarketStats", "Order", "OrderRejected", "Position",
           "Settlement", "Taken", "TimeInForce"]

USER = "sim-user"
TimeInForce = Literal["fill_or_kill", "good_till_canceled", "immediate_or_cancel"]


class OrderRejected(Exception):
    """The exchange refuses an order: ``status`` and ``code`` become the HTTP ErrorResponse."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def unit_cost(side: Side, price: int) -> int:
    """What opening one contract costs: a bid buys YES at ``p``, an ask buys NO at ``1 - p``."""
    return price if side == "bid" else CONTRACT_PAYOUT - price


def _closable(held: int) -> dict[Side, int]:
    """How much of a position each side would close: a bid closes NO, an ask closes YES."""
    return {"bid": max(-held, 0), "ask": max(held, 0)}


@dataclass
class Exchange:
    seed: int
    balance: int  # the account's cash, micros (holds for resting orders not taken off)
    seq: int = 0
    orders: dict[str, Order] = field(default_factory=dict)  # the account's orders only
    client_ids: dict[str, str] = field(default_factory=dict)  # client_order_id -> order_id
    fills: list[Fill] = field(default_factory=list)
    positions: dict[str, Position] = field(default_factory=dict)
    stats: dict[str, MarketStats] = field(default_factory=dict)
    settled: dict[str, str] = field(default_factory=dict)  # ticker -> "yes" | "no"
    settlements: list[Settlement] = field(default_factory=list)
    books: dict[str, Book] = field(default_factory=dict)
    updated_ms: int = 0
    #: Bumped on every change to the account's state: the app saves when it moves.
    revision: int = 0

    def _touch(self, now_ms: int) -> None:
        self.updated_ms = max(self.updated_ms, now_ms)
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

    # -- collateral ---------------------------------------------------------------------------

    def _resting(self, ticker: str | None = None) -> list[Order]:
        return sorted((o for o in self.orders.values()
                       if o.status == "resting" and ticker in (None, o.ticker)), key=lambda o: o.seq)

    def _held(self, ticker: str) -> int:
        pos = self.positions.get(ticker)
        return pos.position if pos is not None else 0

    def _allocate(self, ticker: str, orders: list[Order]) -> tuple[dict[str, int], dict[Side, int]]:
        """Each order's hold, oldest first, and what of the position is still free to close."""
        closable = _closable(self._held(ticker))
        holds: dict[str, int] = {}
        for order in orders:
            closing = min(order.remaining, closable[order.side])
            closable[order.side] -= closing
            holds[order.order_id] = notional(unit_cost(order.side, order.price), order.remaining - closing)
        return holds, closable

    def reservations(self, ticker: str) -> dict[str, int]:
        """The collateral each of the account's resting orders in ``ticker`` holds, in micros."""
        return self._allocate(ticker, self._resting(ticker))[0]

    def reserved(self) -> int:
        """Collateral held by every resting order of the account."""
        tickers = {o.ticker for o in self._resting()}
        return sum(sum(self.reservations(t).values()) for t in tickers)

    def available(self) -> int:
        """Cash an order may use: the balance less what resting orders hold."""
        return self.balance - self.reserved()

    def _check_balance(self, ticker: str, side: Side, price: int, count: int,
                       replacing: Order | None = None) -> None:
        """Refuse an order (or ``replacing``'s new terms) that cash less holds cannot pay for."""
        others = [o for o in self._resting(ticker) if o is not replacing]
        holds, closable = self._allocate(ticker, others)
        elsewhere = self.reserved() - sum(self.reservations(ticker).values())
        free = self.balance - elsewhere - sum(holds.values())
        closing = min(count, closable[side])
        # The whole count is priced as a taker (fees included), whatever part ends up resting.
        needed = notional(unit_cost(side, price), count - closing) + taker_fee(price, count)
        if needed > free:
            raise OrderRejected(400, "insufficient_balance",
                                "the order's cost and fees exceed the available balance")

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
                      seq=self.seq, post_only=post_only)
        taken = self._take(order, count, now_ms)
        order.remaining = taken.remaining
        if order.remaining == 0:
            order.status = "executed"
        elif time_in_force == "good_till_canceled" and not taken.stopped_by_self_trade:
            book.rest(Resting(order.order_id, owner, side, price, order.remaining, order.queue_seq))
        else:
            order.status = "canceled"
        if is_user:
            self.orders[order.order_id] = order
            if client_order_id:
                self.client_ids[client_order_id] = order.order_id
            self._touch(now_ms)
        return order

    def _take(self, order: Order, count: int, now_ms: int) -> Taken:
        """Trade ``count`` of ``order`` at its limit against the book, as the taker."""
        result = self.book(order.ticker).match(order.owner, order.side, order.price, count,
                                               order.stp)  # type: ignore[arg-type]
        for canceled in result.canceled_makers:
            self._mark_canceled(canceled, now_ms)
        cost = fees = 0
        for match in result.matches:
            trade_id = self._next_id("trade")
            fee = taker_fee(match.price, match.count)
            self._book_fill(order, match.price, match.count, fee, True, trade_id, now_ms)
            cost += notional(match.price, match.count)
            fees += fee
            maker = self.orders.get(match.maker_order_id)
            if maker is not None:
                self._book_fill(maker, match.price, match.count, 0, False, trade_id, now_ms)
            stats = self.stats.setdefault(order.ticker, MarketStats())
            stats.volume += match.count
            stats.last_price = match.price
        return Taken(filled=count - result.remaining, cost=cost, fees=fees, remaining=result.remaining,
                     stopped_by_self_trade=result.stopped_by_self_trade)

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
        closing = min(count, _closable(pos.position)[side])
        # a bid closes NO at 1 - p and opens YES at p; an ask closes YES at p and opens NO at 1 - p
        close_unit = CONTRACT_PAYOUT - price if side == "bid" else price
        open_unit = unit_cost(side, price)
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

    def _own_resting(self, order_id: str, ticker: str | None = None) -> Order:
        """The account's resting order ``order_id`` (in ``ticker``, when given), else a 404."""
        order = self.orders.get(order_id)
        if order is None or ticker not in (None, "", order.ticker):
            raise OrderRejected(404, "not_found", f"no order {order_id}"
                                + (f" in {ticker}" if ticker else ""))
        if order.status != "resting":
            raise OrderRejected(404, "not_found", f"order {order_id} is {order.status}, not resting")
        return order

    def cancel(self, order_id: str, now_ms: int, ticker: str | None = None) -> tuple[Order, int]:
        """Cancel the account's resting order; returns it and the count it was reduced by."""
        order = self._own_resting(order_id, ticker)
        self.book(order.ticker).remove(order_id)
        reduced = order.remaining
        order.remaining = 0
        self._mark_canceled(order_id, now_ms)
        return order, reduced

    def decrease(self, order_id: str, now_ms: int, *, reduce_by: int | None = None,
                 reduce_to: int | None = None, ticker: str | None = None) -> Order:
        """Take contracts off a resting order, which keeps its place in the queue; down to zero
        it is canceled. Exactly one of ``reduce_by`` and ``reduce_to``."""
        order = self._own_resting(order_id, ticker)
        if (reduce_by is None) == (reduce_to is None):
            raise OrderRejected(400, "invalid_parameters", "give exactly one of reduce_by and reduce_to")
        if reduce_by is not None and not 0 < reduce_by <= order.remaining:
            raise OrderRejected(400, "invalid_parameters",
                                "reduce_by must be more than zero and at most the remaining count")
        if reduce_to is not None and not 0 <= reduce_to < order.remaining:
            raise OrderRejected(400, "invalid_parameters",
                                "reduce_to must be less than the remaining count")
        left = order.remaining - reduce_by if reduce_by is not None else reduce_to
        assert left is not None
        if left == 0:
            self.cancel(order_id, now_ms)
            return order
        self.book(order.ticker).resize(order_id, left)
        order.remaining = left
        order.updated_ms = now_ms
        self._touch(now_ms)
        return order

    def amend(self, order_id: str, now_ms: int, *, ticker: str, side: Side, price: int, count: int,
              client_order_id: str | None = None,
              updated_client_order_id: str | None = None) -> tuple[Order, Taken | None]:
        """New price and total ``count`` (filled plus the remainder to rest) for a resting order.

        As on Kalshi, only a smaller size at the same price keeps the order's place in the queue; a
        new price or a larger size sends it to the back, and a new price that crosses the book
        trades first, as the taker. Returns the order and what the amend traded (``None`` when the
        order kept its place)."""
        order = self._own_resting(order_id)
        if ticker != order.ticker or side != order.side:
            raise OrderRejected(400, "invalid_parameters",
                                "ticker and side must be the order's: an amend cannot move it")
        if client_order_id not in (None, "", order.client_order_id):
            raise OrderRejected(400, "invalid_parameters", "client_order_id is not this order's")
        if count <= order.filled:
            raise OrderRejected(400, "invalid_parameters",
                                "count is the new total and must exceed what has already filled")
        renamed = updated_client_order_id not in (None, "", order.client_order_id)
        if renamed and updated_client_order_id in self.client_ids:
            raise OrderRejected(400, "order_already_exists",
                                f"client_order_id {updated_client_order_id} is already used")
        remaining = count - order.filled
        keeps_place = price == order.price and remaining <= order.remaining
        book = self.book(order.ticker)
        if not keeps_place:
            if order.post_only and book.would_cross(side, price):
                raise OrderRejected(400, "post_only_cross", "a post-only order would cross the book")
            self._check_balance(order.ticker, side, price, remaining, replacing=order)
        if renamed:
            assert updated_client_order_id is not None
            self.client_ids[updated_client_order_id] = order.order_id
            order.client_order_id = updated_client_order_id
        order.initial = count
        order.updated_ms = now_ms
        self._touch(now_ms)
        if keeps_place:
            if remaining != order.remaining:
                book.resize(order.order_id, remaining)
                order.remaining = remaining
            return order, None
        book.remove(order.order_id)
        order.price = price
        taken = self._take(order, remaining, now_ms)
        order.remaining = taken.remaining
        if order.remaining == 0:
            order.status = "executed"
        elif taken.stopped_by_self_trade:
            order.status = "canceled"
        else:
            self.seq += 1
            order.priority = self.seq
            book.rest(Resting(order.order_id, order.owner, side, price, order.remaining, order.queue_seq))
        return order, taken

    def queue_position(self, order_id: str) -> int:
        """Contracts ahead of the account's resting order at its price, by price-time priority."""
        order = self._own_resting(order_id)
        ahead = self.book(order.ticker).ahead(order_id)
        assert ahead is not None, f"resting order {order_id} is missing from its book"
        return ahead

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
        """Pay the winning side $1 a contract, close the position and record the settlement."""
        if ticker in self.settled:
            return
        self.close_market(ticker, now_ms)
        self.settled[ticker] = result
        pos = self.positions.get(ticker)
        if pos is not None and pos.position != 0:
            won = pos.position > 0 if result == "yes" else pos.position < 0
            payout = notional(CONTRACT_PAYOUT, abs(pos.position)) if won else 0
            long_yes = pos.position > 0
            self.settlements.append(Settlement(
                ticker=ticker, event_ticker=pos.event_ticker, result=result,
                yes_count=pos.position if long_yes else 0, yes_cost=pos.cost if long_yes else 0,
                no_count=0 if long_yes else -pos.position, no_cost=0 if long_yes else pos.cost,
                revenue=payout, fees=pos.fees_paid, settled_ms=now_ms))
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
                "stats": {t: asdict(s) for t, s in self.stats.items()}, "settled": self.settled,
                "settlements": [asdict(s) for s in self.settlements]}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Exchange:
        """Reads what :meth:`to_json` wrote, and older files: fields added since default."""
        exchange = cls(seed=data["seed"], balance=data["balance"], seq=data["seq"],
                       updated_ms=data["updated_ms"], client_ids=dict(data["client_ids"]),
                       settled=dict(data["settled"]))
        for raw in data["orders"]:
            order = Order(**raw)
            exchange.orders[order.order_id] = order
            if order.status == "resting":
                exchange.book(order.ticker).rest(
                    Resting(order.order_id, order.owner, order.side, order.price, order.remaining,
                            order.queue_seq))
        exchange.fills = [Fill(**raw) for raw in data["fills"]]
        exchange.positions = {raw["ticker"]: Position(**raw) for raw in data["positions"]}
        exchange.stats = {t: MarketStats(**raw) for t, raw in data["stats"].items()}
        exchange.settlements = [Settlement(**raw) for raw in data.get("settlements", [])]
        return exchange
