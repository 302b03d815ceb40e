"""An order's fill accounting, folded from its events: filled never exceeds ordered."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from domain.events import OrderAmended, OrderFilled, OrderSubmitted
from domain.oms.errors import Overfill


@dataclass(frozen=True, slots=True)
class OrderFills:
    client_order_id: str
    #: The order's total (1/100 contract): the submitted count, or the last amendment's.
    ordered: int
    filled: int = 0
    fill_ids: frozenset[str] = field(default_factory=frozenset)

    @classmethod
    def submitted(cls, event: OrderSubmitted) -> OrderFills:
        return cls(client_order_id=event.client_order_id, ordered=event.count)

    @property
    def remaining(self) -> int:
        return self.ordered - self.filled

    def amended(self, event: OrderAmended) -> OrderFills:
        """The new total; ``Overfill`` when it is below what has already filled."""
        if event.count < self.filled:
            raise Overfill(f"order {self.client_order_id} amended to {event.count} below its "
                           f"filled {self.filled}")
        return replace(self, ordered=event.count)

    def fill(self, event: OrderFilled) -> OrderFills:
        """Add a fill; a fill id seen before changes nothing. ``Overfill`` when it exceeds the
        remaining (the order is left as it was)."""
        if event.fill_id in self.fill_ids:
            return self
        if event.count > self.remaining:
            raise Overfill(f"fill {event.fill_id} of {event.count} exceeds the "
                           f"{self.remaining} left on order {self.client_order_id}")
        return replace(self, filled=self.filled + event.count,
                       fill_ids=self.fill_ids | {event.fill_id})
