"""Position accounting for one market, in YES terms, with exact integers.

Kalshi nets YES and NO in one market, so a position is one signed number of contracts: YES positive,
NO negative. Every fill is turned into YES terms first: buying NO at ``p`` is selling YES at
``1 - p``. Cost is tracked at average cost; closing part of a position realizes
``closed x (price - average cost)``. Settlement closes the whole position at the settlement value.

Cash follows the venue's netting: a YES contract is worth the YES price, a NO contract one minus
it. Buying NO while long YES closes YES contracts, and each closed pair pays back a dollar, so the
cash of that fill is what selling YES at ``1 - p`` would bring.

Units (see ``domain.money``): counts in 1/100 contract, prices in 1/10,000 dollar, money in micros.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from domain.events.base import Action, Side
from domain.money import PRICE_SCALE


def yes_terms(side: Side, action: Action, price: int, count: int) -> tuple[int, int]:
    """A fill as ``(signed YES contracts, YES price)``."""
    if side is Side.YES:
        return (count if action is Action.BUY else -count), price
    return (-count if action is Action.BUY else count), PRICE_SCALE - price


def _contract_value(position_sign: int, yes_price: int) -> int:
    """What one contract on that side is worth at a YES price: YES the price, NO one minus it."""
    return yes_price if position_sign > 0 else PRICE_SCALE - yes_price


@dataclass(frozen=True, slots=True)
class MarketPosition:
    ticker: str
    city: str | None = None
    #: Signed contracts (1/100 units): YES positive, NO negative.
    position: int = 0
    #: Signed cost of the open position in YES terms (micros): sum of contracts x YES price.
    cost: int = 0
    realized: int = 0
    fees: int = 0
    #: Cash this market moved (micros): fills, netting, fees and settlement.
    cash: int = 0
    fills: int = 0
    #: The YES settlement value (price units) once the market settled, else None.
    settled_value: int | None = None

    def fill(self, side: Side, action: Action, price: int, count: int, fee: int) -> MarketPosition:
        delta, yes_price = yes_terms(side, action, price, count)
        position, cost, realized = self.position, self.cost, self.realized
        cash = self.cash - fee
        if position != 0 and (delta > 0) != (position > 0):
            # Reduce (and maybe flip) the open position at average cost.
            closing = min(abs(delta), abs(position))
            closed_cost = _proportion(cost, closing, abs(position))
            signed_closing = closing if position > 0 else -closing
            realized += signed_closing * yes_price - closed_cost
            cash += closing * _contract_value(position, yes_price)
            cost -= closed_cost
            position -= signed_closing
            delta += signed_closing
        if delta:
            cash -= abs(delta) * _contract_value(delta, yes_price)
        position += delta
        cost += delta * yes_price
        # Built field by field: ``dataclasses.replace`` costs more than the arithmetic above, and
        # a rebuild folds every fill of the ledger.
        return MarketPosition(self.ticker, self.city, position, cost, realized, self.fees + fee,
                              cash, self.fills + 1, self.settled_value)

    def settle(self, settlement_value: int) -> MarketPosition:
        """Close everything at the YES settlement value (10,000 = YES won, 0 = NO won)."""
        realized = self.realized + self.position * settlement_value - self.cost
        cash = self.cash
        if self.position:
            cash += abs(self.position) * _contract_value(self.position, settlement_value)
        return replace(self, position=0, cost=0, realized=realized, cash=cash,
                       settled_value=settlement_value)

    def unrealized(self, mark: int | None) -> int:
        """Mark-to-market gain of the open position at a YES price; 0 when flat or unmarked."""
        if self.position == 0 or mark is None:
            return 0
        return self.position * mark - self.cost


def _proportion(amount: int, part: int, whole: int) -> int:
    # amount * part / whole rounded half away from zero, in integers (at most half a micro off).
    numerator = amount * part
    quotient, remainder = divmod(abs(numerator), whole)
    if 2 * remainder >= whole:
        quotient += 1
    return quotient if numerator >= 0 else -quotient
