"""Findings: what the venue reported that cannot be applied as it stands.

An overfill, a fill for an order we do not have, a negative count, a price outside 0..1, a
settlement for a market we never traded: each is a ``Finding``. Nothing applies it; the caller
records it as an ``AlertRaised`` (``alert_of``), once per finding (the alert's stream is named by
the finding's kind and key, so recording it again is a no-op).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Literal

from domain.events import AlertRaised, deterministic_id
from domain.oms.streams import alert_stream

Severity = Literal["info", "warning", "critical"]


class FindingKind(StrEnum):
    #: More filled than ordered, or an amendment below what has filled.
    OVERFILL = "overfill"
    #: A fill that no order of ours accounts for.
    UNKNOWN_ORDER_FILL = "unknown_order_fill"
    #: A fill whose market or direction is not its order's.
    FILL_MISMATCH = "fill_mismatch"
    #: A fill with impossible values: a count not above zero, a price outside 0..1.
    BAD_FILL = "bad_fill"
    #: A venue order with impossible values.
    BAD_ORDER = "bad_order"
    #: An order at the venue that no intent of ours accounts for.
    UNKNOWN_ORDER = "unknown_order"
    #: The venue's status of one of our orders contradicts ours and no event can settle it.
    STATUS_MISMATCH = "status_mismatch"
    #: The venue counts more filled on one of our orders than the fills it has shown us.
    FILLS_MISSING = "fills_missing"
    #: One of our accepted orders that the venue, asked, does not have.
    ORDER_VANISHED = "order_vanished"
    #: A settlement for a market we never traded.
    UNKNOWN_SETTLEMENT = "unknown_settlement"
    #: A settlement without a usable value.
    BAD_SETTLEMENT = "bad_settlement"
    #: The ledger's position in a market is not the venue's.
    POSITION_MISMATCH = "position_mismatch"
    #: A recorded event the lifecycle table has no edge for.
    INVALID_TRANSITION = "invalid_transition"
    #: A recorded order event for a client order id that was never submitted.
    UNKNOWN_ORDER_EVENT = "unknown_order_event"
    #: A second ``OrderSubmitted`` for one client order id.
    DUPLICATE_SUBMIT = "duplicate_submit"


@dataclass(frozen=True, slots=True)
class Finding:
    kind: FindingKind
    #: What makes this finding one (a fill id, an event id, a ticker and the two positions).
    key: str
    message: str
    severity: Severity = "critical"
    ticker: str | None = None
    #: Extra facts for the operator, as text.
    context: tuple[tuple[str, str], ...] = ()

    @property
    def stream(self) -> str:
        return alert_stream(self.kind.value, self.key)


def finding(kind: FindingKind, key: object, message: str, *, severity: Severity = "critical",
            ticker: str | None = None, **context: object) -> Finding:
    """A finding with its context values written as text (``None`` values left out)."""
    return Finding(kind=kind, key=str(key), message=message, severity=severity, ticker=ticker,
                   context=tuple((name, str(value)) for name, value in sorted(context.items())
                                 if value is not None))


def alert_of(found: Finding, *, recorded_at: datetime, correlation_id: uuid.UUID,
             causation_id: uuid.UUID | None = None) -> AlertRaised:
    """The alert that records ``found``: the only event of its stream, with an id from it."""
    context: Mapping[str, str] = dict(found.context)
    if found.ticker is not None:
        context = {**context, "ticker": found.ticker}
    return AlertRaised(event_id=deterministic_id("alert", found.stream), stream=found.stream,
                       version=1, recorded_at=recorded_at, correlation_id=correlation_id,
                       causation_id=causation_id, severity=found.severity,
                       kind=f"oms.{found.kind.value}", message=found.message, context=dict(context))
