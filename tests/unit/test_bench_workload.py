"""The benchmark workload is deterministic, valid and exact; the ledger bench runs on SQLite."""

from __future__ import annotations

import itertools
from collections import Counter
from datetime import timedelta

import pytest

from bench.ledger import run_backend
from bench.workload import START, decision_batches
from domain.events import Event
from eventstore.codec import decode, encode

EVENTS = 12_000
#: Ten minutes before New York's climate day rolls over, so settlements come early.
NEAR_ROLLOVER = START + timedelta(hours=4, minutes=50)
EVERY_TYPE = {
    "MarketSnapshotted", "WeatherSnapshotted", "DecisionMade", "OrderRiskChecked",
    "OrderSubmitted", "OrderAccepted", "OrderFilled", "OrderCanceled", "MarketSettled",
}
REQUIRED_KEYS = {
    "bench", "backend", "events", "append_events_per_s", "rebuild_events_per_s",
    "read_events_per_s", "bytes_per_event", "baseline_executemany_rows_per_s",
    "baseline_copy_rows_per_s", "ratio_vs_executemany", "ratio",
}


@pytest.fixture(scope="module")
def batches() -> list[list[Event]]:
    return list(decision_batches(EVENTS, seed=7, start=NEAR_ROLLOVER))


@pytest.fixture(scope="module")
def events(batches: list[list[Event]]) -> list[Event]:
    return [event for batch in batches for event in batch]


def test_the_same_seed_gives_the_same_bytes() -> None:
    def encoded(seed: int) -> list[list[bytes]]:
        return [[encode(e) for e in batch] for batch in decision_batches(2_000, seed)]

    assert encoded(1) == encoded(1)
    assert encoded(1) != encoded(2)


def test_the_clock_starts_on_the_first_of_august() -> None:
    first = next(decision_batches(1))[0]
    assert START <= first.recorded_at < START + timedelta(seconds=10)


@pytest.mark.parametrize("n_events", [0, 1, 2, 7, 1_001])
def test_the_total_is_exact(n_events: int) -> None:
    batches = list(decision_batches(n_events))
    assert sum(len(batch) for batch in batches) == n_events
    assert all(batches)


def test_a_negative_total_is_refused() -> None:
    with pytest.raises(ValueError, match="negative"):
        list(decision_batches(-1))


def test_the_fixture_holds_exactly_its_events(events: list[Event]) -> None:
    assert len(events) == EVENTS


def test_every_event_validates_and_round_trips_byte_identically(events: list[Event]) -> None:
    for event in events:
        data = encode(event)
        decoded = decode(event.topic(), data)
        assert decoded == event
        assert encode(decoded) == data


def test_stream_versions_are_contiguous_from_one(events: list[Event]) -> None:
    versions: dict[str, int] = {}
    for event in events:
        assert event.version == versions.get(event.stream, 0) + 1, event.stream
        versions[event.stream] = event.version
    prefixes = {stream.split(":", 1)[0] for stream in versions}
    assert prefixes == {"market", "weather", "decision", "order", "fill", "settlement"}


def test_ids_are_unique_and_the_clock_only_moves_forward(events: list[Event]) -> None:
    assert len({e.event_id for e in events}) == len(events)
    assert events[0].recorded_at >= NEAR_ROLLOVER
    assert all(a.recorded_at < b.recorded_at for a, b in itertools.pairwise(events))


def test_a_day_of_traffic_holds_every_kind_of_event(events: list[Event]) -> None:
    counts = Counter(type(e).__name__ for e in events)
    assert set(counts) == EVERY_TYPE
    assert counts["MarketSnapshotted"] > counts["MarketSettled"] > 0
    assert counts["OrderFilled"] > counts["OrderCanceled"] > 0


def test_commands_are_decision_sized(batches: list[list[Event]]) -> None:
    sizes = [len(batch) for batch in batches]
    assert max(sizes) <= 20
    assert 3 <= sum(sizes) / len(sizes) <= 10
    assert all(len({e.correlation_id for e in batch}) == 1 for batch in batches)


def test_snapshots_are_the_big_events(events: list[Event]) -> None:
    sizes: dict[str, list[int]] = {}
    for event in events:
        sizes.setdefault(type(event).__name__, []).append(len(encode(event)))
    for name in ("MarketSnapshotted", "WeatherSnapshotted"):
        mean = sum(sizes[name]) / len(sizes[name])
        assert 2_000 <= mean <= 6_000, (name, mean)
    assert max(sizes["OrderFilled"]) < 1_000


def test_the_ledger_bench_runs_on_sqlite() -> None:
    result = run_backend("sqlite", events=2_000)
    assert set(result) >= REQUIRED_KEYS
    assert (result["bench"], result["backend"], result["events"]) == ("ledger", "sqlite", 2_000)
    assert result["baseline_copy_rows_per_s"] is None
    assert result["ratio"] == result["ratio_vs_executemany"]
    for key in REQUIRED_KEYS - {"bench", "backend", "baseline_copy_rows_per_s"}:
        assert result[key] > 0, key
