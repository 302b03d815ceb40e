"""The Kalshi Trade API v2 client (sync httpx): signed requests, pacing, retries, typed errors.

Reads may retry (transport failures and 5xx, with exponential backoff). Writes are never resent
blindly: once a POST or DELETE may have reached the exchange, a timeout, a reset or a 5xx raises
:class:`OrderInFlight` and only a read of orders and fills can tell what happened. A 429 means the
request was refused, so both kinds back off and try again within a budget, then raise
:class:`RateLimited`. A 409 on create means the ``client_order_id`` is already placed: the order is
read back and returned as the existing placement.

Every request is signed over its full URL path (``/trade-api/v2/...``, query stripped) with
``Credentials.headers``. No log line or error message carries a header, a signature or a body.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, TypeVar

import httpx

from adapters.kalshi.errors import (
    CursorLoop,
    DuplicateOrder,
    KalshiRejected,
    KalshiUnavailable,
    MalformedResponse,
    NotFound,
    OrderInFlight,
    RateLimited,
    Unauthorized,
)
from adapters.kalshi.rate_limit import Backoff, RateLimiter, Sleep
from adapters.kalshi.signing import Credentials
from adapters.kalshi.wire import json_fields as f
from adapters.kalshi.wire import markets as wm
from adapters.kalshi.wire import orders as wo
from adapters.kalshi.wire import portfolio as wp
from domain.events.base import Action, Side
from domain.events.market import MarketQuote

log = logging.getLogger(__name__)
T = TypeVar("T")
PAGE_SIZE = 200  # within every list endpoint's maximum (events: 200, others: 1000)
#: Transport failures that happen before any byte of the request left: safe to report as unavailable.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
READ_BACKOFF = Backoff(base=0.25, attempts=3)
RATE_LIMIT_BACKOFF = Backoff(base=0.5, attempts=4)
CREATE_PATH = "/portfolio/events/orders"


class KalshiClient:
    """One signed session with the Trade API at ``base_url`` (``.../trade-api/v2``).

    Without ``credentials`` the requests go unsigned: enough for market data, which is public
    (paper trading needs nothing else); portfolio and order endpoints then answer 401."""

    def __init__(self, base_url: str, credentials: Credentials | None, *,
                 transport: httpx.BaseTransport | None = None, timeout: float = 10.0,
                 limiter: RateLimiter | None = None, sleep: Sleep = time.sleep,
                 now_ms: Callable[[], int] = lambda: time.time_ns() // 1_000_000,
                 read_backoff: Backoff = READ_BACKOFF,
                 rate_limit_backoff: Backoff = RATE_LIMIT_BACKOFF) -> None:
        self._base = base_url.rstrip("/")
        self._credentials = credentials
        self._http = httpx.Client(transport=transport, timeout=timeout)
        self._limiter = limiter or RateLimiter(sleep=sleep)
        self._sleep = sleep
        self._now_ms = now_ms
        self._read_backoff = read_backoff
        self._rate_limit_backoff = rate_limit_backoff

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> KalshiClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---- the one way a request leaves -------------------------------------------------------

    def _request(self, method: str, path: str, *, params: Mapping[str, Any] | None = None,
                 body: Any = None, in_flight_id: str | None = None, cost: float = 1.0) -> Any:
        """The parsed JSON answer (None for an empty 2xx). ``in_flight_id`` marks a write."""
        write = method != "GET"
        url = self._base + path
        query = {k: v for k, v in (params or {}).items() if v is not None}
        content = json.dumps(body).encode() if body is not None else None
        failures = limited = 0
        while True:
            self._limiter.acquire(write=write, cost=cost)
            headers = (self._credentials.headers(method, url, self._now_ms())
                       if self._credentials is not None else {})
            if content is not None:
                headers["Content-Type"] = "application/json"
            try:
                response = self._http.request(method, url, params=query, content=content, headers=headers)
            except _NOT_SENT as e:
                reason = f"{method} {path}: {type(e).__name__}"
                if write or failures >= self._read_backoff.attempts:
                    raise KalshiUnavailable(f"cannot reach Kalshi ({reason})") from None
            except httpx.TransportError as e:
                reason = f"{type(e).__name__} after sending"
                if write:
                    raise OrderInFlight(in_flight_id or path, reason) from None
                if failures >= self._read_backoff.attempts:
                    raise KalshiUnavailable(f"Kalshi did not answer {method} {path} ({reason})") from None
            else:
                log.debug("kalshi %s %s -> %s", method, path, response.status_code)
                status = response.status_code
                if status == 429:
                    if limited >= self._rate_limit_backoff.attempts:
                        raise self._rejection(response, path, RateLimited)
                    self._sleep(self._rate_limit_backoff.delay(limited, _retry_after(response)))
                    limited += 1
                    continue
                if status >= 500:
                    if write:
                        raise OrderInFlight(in_flight_id or path, f"HTTP {status} after sending")
                    if failures >= self._read_backoff.attempts:
                        raise KalshiUnavailable(f"Kalshi answered {method} {path} with HTTP {status} "
                                                f"{failures + 1} times")
                else:
                    return self._answer(response, path)
            self._sleep(self._read_backoff.delay(failures))
            failures += 1

    def _answer(self, response: httpx.Response, path: str) -> Any:
        status = response.status_code
        if status >= 400:
            kind = {401: Unauthorized, 404: NotFound}.get(status, KalshiRejected)
            if status == 409 and path == CREATE_PATH:
                kind = DuplicateOrder
            raise self._rejection(response, path, kind)
        if status == 204 or not response.content:
            return None
        if "html" in response.headers.get("content-type", "").lower():
            raise MalformedResponse(f"{path}: an HTML page (HTTP {status}) where JSON was promised")
        return f.parse_json(response.content, path)

    @staticmethod
    def _rejection(response: httpx.Response, path: str, kind: type[KalshiRejected]) -> KalshiRejected:
        code = message = ""
        try:
            error = json.loads(response.content)
        except (ValueError, RecursionError):  # not JSON, or nested too deep to read
            error = None
        if isinstance(error, dict):
            inner = error.get("error")
            nested: dict[str, Any] = inner if isinstance(inner, dict) else error
            code, message = str(nested.get("code") or "")[:80], str(nested.get("message") or "")[:200]
        return kind(response.status_code, code, message, path=path)

    def _get(self, path: str, **params: Any) -> Mapping[str, Any]:
        return f.obj(self._request("GET", path, params=params), path)

    def _pages(self, path: str, keys: Sequence[str], **params: Any) -> dict[str, list[Any]]:
        """Every item of every page under ``keys``, read whole before anything is parsed."""
        items: dict[str, list[Any]] = {k: [] for k in keys}
        seen: set[str] = set()
        cursor = None
        while True:
            page = self._get(path, **params, limit=PAGE_SIZE, cursor=cursor)
            for key in keys:
                items[key].extend(f.req_list(page, key, path))
            cursor = f.cursor(page, path)
            if not cursor:
                return items
            if cursor in seen:
                raise CursorLoop(f"{path} returned a cursor it had already given ({len(seen)} pages read)")
            seen.add(cursor)

    def _list(self, path: str, key: str, parse: Callable[[Any], T], **params: Any) -> list[T]:
        return [parse(item) for item in self._pages(path, (key,), **params)[key]]

    # ---- exchange and markets ----------------------------------------------------------------

    def exchange_status(self) -> wm.ExchangeStatus:
        return wm.exchange_status(self._request("GET", "/exchange/status"))

    def series(self, series_ticker: str) -> wm.Series:
        return wm.series(self._get(f"/series/{series_ticker}").get("series"))

    def series_list(self, *, category: str | None = None, tags: str | None = None) -> list[wm.Series]:
        page = self._get("/series", category=category, tags=tags)
        return [wm.series(s) for s in f.req_list(page, "series", "/series")]

    def events(self, series_ticker: str, *, status: str | None = None) -> list[wm.Event]:
        """The series' events with their markets nested: discovery by series, never by guessed ticker."""
        return self._list("/events", "events", wm.event, series_ticker=series_ticker, status=status,
                          with_nested_markets="true")

    def event(self, event_ticker: str) -> wm.Event:
        page = self._get(f"/events/{event_ticker}", with_nested_markets="true")
        return wm.event(page.get("event"), f.opt_list(page, "markets", f"/events/{event_ticker}"))

    def market(self, ticker: str) -> wm.Market:
        return wm.market(self._get(f"/markets/{ticker}").get("market"))

    def markets(self, *, series_ticker: str | None = None, event_ticker: str | None = None,
                status: str | None = None, tickers: Iterable[str] | None = None) -> list[wm.Market]:
        return self._list("/markets", "markets", wm.market, series_ticker=series_ticker,
                          event_ticker=event_ticker, status=status,
                          tickers=",".join(tickers) if tickers is not None else None)

    def orderbook(self, ticker: str, *, depth: int = 0) -> wm.Orderbook:
        return wm.orderbook(self._request("GET", f"/markets/{ticker}/orderbook", params={"depth": depth}))

    def quotes(self, event: wm.Event) -> tuple[MarketQuote, ...]:
        """Each market of an event with its order book, as the domain sees a ladder."""
        return tuple(wm.market_quote(m, self.orderbook(m.ticker)) for m in event.markets)

    # ---- orders (V2) --------------------------------------------------------------------------

    def create_order(self, order: wo.NewOrder) -> wo.Placement:
        """Place ``order``; a 409 (its ``client_order_id`` already placed) returns the existing one."""
        try:
            answer = self._request("POST", CREATE_PATH, body=order.body(),
                                   in_flight_id=order.client_order_id)
        except DuplicateOrder:
            existing = self.find_order(order.ticker, order.client_order_id)
            if existing is None:
                raise
            return wo.placement_of(existing)
        return wo.placement(answer)

    def batch_create_orders(self, orders: Sequence[wo.NewOrder]) -> list[wo.Placement | wo.BatchItemError]:
        ids = ",".join(o.client_order_id for o in orders)
        answer = self._request("POST", "/portfolio/events/orders/batched",
                               body={"orders": [o.body() for o in orders]}, in_flight_id=ids,
                               cost=max(1, len(orders)))
        results = wo.batch_results(answer)
        if len(results) != len(orders):
            raise MalformedResponse(f"the batch answer has {len(results)} items for {len(orders)} orders")
        return results

    def batch_cancel_orders(self, order_ids: Sequence[str]) -> list[wo.OrderChange | wo.BatchItemError]:
        """Cancel several orders in one request; each answers on its own (an error for one order
        leaves the others canceled)."""
        answer = self._request("DELETE", "/portfolio/events/orders/batched",
                               body={"orders": [{"order_id": i} for i in order_ids]},
                               in_flight_id=",".join(order_ids), cost=max(1, len(order_ids)))
        results = wo.batch_cancel_results(answer)
        if len(results) != len(order_ids):
            raise MalformedResponse(f"the batch cancel answer has {len(results)} items for "
                                    f"{len(order_ids)} orders")
        return results

    def cancel_order(self, order_id: str, ticker: str) -> wo.OrderChange:
        answer = self._request("DELETE", f"/portfolio/events/orders/{order_id}",
                               params={"market_ticker": ticker}, in_flight_id=order_id)
        return wo.order_change(answer, "cancel")

    def amend_order(self, order_id: str, ticker: str, side: Side, action: Action, price: int, count: int, *,
                    client_order_id: str | None = None,
                    updated_client_order_id: str | None = None) -> wo.OrderChange:
        body = wo.amend_body(ticker, side, action, price, count, client_order_id=client_order_id,
                             updated_client_order_id=updated_client_order_id)
        answer = self._request("POST", f"/portfolio/events/orders/{order_id}/amend", body=body,
                               in_flight_id=order_id)
        return wo.order_change(answer, "amend")

    def decrease_order(self, order_id: str, ticker: str, *, reduce_by: int | None = None,
                       reduce_to: int | None = None) -> wo.OrderChange:
        body = wo.decrease_body(ticker, reduce_by=reduce_by, reduce_to=reduce_to)
        answer = self._request("POST", f"/portfolio/events/orders/{order_id}/decrease", body=body,
                               in_flight_id=order_id)
        return wo.order_change(answer, "decrease")

    def orders(self, *, ticker: str | None = None, event_ticker: str | None = None,
               status: str | None = None, min_ts: int | None = None,
               max_ts: int | None = None) -> list[wo.VenueOrder]:
        return self._list("/portfolio/orders", "orders", wo.order, ticker=ticker, event_ticker=event_ticker,
                          status=status, min_ts=min_ts, max_ts=max_ts)

    def order(self, order_id: str) -> wo.VenueOrder:
        return wo.order(self._get(f"/portfolio/orders/{order_id}").get("order"))

    def find_order(self, ticker: str, client_order_id: str) -> wo.VenueOrder | None:
        """The order placed with ``client_order_id``, live or archived (the spec has no filter by
        client order id outside FCM, so the market's orders are listed and searched)."""
        for path in ("/portfolio/orders", "/historical/orders"):
            for found in self._list(path, "orders", wo.order, ticker=ticker):
                if found.client_order_id == client_order_id:
                    return found
        return None

    # ---- portfolio ----------------------------------------------------------------------------

    def fills(self, *, ticker: str | None = None, order_id: str | None = None,
              min_ts: int | None = None, max_ts: int | None = None) -> list[wp.VenueFill]:
        return self._list("/portfolio/fills", "fills", wp.fill, ticker=ticker, order_id=order_id,
                          min_ts=min_ts, max_ts=max_ts)

    def positions(self, *, ticker: str | None = None, event_ticker: str | None = None,
                  path: str = "/portfolio/positions"
                  ) -> tuple[list[wp.MarketPosition], list[wp.EventPosition]]:
        items = self._pages(path, ("market_positions", "event_positions"), ticker=ticker,
                            event_ticker=event_ticker)
        return ([wp.market_position(p) for p in items["market_positions"]],
                [wp.event_position(p) for p in items["event_positions"]])

    def balance(self) -> wp.Balance:
        return wp.balance(self._request("GET", "/portfolio/balance"))

    def settlements(self, *, ticker: str | None = None, event_ticker: str | None = None,
                    min_ts: int | None = None, max_ts: int | None = None) -> list[wp.Settlement]:
        return self._list("/portfolio/settlements", "settlements", wp.settlement, ticker=ticker,
                          event_ticker=event_ticker, min_ts=min_ts, max_ts=max_ts)

    # ---- historical (archived before the cutoff) ----------------------------------------------

    def historical_cutoff(self) -> wm.HistoricalCutoff:
        return wm.historical_cutoff(self._request("GET", "/historical/cutoff"))

    def historical_markets(self, *, series_ticker: str | None = None,
                           event_ticker: str | None = None) -> list[wm.Market]:
        return self._list("/historical/markets", "markets", wm.market, series_ticker=series_ticker,
                          event_ticker=event_ticker)

    def historical_market(self, ticker: str) -> wm.Market:
        return wm.market(self._get(f"/historical/markets/{ticker}").get("market"))

    def historical_fills(self, *, ticker: str | None = None) -> list[wp.VenueFill]:
        return self._list("/historical/fills", "fills", wp.fill, ticker=ticker)

    def historical_orders(self, *, ticker: str | None = None) -> list[wo.VenueOrder]:
        return self._list("/historical/orders", "orders", wo.order, ticker=ticker)

    def historical_positions(self, *, ticker: str | None = None, event_ticker: str | None = None
                             ) -> tuple[list[wp.MarketPosition], list[wp.EventPosition]]:
        return self.positions(ticker=ticker, event_ticker=event_ticker, path="/historical/positions")


def _retry_after(response: httpx.Response) -> float | None:
    try:
        return max(0.0, float(response.headers.get("Retry-After", "")))
    except ValueError:
        return None
