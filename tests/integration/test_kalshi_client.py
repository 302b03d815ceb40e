"""The Kalshi client against an in-process fake exchange (``httpx.MockTransport``).

The fake verifies every signature over the full path (``/trade-api/v2/...``) and checks every
request the client sends, and every answer it gives, against the Kalshi OpenAPI spec with
openapi-core. Faults are queued per route: timeouts, resets, 5xx and HTML pages, 429s, bad JSON.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from functools import cache
from typing import Any

import httpx
import pytest
import yaml
from openapi_core import OpenAPI
from openapi_core.testing import MockRequest, MockResponse
from werkzeug.datastructures import ImmutableMultiDict

from adapters.kalshi.client import KalshiClient
from adapters.kalshi.errors import (
    CursorLoop,
    KalshiRejected,
    KalshiUnavailable,
    MalformedResponse,
    NotFound,
    OrderInFlight,
    RateLimited,
    Unauthorized,
)
from adapters.kalshi.rate_limit import Backoff, RateLimiter
from adapters.kalshi.signing import Credentials, load_private_key, load_public_key, new_rsa_key_pair, verify
from adapters.kalshi.wire.orders import BatchItemError, NewOrder, Placement
from domain.events.base import Action, Side
from domain.money import PRICE_SCALE, count_from_fp, count_to_fp, price_from_dollars, price_to_dollars
from tests import paths
from tests.unit.test_kalshi_wire import (
    a_balance,
    a_fill,
    a_market,
    a_market_position,
    a_series,
    a_settlement,
    an_event,
    an_event_position,
    an_order,
    an_orderbook,
)

HOST = "https://external-api.demo.kalshi.co"
BASE = f"{HOST}/trade-api/v2"
PREFIX = "/trade-api/v2"
HTML_502 = b"<html><head><title>502 Bad Gateway</title></head><body>502</body></html>"
Reply = httpx.Response | Callable[[httpx.Request], httpx.Response]


@cache
def spec() -> OpenAPI:
    return OpenAPI.from_dict(yaml.safe_load((paths.SPECS / "kalshi-openapi.yaml").read_text()))


@cache
def keys() -> tuple[bytes, bytes]:
    return new_rsa_key_pair()


def _spec_request(request: httpx.Request) -> MockRequest:
    mock = MockRequest(HOST, request.method, request.url.path, headers=dict(request.headers),
                       data=request.content or None)
    mock.parameters.query = ImmutableMultiDict(list(request.url.params.multi_items()))
    return mock


def _documented(request: httpx.Request, status: int) -> bool:
    path = request.url.path.removeprefix(PREFIX)
    for template, item in spec().spec.get("paths", {}).items():
        pattern = "^" + re.sub(r"\{[^}]+\}", "[^/]+", template) + "$"
        if re.match(pattern, path) and request.method.lower() in item:
            return str(status) in item[request.method.lower()]["responses"]
    return False


def _known_spec_quirk(error: Exception, request: httpx.Request) -> bool:
    """openapi-core 0.23 applies ``mve_filter``'s ``default: null`` when the parameter is absent and
    then rejects it against ``enum: [exclude]`` (the spec marks it nullable, which 3.0 enums ignore).
    The client never sends it, so its absence is what the spec allows."""
    return "mve_filter" in repr(error) and "mve_filter" not in request.url.params


class FakeExchange:
    """Spec-shaped state, cursor pagination two items a page, and queued faults per route."""

    def __init__(self) -> None:
        self.public_key = load_public_key(keys()[1])
        self.requests: list[httpx.Request] = []
        self.spec_errors: list[str] = []
        self.faults: dict[tuple[str, str], list[Reply]] = {}
        self.loop_cursor: str | None = None
        #: Set by tests that serve deliberately broken answers, which the spec check must not flag.
        self.off_spec_answers = False
        self.series = [a_series("KXHIGHNY"), a_series("KXHIGHCHI")]
        self.events = [an_event(f"KXHIGHNY-26AUG{d}", markets=[a_market(f"KXHIGHNY-26AUG{d}-B{t}.5")
                                                               for t in (78, 80)]) for d in (27, 28, 29)]
        self.markets = {m["ticker"]: m for e in self.events for m in e["markets"]}
        self.orders: list[dict[str, Any]] = [an_order("o-old", "c-old", status="executed")]
        self.fills: list[dict[str, Any]] = [a_fill("f-old", order_id="o-old")]
        self.archived_orders: list[dict[str, Any]] = [an_order("o-arch", "c-arch", status="canceled")]

    def fault(self, method: str, path: str, *replies: Reply) -> FakeExchange:
        self.faults.setdefault((method, path), []).extend(replies)
        return self

    def sent(self, method: str, path: str) -> int:
        return sum(1 for r in self.requests if r.method == method and r.url.path == PREFIX + path)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        try:
            spec().validate_request(_spec_request(request))
        except Exception as e:
            if not _known_spec_quirk(e, request):
                self.spec_errors.append(f"request {request.method} {request.url.path}: {e!r} "
                                        f"{e.__cause__!r}"[:1500])
        h = request.headers
        if not verify(self.public_key, h.get("KALSHI-ACCESS-SIGNATURE", ""),
                      int(h.get("KALSHI-ACCESS-TIMESTAMP", "0")), request.method, str(request.url)):
            response = httpx.Response(401, json={"code": "authentication_error", "message": "bad signature"})
        else:
            queued = self.faults.get((request.method, request.url.path.removeprefix(PREFIX)))
            if queued:
                reply = queued.pop(0) if len(queued) > 1 else queued[0]
                response = reply(request) if callable(reply) else reply
            else:
                response = self.route(request)
        if (not self.off_spec_answers and _documented(request, response.status_code)
                and "json" in response.headers.get("content-type", "")):
            try:
                spec().validate_response(_spec_request(request), MockResponse(
                    response.content, response.status_code, content_type="application/json"))
            except Exception as e:
                self.spec_errors.append(f"response {request.url.path} {response.status_code}: {e!r} "
                                        f"{e.__cause__!r}"[:1500])
        return response

    def page(self, items: list[Any], key: str, request: httpx.Request, **extra: Any) -> httpx.Response:
        given = request.url.params.get("cursor") or "0"
        start = int(given) if given.isdigit() else 0
        chunk = items[start:start + 2]
        cursor = str(start + 2) if start + 2 < len(items) else ""
        if self.loop_cursor is not None:
            cursor = self.loop_cursor
        return httpx.Response(200, json={key: chunk, "cursor": cursor, **extra})

    def route(self, request: httpx.Request) -> httpx.Response:
        m, path, q = request.method, request.url.path.removeprefix(PREFIX), request.url.params
        body = json.loads(request.content) if request.content else {}
        ok = lambda payload, status=200: httpx.Response(status, json=payload)  # noqa: E731
        if (m, path) == ("GET", "/exchange/status"):
            return ok({"exchange_active": True, "trading_active": True})
        if (m, path) == ("GET", "/series"):
            return ok({"series": self.series})
        if m == "GET" and (hit := re.fullmatch(r"/series/([^/]+)", path)):
            found = [s for s in self.series if s["ticker"] == hit[1]]
            return ok({"series": found[0]}) if found else not_found()
        if (m, path) == ("GET", "/events"):
            events = [e for e in self.events if e["series_ticker"] == q.get("series_ticker")]
            return self.page(events, "events", request)
        if m == "GET" and (hit := re.fullmatch(r"/events/([^/]+)", path)):
            found = [e for e in self.events if e["event_ticker"] == hit[1]]
            return ok({"event": found[0], "markets": found[0]["markets"]}) if found else not_found()
        if (m, path) in (("GET", "/markets"), ("GET", "/historical/markets")):
            return self.page([x for x in self.markets.values()
                              if x["event_ticker"] == q.get("event_ticker", x["event_ticker"])],
                             "markets", request)
        if m == "GET" and (hit := re.fullmatch(r"/(?:historical/)?markets/([^/]+)/orderbook", path)):
            return ok(an_orderbook()) if hit[1] in self.markets else not_found()
        if m == "GET" and (hit := re.fullmatch(r"/(?:historical/)?markets/([^/]+)", path)):
            return ok({"market": self.markets[hit[1]]}) if hit[1] in self.markets else not_found()
        if (m, path) == ("POST", "/portfolio/events/orders"):
            return self.create(body)
        if (m, path) == ("POST", "/portfolio/events/orders/batched"):
            results = []
            for item in body["orders"]:
                answer = self.create(item)
                results.append(json.loads(answer.content) if answer.status_code == 201 else
                               {"client_order_id": item.get("client_order_id"),
                                "error": json.loads(answer.content)})
            return ok({"orders": results}, 201)
        if (hit := re.fullmatch(r"/portfolio/events/orders/([^/]+)(/amend|/decrease)?", path)):
            order = next((o for o in self.orders if o["order_id"] == hit[1]), None)
            if order is None:
                return not_found()
            remaining = count_from_fp(order["remaining_count_fp"])
            if m == "DELETE":
                order.update(status="canceled", remaining_count_fp="0.00")
                return ok({"order_id": order["order_id"], "client_order_id": order["client_order_id"],
                           "reduced_by": count_to_fp(remaining), "ts_ms": 1})
            if hit[2] == "/decrease":
                left = (count_from_fp(body["reduce_to"]) if "reduce_to" in body
                        else remaining - count_from_fp(body["reduce_by"]))
                order["remaining_count_fp"] = count_to_fp(left)
                return ok({"order_id": order["order_id"], "remaining_count": count_to_fp(left), "ts_ms": 1})
            order.update(yes_price_dollars=body["price"],
                         no_price_dollars=price_to_dollars(PRICE_SCALE - price_from_dollars(body["price"])),
                         remaining_count_fp=count_to_fp(count_from_fp(body["count"])
                                                        - count_from_fp(order["fill_count_fp"])))
            return ok({"order_id": order["order_id"], "client_order_id": order["client_order_id"],
                       "remaining_count": order["remaining_count_fp"], "fill_count": order["fill_count_fp"],
                       "ts_ms": 1})
        if (m, path) in (("GET", "/portfolio/orders"), ("GET", "/historical/orders")):
            pool = self.orders if path == "/portfolio/orders" else self.archived_orders
            mine = [o for o in pool if o["ticker"] == q.get("ticker", o["ticker"])]
            return self.page(mine, "orders", request)
        if m == "GET" and (hit := re.fullmatch(r"/portfolio/orders/([^/]+)", path)):
            found = [o for o in self.orders if o["order_id"] == hit[1]]
            return ok({"order": found[0]}) if found else not_found()
        if (m, path) in (("GET", "/portfolio/fills"), ("GET", "/historical/fills")):
            return self.page(self.fills, "fills", request)
        if (m, path) in (("GET", "/portfolio/positions"), ("GET", "/historical/positions")):
            return ok({"market_positions": [a_market_position()], "event_positions": [an_event_position()],
                       "cursor": ""})
        if (m, path) == ("GET", "/portfolio/balance"):
            return ok(a_balance())
        if (m, path) == ("GET", "/portfolio/settlements"):
            return self.page([a_settlement(), a_settlement(ticker="KXHIGHNY-26AUG28-B78.5", value=100,
                                                           market_result="yes")], "settlements", request)
        if (m, path) == ("GET", "/historical/cutoff"):
            ts = "2026-08-01T00:00:00Z"
            return ok({"market_settled_ts": ts, "trades_created_ts": ts, "orders_updated_ts": ts})
        return not_found()

    def create(self, body: dict[str, Any]) -> httpx.Response:
        coid = body.get("client_order_id", "")
        if any(o["client_order_id"] == coid for o in self.orders):
            return httpx.Response(409, json={"code": "order_already_exists", "message": "duplicate"})
        count = count_from_fp(body["count"])
        filled = count // 3  # a fractional fill: 10.00 -> 3.33
        yes = price_from_dollars(body["price"])
        order_id = f"o-{len(self.orders) + 1}"
        outcome = "yes" if body["side"] == "bid" else "no"
        self.orders.append(an_order(
            order_id, coid, ticker=body["ticker"], book_side=body["side"], outcome_side=outcome,
            side="yes", action="buy" if body["side"] == "bid" else "sell", yes_price_dollars=body["price"],
            no_price_dollars=price_to_dollars(PRICE_SCALE - yes), fill_count_fp=count_to_fp(filled),
            remaining_count_fp=count_to_fp(count - filled), initial_count_fp=count_to_fp(count)))
        self.fills.append(a_fill(f"f-{order_id}", order_id=order_id, ticker=body["ticker"],
                                 book_side=body["side"], outcome_side=outcome, side="yes",
                                 action="buy" if body["side"] == "bid" else "sell",
                                 yes_price_dollars=body["price"],
                                 no_price_dollars=price_to_dollars(PRICE_SCALE - yes),
                                 count_fp=count_to_fp(filled)))
        return httpx.Response(201, json={"order_id": order_id, "client_order_id": coid,
                                         "fill_count": count_to_fp(filled),
                                         "remaining_count": count_to_fp(count - filled), "ts_ms": 1})


def not_found() -> httpx.Response:
    return httpx.Response(404, json={"code": "not_found", "message": "no such thing"})


def html(status: int) -> httpx.Response:
    return httpx.Response(status, content=HTML_502, headers={"Content-Type": "text/html"})


def raise_(exc: type[httpx.TransportError]) -> Callable[[httpx.Request], httpx.Response]:
    def reply(request: httpx.Request) -> httpx.Response:
        raise exc("boom", request=request)
    return reply


class Sleeps(list[float]):
    def __call__(self, seconds: float) -> None:
        self.append(seconds)


@pytest.fixture
def exchange() -> Iterator[FakeExchange]:
    fake = FakeExchange()
    yield fake
    assert fake.spec_errors == [], "\n".join(fake.spec_errors)


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


def client_for(exchange: FakeExchange, sleeps: Sleeps, private_pem: bytes | None = None) -> KalshiClient:
    credentials = Credentials("key-id-1", load_private_key(private_pem or keys()[0]))
    return KalshiClient(BASE, credentials, transport=httpx.MockTransport(exchange), sleep=sleeps,
                        limiter=RateLimiter(1e9, 1e9, sleep=sleeps),
                        read_backoff=Backoff(base=0.25, attempts=2),
                        rate_limit_backoff=Backoff(base=0.5, attempts=3))


@pytest.fixture
def client(exchange: FakeExchange, sleeps: Sleeps) -> Iterator[KalshiClient]:
    with client_for(exchange, sleeps) as c:
        yield c


def an_order_of(coid: str = "mb-1", side: Side = Side.NO, action: Action = Action.BUY) -> NewOrder:
    return NewOrder(ticker="KXHIGHNY-26AUG28-B80.5", client_order_id=coid, side=side, action=action,
                    price=4300, count=1000)


# ---- every endpoint ----------------------------------------------------------------------------

def test_market_data_endpoints(client: KalshiClient, exchange: FakeExchange) -> None:
    assert client.exchange_status().trading_active
    assert client.series("KXHIGHNY").ticker == "KXHIGHNY"
    assert [s.ticker for s in client.series_list(category="Climate and Weather")] == ["KXHIGHNY", "KXHIGHCHI"]
    events = client.events("KXHIGHNY", status="open")  # three events over two pages
    assert [e.event_ticker for e in events] == ["KXHIGHNY-26AUG27", "KXHIGHNY-26AUG28", "KXHIGHNY-26AUG29"]
    assert [m.ticker for m in events[1].markets] == ["KXHIGHNY-26AUG28-B78.5", "KXHIGHNY-26AUG28-B80.5"]
    assert client.event("KXHIGHNY-26AUG28").markets[0].floor_strike is not None
    assert client.market("KXHIGHNY-26AUG28-B80.5").yes_ask == 4500
    assert len(client.markets(event_ticker="KXHIGHNY-26AUG28")) == 2
    assert len(client.markets()) == 6
    book = client.orderbook("KXHIGHNY-26AUG28-B80.5")
    assert book.yes_bids[0] == (4200, 1000)
    quotes = client.quotes(events[1])
    assert [q.ticker for q in quotes] == ["KXHIGHNY-26AUG28-B78.5", "KXHIGHNY-26AUG28-B80.5"]
    assert quotes[0].no_bids == ((5500, 250),)
    request = next(r for r in exchange.requests if r.url.path.endswith("/events"))
    assert request.url.params["with_nested_markets"] == "true"
    assert request.url.params["series_ticker"] == "KXHIGHNY"


def test_historical_endpoints(client: KalshiClient) -> None:
    assert client.historical_cutoff().market_settled_ts.year == 2026
    assert client.historical_market("KXHIGHNY-26AUG28-B80.5").ticker == "KXHIGHNY-26AUG28-B80.5"
    assert len(client.historical_markets(event_ticker="KXHIGHNY-26AUG28")) == 2
    assert [o.order_id for o in client.historical_orders()] == ["o-arch"]
    assert [f.fill_id for f in client.historical_fills()] == ["f-old"]
    market_positions, event_positions = client.historical_positions()
    assert market_positions[0].position == -250 and event_positions[0].total_cost_shares == 250


@pytest.mark.parametrize(("side", "action", "book_side", "yes_price"), [
    (Side.YES, Action.BUY, "bid", "0.4300"), (Side.YES, Action.SELL, "ask", "0.4300"),
    (Side.NO, Action.BUY, "ask", "0.5700"), (Side.NO, Action.SELL, "bid", "0.5700")])
def test_create_sends_the_yes_book_row_and_reads_a_fractional_fill(
        client: KalshiClient, exchange: FakeExchange, side: Side, action: Action, book_side: str,
        yes_price: str) -> None:
    placed = client.create_order(an_order_of("mb-7", side, action))
    assert (placed.fill_count, placed.remaining_count, placed.already_placed) == (333, 667, False)
    sent = json.loads(next(r for r in exchange.requests if r.method == "POST").content)
    assert (sent["side"], sent["price"], sent["count"], sent["client_order_id"]) == (
        book_side, yes_price, "10.00", "mb-7")
    fill = client.fills(order_id=placed.order_id)[-1]
    assert fill.count == 333 and fill.yes_price == price_from_dollars(yes_price)


def test_order_management_endpoints(client: KalshiClient, exchange: FakeExchange) -> None:
    placed = client.create_order(an_order_of("mb-1"))
    order = client.order(placed.order_id)
    assert (order.client_order_id, order.book_side, order.yes_price) == ("mb-1", "ask", 5700)
    assert order.initial_count == 1000
    amended = client.amend_order(placed.order_id, order.ticker, Side.NO, Action.BUY, 4200, 800,
                                 client_order_id="mb-1", updated_client_order_id="mb-1b")
    assert amended.remaining_count == 800 - 333
    assert client.order(placed.order_id).yes_price == 5800
    assert client.decrease_order(placed.order_id, order.ticker, reduce_by=67).remaining_count == 400
    assert client.decrease_order(placed.order_id, order.ticker, reduce_to=100).remaining_count == 100
    assert client.cancel_order(placed.order_id, order.ticker).reduced_by == 100
    cancel = next(r for r in exchange.requests if r.method == "DELETE")
    assert cancel.url.params["market_ticker"] == order.ticker
    assert [o.status for o in client.orders(ticker=order.ticker)] == ["executed", "canceled"]
    results = client.batch_create_orders([an_order_of("mb-2"), an_order_of("mb-1"), an_order_of("mb-3")])
    assert isinstance(results[0], Placement) and isinstance(results[2], Placement)
    assert isinstance(results[1], BatchItemError) and results[1].code == "order_already_exists"


def test_portfolio_endpoints(client: KalshiClient) -> None:
    fills = client.fills()
    assert fills[0].fee == 20_000 and fills[0].side is Side.NO
    market_positions, event_positions = client.positions(event_ticker="KXHIGHNY-26AUG28")
    assert market_positions[0].position == -250
    assert event_positions[0].event_exposure == 1_075_000
    assert client.balance().balance == 1_000_500_000
    settlements = client.settlements(event_ticker="KXHIGHNY-26AUG28")
    assert [(s.market_result, s.settlement_value) for s in settlements] == [("no", 0), ("yes", 10_000)]


def test_every_request_is_signed_over_the_full_path(client: KalshiClient, exchange: FakeExchange) -> None:
    client.markets(event_ticker="KXHIGHNY-26AUG28")
    request = exchange.requests[-1]
    assert request.url.path == "/trade-api/v2/markets" and request.url.query
    public = load_public_key(keys()[1])
    h = request.headers
    timestamp = int(h["KALSHI-ACCESS-TIMESTAMP"])
    assert verify(public, h["KALSHI-ACCESS-SIGNATURE"], timestamp, "GET", "/trade-api/v2/markets")
    assert not verify(public, h["KALSHI-ACCESS-SIGNATURE"], timestamp, "GET", "/markets")


# ---- pagination ---------------------------------------------------------------------------------

def test_a_repeated_cursor_is_a_loop(client: KalshiClient, exchange: FakeExchange) -> None:
    exchange.loop_cursor = "same"
    with pytest.raises(CursorLoop):
        client.events("KXHIGHNY")
    assert exchange.sent("GET", "/events") == 2


# ---- idempotent create --------------------------------------------------------------------------

def test_a_409_on_create_returns_the_order_already_placed(client: KalshiClient,
                                                          exchange: FakeExchange) -> None:
    first = client.create_order(an_order_of("mb-dup"))
    again = client.create_order(an_order_of("mb-dup"))
    assert again.already_placed and again.order_id == first.order_id
    assert (again.fill_count, again.remaining_count) == (333, 667)
    assert sum(o["client_order_id"] == "mb-dup" for o in exchange.orders) == 1
    assert exchange.sent("POST", "/portfolio/events/orders") == 2
    assert exchange.sent("GET", "/portfolio/orders") >= 1


def test_a_409_for_an_order_found_only_in_the_archive(client: KalshiClient, exchange: FakeExchange) -> None:
    exchange.fault("POST", "/portfolio/events/orders",
                   httpx.Response(409, json={"code": "order_already_exists", "message": "dup"}))
    placed = client.create_order(an_order_of("c-arch"))
    assert placed.already_placed and placed.order_id == "o-arch"


def test_a_409_that_no_read_confirms_stays_a_duplicate_error(client: KalshiClient,
                                                             exchange: FakeExchange) -> None:
    exchange.fault("POST", "/portfolio/events/orders",
                   httpx.Response(409, json={"code": "order_already_exists", "message": "dup"}))
    with pytest.raises(KalshiRejected) as caught:
        client.create_order(an_order_of("mb-ghost"))
    assert caught.value.status == 409


# ---- writes are never resent blindly ------------------------------------------------------------

@pytest.mark.parametrize("reply", [raise_(httpx.ReadTimeout), raise_(httpx.RemoteProtocolError),
                                   raise_(httpx.WriteTimeout), html(502),
                                   httpx.Response(500, json={"code": "internal", "message": "oops"}),
                                   httpx.Response(503, json={"code": "unavailable", "message": "later"})])
def test_an_ambiguous_create_is_in_flight_and_not_resent(client: KalshiClient, exchange: FakeExchange,
                                                         sleeps: Sleeps, reply: Reply) -> None:
    exchange.fault("POST", "/portfolio/events/orders", reply)
    with pytest.raises(OrderInFlight) as caught:
        client.create_order(an_order_of("mb-9"))
    assert caught.value.client_order_id == "mb-9"
    assert exchange.sent("POST", "/portfolio/events/orders") == 1
    assert sleeps == []


@pytest.mark.parametrize(("method", "path", "call"), [
    ("DELETE", "/portfolio/events/orders/o-old", lambda c: c.cancel_order("o-old", "T")),
    ("POST", "/portfolio/events/orders/o-old/amend",
     lambda c: c.amend_order("o-old", "T", Side.YES, Action.BUY, 4000, 100)),
    ("POST", "/portfolio/events/orders/o-old/decrease",
     lambda c: c.decrease_order("o-old", "T", reduce_by=1)),
    ("POST", "/portfolio/events/orders/batched", lambda c: c.batch_create_orders([an_order_of("b-1")])),
])
def test_other_writes_are_in_flight_on_a_timeout(client: KalshiClient, exchange: FakeExchange, method: str,
                                                 path: str, call: Callable[[KalshiClient], Any]) -> None:
    exchange.fault(method, path, raise_(httpx.ReadTimeout))
    with pytest.raises(OrderInFlight):
        call(client)
    assert exchange.sent(method, path) == 1


def test_a_write_that_never_connected_is_unavailable_not_in_flight(client: KalshiClient,
                                                                   exchange: FakeExchange) -> None:
    exchange.fault("POST", "/portfolio/events/orders", raise_(httpx.ConnectError))
    with pytest.raises(KalshiUnavailable):
        client.create_order(an_order_of())
    assert exchange.sent("POST", "/portfolio/events/orders") == 1


# ---- reads retry; 429 backs off for both ---------------------------------------------------------

def test_reads_retry_5xx_and_timeouts_with_backoff(client: KalshiClient, exchange: FakeExchange,
                                                   sleeps: Sleeps) -> None:
    exchange.fault("GET", "/portfolio/balance", html(502), raise_(httpx.ReadTimeout),
                   httpx.Response(200, json=a_balance()))
    assert client.balance().balance == 1_000_500_000
    assert sleeps == [0.25, 0.5]


def test_reads_give_up_after_the_budget(client: KalshiClient, exchange: FakeExchange, sleeps: Sleeps) -> None:
    exchange.fault("GET", "/portfolio/balance", html(502))
    with pytest.raises(KalshiUnavailable, match="502"):
        client.balance()
    assert exchange.sent("GET", "/portfolio/balance") == 3


@pytest.mark.parametrize(("method", "path", "call"), [
    ("GET", "/markets/KXHIGHNY-26AUG28-B80.5", lambda c: c.market("KXHIGHNY-26AUG28-B80.5")),
    ("POST", "/portfolio/events/orders", lambda c: c.create_order(an_order_of("mb-429"))),
])
def test_429_backs_off_then_succeeds(client: KalshiClient, exchange: FakeExchange, sleeps: Sleeps,
                                     method: str, path: str, call: Callable[[KalshiClient], Any]) -> None:
    limited = httpx.Response(429, json={"code": "too_many_requests", "message": "slow down"})
    exchange.fault(method, path, limited, httpx.Response(429, headers={"Retry-After": "3"}),
                   lambda r: exchange.route(r))
    call(client)
    assert sleeps == [0.5, 3.0]
    assert exchange.sent(method, path) == 3


def test_429_past_the_budget_is_rate_limited(client: KalshiClient, exchange: FakeExchange,
                                             sleeps: Sleeps) -> None:
    exchange.fault("POST", "/portfolio/events/orders",
                   httpx.Response(429, json={"code": "too_many_requests", "message": "slow down"}))
    with pytest.raises(RateLimited):
        client.create_order(an_order_of())
    assert sleeps == [0.5, 1.0, 2.0]


# ---- bad answers -----------------------------------------------------------------------------------

def test_html_where_json_was_promised_is_malformed(client: KalshiClient, exchange: FakeExchange) -> None:
    exchange.fault("GET", "/exchange/status", html(200))
    with pytest.raises(MalformedResponse, match="HTML"):
        client.exchange_status()


@pytest.mark.parametrize("body", [b'{"market": {"ticker": ', b"null", b'{"market": {"ticker": "T"}}',
                                  b'{"market": []}'])
def test_malformed_json_is_malformed(client: KalshiClient, exchange: FakeExchange, body: bytes) -> None:
    exchange.off_spec_answers = True
    exchange.fault("GET", "/markets/T", httpx.Response(200, content=body,
                                                       headers={"Content-Type": "application/json"}))
    with pytest.raises(MalformedResponse):
        client.market("T")


def test_401_and_404_are_typed_and_never_carry_the_key_or_signature(exchange: FakeExchange,
                                                                     sleeps: Sleeps) -> None:
    other_key, _ = new_rsa_key_pair()
    with client_for(exchange, sleeps, other_key) as stranger, pytest.raises(Unauthorized) as caught:
        stranger.balance()
    signature = exchange.requests[-1].headers["KALSHI-ACCESS-SIGNATURE"]
    text = f"{caught.value} {caught.value!r}"
    assert "401" in text and signature not in text
    assert "PRIVATE KEY" not in text and other_key.decode() not in text
    with client_for(exchange, sleeps) as client, pytest.raises(NotFound):
        client.market("NOPE")
