"""The order lifecycle as one literal transition table: ``(status, trigger) -> status``.

A trigger is what one recorded event does to an order (the book classifies the event: a fill
either leaves something unfilled, ``FILL``, or completes the order, ``FILL_COMPLETE``). A read of
the venue that resolves an order in flight produces the same events, so it uses the same edges:
found resting is ``ACCEPT``, found canceled is ``ACCEPT`` then ``CANCEL``, found executed is
``ACCEPT`` and its fills, and a looked-up order the venue does not have is ``REJECT`` ("never
reached the venue").

Edges marked *Real venue* are ones no well-behaved single-threaded exchange would produce in that
order, but a real one does: its answers, its fill reports and our reads travel on different
connections and arrive in any order. A report heard twice maps a status onto itself (a no-op, not an
error). Anything missing from the table raises ``InvalidTransition``, which the book turns into a
finding to alert on (see ``domain.oms.book``).

Terminal statuses (``FILLED``, ``CANCELED``, ``EXPIRED``, ``REJECTED``) rest nothing at the venue;
``CANCELED`` and ``EXPIRED`` may still carry fills.
"""

from __future__ import annotations

from enum import StrEnum

from domain.oms.errors import InvalidTransition


class Status(StrEnum):
    #: ``OrderSubmitted`` is recorded and no answer has come: it may or may not be at the venue.
    IN_FLIGHT = "in_flight"
    #: At the venue, resting, nothing filled.
    ACCEPTED = "accepted"
    #: At the venue, part filled, the rest resting.
    PARTIALLY_FILLED = "partially_filled"
    FILLED = "filled"
    #: Canceled by us or the venue, perhaps after part filled.
    CANCELED = "canceled"
    #: Its expiration time passed, perhaps after part filled.
    EXPIRED = "expired"
    #: Refused by the venue, or looked up there and not found (it never arrived).
    REJECTED = "rejected"


class Trigger(StrEnum):
    #: ``OrderAccepted``: the venue's answer to the create, or a read that found it.
    ACCEPT = "accept"
    #: ``OrderRejected``: the venue refused it, or a read found no such order.
    REJECT = "reject"
    #: ``OrderFilled`` that leaves part of the order unfilled (any count, whole or fractional).
    FILL = "fill"
    #: ``OrderFilled`` that fills the rest of the order.
    FILL_COMPLETE = "fill_complete"
    #: ``OrderAmended`` to a total above what has filled (price or size changed, still resting).
    AMEND = "amend"
    #: ``OrderAmended`` down to exactly what has filled: nothing is left to rest.
    AMEND_COMPLETE = "amend_complete"
    CANCEL = "cancel"
    EXPIRE = "expire"


S, T = Status, Trigger

TRANSITIONS: dict[tuple[Status, Trigger], Status] = {
    # -- in flight: sent, unanswered --------------------------------------------------------------
    (S.IN_FLIGHT, T.ACCEPT): S.ACCEPTED,
    (S.IN_FLIGHT, T.REJECT): S.REJECTED,
    # Real venue: the fill report (or a read of fills) beats the create's answer.
    (S.IN_FLIGHT, T.FILL): S.PARTIALLY_FILLED,
    # Real venue: a taker order filled in full before its answer reached us.
    (S.IN_FLIGHT, T.FILL_COMPLETE): S.FILLED,
    # Real venue: an immediate-or-cancel order matched nothing; the cancel is heard first.
    (S.IN_FLIGHT, T.CANCEL): S.CANCELED,
    # Real venue: a short expiration passed before the answer reached us.
    (S.IN_FLIGHT, T.EXPIRE): S.EXPIRED,
    # -- accepted: resting, nothing filled -------------------------------------------------------
    (S.ACCEPTED, T.ACCEPT): S.ACCEPTED,  # the answer heard twice (the 409 path, a retry)
    (S.ACCEPTED, T.FILL): S.PARTIALLY_FILLED,
    (S.ACCEPTED, T.FILL_COMPLETE): S.FILLED,
    (S.ACCEPTED, T.AMEND): S.ACCEPTED,
    (S.ACCEPTED, T.CANCEL): S.CANCELED,
    (S.ACCEPTED, T.EXPIRE): S.EXPIRED,
    # -- partially filled: the rest resting ------------------------------------------------------
    # Real venue: the answer to the create arrives after a fill report.
    (S.PARTIALLY_FILLED, T.ACCEPT): S.PARTIALLY_FILLED,
    (S.PARTIALLY_FILLED, T.FILL): S.PARTIALLY_FILLED,
    (S.PARTIALLY_FILLED, T.FILL_COMPLETE): S.FILLED,
    (S.PARTIALLY_FILLED, T.AMEND): S.PARTIALLY_FILLED,
    # Amended (or decreased) down to what has filled: nothing rests, so it is done.
    (S.PARTIALLY_FILLED, T.AMEND_COMPLETE): S.FILLED,
    (S.PARTIALLY_FILLED, T.CANCEL): S.CANCELED,
    (S.PARTIALLY_FILLED, T.EXPIRE): S.EXPIRED,
    # -- filled ----------------------------------------------------------------------------------
    # Real venue: the answer to the create arrives after the fills that completed it.
    (S.FILLED, T.ACCEPT): S.FILLED,
    # Real venue: an amendment up is reported after the fills it made room for; the order
    # rests again for the difference.
    (S.FILLED, T.AMEND): S.PARTIALLY_FILLED,
    # Real venue: an amendment down to the filled count, reported after the fills.
    (S.FILLED, T.AMEND_COMPLETE): S.FILLED,
    # -- canceled (maybe with fills) -------------------------------------------------------------
    (S.CANCELED, T.CANCEL): S.CANCELED,  # the cancel heard twice
    # Real venue: the create's answer arrives after the cancel (an immediate-or-cancel order).
    (S.CANCELED, T.ACCEPT): S.CANCELED,
    # Real venue: matched before the cancel landed, reported after it.
    (S.CANCELED, T.FILL): S.CANCELED,
    # Real venue: the last contracts matched while the cancel travelled; the fill proves nothing
    # was left to cancel.
    (S.CANCELED, T.FILL_COMPLETE): S.FILLED,
    # Real venue: the venue lists an expired order as canceled; we heard both.
    (S.CANCELED, T.EXPIRE): S.CANCELED,
    # -- expired (maybe with fills) --------------------------------------------------------------
    (S.EXPIRED, T.EXPIRE): S.EXPIRED,  # the expiry heard twice
    # Real venue: the create's answer arrives after the expiry.
    (S.EXPIRED, T.ACCEPT): S.EXPIRED,
    # Real venue: matched before it expired, reported after.
    (S.EXPIRED, T.FILL): S.EXPIRED,
    # Real venue: the last contracts matched just before the expiry, reported after it.
    (S.EXPIRED, T.FILL_COMPLETE): S.FILLED,
    # Real venue: a read reports the expired order as canceled (Kalshi has no expired status).
    (S.EXPIRED, T.CANCEL): S.EXPIRED,
    # -- rejected --------------------------------------------------------------------------------
    # The refusal heard twice. Anything else after a rejection is an order we believed never
    # reached the venue turning up there: not an edge, a finding.
    (S.REJECTED, T.REJECT): S.REJECTED,
}

#: Statuses that may still rest or fill at the venue.
OPEN: frozenset[Status] = frozenset({S.IN_FLIGHT, S.ACCEPTED, S.PARTIALLY_FILLED})
TERMINAL: frozenset[Status] = frozenset(Status) - OPEN


def transition(status: Status, trigger: Trigger, client_order_id: str | None = None) -> Status:
    """The status after ``trigger``; ``InvalidTransition`` when the table has no such edge."""
    try:
        return TRANSITIONS[(status, trigger)]
    except KeyError:
        raise InvalidTransition(status, trigger, client_order_id) from None
