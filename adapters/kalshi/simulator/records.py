"""What the exchange keeps about the account: its orders, fills, positions and settlements."""

from __future__ import annotations

from dataclasses import dataclass

from adapters.kalshi.simulator.book import Side


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
    post_only: bool = False
    #: Place in the queue at its price; ``None``: ``seq`` (an amend that reprices or grows the
    #: order sends it to the back of the queue with a fresh number).
    priority: int | None = None

    @property
    def queue_seq(self) -> int:
        return self.seq if self.priority is None else self.priority


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


@dataclass(frozen=True)
class Settlement:
    """What the account held in a market when it settled, and what that paid."""

    ticker: str
    event_ticker: str
    result: str  # "yes" | "no"
    yes_count: int
    yes_cost: int
    no_count: int
    no_cost: int
    revenue: int  # micros paid out
    fees: int  # micros of fees paid trading the market
    settled_ms: int


@dataclass
class MarketStats:
    volume: int = 0
    last_price: int = 0


@dataclass(frozen=True)
class Taken:
    """What an incoming order (a new one, or an amended one crossing the book) traded."""

    filled: int = 0
    cost: int = 0
    fees: int = 0
    remaining: int = 0
    stopped_by_self_trade: bool = False
