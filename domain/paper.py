"""The paper fill model: what our orders would have done in a market we only watch.

Paper trading sends nothing. It places our orders in a book of its own beside the real one, which
it sees only through the recorded ladders (``MarketQuote``: bids of both legs, last price, volume),
and fills them by these rules, which lean towards filling too little rather than too much:

* Every order is a bid or an ask on the YES book at a YES price (``adapters.kalshi.wire.sides``:
  buy YES and sell NO bid, buy NO and sell YES ask).
* **Taking** (an order that crosses when placed): it trades against the displayed opposite side,
  best level first, each level at its own price and at most its displayed size, and pays the taker
  fee. An immediate-or-cancel order's remainder is cancelled; a good-till-cancelled one rests. A
  post-only order that would cross is refused, as Kalshi refuses it.
* **Resting** joins the back of its price level: the size displayed there is ahead of it in the
  queue (none when it improves the best price).
* A resting order fills **in full** once the book trades through it: the opposite side shows a
  price at or past ours (an ask at or below our bid). Displayed books never cross, so such an ask
  could only be there if it would have met our bid first.
* Otherwise it fills from the **queue**: between two observations, the size that left our level
  counts as traded only as far as the market's volume rose; it uses up the queue ahead of us first,
  and what is left of it fills us. Cancellations ahead of us are not counted (we cannot tell them
  from cancellations behind us), so the queue moves no faster than trades prove.
* Makers pay no fee (Kalshi's weather markets); takers pay ``domain.money.taker_fee``.

Everything here is a pure function of the orders and the quotes shown to it, in order: the same
sequence gives the same fills and the same fill ids, whichever process runs it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum

from domain.book import best_bid
from domain.events.base import Action, Side
from domain.events.market import BookLevel, MarketQuote
from domain.money import PRICE_SCALE, taker_fee


class BookSide(StrEnum):
    BID = "bid"
    ASK = "ask"


class PaperStatus(StrEnum):
    RESTING = "resting"
    CANCELED = "canceled"
    EXECUTED = "executed"


class PostOnlyWouldCross(ValueError):
    """A post-only order that would take liquidity: refused, as the venue refuses it."""


def yes_book(side: Side, action: Action, price: int) -> tuple[BookSide, int]:
    """An order as a bid or an ask on the YES book, with its YES price."""
    if side is Side.YES:
        return (BookSide.BID if action is Action.BUY else BookSide.ASK), price
    return (BookSide.ASK if action is Action.BUY else BookSide.BID), PRICE_SCALE - price


@dataclass(frozen=True)
class PaperOrder:
    order_id: str
    client_order_id: str
    ticker: str
    side: Side
    action: Action
    #: In the order's own leg, as placed.
    price: int
    initial: int
    created: datetime
    filled: int = 0
    status: PaperStatus = PaperStatus.RESTING
    #: Contracts ahead of ours at our price; None until a quote of the market was seen.
    queue_ahead: int | None = None
    #: The displayed size at our price and the market's volume at the last observation.
    level_seen: int = 0
    volume_seen: int | None = None
    taker_fees: int = 0
    maker_cost: int = 0
    taker_cost: int = 0
    updated: datetime | None = None

    @property
    def book_side(self) -> BookSide:
        return yes_book(self.side, self.action, self.price)[0]

    @property
    def yes_price(self) -> int:
        return yes_book(self.side, self.action, self.price)[1]

    @property
    def remaining(self) -> int:
        return self.initial - self.filled if self.status is PaperStatus.RESTING else 0

    def leg_price(self, yes_price: int) -> int:
        """A YES price in this order's own leg."""
        return yes_price if self.side is Side.YES else PRICE_SCALE - yes_price


@dataclass(frozen=True)
class PaperFill:
    fill_id: str
    order_id: str
    ticker: str
    side: Side
    action: Action
    book_side: BookSide
    #: In the order's own leg, and on the YES book.
    price: int
    yes_price: int
    count: int
    fee: int
    is_taker: bool
    created: datetime


# -- reading a quote from one side of the YES book ---------------------------------------------------

def opposite_levels(quote: MarketQuote, side: BookSide) -> list[tuple[int, int]]:
    """What a bid (or an ask) on the YES book would trade against, best first, as ``(YES price,
    size)``: the asks are the NO bids at their complementary prices."""
    if side is BookSide.BID:
        return sorted(((PRICE_SCALE - p, c) for p, c in quote.no_bids if c > 0), key=lambda lv: lv[0])
    return sorted(((p, c) for p, c in quote.yes_bids if c > 0), key=lambda lv: -lv[0])


def _crosses(side: BookSide, limit: int, price: int) -> bool:
    return price <= limit if side is BookSide.BID else price >= limit


def _same_side(quote: MarketQuote, side: BookSide) -> tuple[BookLevel, ...]:
    if side is BookSide.BID:
        return quote.yes_bids
    return tuple((PRICE_SCALE - p, c) for p, c in quote.no_bids)


def level_size(quote: MarketQuote, side: BookSide, yes_price: int) -> int:
    """The size displayed at ``yes_price`` on our own side of the YES book."""
    return sum(c for p, c in _same_side(quote, side) if p == yes_price)


def best_same_side(quote: MarketQuote, side: BookSide) -> int | None:
    if side is BookSide.BID:
        return best_bid(quote.yes_bids)
    no_bid = best_bid(quote.no_bids)
    return None if no_bid is None else PRICE_SCALE - no_bid


# -- the model ---------------------------------------------------------------------------------------

def _fill(order: PaperOrder, yes_price: int, count: int, *, taker: bool, now: datetime
          ) -> tuple[PaperOrder, PaperFill]:
    price = order.leg_price(yes_price)
    fee = taker_fee(price, count) if taker else 0
    fill = PaperFill(fill_id=f"{order.order_id}:{order.filled}", order_id=order.order_id,
                     ticker=order.ticker, side=order.side, action=order.action,
                     book_side=order.book_side, price=price, yes_price=yes_price, count=count, fee=fee,
                     is_taker=taker, created=now)
    filled = order.filled + count
    order = replace(order, filled=filled, updated=now,
                    status=PaperStatus.EXECUTED if filled >= order.initial else order.status,
                    taker_fees=order.taker_fees + fee,
                    taker_cost=order.taker_cost + (price * count if taker else 0),
                    maker_cost=order.maker_cost + (0 if taker else price * count))
    return order, fill


def place(order: PaperOrder, quote: MarketQuote | None, *, post_only: bool, immediate: bool,
          now: datetime) -> tuple[PaperOrder, list[PaperFill]]:
    """Place ``order`` against the latest quote of its market: take what crosses, then rest (or,
    ``immediate``, cancel the remainder). Raises ``PostOnlyWouldCross``."""
    side, limit = order.book_side, order.yes_price
    levels = opposite_levels(quote, side) if quote is not None else []
    crossing = [(p, c) for p, c in levels if _crosses(side, limit, p)]
    if post_only and crossing:
        raise PostOnlyWouldCross(f"post-only {side.value} at {limit} would cross {crossing[0][0]}")
    fills: list[PaperFill] = []
    for price, size in crossing:
        if order.remaining <= 0:
            break
        order, fill = _fill(order, price, min(size, order.remaining), taker=True, now=now)
        fills.append(fill)
    if order.remaining > 0 and immediate:
        return replace(order, status=PaperStatus.CANCELED, updated=now), fills
    if order.remaining > 0 and quote is not None:
        order = _join_queue(order, quote)
    return order, fills


def _join_queue(order: PaperOrder, quote: MarketQuote) -> PaperOrder:
    size = level_size(quote, order.book_side, order.yes_price)
    return replace(order, queue_ahead=size, level_seen=size, volume_seen=quote.volume)


def observe(order: PaperOrder, quote: MarketQuote, *, now: datetime) -> tuple[PaperOrder, PaperFill | None]:
    """What one new quote of its market does to a resting order."""
    if order.remaining <= 0 or quote.ticker != order.ticker:
        return order, None
    if order.queue_ahead is None:  # placed (or restored) before any quote was seen: join now
        return _join_queue(order, quote), None
    queue_ahead = order.queue_ahead
    side, limit = order.book_side, order.yes_price
    opposite = opposite_levels(quote, side)
    if opposite and _crosses(side, limit, opposite[0][0]):
        order, fill = _fill(order, limit, order.remaining, taker=False, now=now)
        return order, fill
    size = level_size(quote, side, limit)
    traded = 0
    if quote.volume is not None and order.volume_seen is not None:
        traded = min(max(order.level_seen - size, 0), max(quote.volume - order.volume_seen, 0))
    ahead = queue_ahead - traded
    order = replace(order, queue_ahead=max(ahead, 0), level_seen=size,
                    volume_seen=quote.volume if quote.volume is not None else order.volume_seen)
    if ahead < 0:
        order, fill = _fill(order, limit, min(-ahead, order.remaining), taker=False, now=now)
        return order, fill
    return order, None


def cancel(order: PaperOrder, now: datetime) -> PaperOrder:
    return replace(order, status=PaperStatus.CANCELED, updated=now) if order.remaining > 0 else order
