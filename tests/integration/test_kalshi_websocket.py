"""The Kalshi WebSocket client against the simulator's socket over real loopback: books kept
equal to the REST orderbook, a sequence gap healed by resubscribing, signed handshakes only,
reconnecting after a restart, and a clean stop. Every wait is on a condition with a deadline."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from adapters.kalshi.errors import Unauthorized
from adapters.kalshi.signing import Credentials, load_private_key, new_rsa_key_pair
from adapters.kalshi.simulator import PREFIX, create_app
from adapters.kalshi.simulator.websocket import WS_PATH
from adapters.kalshi.websocket import Backoff, KalshiWebSocket, OrderBook
from adapters.nws.simulator.weather import WeatherGenerator
from domain.money import count_from_fp, price_from_dollars
from tests import servers
from tests.integration.test_kalshi_simulator import NOW, SEED, an_order, config, keys


def wait_for(condition: Callable[[], bool], what: str, timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        threading.Event().wait(0.02)


class Exchange:
    """The simulator on a fixed port, restartable with the same state; signatures against the
    real clock, as the socket's handshake is checked."""

    def __init__(self, state_dir: Path) -> None:
        self.state_dir = state_dir
        self.port = servers.free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.ws_url = f"ws://127.0.0.1:{self.port}{WS_PATH}"
        self._running: ExitStack | None = None

    def start(self) -> None:
        app = create_app(config(), seed=SEED, clock=lambda: NOW, public_key=keys()[1],
                         weather=WeatherGenerator(config().cities, seed=SEED),
                         state_dir=self.state_dir)
        self._running = ExitStack()
        self._running.enter_context(servers.serving(app, port=self.port, name="kalshi-sim-ws",
                                                    ws="websockets-sansio"))

    def stop(self) -> None:
        assert self._running is not None
        self._running.close()
        self._running = None

    def call(self, method: str, path: str, *, json: Any = None) -> httpx.Response:
        url = self.url + PREFIX + path
        headers = keys()[0].headers(method, url, int(time.time() * 1000))
        return httpx.request(method, url, headers=headers, json=json, timeout=10)

    def rest_book(self, ticker: str) -> OrderBook:
        body = self.call("GET", f"/markets/{ticker}/orderbook").json()["orderbook_fp"]

        def side(rows: list[list[str]]) -> tuple[tuple[int, int], ...]:
            return tuple(sorted(((price_from_dollars(p), count_from_fp(c)) for p, c in rows),
                                reverse=True))

        return OrderBook(ticker, side(body["yes_dollars"]), side(body["no_dollars"]))


@pytest.fixture
def exchange(tmp_path: Path) -> Iterator[Exchange]:
    running = Exchange(tmp_path / "state")
    running.start()
    try:
        yield running
    finally:
        if running._running is not None:
            running.stop()


@pytest.fixture
def ticker(exchange: Exchange) -> str:
    event = exchange.call("GET", "/events/KXHIGHNY-26JAN20?with_nested_markets=true").json()
    return str(event["markets"][2]["ticker"])


@contextmanager
def socket(exchange: Exchange, tickers: list[str], creds: Credentials | None = None,
           **kwargs: Any) -> Iterator[KalshiWebSocket]:
    client = KalshiWebSocket(exchange.ws_url, creds or keys()[0], tickers,
                             backoff=Backoff(initial_s=0.05, maximum_s=0.4), **kwargs)
    client.start()
    try:
        yield client
    finally:
        client.stop()


def in_step(exchange: Exchange, client: KalshiWebSocket, ticker: str) -> Callable[[], bool]:
    return lambda: client.book(ticker) == exchange.rest_book(ticker)


def test_snapshot_and_deltas_keep_the_book_equal_to_rest(exchange: Exchange, ticker: str) -> None:
    seen: list[tuple[str, dict[str, Any]]] = []
    with socket(exchange, [ticker], listener=lambda kind, body: seen.append((kind, body))) as client:
        wait_for(in_step(exchange, client, ticker), "the snapshot")
        for price in ("0.0100", "0.0200", "0.0300"):
            placed = exchange.call("POST", "/portfolio/events/orders",
                                   json=an_order(ticker, "bid", price, "2.00"))
            assert placed.status_code == 201, placed.text
        wait_for(in_step(exchange, client, ticker), "the deltas")

        book = client.book(ticker)
        assert book is not None and {(200, 200), (300, 200)} <= set(book.yes_bids)
        assert client.gaps == 0 and client.malformed == 0
        wait_for(lambda: any(kind == "ticker" for kind, _ in seen), "a ticker update")
        assert client.tickers_seen[ticker]["market_ticker"] == ticker


def test_a_sequence_gap_resubscribes_and_the_book_recovers(exchange: Exchange, ticker: str) -> None:
    with socket(exchange, [ticker]) as client:
        wait_for(in_step(exchange, client, ticker), "the snapshot")
        assert httpx.post(exchange.url + "/_sim/ws-faults", json={"skip_seq_next": 1}).is_success
        exchange.call("POST", "/portfolio/events/orders", json=an_order(ticker, "bid", "0.0400", "1.00"))

        wait_for(lambda: client.gaps == 1, "the gap to be seen")
        wait_for(in_step(exchange, client, ticker), "a fresh snapshot")
        book = client.book(ticker)
        assert book is not None and (400, 100) in book.yes_bids


def test_an_unsigned_or_wrongly_signed_handshake_is_refused(exchange: Exchange, ticker: str) -> None:
    with pytest.raises(InvalidStatus) as refused:
        connect(exchange.ws_url, open_timeout=5).close()
    assert refused.value.response.status_code == 401

    stranger = Credentials("sim-key", load_private_key(new_rsa_key_pair()[0]))
    with socket(exchange, [ticker], creds=stranger) as client:
        wait_for(lambda: isinstance(client.last_error, Unauthorized), "the refusal")
        assert not client.connected and client.book(ticker) is None


def test_a_restarted_exchange_is_reconnected_with_a_fresh_signature(exchange: Exchange,
                                                                     ticker: str) -> None:
    delays: list[float] = []

    def sleep(seconds: float) -> None:  # records the backoff, waits only briefly
        delays.append(seconds)
        threading.Event().wait(min(seconds, 0.05))

    with socket(exchange, [ticker], sleep=sleep) as client:
        wait_for(in_step(exchange, client, ticker), "the first snapshot")
        exchange.stop()
        wait_for(lambda: not client.connected, "the socket to notice")
        assert client.book(ticker) is None, "a dead socket's book is stale: REST takes over"

        exchange.start()
        wait_for(lambda: client.connected and client.connects == 2, "the reconnect")
        wait_for(in_step(exchange, client, ticker), "the book after the restart")
    assert delays[:3] == [0.05, 0.1, 0.2][:len(delays[:3])], "exponential backoff"


def test_stop_is_clean_and_malformed_messages_are_counted(exchange: Exchange, ticker: str) -> None:
    def broken_listener(kind: str, body: dict[str, Any]) -> None:
        raise RuntimeError("a listener bug")

    with socket(exchange, [ticker], listener=broken_listener) as client:
        wait_for(in_step(exchange, client, ticker), "the snapshot")
        wait_for(lambda: client.listener_errors >= 1, "the ticker to reach the broken listener")
        # Feed the message handler what a confused venue might send; the socket stays up.
        conn: Any = None
        for junk in ("not json", "[1, 2]", '{"type": "orderbook_delta", "sid": 1}',
                     '{"type": "ticker"}', '{"type": "orderbook_snapshot", "sid": "1", "seq": 1, "msg": {}}'):
            client._handle(conn, junk)
        assert client.malformed == 5
        assert client.connected and client.book(ticker) is not None

    assert not client.connected
    assert not [t for t in threading.enumerate() if t.name == "kalshi-ws"]
