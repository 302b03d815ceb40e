"""Where order management records, and the deterministic ids that make a retry a no-op.

- an order's events: ``order:{client_order_id}``, each the stream's next version (the risk check
  and the intent come first);
- a venue fill: the only event of ``fill:{fill id}``, with the id the Kalshi adapter gives it
  (``adapters/kalshi/recording.py``), so a fill heard by the adapter and by reconciliation is one;
- a settlement: the only event of ``settlement:{ticker}``, likewise;
- an order found at the venue that no intent accounts for: ``venue-order:{venue order id}``;
- a finding: the only event of ``alert:oms:{kind}:{key}``, so it is raised once;
- one reconciliation's summary (and the halts it decided): ``reconciliation:{run id}``.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from domain.events import deterministic_id

#: Longest stream the envelope accepts.
_MAX_STREAM = 200


def order_stream(client_order_id: str) -> str:
    return f"order:{client_order_id}"


def fill_stream(fill_id: str) -> str:
    return f"fill:{fill_id}"


def fill_event_id(fill_id: str) -> uuid.UUID:
    # The Kalshi adapter's envelope: deterministic_id("kalshi", stream, version, key=None). Both
    # paths must derive the same id, or the store would call the second recording a conflict.
    return deterministic_id("kalshi", fill_stream(fill_id), 1, None)


def settlement_stream(ticker: str) -> str:
    return f"settlement:{ticker}"


def settlement_event_id(ticker: str) -> uuid.UUID:
    return deterministic_id("kalshi", settlement_stream(ticker), 1, None)


def venue_order_stream(venue_order_id: str) -> str:
    return _bounded(f"venue-order:{venue_order_id}")


def alert_stream(kind: str, key: str) -> str:
    return _bounded(f"alert:oms:{kind}:{key}")


def reconciliation_id(trigger: str, now: datetime) -> uuid.UUID:
    """One reconciliation run: the same trigger at the same time is the same run."""
    return deterministic_id("reconciliation", trigger, now.isoformat())


def reconciliation_stream(run_id: uuid.UUID) -> str:
    return f"reconciliation:{run_id}"


def _bounded(stream: str) -> str:
    # Keys come from the venue (order and fill ids); a stream too long for the envelope keeps
    # its readable start and ends in the digest of the whole, still deterministic.
    if len(stream) <= _MAX_STREAM:
        return stream
    return f"{stream[:150]}~{deterministic_id('stream', stream).hex}"
