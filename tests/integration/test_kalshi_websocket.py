"""The Kalshi WebSocket client against the simulator's socket over real loopback: books kept
equal to the REST orderbook, a sequence gap or an unreadable delta healed by resubscribing, the
account's fills and order updates read exactly as REST reads them (a fill heard on both records
once), signed handshakes only, reconnecting after a restart, and a clean stop. Every wait is on a
condition or a queue with a deadline."""

from __future__ import annotations

import queue
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from adapters.kalshi.client import KalshiClient
from adapters.kalshi.errors import Unauthorized
from adapters.kalshi.recording import fill_event
from adapters.kalshi.signing import Credentials, load_private_key, new_rsa_key_pair
from adapters.kalshi.simulator import PREFIX, create_app
from adapters.kalshi.simulator.websocket import WS_PATH
from adapters.kalshi.websocket import Backoff, KalshiWebSocket, OrderBook, SocketFill
from adapters.kalshi.wire.orders import VenueOrder
from adapters.nws.simulator.weather import WeatherGenerator
from domain.events.base import Action, Side
from domain.money import PRICE_SCALE, count_from_fp, price_from_dollars, price_to_dollars
from eventstore.ledger import open_ledger
from tests import servers
from tests.integration.test_kalshi_simulator import NOW, SEED, an_order, config, keys

HEARD_S = 10.0  # how long a test waits for a message it expects


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

    def rest(self) -> KalshiClient:
        return KalshiClient(self.url + PREFIX, keys()[0], sleep=lambda _: None)

    def best_ask(self, ticker: str) -> str:
        """The YES price a buy crosses at: one dollar less the best NO bid."""
        no_bids = self.rest_book(ticker).no_bids
        assert no_bids, f"{ticker} has no asks to take"
        return price_to_dollars(PRICE_SCALE - no_bids[0][0])


@pytest.fixture
def exchange(tmp_path: Path) -> Iterator[Exchange]:
    running = Exchange(tmp_path / "state")
    running.start()
    try:
        yield running
    finally:
        if running._running is not None:
            running.stop()


def nyc_market(exchange: Exchange, index: int) -> str:
    event = exchange.call("GET", "/events/KXHIGHNY-26JAN20?with_nested_markets=true").json()
    return str(event["markets"][index]["ticker"])


@pytest.fixture
def ticker(exchange: Exchange) -> str:
    return nyc_market(exchange, 2)


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


def private_channels_live(client: KalshiWebSocket) -> Callable[[], bool]:
    return lambda: {"fill", "user_orders"} <= client.subscribed


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


def test_an_unreadable_delta_resubscribes_and_the_book_recovers(exchange: Exchange, ticker: str) -> None:
    with socket(exchange, [ticker]) as client:
        wait_for(in_step(exchange, client, ticker), "the snapshot")
        assert httpx.post(exchange.url + "/_sim/ws-faults", json={"corrupt_next": 1}).is_success
        placed = exchange.call("POST", "/portfolio/events/orders",
                               json=an_order(ticker, "bid", "0.0200", "1.00"))
        assert placed.status_code == 201 and placed.json()["remaining_count"] == "1.00", placed.text

        wait_for(lambda: client.malformed == 1, "the garbled delta to be counted")
        wait_for(in_step(exchange, client, ticker), "a fresh snapshot")
        book = client.book(ticker)
        assert book is not None and (200, 100) in book.yes_bids
        assert client.gaps == 0, "healed when the delta was unreadable, not at the next delta's gap"


def test_a_fill_heard_on_the_socket_records_as_the_same_fill_read_by_rest(exchange: Exchange,
                                                                          ticker: str) -> None:
    fills: queue.Queue[SocketFill] = queue.Queue()
    elsewhere = nyc_market(exchange, 3)  # the socket's books are another market's: fills are all ours
    with socket(exchange, [ticker], on_fill=fills.put) as client:
        wait_for(private_channels_live(client), "the fill subscription")
        placed = exchange.call("POST", "/portfolio/events/orders", json=an_order(
            elsewhere, "bid", exchange.best_ask(elsewhere), "1.00", client_order_id="ws-fill-1"))
        assert placed.status_code == 201 and placed.json()["fill_count"] == "1.00", placed.text
        heard = fills.get(timeout=HEARD_S)
    assert client.malformed == 0 and fills.empty()

    with exchange.rest() as rest:
        (read,) = rest.fills(order_id=placed.json()["order_id"])
    assert heard.fill == read, "the socket's fill reads exactly as GET /portfolio/fills"
    assert (heard.client_order_id, heard.post_position) == ("ws-fill-1", 100)
    assert (read.ticker, read.side, read.action, read.count, read.is_taker) == (
        elsewhere, Side.YES, Action.BUY, 100, True) and read.fee > 0

    def recorded(fill: Any, at_s: int, correlation_id: uuid.UUID) -> Any:
        return fill_event(fill, client_order_id="ws-fill-1", city="New York",
                          recorded_at=NOW + timedelta(seconds=at_s), correlation_id=correlation_id)

    same = uuid.uuid4()
    assert recorded(heard.fill, 1, same) == recorded(read, 1, same)
    from_rest, from_socket = recorded(read, 1, uuid.uuid4()), recorded(heard.fill, 2, uuid.uuid4())
    assert (from_socket.event_id, from_socket.stream, from_socket.version) == (
        from_rest.event_id, f"fill:{read.fill_id}", 1)
    with open_ledger("sqlite:///:memory:") as ledger:
        assert len(ledger.store.append([from_rest]).positions) == 1
        assert ledger.store.append([from_socket]).already_recorded, "heard twice, recorded once"
        assert [r.event for r in ledger.store.read()] == [from_rest]


def test_order_updates_on_the_socket_read_as_rest_reads_the_order(exchange: Exchange,
                                                                   ticker: str) -> None:
    orders: queue.Queue[VenueOrder] = queue.Queue()
    with socket(exchange, [ticker], on_order=orders.put) as client, exchange.rest() as rest:
        wait_for(private_channels_live(client), "the user_orders subscription")
        placed = exchange.call("POST", "/portfolio/events/orders", json=an_order(
            ticker, "ask", "0.9900", "3.00", client_order_id="ws-order-1"))
        assert placed.status_code == 201, placed.text
        order_id = placed.json()["order_id"]

        resting = orders.get(timeout=HEARD_S)
        assert resting == rest.order(order_id)
        assert (resting.status, resting.remaining_count, resting.client_order_id) == (
            "resting", 300, "ws-order-1")
        # The message has the legacy side but no action; it reads as REST's legacy pair does.
        assert (resting.side, resting.action, resting.price) == (Side.NO, Action.BUY, 100)

        assert exchange.call("DELETE", f"/portfolio/events/orders/{order_id}").is_success
        canceled = orders.get(timeout=HEARD_S)
        assert canceled == rest.order(order_id) and canceled.status == "canceled"
    assert client.malformed == 0 and orders.empty()


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
        # Feed the message handler what a confused venue might send (for no subscription of
        # ours, so nothing is resubscribed); the socket stays up.
        conn: Any = None
        for junk in ("not json", "[1, 2]", '{"type": "orderbook_delta", "sid": 999}',
                     '{"type": "ticker"}', '{"type": "orderbook_snapshot", "sid": "1", "seq": 1, "msg": {}}',
                     '{"type": "fill", "sid": 998, "msg": {"trade_id": 1}}'):
            client._handle(conn, junk)
        assert client.malformed == 6
        assert client.connected and client.book(ticker) is not None

    assert not client.connected
    assert not [t for t in threading.enumerate() if t.name == "kalshi-ws"]
