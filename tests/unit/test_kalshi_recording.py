from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from adapters.kalshi.recording import settlement_event
from adapters.kalshi.wire.portfolio import Settlement
from eventstore.codec import decode, encode

SETTLED = datetime(2026, 8, 29, 14, tzinfo=UTC)


def a_settlement(result: str = "yes", value: int | None = None) -> Settlement:
    return Settlement(ticker="KXHIGHNY-26AUG28-B81.5", event_ticker="KXHIGHNY-26AUG28",
                      market_result=result, yes_count=1000, yes_total_cost=4_300_000, no_count=0,
                      no_total_cost=0, revenue=10_000_000, fee_cost=180_000,
                      settled_time=SETTLED, settlement_value=value)


@pytest.mark.parametrize(("result", "value", "expected"), [
    ("yes", None, 10_000), ("no", None, 0), ("yes", 10_000, 10_000), ("scalar", 3_700, 3_700)])
def test_a_settlement_records_what_one_yes_contract_paid(result: str, value: int | None,
                                                         expected: int) -> None:
    event = settlement_event(a_settlement(result, value), recorded_at=SETTLED,
                             correlation_id=uuid.uuid4())
    assert (event.stream, event.version, event.settlement_value) == (
        "settlement:KXHIGHNY-26AUG28-B81.5", 1, expected)
    assert event.venue_time == SETTLED
    assert decode(event.topic(), encode(event)) == event


def test_the_same_settlement_heard_twice_is_the_same_event() -> None:
    first = settlement_event(a_settlement(), recorded_at=SETTLED, correlation_id=uuid.uuid4())
    again = settlement_event(a_settlement(), recorded_at=SETTLED, correlation_id=uuid.uuid4())
    assert first.event_id == again.event_id


def test_a_scalar_settlement_without_a_value_is_refused() -> None:
    with pytest.raises(ValueError, match="no settlement value"):
        settlement_event(a_settlement("scalar"), recorded_at=SETTLED, correlation_id=uuid.uuid4())
