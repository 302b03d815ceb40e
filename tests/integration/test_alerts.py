"""The alert sink against a local webhook on loopback: what it posts, retries, Retry-After, a dead
webhook that never blocks ``send``, and a webhook URL (a credential) that never reaches a log line."""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import anyio.to_thread
import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from domain.events import AlertRaised, Event, ReconciliationFailed, RiskLimitBreached, TradingState
from milkbot.alerts import AlertSink, alert_body
from milkbot.logs import REDACTED, JsonFormatter
from tests import servers
from tests.builders import (
    T0,
    a_breaker_tripped,
    a_kill_switch,
    a_trading_resumed,
    a_trading_state_changed,
    an_order_filled,
    envelope,
)

WAIT = 10.0  # the most any step may take before the test fails (never a pause)


def an_alert(message: str = "NYC drawdown reached the limit", *, severity: str = "critical",
             key: object = None, context: dict[str, str] | None = None) -> AlertRaised:
    return AlertRaised(**envelope("alerts:test", key=key or message), severity=severity, kind="drawdown",
                       message=message, context=context if context is not None else {"city": "NYC"})


@dataclass
class Post:
    path: str
    query: str
    headers: dict[str, str]
    body: dict[str, Any]


@dataclass
class Webhook:
    """Records every POST; answers ``replies`` in order (status, headers), then 200. With ``hold``,
    each request waits until ``release`` is set (``arrived`` says one is waiting)."""

    replies: list[tuple[int, dict[str, str]]] = field(default_factory=list)
    hold: bool = False
    posts: queue.Queue[Post] = field(default_factory=queue.Queue)
    arrived: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)
    url: str = ""

    async def receive(self, request: Request) -> JSONResponse:
        self.posts.put(Post(request.url.path, request.url.query, dict(request.headers), await request.json()))
        if self.hold:
            self.arrived.set()
            await anyio.to_thread.run_sync(self.release.wait, 60)
        status, headers = self.replies.pop(0) if self.replies else (200, {})
        return JSONResponse({"ok": status < 300}, status_code=status, headers=headers)

    def received(self) -> list[Post]:
        posts = []
        while not self.posts.empty():
            posts.append(self.posts.get_nowait())
        return posts


@pytest.fixture
def webhook() -> Iterator[Webhook]:
    hook = Webhook()
    app = Starlette(routes=[Route("/{path:path}", hook.receive, methods=["POST"])])
    with servers.serving(app, name="alert-webhook") as url:
        hook.url = url
        try:
            yield hook
        finally:
            hook.release.set()  # a held request must finish for the server to stop


class Sleeps(list[float]):
    """Records the waits between attempts instead of waiting."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def a_sink(url: str, sleeps: Sleeps | None = None, **options: Any) -> AlertSink:
    return AlertSink(url, sleep=sleeps if sleeps is not None else Sleeps(), **options)


# -- what an alert says -----------------------------------------------------------------------------

def test_an_alert_is_posted_as_one_json_object(webhook: Webhook) -> None:
    alert = an_alert(context={"city": "NYC", "period": "daily"})
    sink = a_sink(f"{webhook.url}/hooks/alerts")

    sink.send(alert)
    assert sink.close(WAIT)

    [post] = webhook.received()
    assert post.path == "/hooks/alerts"
    assert post.headers["content-type"] == "application/json"
    assert post.body == {
        "source": "milkbot", "event_type": "AlertRaised", "kind": "drawdown", "severity": "critical",
        "message": "NYC drawdown reached the limit", "city": "NYC", "scope": "city:NYC",
        "recorded_at": T0.isoformat(), "event_id": str(alert.event_id), "stream": "alerts:test",
        "context": {"city": "NYC", "period": "daily"},
        "text": "[CRITICAL] NYC drawdown reached the limit",
    }
    assert (sink.sent, sink.failed, sink.dropped, sink.pending) == (1, 0, 0, 0)


def a_risk_limit_breached() -> RiskLimitBreached:
    return RiskLimitBreached(**envelope("risk:drawdown"), limit="max_daily_drawdown", scope="all",
                             scope_key="daily:2026-08-28", value="5.2%", threshold="5%",
                             action="reducing until 2026-08-29")


def a_reconciliation_failed(trigger: str) -> ReconciliationFailed:
    return ReconciliationFailed(**envelope(f"oms:reconciliation:{trigger}"), trigger=trigger,
                                error="KalshiUnavailable", message="GET /portfolio/orders timed out")


@pytest.mark.parametrize(("event", "severity", "city", "scope", "says"), [
    (a_kill_switch(), "critical", None, "all", "Kill switch engaged by ops: test"),
    (a_trading_resumed(), "info", None, "all", "Trading resumed by ops"),
    (a_risk_limit_breached(), "critical", None, "all", "max_daily_drawdown breached (all daily:2026-08-28)"),
    (a_trading_state_changed(TradingState.HALTED, scope="city:CHI"), "critical", "CHI", "city:CHI",
     "Trading active -> halted for city:CHI: test"),
    (a_trading_state_changed(TradingState.REDUCING), "warning", None, "all", "active -> reducing"),
    (a_trading_state_changed(TradingState.ACTIVE, previous=TradingState.HALTED), "info", None, "all",
     "halted -> active"),
    (a_breaker_tripped("MIA", "weather:forecast"), "warning", "MIA", "city:MIA",
     "Breaker tripped for MIA weather:forecast: stale"),
    (a_reconciliation_failed("startup"), "critical", None, "all",
     "Reconciliation (startup) failed: KalshiUnavailable: GET /portfolio/orders timed out"),
    (a_reconciliation_failed("scheduled"), "warning", None, "all", "Reconciliation (scheduled) failed"),
    (an_alert(severity="info", context={}), "info", None, "all", "NYC drawdown"),
    (an_order_filled(), "warning", "NYC", "city:NYC", "OrderFilled"),
])
def test_every_incident_renders_with_a_severity_and_a_message(event: Event, severity: str, city: str | None,
                                                             scope: str, says: str) -> None:
    body = alert_body(event)

    assert (body["event_type"], body["severity"], body["city"], body["scope"]) == (
        type(event).__name__, severity, city, scope)
    assert says in body["message"]
    assert body["event_id"] == str(event.event_id)
    assert body["recorded_at"] == event.recorded_at.isoformat()
    if not isinstance(event, AlertRaised):
        # The event's own fields, without its envelope.
        assert "event_id" not in body["context"]
        assert body["context"].items() <= event.model_dump(mode="json").items()


def test_secrets_in_an_alert_are_redacted_before_it_leaves() -> None:
    body = alert_body(an_alert("refused: Bearer abc.def", context={"api_token": "t0k", "city": "NYC"}))

    assert body["context"] == {"api_token": REDACTED, "city": "NYC"}
    assert "abc.def" not in body["message"]


def test_every_alert_is_logged_with_its_fields_even_without_a_webhook(caplog: pytest.LogCaptureFixture
                                                                       ) -> None:
    caplog.set_level(logging.INFO, logger="milkbot.alerts")
    sink = AlertSink()
    alert = an_alert()

    sink.send(alert)
    sink.send(a_breaker_tripped())

    critical, warning = (r for r in caplog.records if r.name == "milkbot.alerts")
    assert critical.levelno == logging.CRITICAL
    assert critical.alert["event_id"] == str(alert.event_id)  # type: ignore[attr-defined]
    assert "NYC drawdown reached the limit" in critical.getMessage()
    assert warning.levelno == logging.WARNING
    assert sink.destination is None
    assert sink.close(WAIT)
    assert (sink.sent, sink.failed, sink.dropped) == (0, 0, 0)


# -- retries ----------------------------------------------------------------------------------------

def test_server_errors_are_retried_with_exponential_backoff(webhook: Webhook) -> None:
    webhook.replies = [(500, {}), (503, {})]
    sleeps = Sleeps()
    sink = a_sink(webhook.url, sleeps, backoff=0.5, attempts=4)
    alert = an_alert()

    sink.send(alert)
    assert sink.close(WAIT)

    posts = webhook.received()
    assert [p.body["event_id"] for p in posts] == [str(alert.event_id)] * 3
    assert sleeps == [0.5, 1.0]
    assert (sink.sent, sink.failed) == (1, 0)


@pytest.mark.parametrize(("status", "retry_after", "waited"), [
    (429, "7", 7.0),        # longer than the backoff: it wins
    (503, "0", 0.5),        # shorter: the backoff still applies
    (429, "3600", 60.0),    # capped at max_backoff, so one alert cannot stall the queue for an hour
])
def test_retry_after_is_honoured(webhook: Webhook, status: int, retry_after: str, waited: float) -> None:
    webhook.replies = [(status, {"Retry-After": retry_after})]
    sleeps = Sleeps()
    sink = a_sink(webhook.url, sleeps, backoff=0.5, max_backoff=60.0)

    sink.send(an_alert())
    assert sink.close(WAIT)

    assert len(webhook.received()) == 2
    assert sleeps == [waited]
    assert sink.sent == 1


def test_it_gives_up_after_its_attempts_and_says_so(webhook: Webhook, caplog: pytest.LogCaptureFixture
                                                    ) -> None:
    webhook.replies = [(500, {})] * 10
    sleeps = Sleeps()
    sink = a_sink(webhook.url, sleeps, attempts=3, backoff=1.0)

    sink.send(an_alert())
    assert sink.close(WAIT)

    assert len(webhook.received()) == 3
    assert sleeps == [1.0, 2.0]
    assert (sink.sent, sink.failed) == (0, 1)
    [gave_up] = [r for r in caplog.records if "gave up" in r.getMessage()]
    assert gave_up.levelno == logging.WARNING
    assert "HTTP 500" in gave_up.getMessage()
    assert httpx.URL(webhook.url).host in gave_up.getMessage()


def test_a_refusal_other_than_408_or_429_is_final(webhook: Webhook) -> None:
    webhook.replies = [(404, {})]
    sleeps = Sleeps()
    sink = a_sink(webhook.url, sleeps)

    sink.send(an_alert())
    assert sink.close(WAIT)

    assert len(webhook.received()) == 1
    assert sleeps == []
    assert (sink.sent, sink.failed) == (0, 1)


def test_an_unreachable_webhook_is_retried_then_counted_as_failed() -> None:
    sleeps = Sleeps()
    sink = a_sink(f"http://127.0.0.1:{servers.free_port()}/hook", sleeps, attempts=2, backoff=0.25)

    sink.send(an_alert())
    assert sink.close(WAIT)

    assert sleeps == [0.25]
    assert (sink.sent, sink.failed) == (0, 1)


# -- never blocking ---------------------------------------------------------------------------------

def test_a_hung_webhook_never_blocks_send_and_the_oldest_are_dropped(webhook: Webhook) -> None:
    webhook.hold = True
    sink = a_sink(webhook.url, max_queue=10, timeout=60.0)
    alerts = [an_alert(f"alert {i}") for i in range(1000)]

    sink.send(alerts[0])
    assert webhook.arrived.wait(WAIT)  # the worker is stuck inside the first POST
    for alert in alerts[1:]:
        sink.send(alert)

    # Were send waiting on the webhook, nothing would have been queued or dropped by now.
    assert (sink.pending, sink.dropped, sink.sent) == (10, 989, 0)

    webhook.release.set()
    assert sink.close(WAIT)
    delivered = [p.body["message"] for p in webhook.received()]
    assert delivered == ["alert 0"] + [f"alert {i}" for i in range(990, 1000)]
    assert (sink.sent, sink.failed, sink.dropped, sink.pending) == (11, 0, 989, 0)


def test_close_gives_up_on_a_hung_webhook_and_drops_what_is_left(webhook: Webhook) -> None:
    webhook.hold = True
    sink = a_sink(webhook.url, timeout=60.0)

    for i in range(3):
        sink.send(an_alert(f"alert {i}"))
    assert webhook.arrived.wait(WAIT)

    assert sink.close(0.05) is False
    assert (sink.dropped, sink.pending) == (2, 0)
    sink.send(an_alert("after close"))
    assert sink.dropped == 3

    webhook.release.set()
    assert sink.close(WAIT)  # the one in flight finishes; nothing else is tried
    assert [p.body["message"] for p in webhook.received()] == ["alert 0"]
    assert sink.sent == 1


# -- the URL is a credential ------------------------------------------------------------------------

SECRET_PATH = "/services/T0001/B0002/s3cr3tT0k3nXYZ"
SECRET_QUERY = "sig=qs-s3cr3t-QRS"
SECRETS = ("s3cr3tT0k3nXYZ", "qs-s3cr3t-QRS", "T0001/B0002")


class LeakyTransport(httpx.BaseTransport):
    """A transport whose errors quote the URL they were sent to, as some do."""

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError(f"cannot reach {request.url}", request=request)


def everything_logged(caplog: pytest.LogCaptureFixture) -> str:
    # The uvicorn server logs the path it was asked for; that is the receiving end, not Milkbot.
    ours = [r for r in caplog.records if not r.name.startswith("uvicorn")]
    return "\n".join(JsonFormatter().format(r) for r in ours)


def test_the_webhook_url_never_reaches_a_log_line(webhook: Webhook, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)  # httpx and httpcore included: they log every request
    webhook.replies = [(200, {}), (500, {}), (500, {}), (404, {})]
    secret_url = f"{webhook.url}{SECRET_PATH}?{SECRET_QUERY}"
    sinks = [
        a_sink(secret_url, attempts=3),
        a_sink(f"http://127.0.0.1:{servers.free_port()}{SECRET_PATH}?{SECRET_QUERY}", attempts=2),
        a_sink(secret_url, attempts=2, transport=LeakyTransport()),
    ]

    for sink in sinks:
        sink.send(an_alert("first"))
        sink.send(an_alert("second"))
        assert sink.close(WAIT)

    posts = webhook.received()
    assert len(posts) == 4
    # The real URL is where they went...
    assert {(p.path, p.query) for p in posts} == {(SECRET_PATH, SECRET_QUERY)}
    assert sinks[0].sent == 1
    # ...and it is in no log line, no repr, and the failures were logged with the host.
    logged = everything_logged(caplog)
    assert "HTTP Request: POST" in logged  # httpx did log its requests (to the stand-in)
    assert "cannot reach" in logged and "127.0.0.1" in logged
    for text in (logged, *map(repr, sinks), *(str(s.destination) for s in sinks)):
        for secret in SECRETS:
            assert secret not in text


def test_a_malformed_webhook_url_is_refused_without_echoing_it() -> None:
    for bad in (f"ftp://hooks.example{SECRET_PATH}", f"hooks.example{SECRET_PATH}", f"https://{SECRET_PATH}"):
        with pytest.raises(ValueError, match="MILKBOT_ALERT_WEBHOOK_URL") as refused:
            AlertSink(bad)
        chain = [refused.value, refused.value.__cause__, refused.value.__context__]
        for secret in SECRETS:
            assert all(secret not in str(e) for e in chain if e is not None)
