"""Builders for order-management tests: an order's events with consistent stream versions, and
the venue's views of orders, fills and settlements, every argument defaulted."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta

from domain.events import (
    Action,
    OrderAccepted,
    OrderAmended,
    OrderCanceled,
    OrderExpired,
    OrderFilled,
    OrderRejected,
    OrderSubmitted,
    Side,
)
from domain.oms import VenueFillView, VenueOrderView, VenueSettlementView
from domain.oms.venue import SettlementResult, VenueOrderStatus
from tests.builders import T0, envelope

COID = "mb-order-1"
TICKER = "KXHIGHNY-26AUG28-B81.5"
OTHER_TICKER = "KXHIGHNY-26AUG28-B83.5"


def venue_id(client_order_id: str = COID) -> str:
    return f"v-{client_order_id}"


class OrderScript:
    """Events of several orders as a runtime would record them: each order's stream versions
    follow one another; fills get fresh ids unless named."""

    def __init__(self, *, at: datetime = T0) -> None:
        self.at = at
        self.versions: dict[str, int] = {}
        self._fills = itertools.count(1)

    def _envelope(self, coid: str) -> dict[str, object]:
        version = self.versions.get(coid, 0) + 1
        self.versions[coid] = version
        return envelope(f"order:{coid}", version, recorded_at=self.at, key="oms")

    def submitted(self, coid: str = COID, *, ticker: str = TICKER, side: Side = Side.YES,
                  action: Action = Action.BUY, price: int = 4300, count: int = 1000,
                  city: str | None = "NYC") -> OrderSubmitted:
        return OrderSubmitted(**self._envelope(coid), client_order_id=coid, decision_id=None,
                              city=city, ticker=ticker, side=side, action=action, price=price,
                              count=count)

    def accepted(self, coid: str = COID, *, venue_order_id: str | None = None) -> OrderAccepted:
        return OrderAccepted(**self._envelope(coid), client_order_id=coid,
                             venue_order_id=venue_order_id or venue_id(coid))

    def rejected(self, coid: str = COID, *, reason: str = "insufficient balance") -> OrderRejected:
        return OrderRejected(**self._envelope(coid), client_order_id=coid, reason=reason,
                             code="insufficient_balance")

    def canceled(self, coid: str = COID, *, canceled_count: int | None = None) -> OrderCanceled:
        return OrderCanceled(**self._envelope(coid), client_order_id=coid,
                             venue_order_id=venue_id(coid), reason="canceled by us",
                             canceled_count=canceled_count)

    def expired(self, coid: str = COID) -> OrderExpired:
        return OrderExpired(**self._envelope(coid), client_order_id=coid,
                            venue_order_id=venue_id(coid))

    def amended(self, coid: str = COID, *, count: int, price: int = 4300) -> OrderAmended:
        return OrderAmended(**self._envelope(coid), client_order_id=coid,
                            venue_order_id=venue_id(coid), price=price, count=count)

    def filled(self, coid: str | None = COID, *, count: int, fill_id: str | None = None,
               ticker: str = TICKER, side: Side = Side.YES, action: Action = Action.BUY,
               price: int = 4300, venue_order_id: str | None = None, city: str | None = "NYC"
               ) -> OrderFilled:
        fill_id = fill_id or f"fill-{next(self._fills)}"
        return OrderFilled(**envelope(f"fill:{fill_id}", 1, recorded_at=self.at), venue_time=self.at,
                           fill_id=fill_id, client_order_id=coid,
                           venue_order_id=venue_order_id or (venue_id(coid) if coid else None),
                           city=city, ticker=ticker, side=side, action=action, price=price,
                           count=count, fee=0, is_taker=True)


def a_venue_order(coid: str | None = COID, *, order_id: str | None = None,
                  status: VenueOrderStatus = "resting", ticker: str = TICKER, side: Side = Side.YES,
                  action: Action = Action.BUY, price: int = 4300, fill_count: int = 0,
                  remaining: int | None = None, initial: int = 1000) -> VenueOrderView:
    if remaining is None:
        remaining = initial - fill_count if status == "resting" else 0
    return VenueOrderView(order_id=order_id or venue_id(coid or "stranger"), client_order_id=coid,
                          ticker=ticker, status=status, side=side, action=action, price=price,
                          fill_count=fill_count, remaining_count=remaining, initial_count=initial,
                          created_time=T0)


def a_venue_fill(fill_id: str = "trade-1", *, order_id: str | None = None, ticker: str = TICKER,
                 side: Side = Side.YES, action: Action = Action.BUY, price: int = 4300,
                 count: int = 1000, fee: int = 0, seconds: float = 0) -> VenueFillView:
    return VenueFillView(fill_id=fill_id, order_id=order_id or venue_id(), ticker=ticker, side=side,
                         action=action, price=price, count=count, fee=fee, is_taker=True,
                         created_time=T0 + timedelta(seconds=seconds))


def a_venue_settlement(ticker: str = TICKER, *, result: SettlementResult = "yes",
                       value: int | None = None) -> VenueSettlementView:
    return VenueSettlementView(ticker=ticker, event_ticker=ticker.rsplit("-", 1)[0], result=result,
                               settlement_value=value, yes_count=1000, settled_time=T0)

