"""Reading a Kalshi book: bids only, so a YES ask is 1 minus the best NO bid."""

from __future__ import annotations

from domain.events.market import BookLevel, MarketQuote
from domain.money import PRICE_SCALE


def best_bid(levels: tuple[BookLevel, ...]) -> int | None:
    """The highest bid price with a positive size, whatever order the levels came in."""
    prices = [price for price, count in levels if count > 0]
    return max(prices) if prices else None


def yes_ask(quote: MarketQuote) -> int | None:
    no_bid = best_bid(quote.no_bids)
    return None if no_bid is None else PRICE_SCALE - no_bid


def mark_price(quote: MarketQuote) -> int | None:
    """A YES price to value a position at: the mid when both sides quote, else the side that
    does, else the last trade; None when the market shows nothing."""
    bid, ask = best_bid(quote.yes_bids), yes_ask(quote)
    if bid is not None and ask is not None:
        return (bid + ask) // 2
    if bid is not None:
        return bid
    if ask is not None:
        return ask
    return quote.last_price
