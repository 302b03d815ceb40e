"""A city's Kalshi ladders as ledger events: whole ladders when the venue answers, one recorded
failure (and nothing half-read) when it does not: down, refusing a skewed clock, or garbled."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from adapters.kalshi.client import KalshiClient
from adapters.kalshi.signing import Credentials, load_private_key, new_rsa_key_pair
from adapters.kalshi.snapshots import MarketSnapshotter, ladder_stream, market_feed_stream, recorded
from domain.events import MarketFeedFailed, MarketKind, MarketSnapshotted
from eventstore import open_ledger
from tests.integration.test_kalshi_simulator import NOW, PREFIX, Sim, config, keys, serving

NYC = config().city("NYC")


#: One real transport behind the tests' intercepting ones, closed at the end of the module.
REAL = httpx.HTTPTransport()


@pytest.fixture(scope="module", autouse=True)
def _close_real_transport() -> Iterator[None]:
    yield
    REAL.close()


@pytest.fixture
def sim(tmp_path: Path) -> Iterator[Sim]:
    with serving(tmp_path / "state", [NOW]) as running:
        yield running


def snapshotter(client: KalshiClient, versions: dict[str, int] | None = None) -> MarketSnapshotter:
    known = versions if versions is not None else {}

    def next_version(stream: str) -> int:
        known[stream] = known.get(stream, 0) + 1
        return known[stream]

    return MarketSnapshotter(client, lambda: NOW, next_version)


def client_for(sim: Sim, *, skew_ms: int = 0, credentials: Credentials | None = None,
               transport: httpx.BaseTransport | None = None) -> KalshiClient:
    return KalshiClient(sim.url + PREFIX, credentials or keys()[0], sleep=lambda _: None,
                        transport=transport,
                        now_ms=lambda: int(sim.clock[0].timestamp() * 1000) + skew_ms)


def set_faults(sim: Sim, **faults: Any) -> None:
    assert httpx.post(sim.url + "/_sim/faults", json=faults, timeout=10).status_code == 200


def test_every_open_event_of_the_series_becomes_one_whole_ladder(sim: Sim, tmp_path: Path) -> None:
    with client_for(sim) as client:
        result = snapshotter(client).snapshot(NYC, MarketKind.DAILY_HIGH, correlation_id=uuid.uuid4())

    assert isinstance(result, list) and result
    assert all(isinstance(s, MarketSnapshotted) and s.series_ticker == "KXHIGHNY" for s in result)
    assert {s.stream for s in result} == {ladder_stream(s.event_ticker) for s in result}
    assert any(len(s.markets) == 6 and any(q.yes_bids for q in s.markets) for s in result)
    with open_ledger(f"sqlite:///{tmp_path / 'ledger.sqlite'}") as ledger:
        ledger.store.append(recorded(result))
        assert ledger.store.max_position() == len(result)


def test_a_second_snapshot_takes_the_next_version_of_each_ladder(sim: Sim) -> None:
    versions: dict[str, int] = {}
    with client_for(sim) as client:
        first = snapshotter(client, versions).snapshot(NYC, MarketKind.DAILY_HIGH,
                                                       correlation_id=uuid.uuid4())
        second = snapshotter(client, versions).snapshot(NYC, MarketKind.DAILY_HIGH,
                                                        correlation_id=uuid.uuid4())
    assert isinstance(first, list) and isinstance(second, list)
    assert {s.version for s in first} == {1} and {s.version for s in second} == {2}
    assert {s.event_id for s in first}.isdisjoint(s.event_id for s in second)


def test_an_exchange_that_keeps_failing_is_one_recorded_failure(sim: Sim) -> None:
    set_faults(sim, server_error_next=100)
    with client_for(sim) as client:
        result = snapshotter(client).snapshot(NYC, MarketKind.DAILY_HIGH, correlation_id=uuid.uuid4())

    assert isinstance(result, MarketFeedFailed)
    assert (result.stream, result.operation, result.error) == (
        market_feed_stream("NYC", MarketKind.DAILY_HIGH), "events", "KalshiUnavailable")
    assert "HTTP 500" in result.message and result.status is None
    assert recorded(result) == [result]


def test_a_skewed_clock_is_refused_and_the_message_says_to_check_it(sim: Sim) -> None:
    with client_for(sim, skew_ms=-60_000) as client:
        result = snapshotter(client).snapshot(NYC, MarketKind.DAILY_HIGH, correlation_id=uuid.uuid4())

    assert isinstance(result, MarketFeedFailed)
    assert (result.error, result.status) == ("Unauthorized", 401)
    assert "clock" in result.message


def test_a_wrong_key_is_refused_without_the_key_or_signature_in_the_record(sim: Sim) -> None:
    private, _ = new_rsa_key_pair()
    wrong = Credentials("sim-key", load_private_key(private))
    seen: list[str] = []

    def spy(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers["KALSHI-ACCESS-SIGNATURE"])
        return REAL.handle_request(request)

    with client_for(sim, credentials=wrong, transport=httpx.MockTransport(spy)) as client:
        result = snapshotter(client).snapshot(NYC, MarketKind.DAILY_HIGH, correlation_id=uuid.uuid4())

    assert isinstance(result, MarketFeedFailed) and result.status == 401
    text = result.model_dump_json()
    assert seen and not any(signature in text for signature in seen)
    assert "PRIVATE KEY" not in text and private.decode() not in text


def test_a_garbled_order_book_fails_the_whole_series(sim: Sim) -> None:
    """Discovery works, one book is an HTML page: no ladder of the series is handed on half-read."""
    books: list[str] = []

    def garble_one_book(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/orderbook"):
            books.append(request.url.path)
            if request.url.path == books[min(2, len(books) - 1)]:
                return httpx.Response(200, headers={"content-type": "text/html"},
                                      content=b"<html><body>Bad gateway</body></html>")
        return REAL.handle_request(request)

    with client_for(sim, transport=httpx.MockTransport(garble_one_book)) as client:
        result = snapshotter(client).snapshot(NYC, MarketKind.DAILY_HIGH, correlation_id=uuid.uuid4())

    assert isinstance(result, MarketFeedFailed)
    assert result.operation == "orderbook" and result.event_ticker is not None
    assert result.error == "MalformedResponse" and "HTML" in result.message


@pytest.mark.parametrize("body", [b"{not json", b'{"events": "many"}', b'{"events": [{"x": 1}]}'])
def test_a_malformed_discovery_answer_is_a_recorded_failure(sim: Sim, body: bytes) -> None:
    def malformed(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/events"):
            return httpx.Response(200, headers={"content-type": "application/json"}, content=body)
        return REAL.handle_request(request)

    with client_for(sim, transport=httpx.MockTransport(malformed)) as client:
        result = snapshotter(client).snapshot(NYC, MarketKind.DAILY_HIGH, correlation_id=uuid.uuid4())

    assert isinstance(result, MarketFeedFailed)
    assert (result.operation, result.error) == ("events", "MalformedResponse")


def test_a_city_without_that_market_is_a_programming_error(sim: Sim) -> None:
    miami = config().city("MIA")
    assert miami.monthly_snow is None
    with client_for(sim) as client, pytest.raises(ValueError, match="MIA trades no monthly_snow"):
        snapshotter(client).snapshot(miami, MarketKind.MONTHLY_SNOW, correlation_id=uuid.uuid4())
