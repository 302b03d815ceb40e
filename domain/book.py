"""Reading a Kalshi book: bids only, so a YES ask is 1 minus the best NO bid."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from domain.events.market import BookLevel
from domain.money import PRICE_SCALE


class Quoted(Protocol):
    """What reading a book takes of a quote: a ``MarketQuote``, or a projection's view of one."""

    @property
    def yes_bids(self) -> Sequence[BookLevel]: ...
    @property
    def no_bids(self) -> Sequence[BookLevel]: ...
    @property
    def last_price(self) -> int | None: ...


def best_bid(levels: Sequence[BookLevel]) -> int | None:
    """The highest bid price with a positive size, whatever order the levels came in."""
    best = max(levels, default=None)
    if best is None or best[1] > 0:
        return None if best is None else best[0]
    # The highest level is empty (a venue does not send one, but a book may hold it).
    prices = [price for price, count in levels if count > 0]
    return max(prices) if prices else None


def yes_ask(quote: Quoted) -> int | None:
    no_bid = best_bid(quote.no_bids)
    return None if no_bid is None else PRICE_SCALE - no_bid


def mark_price(quote: Quoted) -> int | None:
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
