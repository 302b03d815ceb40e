"""The Kalshi Trade API's JSON shapes, read into exact domain units and written from them.

One module per job: :mod:`json_fields` (shared readers), :mod:`sides` (buy/sell x YES/NO <-> the
YES book), :mod:`markets`, :mod:`orders`, :mod:`portfolio`. Every reader raises
``MalformedResponse`` rather than return half-parsed data.
"""

from adapters.kalshi.wire.markets import (
    Event,
    ExchangeStatus,
    HistoricalCutoff,
    Market,
    Orderbook,
    Series,
    market_quote,
)
from adapters.kalshi.wire.orders import BatchItemError, NewOrder, OrderChange, Placement, VenueOrder
from adapters.kalshi.wire.portfolio import Balance, EventPosition, MarketPosition, Settlement, VenueFill
from adapters.kalshi.wire.sides import BookSide, complement, from_book, to_book

__all__ = [
    "Balance", "BatchItemError", "BookSide", "Event", "EventPosition", "ExchangeStatus",
    "HistoricalCutoff", "Market", "MarketPosition", "NewOrder", "OrderChange", "Orderbook",
    "Placement", "Series", "Settlement", "VenueFill", "VenueOrder", "complement", "from_book",
    "market_quote", "to_book",
]
