"""Series, events with nested markets, markets and order books, as the spec shapes them.

``market_quote`` joins a market with its order book into the domain's :class:`MarketQuote` (bids
only, best first: the book holds YES bids and NO bids, and the YES ask is 1 minus the best NO bid).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, cast

from pydantic import ValidationError

from adapters.kalshi.errors import MalformedResponse
from adapters.kalshi.wire import json_fields as f
from domain.events.market import BookLevel, MarketQuote, MarketStatus, StrikeType
from domain.money import count_from_fp, price_from_dollars

MARKET_STATUSES = ("initialized", "inactive", "active", "closed", "determined", "disputed",
                   "amended", "finalized")
STRIKE_TYPES = ("greater", "greater_or_equal", "less", "less_or_equal", "between", "functional",
                "custom", "structured")
RESULTS = ("yes", "no", "scalar", "")


@dataclass(frozen=True)
class ExchangeStatus:
    exchange_active: bool
    trading_active: bool
    estimated_resume_time: datetime | None


@dataclass(frozen=True)
class Series:
    ticker: str
    title: str
    frequency: str
    category: str
    fee_type: str
    fee_multiplier: Decimal | None
    contract_terms_url: str


@dataclass(frozen=True)
class Market:
    ticker: str
    event_ticker: str
    status: MarketStatus
    strike_type: StrikeType | None
    floor_strike: Decimal | None
    cap_strike: Decimal | None
    open_time: datetime
    close_time: datetime
    yes_bid: int
    yes_ask: int
    no_bid: int
    no_ask: int
    last_price: int
    volume: int
    open_interest: int
    result: str
    yes_sub_title: str
    rules_primary: str
    settlement_value: int | None


@dataclass(frozen=True)
class Event:
    event_ticker: str
    series_ticker: str
    title: str
    sub_title: str
    mutually_exclusive: bool
    strike_date: datetime | None
    markets: tuple[Market, ...]


@dataclass(frozen=True)
class Orderbook:
    """Resting bids, best (highest) first, as ``(price, count)``."""

    yes_bids: tuple[BookLevel, ...]
    no_bids: tuple[BookLevel, ...]


@dataclass(frozen=True)
class HistoricalCutoff:
    market_settled_ts: datetime
    trades_created_ts: datetime
    orders_updated_ts: datetime


def exchange_status(payload: Any) -> ExchangeStatus:
    o = f.obj(payload, "exchange status")
    return ExchangeStatus(
        exchange_active=f.req_bool(o, "exchange_active", "exchange status"),
        trading_active=f.req_bool(o, "trading_active", "exchange status"),
        estimated_resume_time=f.opt_time(o, "exchange_estimated_resume_time", "exchange status"))


def series(payload: Any) -> Series:
    where = "series"
    o = f.obj(payload, where)
    where = f"series {f.req_str(o, 'ticker', where)[:60]}"
    return Series(
        ticker=f.req_str(o, "ticker", where), title=f.req_str(o, "title", where),
        frequency=f.req_str(o, "frequency", where), category=f.req_str(o, "category", where),
        fee_type=f.req_str(o, "fee_type", where), fee_multiplier=f.opt_decimal(o, "fee_multiplier", where),
        contract_terms_url=f.req_str(o, "contract_terms_url", where))


def market(payload: Any) -> Market:
    o = f.obj(payload, "market")
    w = f"market {f.req_str(o, 'ticker', 'market')[:60]}"
    return Market(
        ticker=f.req_str(o, "ticker", w), event_ticker=f.req_str(o, "event_ticker", w),
        status=cast(MarketStatus, f.enum(o, "status", w, MARKET_STATUSES)),
        strike_type=cast("StrikeType | None", f.opt_enum(o, "strike_type", w, STRIKE_TYPES)),
        floor_strike=f.opt_decimal(o, "floor_strike", w), cap_strike=f.opt_decimal(o, "cap_strike", w),
        open_time=f.req_time(o, "open_time", w), close_time=f.req_time(o, "close_time", w),
        yes_bid=f.req_price(o, "yes_bid_dollars", w), yes_ask=f.req_price(o, "yes_ask_dollars", w),
        no_bid=f.req_price(o, "no_bid_dollars", w), no_ask=f.req_price(o, "no_ask_dollars", w),
        last_price=f.req_price(o, "last_price_dollars", w), volume=f.req_count(o, "volume_fp", w),
        open_interest=f.req_count(o, "open_interest_fp", w), result=f.enum(o, "result", w, RESULTS),
        yes_sub_title=f.req_str(o, "yes_sub_title", w), rules_primary=f.req_str(o, "rules_primary", w),
        settlement_value=f.opt_price(o, "settlement_value_dollars", w))


def event(payload: Any, top_level_markets: list[Any] | None = None) -> Event:
    """An ``EventData``; its markets nested (``with_nested_markets=true``) or given beside it."""
    o = f.obj(payload, "event")
    w = f"event {f.req_str(o, 'event_ticker', 'event')[:60]}"
    nested = f.opt_list(o, "markets", w) or (top_level_markets or [])
    return Event(
        event_ticker=f.req_str(o, "event_ticker", w), series_ticker=f.req_str(o, "series_ticker", w),
        title=f.req_str(o, "title", w), sub_title=f.req_str(o, "sub_title", w),
        mutually_exclusive=f.req_bool(o, "mutually_exclusive", w),
        strike_date=f.opt_time(o, "strike_date", w),
        markets=tuple(market(m) for m in nested))


def _levels(levels: list[Any], where: str) -> tuple[BookLevel, ...]:
    parsed: dict[int, int] = {}
    for i, level in enumerate(levels):
        if (not isinstance(level, list) or len(level) != 2
                or not all(isinstance(x, str) for x in level)):
            raise MalformedResponse(f"{where}[{i}] is not a [price, count] pair of strings")
        price = f.fixed_point(price_from_dollars, level[0], f"{where}[{i}]")
        count = f.fixed_point(count_from_fp, level[1], f"{where}[{i}]")
        if price in parsed:
            raise MalformedResponse(f"{where} lists the price {level[0]} twice")
        parsed[price] = count
    return tuple(sorted(parsed.items(), reverse=True))


def orderbook(payload: Any) -> Orderbook:
    """A ``GetMarketOrderbookResponse``. Levels are sorted best first whatever order they came in."""
    o = f.req_obj(f.obj(payload, "orderbook"), "orderbook_fp", "orderbook")
    return Orderbook(yes_bids=_levels(f.req_list(o, "yes_dollars", "orderbook"), "orderbook.yes_dollars"),
                     no_bids=_levels(f.req_list(o, "no_dollars", "orderbook"), "orderbook.no_dollars"))


def market_quote(m: Market, book: Orderbook) -> MarketQuote:
    """The domain's view of one market at snapshot time."""
    try:
        return MarketQuote(ticker=m.ticker, status=m.status, strike_type=m.strike_type,
                           floor_strike=m.floor_strike, cap_strike=m.cap_strike, close_time=m.close_time,
                           yes_bids=book.yes_bids, no_bids=book.no_bids, last_price=m.last_price,
                           volume=m.volume)
    except ValidationError as e:
        raise MalformedResponse(f"market {m.ticker[:60]} does not make a quote: "
                                f"{e.error_count()} invalid field(s)") from None


def historical_cutoff(payload: Any) -> HistoricalCutoff:
    o: Mapping[str, Any] = f.obj(payload, "historical cutoff")
    w = "historical cutoff"
    return HistoricalCutoff(market_settled_ts=f.req_time(o, "market_settled_ts", w),
                            trades_created_ts=f.req_time(o, "trades_created_ts", w),
                            orders_updated_ts=f.req_time(o, "orders_updated_ts", w))
