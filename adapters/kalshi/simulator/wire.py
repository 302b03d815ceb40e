"""The simulator's JSON bodies, shaped as the Kalshi OpenAPI spec (v3.31.0) defines them."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from adapters.kalshi.simulator.book import Book
from adapters.kalshi.simulator.catalog import EventDef, MarketDef, SeriesDef
from adapters.kalshi.simulator.exchange import USER
from adapters.kalshi.simulator.records import Fill, MarketStats, Order, Position, Settlement
from domain.money import COUNT_SCALE, MONEY_SCALE, PRICE_SCALE, count_to_fp, price_to_dollars

_KIND_TITLE = {"high": "Highest temperature", "rain": "Rain", "snow": "Snow"}
_CLI_URL = "https://forecast.weather.gov/product.php?site=NWS&product=CLI&issuedby="


def iso(instant: datetime) -> str:
    return instant.astimezone(UTC).isoformat().replace("+00:00", "Z")


def iso_ms(ms: int) -> str:
    return iso(datetime.fromtimestamp(ms / 1000, UTC))


def money_dollars(micros: int) -> str:
    """Micros as a fixed-point dollar string: 4 decimals, more only when the amount needs them."""
    value = Decimal(micros) / MONEY_SCALE
    text = f"{value:.4f}"
    return text if Decimal(text) == value else f"{value:.6f}"


def per_contract_dollars(total_micros: int, count: int) -> str:
    """An average per contract (a VWAP, a fee) as dollars, to the micro."""
    micros = (Decimal(total_micros) * COUNT_SCALE / count).quantize(Decimal(1), ROUND_HALF_EVEN)
    return money_dollars(int(micros))


def live_remaining(order: Order) -> int:
    """What still rests: nothing once an order is canceled or executed (an IOC's unfilled part
    included, as ``CreateOrderV2Response.remaining_count`` describes)."""
    return order.remaining if order.status == "resting" else 0


def series_json(series: SeriesDef) -> dict[str, Any]:
    city = series.city
    title = f"{_KIND_TITLE[series.kind]} in {city.name}"
    source = {"high": city.daily_high, "rain": city.monthly_rain, "snow": city.monthly_snow}[series.kind]
    site = (source or city.daily_high).cli_site
    return {
        "ticker": series.ticker, "frequency": "daily" if series.kind == "high" else "monthly",
        "title": title, "category": "Climate and Weather", "categories": ["Climate and Weather"],
        "tags": ["Weather", city.name],
        "settlement_sources": [{"name": "National Weather Service", "url": _CLI_URL + site}],
        "contract_url": f"https://kalshi.com/markets/{series.ticker.lower()}",
        "contract_terms_url": "https://kalshi.com/regulatory/rulebook",
        "fee_type": "quadratic", "fee_multiplier": 1.0, "additional_prohibitions": [],
        "exchange_index": 0,
    }


def event_json(event: EventDef, markets: list[dict[str, Any]] | None) -> dict[str, Any]:
    series = event.series
    when = (f"{event.day:%b} {event.day.day}, {event.day:%Y}" if series.kind == "high"
            else f"{event.day:%B %Y}")
    body: dict[str, Any] = {
        "event_ticker": event.ticker, "series_ticker": series.ticker,
        "title": f"{_KIND_TITLE[series.kind]} in {event.city.name} on {when}",
        "sub_title": f"On {when}",
        "collateral_return_type": "MECNET" if series.kind == "high" else "",
        "mutually_exclusive": series.kind == "high",
        "category": "Climate and Weather",
        "strike_date": iso(event.close_time),
        "settlement_sources": series_json(series)["settlement_sources"],
        "exchange_index": 0,
    }
    if markets is not None:
        body["markets"] = markets
    return body


def market_json(event: EventDef, market: MarketDef, now: datetime, book: Book | None,
                stats: MarketStats | None, result: str | None) -> dict[str, Any]:
    status = event.status(now)
    if status == "finalized" and result is None:
        status = "closed"  # settles on the next request that sees it due
    best_bid = book.best("bid") if book else None
    best_ask = book.best("ask") if book else None
    bid = best_bid.price if best_bid else 0
    ask = best_ask.price if best_ask else PRICE_SCALE
    bid_size = sum(c for p, c in book.levels("bid") if p == bid) if book and best_bid else 0
    ask_size = sum(c for p, c in book.levels("ask") if p == ask) if book and best_ask else 0
    last = stats.last_price if stats else 0
    volume = stats.volume if stats else 0
    rules = (f"If the {event.series.kind} value for {event.city.name} reported by the NWS for "
             f"{event.day.isoformat()} is {market.yes_sub_title}, the market resolves to Yes.")
    body: dict[str, Any] = {
        "ticker": market.ticker, "event_ticker": event.ticker, "market_type": "binary",
        "title": f"{event_json(event, None)['title']}?", "subtitle": market.yes_sub_title,
        "yes_sub_title": market.yes_sub_title, "no_sub_title": market.no_sub_title,
        "created_time": iso(event.open_time), "updated_time": iso(now),
        "open_time": iso(event.open_time), "close_time": iso(event.close_time),
        "expected_expiration_time": iso(event.settle_time),
        "expiration_time": iso(event.settle_time), "latest_expiration_time": iso(event.settle_time),
        "settlement_timer_seconds": 0, "status": status,
        "notional_value_dollars": price_to_dollars(PRICE_SCALE),
        "yes_bid_dollars": price_to_dollars(bid), "yes_ask_dollars": price_to_dollars(ask),
        "no_bid_dollars": price_to_dollars(PRICE_SCALE - ask),
        "no_ask_dollars": price_to_dollars(PRICE_SCALE - bid),
        "yes_bid_size_fp": count_to_fp(bid_size), "yes_ask_size_fp": count_to_fp(ask_size),
        "last_price_dollars": price_to_dollars(last),
        "previous_yes_bid_dollars": price_to_dollars(0), "previous_yes_ask_dollars": price_to_dollars(0),
        "previous_price_dollars": price_to_dollars(0),
        "volume_fp": count_to_fp(volume), "volume_24h_fp": count_to_fp(volume),
        "open_interest_fp": count_to_fp(volume), "result": result or "",
        "can_close_early": False, "expiration_value": "", "rules_primary": rules,
        "rules_secondary": "Settles on the final NWS Daily Climate Report (CLI).",
        "price_level_structure": "linear_cent",
        "price_ranges": [{"start": "0.0000", "end": "1.0000", "step": "0.0100"}],
        "settlement_bounds_type": "default", "strike_type": market.strike_type,
        "exchange_index": 0,
    }
    if market.floor is not None:
        body["floor_strike"] = market.floor
    if market.cap is not None:
        body["cap_strike"] = market.cap
    if result is not None:
        body["settlement_value_dollars"] = price_to_dollars(PRICE_SCALE if result == "yes" else 0)
        body["settlement_ts"] = iso(event.settle_time)
    return body


def orderbook_json(book: Book | None, depth: int) -> dict[str, Any]:
    """Bids only, as Kalshi answers: YES bids, and the asks as NO bids at ``1 - p``; ascending."""
    yes = book.levels("bid") if book else []
    no = [(PRICE_SCALE - p, c) for p, c in book.levels("ask")] if book else []
    if depth > 0:
        yes, no = yes[:depth], no[:depth]
    return {"orderbook_fp": {
        "yes_dollars": [[price_to_dollars(p), count_to_fp(c)] for p, c in reversed(yes)],
        "no_dollars": [[price_to_dollars(p), count_to_fp(c)] for p, c in reversed(no)],
    }}


def order_json(order: Order) -> dict[str, Any]:
    outcome = "yes" if order.side == "bid" else "no"
    return {
        "order_id": order.order_id, "user_id": USER, "client_order_id": order.client_order_id,
        "ticker": order.ticker, "side": outcome, "action": "buy", "outcome_side": outcome,
        "book_side": order.side, "type": "limit", "status": order.status,
        "yes_price_dollars": price_to_dollars(order.price),
        "no_price_dollars": price_to_dollars(PRICE_SCALE - order.price),
        "fill_count_fp": count_to_fp(order.filled),
        "remaining_count_fp": count_to_fp(live_remaining(order)),
        "initial_count_fp": count_to_fp(order.initial),
        "taker_fees_dollars": money_dollars(order.taker_fees),
        "maker_fees_dollars": money_dollars(order.maker_fees),
        "taker_fill_cost_dollars": money_dollars(order.taker_cost),
        "maker_fill_cost_dollars": money_dollars(order.maker_cost),
        "expiration_time": None, "created_time": iso_ms(order.created_ms),
        "last_update_time": iso_ms(order.updated_ms), "self_trade_prevention_type": order.stp,
        "order_group_id": None, "cancel_order_on_pause": False, "exchange_index": 0,
    }


def fill_json(fill: Fill) -> dict[str, Any]:
    outcome = "yes" if fill.side == "bid" else "no"
    return {
        "fill_id": fill.fill_id, "exchange_index": 0, "trade_id": fill.trade_id,
        "order_id": fill.order_id, "ticker": fill.ticker, "market_ticker": fill.ticker,
        "side": outcome, "action": "buy", "outcome_side": outcome, "book_side": fill.side,
        "count_fp": count_to_fp(fill.count), "yes_price_dollars": price_to_dollars(fill.price),
        "no_price_dollars": price_to_dollars(PRICE_SCALE - fill.price), "is_taker": fill.is_taker,
        "created_time": iso_ms(fill.ts_ms), "fee_cost": money_dollars(fill.fee), "ts": fill.ts_ms // 1000,
    }


def market_position_json(pos: Position) -> dict[str, Any]:
    return {
        "ticker": pos.ticker, "exchange_index": 0,
        "total_traded_dollars": money_dollars(pos.total_traded),
        "position_fp": ("-" if pos.position < 0 else "") + count_to_fp(abs(pos.position)),
        "market_exposure_dollars": money_dollars(pos.cost),
        "realized_pnl_dollars": money_dollars(pos.realized_pnl),
        "fees_paid_dollars": money_dollars(pos.fees_paid), "last_updated_ts": iso_ms(pos.updated_ms),
    }


def event_positions_json(positions: list[Position]) -> list[dict[str, Any]]:
    by_event: dict[str, list[Position]] = {}
    for pos in positions:
        by_event.setdefault(pos.event_ticker, []).append(pos)
    return [{
        "event_ticker": event, "total_cost_dollars": money_dollars(sum(p.total_traded for p in group)),
        "total_cost_shares_fp": count_to_fp(sum(abs(p.position) for p in group)),
        "event_exposure_dollars": money_dollars(sum(p.cost for p in group)),
        "realized_pnl_dollars": money_dollars(sum(p.realized_pnl for p in group)),
        "fees_paid_dollars": money_dollars(sum(p.fees_paid for p in group)),
    } for event, group in sorted(by_event.items())]


def placement_json(order: Order, filled: int, cost: int, fees: int, ts_ms: int) -> dict[str, Any]:
    """A ``CreateOrderV2Response`` (or a batch item): ``filled``, ``cost`` and ``fees`` are what
    this request traded; the averages only when it traded."""
    body: dict[str, Any] = {"order_id": order.order_id, "client_order_id": order.client_order_id,
                            "fill_count": count_to_fp(filled),
                            "remaining_count": count_to_fp(live_remaining(order)), "ts_ms": ts_ms}
    if filled:
        body["average_fill_price"] = per_contract_dollars(cost, filled)
        body["average_fee_paid"] = per_contract_dollars(fees, filled)
    return body


def batch_error_json(client_order_id: str | None, code: str, message: str) -> dict[str, Any]:
    """A batch item that failed: no order, no counts, the reason under ``error``.

    The spec marks the counts ``nullable`` beside a ``$ref``, which OpenAPI 3.0 ignores, so they
    are left out rather than sent as null (readers treat the two alike)."""
    return {"client_order_id": client_order_id, "ts_ms": None, "error": error_json(code, message)}


def settlement_json(settlement: Settlement) -> dict[str, Any]:
    cents = MONEY_SCALE // 100
    return {
        "ticker": settlement.ticker, "exchange_index": 0, "event_ticker": settlement.event_ticker,
        "market_result": settlement.result,
        "yes_count_fp": count_to_fp(settlement.yes_count),
        "yes_total_cost_dollars": money_dollars(settlement.yes_cost),
        "no_count_fp": count_to_fp(settlement.no_count),
        "no_total_cost_dollars": money_dollars(settlement.no_cost),
        "revenue": settlement.revenue // cents, "settled_time": iso_ms(settlement.settled_ms),
        "fee_cost": money_dollars(settlement.fees), "value": 100 if settlement.result == "yes" else 0,
    }


def error_json(code: str, message: str, details: str = "") -> dict[str, Any]:
    body = {"code": code, "message": message}
    if details:
        body["details"] = details
    return body
