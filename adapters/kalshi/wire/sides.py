"""Buy/sell x YES/NO <-> ``bid``/``ask`` on the YES book, the V2 order endpoints' vocabulary.

The V2 endpoints (``/portfolio/events/orders``) quote every order from the YES leg (spec
``BookSide``: "``bid`` means buy YES, ``ask`` means sell YES") with ``price`` the YES price. A NO
order is the opposite YES order at the complementary price:

==========  ===========  ================  ==================
ours        at price     book side         YES price sent
==========  ===========  ================  ==================
buy YES     p            ``bid``           p
sell YES    p            ``ask``           p
buy NO      q            ``ask``           1 - q
sell NO     q            ``bid``           1 - q
==========  ===========  ================  ==================

``book_side`` carries the same bit as ``outcome_side`` (``bid`` = exposure to YES), so reading an
order or fill back is ambiguous between buy YES and sell NO (and between sell YES and buy NO) unless
the legacy ``side``/``action`` fields say which; :func:`from_book` uses them when present.
"""

from __future__ import annotations

from typing import Literal

from domain.events.base import Action, Side
from domain.money import PRICE_SCALE

BookSide = Literal["bid", "ask"]
BOOK_SIDES: tuple[BookSide, ...] = ("bid", "ask")


def _in_range(price: int) -> int:
    if not 0 <= price <= PRICE_SCALE:
        raise ValueError(f"price {price} is outside 0..{PRICE_SCALE}")
    return price


def complement(price: int) -> int:
    """The other leg's price: a NO price from a YES price and back (1 - p)."""
    return PRICE_SCALE - _in_range(price)


def to_book(side: Side, action: Action, price: int) -> tuple[BookSide, int]:
    """Our order (``price`` in the contract's own leg) as ``(book side, YES price)``."""
    if side is Side.YES:
        return ("bid" if action is Action.BUY else "ask"), _in_range(price)
    return ("ask" if action is Action.BUY else "bid"), complement(price)


def outcome_of(book_side: BookSide) -> Side:
    """The exposure a book side gives: ``bid`` is long YES, ``ask`` long NO."""
    return Side.YES if book_side == "bid" else Side.NO


def from_book(book_side: BookSide, yes_price: int, *, side: Side | None = None,
              action: Action | None = None) -> tuple[Side, Action, int]:
    """``(side, action, price in that side's leg)`` for an order or fill seen on the YES book.

    ``side``/``action`` are the legacy fields when the venue sent them; they must agree with
    ``book_side`` (``ValueError`` otherwise). Without them the YES-book reading is returned
    (``bid`` = buy YES, ``ask`` = sell YES), which has the same effect on a net position.
    """
    if side is None or action is None:
        return Side.YES, (Action.BUY if book_side == "bid" else Action.SELL), yes_price
    expected, _ = to_book(side, action, yes_price if side is Side.YES else complement(yes_price))
    if expected != book_side:
        raise ValueError(f"{action.value} {side.value} is not a {book_side} on the YES book")
    return side, action, yes_price if side is Side.YES else complement(yes_price)
