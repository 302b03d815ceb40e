"""Errors of order management, a small tree (STYLE.md, rule 10)::

    OmsError
    +-- InvalidTransition    a (status, trigger) pair the lifecycle table does not hold
    +-- Overfill (ValueError) more filled than ordered, or an amendment below what has filled
    +-- UnknownOrder         an answer recorded for a client order id that was never submitted

The book never lets either escape a fold of the ledger: what the venue reports is history, so an
impossible report becomes a ``Finding`` the caller records as an alert, not a crash on restart.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from domain.oms.lifecycle import Status, Trigger


class OmsError(Exception):
    """Base of every order-management error."""


class InvalidTransition(OmsError):
    """The lifecycle table has no edge for ``trigger`` from ``status``."""

    def __init__(self, status: Status, trigger: Trigger, client_order_id: str | None = None) -> None:
        order = f"order {client_order_id}: " if client_order_id else ""
        super().__init__(f"{order}no transition from {status.value} on {trigger.value}")
        self.status = status
        self.trigger = trigger
        self.client_order_id = client_order_id


class Overfill(OmsError, ValueError):
    """The venue reported more filled than was ordered: a venue inconsistency to raise, not to fold."""


class UnknownOrder(OmsError, KeyError):
    """No ``OrderSubmitted`` is recorded for this client order id."""

    def __init__(self, client_order_id: str) -> None:
        super().__init__(f"no order {client_order_id} was submitted")
        self.client_order_id = client_order_id

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0])
