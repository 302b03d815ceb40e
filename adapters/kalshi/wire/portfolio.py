"""Fills, positions, balance and settlements, read exactly (``domain.money`` units).

A fill becomes the fields of the domain's :class:`OrderFilled` (``VenueFill.event_fields``); the
engine adds the envelope (ids, stream, clocks) when it records it. Counts may be fractional.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, cast

from adapters.kalshi.errors import MalformedResponse
from adapters.kalshi.wire import json_fields as f
from adapters.kalshi.wire.orders import directed
from adapters.kalshi.wire.sides import BOOK_SIDES, BookSide
from domain.events.base import Action, Side
from domain.money import MONEY_SCALE, PRICE_SCALE

SettlementResult = Literal["yes", "no", "scalar"]


@dataclass(frozen=True)
class VenueFill:
    fill_id: str
    order_id: str
    ticker: str
    book_side: BookSide
    side: Side
    action: Action
    #: In the ``side``'s own leg, like the order that made it.
    price: int
    yes_price: int
    count: int
    fee: int
    is_taker: bool
    created_time: datetime | None

    def event_fields(self, *, client_order_id: str | None = None, city: str | None = None
                     ) -> dict[str, Any]:
        """The payload of an ``OrderFilled`` for this fill (without the event envelope)."""
        return {"fill_id": self.fill_id, "client_order_id": client_order_id,
                "venue_order_id": self.order_id, "city": city, "ticker": self.ticker,
                "side": self.side, "action": self.action, "price": self.price, "count": self.count,
                "fee": self.fee, "is_taker": self.is_taker}


@dataclass(frozen=True)
class MarketPosition:
    ticker: str
    #: Signed contracts in 1/100: YES positive, NO negative.
    position: int
    total_traded: int
    market_exposure: int
    realized_pnl: int
    fees_paid: int
    last_updated: datetime


@dataclass(frozen=True)
class EventPosition:
    event_ticker: str
    total_cost: int
    total_cost_shares: int
    event_exposure: int
    realized_pnl: int
    fees_paid: int


@dataclass(frozen=True)
class Balance:
    #: Available balance in micros (from ``balance_dollars``, cross-checked with ``balance`` cents).
    balance: int
    portfolio_value: int
    updated_ts: int


@dataclass(frozen=True)
class Settlement:
    ticker: str
    event_ticker: str
    market_result: SettlementResult
    yes_count: int
    yes_total_cost: int
    no_count: int
    no_total_cost: int
    revenue: int
    fee_cost: int
    settled_time: datetime
    #: What one YES contract paid, as a price (1/10,000 dollar), when the venue said.
    settlement_value: int | None


def fill(payload: Any) -> VenueFill:
    o = f.obj(payload, "fill")
    w = f"fill {f.req_str(o, 'fill_id', 'fill')[:60]}"
    book_side = cast(BookSide, f.enum(o, "book_side", w, BOOK_SIDES))
    yes_price = f.req_price(o, "yes_price_dollars", w)
    no_price = f.req_price(o, "no_price_dollars", w)
    if yes_price + no_price != PRICE_SCALE:
        raise MalformedResponse(f"{w}: yes and no prices do not add up to one dollar")
    outcome = f.enum(o, "outcome_side", w, ("yes", "no"))
    if (outcome == "yes") != (book_side == "bid"):
        raise MalformedResponse(f"{w}: outcome_side {outcome} contradicts book_side {book_side}")
    side, action, price = directed(book_side, yes_price, o, w)
    return VenueFill(
        fill_id=f.req_str(o, "fill_id", w), order_id=f.req_str(o, "order_id", w),
        ticker=f.req_str(o, "ticker", w), book_side=book_side, side=side, action=action, price=price,
        yes_price=yes_price, count=f.req_count(o, "count_fp", w), fee=f.req_money(o, "fee_cost", w),
        is_taker=f.req_bool(o, "is_taker", w), created_time=f.opt_time(o, "created_time", w))


def market_position(payload: Any) -> MarketPosition:
    o = f.obj(payload, "market position")
    w = f"position {f.req_str(o, 'ticker', 'market position')[:60]}"
    return MarketPosition(
        ticker=f.req_str(o, "ticker", w), position=f.req_signed_count(o, "position_fp", w),
        total_traded=f.req_money(o, "total_traded_dollars", w),
        market_exposure=f.req_money(o, "market_exposure_dollars", w),
        realized_pnl=f.req_money(o, "realized_pnl_dollars", w),
        fees_paid=f.req_money(o, "fees_paid_dollars", w),
        last_updated=f.req_time(o, "last_updated_ts", w))


def event_position(payload: Any) -> EventPosition:
    o = f.obj(payload, "event position")
    w = f"event position {f.req_str(o, 'event_ticker', 'event position')[:60]}"
    return EventPosition(
        event_ticker=f.req_str(o, "event_ticker", w), total_cost=f.req_money(o, "total_cost_dollars", w),
        total_cost_shares=f.req_count(o, "total_cost_shares_fp", w),
        event_exposure=f.req_money(o, "event_exposure_dollars", w),
        realized_pnl=f.req_money(o, "realized_pnl_dollars", w),
        fees_paid=f.req_money(o, "fees_paid_dollars", w))


def balance(payload: Any) -> Balance:
    o = f.obj(payload, "balance")
    w = "balance"
    micros = f.req_money(o, "balance_dollars", w)
    cents = f.req_int(o, "balance", w)
    if micros // (MONEY_SCALE // 100) != cents:
        raise MalformedResponse("balance: balance (cents) and balance_dollars disagree")
    return Balance(balance=micros, portfolio_value=f.req_int(o, "portfolio_value", w) * (MONEY_SCALE // 100),
                   updated_ts=f.req_int(o, "updated_ts", w))


def settlement(payload: Any) -> Settlement:
    o = f.obj(payload, "settlement")
    w = f"settlement {f.req_str(o, 'ticker', 'settlement')[:60]}"
    value_cents = f.opt_int(o, "value", w)
    if value_cents is not None and not 0 <= value_cents <= 100:
        raise MalformedResponse(f"{w}.value {value_cents} is outside 0..100 cents")
    return Settlement(
        ticker=f.req_str(o, "ticker", w), event_ticker=f.req_str(o, "event_ticker", w),
        market_result=cast(SettlementResult, f.enum(o, "market_result", w, ("yes", "no", "scalar"))),
        yes_count=f.req_count(o, "yes_count_fp", w),
        yes_total_cost=f.req_money(o, "yes_total_cost_dollars", w),
        no_count=f.req_count(o, "no_count_fp", w), no_total_cost=f.req_money(o, "no_total_cost_dollars", w),
        revenue=f.req_int(o, "revenue", w) * (MONEY_SCALE // 100), fee_cost=f.req_money(o, "fee_cost", w),
        settled_time=f.req_time(o, "settled_time", w),
        settlement_value=None if value_cents is None else value_cents * (PRICE_SCALE // 100))
