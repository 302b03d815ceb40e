"""The paper venue: Kalshi's order and portfolio endpoints, answered from the paper fill model.

``milkbot run --mode paper`` reads real market data from Kalshi (or any wire-compatible exchange)
and sends no order anywhere. The order manager and reconciliation talk to a ``PaperVenue`` exactly
as they talk to ``KalshiClient`` (same methods, same wire types, same refusals), so paper trading
exercises the whole path a live order takes: intent recorded before, answer after, fills heard and
recorded once, settlements read, reconciliation comparing the venue with the ledger.

Fills come from ``domain.paper``: the handler shows the venue every ladder it records
(``observe``) and records the fills it answers at once. Settlements come from the market data: a
market we hold that has closed is read until Kalshi determines it.

Restarting: the venue keeps nothing of its own. ``restore`` rebuilds the account from the ledger
(cash from the fills and settlements recorded, resting orders from the order book); a restored
resting order goes to the back of its price level at the next quote, which can only delay its
fills. Orders whose answer was never recorded are unknown to the restored venue, so reconciliation
resolves them as never having reached it.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from adapters.kalshi.errors import KalshiRejected
from adapters.kalshi.wire.markets import Market
from adapters.kalshi.wire.orders import NewOrder, OrderChange, Placement, VenueOrder
from adapters.kalshi.wire.portfolio import Balance, MarketPosition, Settlement, VenueFill
from domain.events import MarketSnapshotted
from domain.events.market import MarketQuote
from domain.money import PRICE_SCALE
from domain.oms import OrderBook
from domain.paper import (
    PaperFill,
    PaperOrder,
    PostOnlyWouldCross,
    cancel,
    observe,
    place,
)
from domain.positions import MarketPosition as Held

#: Market statuses after which a market takes no orders.
_CLOSED = frozenset({"closed", "determined", "disputed", "amended", "finalized"})
_SETTLED = frozenset({"determined", "finalized", "amended"})


def paper_order_id(client_order_id: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"milkbot:paper-order:{client_order_id}"))


class PaperVenue:
    """The subset of ``KalshiClient`` the order manager and the handler use, on paper."""

    def __init__(self, market_data: Any, clock: Callable[[], datetime], *, starting_balance: int) -> None:
        """``market_data``: a ``KalshiClient`` (or anything with ``market(ticker)``) to read
        settlements from; ``starting_balance``: the paper account's cash in micros."""
        self._market_data = market_data
        self._clock = clock
        self.starting_balance = starting_balance
        self.orders_by_id: dict[str, PaperOrder] = {}
        self._by_client_id: dict[str, str] = {}
        self._fills: list[PaperFill] = []
        self._unheard: list[PaperFill] = []
        self._quotes: dict[str, MarketQuote] = {}
        self._held: dict[str, Held] = {}
        self._event_of: dict[str, str] = {}
        self._settlements: dict[str, Settlement] = {}
        self._recorded_cash = 0

    # -- the account from the ledger --------------------------------------------------------------

    def restore(self, book: OrderBook, positions: Mapping[str, Held]) -> None:
        """Take the account the ledger shows: its positions and cash, and its resting orders."""
        self._held = dict(positions)
        for order in book.open_orders():
            if order.venue_order_id is None or order.remaining <= 0:
                continue
            paper = PaperOrder(order_id=order.venue_order_id, client_order_id=order.client_order_id,
                               ticker=order.ticker, side=order.side, action=order.action,
                               price=order.price, initial=order.ordered, filled=order.filled,
                               created=order.submitted_at)
            self._keep(paper)

    def _keep(self, order: PaperOrder) -> None:
        self.orders_by_id[order.order_id] = order
        self._by_client_id[order.client_order_id] = order.order_id

    # -- market data --------------------------------------------------------------------------------

    def observe(self, snapshot: MarketSnapshotted) -> list[PaperFill]:
        """A ladder just recorded: fill what it trades through; the fills are also kept for
        ``fills`` (a reconciliation hears them again, and the ledger keeps each once)."""
        now = snapshot.recorded_at
        filled: list[PaperFill] = []
        for quote in snapshot.markets:
            self._quotes[quote.ticker] = quote
            self._event_of[quote.ticker] = snapshot.event_ticker
            for order in [o for o in self.orders_by_id.values()
                          if o.ticker == quote.ticker and o.remaining > 0]:
                if quote.status != "active":
                    self._keep(cancel(order, now))
                    continue
                order, fill = observe(order, quote, now=now)
                self._keep(order)
                if fill is not None:
                    filled.append(self._book(fill))
        return filled

    def drain(self) -> list[VenueFill]:
        """Fills not handed out yet (taker fills at placement, and the latest observations)."""
        unheard, self._unheard = self._unheard, []
        return [venue_fill(f) for f in unheard]

    def _book(self, fill: PaperFill) -> PaperFill:
        held = self._held.get(fill.ticker) or Held(ticker=fill.ticker)
        self._held[fill.ticker] = held.fill(fill.side, fill.action, fill.price, fill.count, fill.fee)
        self._fills.append(fill)
        self._unheard.append(fill)
        return fill

    # -- orders -------------------------------------------------------------------------------------

    def create_order(self, order: NewOrder) -> Placement:
        now = self._clock()
        if order.client_order_id in self._by_client_id:
            raise KalshiRejected(409, "duplicate_client_order_id", "client_order_id already used")
        quote = self._quotes.get(order.ticker)
        if quote is None:
            raise KalshiRejected(404, "market_not_found", f"no quote of {order.ticker} seen yet")
        if quote.status in _CLOSED or quote.status != "active":
            raise KalshiRejected(400, "market_closed", f"{order.ticker} is {quote.status}")
        if order.count <= 0 or not 0 < order.price < PRICE_SCALE:
            raise KalshiRejected(400, "invalid_order", "count and price must be positive and below $1")
        cost = order.price * order.count
        if order.action.value == "buy" and cost > self.balance().balance:
            raise KalshiRejected(400, "insufficient_balance", "the order does not fit the balance")
        paper = PaperOrder(order_id=paper_order_id(order.client_order_id),
                           client_order_id=order.client_order_id, ticker=order.ticker, side=order.side,
                           action=order.action, price=order.price, initial=order.count, created=now)
        try:
            paper, fills = place(paper, quote, post_only=order.post_only,
                                 immediate=order.time_in_force != "good_till_canceled", now=now)
        except PostOnlyWouldCross as e:
            raise KalshiRejected(400, "post_only_cross", str(e)) from e
        self._keep(paper)
        for fill in fills:
            self._book(fill)
        return Placement(order_id=paper.order_id, client_order_id=paper.client_order_id,
                         fill_count=paper.filled, remaining_count=paper.remaining,
                         average_fill_price=(paper.taker_cost // paper.filled) if paper.filled else None,
                         average_fee_paid=(paper.taker_fees // paper.filled) if paper.filled else None)

    def cancel_order(self, order_id: str, ticker: str) -> OrderChange:
        order = self.orders_by_id.get(order_id)
        if order is None or order.ticker != ticker:
            raise KalshiRejected(404, "not_found", "no such order")
        if order.remaining <= 0:
            raise KalshiRejected(400, "order_not_resting", "the order is not resting")
        reduced = order.remaining
        self._keep(cancel(order, self._clock()))
        return OrderChange(order_id=order_id, client_order_id=order.client_order_id, remaining_count=0,
                           fill_count=order.filled, reduced_by=reduced)

    def orders(self, *, ticker: str | None = None, status: str | None = None, **_: Any) -> list[VenueOrder]:
        return [venue_order(o) for o in self.orders_by_id.values()
                if (ticker is None or o.ticker == ticker) and (status is None or o.status.value == status)]

    def find_order(self, ticker: str, client_order_id: str) -> VenueOrder | None:
        order_id = self._by_client_id.get(client_order_id)
        order = self.orders_by_id.get(order_id) if order_id is not None else None
        return venue_order(order) if order is not None and order.ticker == ticker else None

    # -- the account ----------------------------------------------------------------------------------

    def fills(self, *, min_ts: int | None = None, ticker: str | None = None, **_: Any) -> list[VenueFill]:
        return [venue_fill(f) for f in self._fills
                if (min_ts is None or f.created.timestamp() >= min_ts)
                and (ticker is None or f.ticker == ticker)]

    def positions(self, **_: Any) -> tuple[list[MarketPosition], list[Any]]:
        now = self._clock()
        return [MarketPosition(ticker=t, position=h.position, total_traded=0,
                               market_exposure=max(h.cost, 0), realized_pnl=h.realized, fees_paid=h.fees,
                               last_updated=now)
                for t, h in sorted(self._held.items()) if h.position and h.settled_value is None], []

    def balance(self) -> Balance:
        cash = self.starting_balance + sum(h.cash for h in self._held.values())
        held = sum(o.price * o.remaining for o in self.orders_by_id.values()
                   if o.remaining > 0 and o.action.value == "buy")
        return Balance(balance=cash - held, portfolio_value=0, updated_ts=int(self._clock().timestamp()))

    def settlements(self, **_: Any) -> list[Settlement]:
        """Markets we hold that Kalshi has determined (each read once after its close)."""
        now = self._clock()
        for ticker, held in sorted(self._held.items()):
            if held.settled_value is not None or held.position == 0 or ticker in self._settlements:
                continue
            quote = self._quotes.get(ticker)
            if quote is not None and quote.close_time is not None and quote.close_time > now:
                continue
            market = self._market_data.market(ticker)
            value = settlement_value(market)
            if value is None:
                continue
            self._settlements[ticker] = Settlement(
                ticker=ticker, event_ticker=market.event_ticker,
                market_result="yes" if value == PRICE_SCALE else "no" if value == 0 else "scalar",
                yes_count=max(held.position, 0), yes_total_cost=0, no_count=max(-held.position, 0),
                no_total_cost=0, revenue=0, fee_cost=0, settled_time=now, settlement_value=value)
            self._held[ticker] = held.settle(value)
            for order in [o for o in self.orders_by_id.values() if o.ticker == ticker and o.remaining]:
                self._keep(cancel(order, now))
        return list(self._settlements.values())


def settlement_value(market: Market) -> int | None:
    """What one YES contract of a determined market paid (price units), or None while open."""
    if market.status not in _SETTLED:
        return None
    if market.settlement_value is not None:
        return market.settlement_value
    if market.result == "yes":
        return PRICE_SCALE
    if market.result == "no":
        return 0
    return None


def venue_order(order: PaperOrder) -> VenueOrder:
    return VenueOrder(order_id=order.order_id, client_order_id=order.client_order_id, ticker=order.ticker,
                      status=order.status.value,
                      book_side=order.book_side.value,
                      yes_price=order.yes_price, side=order.side, action=order.action, price=order.price,
                      fill_count=order.filled, remaining_count=order.remaining, initial_count=order.initial,
                      taker_fees=order.taker_fees, maker_fees=0, taker_fill_cost=order.taker_cost,
                      maker_fill_cost=order.maker_cost, created_time=order.created,
                      last_update_time=order.updated)


def venue_fill(fill: PaperFill) -> VenueFill:
    return VenueFill(fill_id=fill.fill_id, order_id=fill.order_id, ticker=fill.ticker,
                     book_side=fill.book_side.value,
                     side=fill.side, action=fill.action, price=fill.price, yes_price=fill.yes_price,
                     count=fill.count, fee=fill.fee, is_taker=fill.is_taker, created_time=fill.created)
