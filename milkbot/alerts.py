"""Alerts: incident and risk events to the log and, when configured, to a webhook.

The command handler calls ``AlertSink.send(event)`` with each incident or risk event it has recorded
(``AlertRaised``, ``RiskLimitBreached``, ``TradingStateChanged``, ``KillSwitchEngaged``,
``BreakerTripped``, ``ReconciliationFailed``; any event is accepted). Every alert is logged at once,
as a structured record (``extra={"alert": body}``). With ``MILKBOT_ALERT_WEBHOOK_URL`` set, the same
body is also POSTed as JSON by one background thread:

- ``send`` never blocks and never raises: it renders, logs and puts the body on a bounded queue;
  when the queue is full the *oldest* waiting alert is dropped (and counted), since the newest says
  most about now;
- a delivery is retried on timeouts, transport errors, 408, 429 and 5xx with exponential backoff,
  waiting at least as long as a ``Retry-After`` asks (capped at ``max_backoff``); any other answer
  is final;
- ``close(timeout)`` stops taking alerts, lets the worker drain the queue until ``timeout``, then
  gives up on what is left (counted as dropped).

A webhook URL is often a credential (Slack and Discord put the token in the path), so it never reaches
a log line, an exception message or httpx's own request log: the client only ever sees a stand-in URL
with the same host and the path ``/redacted``, and ``_SecretUrlTransport`` puts the real one back at
the moment the request is sent. Logs name the host only.
"""

from __future__ import annotations

import logging
import math
import threading
from collections import deque
from collections.abc import Callable
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, Literal

import httpx
import orjson
from pydantic import SecretStr

from domain.events import (
    AlertRaised,
    BreakerCleared,
    BreakerTripped,
    Event,
    KillSwitchEngaged,
    ReconciliationFailed,
    RiskLimitBreached,
    TradingResumed,
    TradingState,
    TradingStateChanged,
)
from milkbot.logs import redact
from milkbot.settings import Settings

log = logging.getLogger(__name__)

Severity = Literal["info", "warning", "critical"]

_LOG_LEVELS: dict[Severity, int] = {"info": logging.INFO, "warning": logging.WARNING,
                                    "critical": logging.CRITICAL}
_STATE_SEVERITY: dict[TradingState, Severity] = {TradingState.HALTED: "critical",
                                                 TradingState.REDUCING: "warning",
                                                 TradingState.ACTIVE: "info"}
_ENVELOPE = frozenset({"event_id", "stream", "version", "recorded_at", "venue_time", "correlation_id",
                       "causation_id"})
_RETRYABLE_STATUS = frozenset({408, 429})


# -- what an alert says ---------------------------------------------------------------------------

def alert_body(event: Event) -> dict[str, Any]:
    """The JSON body of the alert for ``event``: ``event_type``, ``kind``, ``severity``, ``message``,
    ``city`` (or null), ``scope`` (``all`` or ``city:{code}`` or the event's own), ``recorded_at``
    (ISO 8601 with offset), ``event_id``, ``stream`` and ``context`` (string-keyed; for events other
    than ``AlertRaised``, their own fields). Secrets found in it are redacted (``milkbot.logs``)."""
    severity, message = _describe(event)
    scope = getattr(event, "scope", None)
    city = getattr(event, "city", None)
    if not isinstance(city, str):
        city = None
        if isinstance(scope, str) and scope.startswith("city:"):
            city = scope.removeprefix("city:")
        elif isinstance(event, AlertRaised):
            city = event.context.get("city")
    if not isinstance(scope, str):
        scope = f"city:{city}" if city else "all"
    context: dict[str, Any] = (dict(event.context) if isinstance(event, AlertRaised)
                               else event.model_dump(mode="json", exclude=set(_ENVELOPE)))
    body = {
        "source": "milkbot",
        "event_type": event.event_type,
        "kind": event.kind if isinstance(event, AlertRaised) else event.event_type,
        "severity": severity,
        "message": message,
        "city": city,
        "scope": scope,
        "recorded_at": event.recorded_at.isoformat(),
        "event_id": str(event.event_id),
        "stream": event.stream,
        "context": context,
    }
    redacted: dict[str, Any] = redact(body)
    return redacted


def _describe(event: Event) -> tuple[Severity, str]:
    match event:
        case AlertRaised():
            return event.severity, event.message
        case KillSwitchEngaged():
            return "critical", f"Kill switch engaged by {event.operator}: {event.reason}"
        case TradingResumed():
            return "info", f"Trading resumed by {event.operator}: {event.reason}"
        case RiskLimitBreached():
            return "critical", (f"Risk limit {event.limit} breached ({event.scope} {event.scope_key}): "
                                f"{event.value} against {event.threshold}; {event.action}")
        case TradingStateChanged():
            until = f" until {event.until.isoformat()}" if event.until else ""
            return _STATE_SEVERITY[event.state], (
                f"Trading {event.previous.value} -> {event.state.value} for {event.scope}{until}: "
                f"{event.reason}")
        case BreakerTripped():
            return "warning", f"Breaker tripped for {event.city} {event.feed}: {event.reason}"
        case BreakerCleared():
            return "info", f"Breaker cleared for {event.city} {event.feed}: {event.reason}"
        case ReconciliationFailed():
            # At start-up a failed reconciliation keeps the handler from trading at all.
            severity: Severity = "critical" if event.trigger == "startup" else "warning"
            return severity, f"Reconciliation ({event.trigger}) failed: {event.error}: {event.message}"
    # Anything else the handler chose to alert about: worth a look, not a page.
    said = next((text for name in ("message", "reason", "error")
                 if isinstance(text := getattr(event, name, None), str) and text), None)
    return "warning", f"{event.event_type}: {said}" if said else event.event_type


# -- where it goes --------------------------------------------------------------------------------

class AlertSink:
    """Logs every alert and, given a webhook URL, POSTs it there from a background thread.

    ``sleep`` waits between attempts (tests pass a recorder); by default it is a wait that ``close``
    can cut short. ``transport`` is the httpx transport the requests go through (default: HTTP)."""

    def __init__(self, webhook_url: str | SecretStr | None = None, *, max_queue: int = 256,
                 attempts: int = 4, backoff: float = 1.0, max_backoff: float = 60.0,
                 timeout: float = 10.0, sleep: Callable[[float], object] | None = None,
                 transport: httpx.BaseTransport | None = None) -> None:
        if max_queue < 1 or attempts < 1:
            raise ValueError("max_queue and attempts must be at least 1")
        secret = webhook_url.get_secret_value() if isinstance(webhook_url, SecretStr) else webhook_url
        self._url = _webhook_url(secret) if secret else None
        self._max_queue = max_queue
        self._attempts = attempts
        self._backoff = backoff
        self._max_backoff = max_backoff
        self._timeout = timeout
        self._abandon = threading.Event()
        self._sleep = sleep if sleep is not None else self._abandon.wait
        self._transport = transport
        self._queue: deque[dict[str, Any]] = deque()
        self._lock = threading.Condition()
        self._closing = False
        self._worker: threading.Thread | None = None
        self._sent = self._failed = self._dropped = 0

    @classmethod
    def from_settings(cls, settings: Settings, **options: Any) -> AlertSink:
        """The sink for ``MILKBOT_ALERT_WEBHOOK_URL`` (log only when it is unset)."""
        return cls(settings.alert_webhook_url, **options)

    # -- what the handler calls ----------------------------------------------------------------

    def send(self, event: Event) -> None:
        """Log the alert for ``event`` and queue it for the webhook. Returns at once; never raises."""
        try:
            body = alert_body(event)
            log.log(_LOG_LEVELS[body["severity"]], "alert %s [%s] %s", body["event_type"],
                    body["severity"], body["message"], extra={"alert": body})
        except Exception:
            # A bug in rendering must not reach the trading loop; the event itself is in the ledger.
            log.exception("could not render an alert for %s", type(event).__name__)
            with self._lock:
                self._failed += 1
            return
        if self._url is None:
            return
        oldest: dict[str, Any] | None = None
        with self._lock:
            if self._closing:
                self._dropped += 1
                closed = True
            else:
                closed = False
                if len(self._queue) >= self._max_queue:
                    oldest = self._queue.popleft()
                    self._dropped += 1
                self._queue.append(body)
                if self._worker is None:
                    self._worker = threading.Thread(target=self._run, name="milkbot-alerts", daemon=True)
                    self._worker.start()
                self._lock.notify()
            dropped = self._dropped
        if closed:
            log.warning("alert %s not sent to the webhook at %s: the alert sink is closed",
                        body["event_id"], self.destination)
        elif oldest is not None and (dropped == 1 or dropped % 100 == 0):
            # Every alert is already in the log; under a flood one line per hundred drops will do.
            log.warning("alert webhook at %s is behind: dropped queued alert %s (%d dropped so far)",
                        self.destination, oldest["event_id"], dropped)

    def close(self, timeout: float = 10.0) -> bool:
        """Stop taking alerts and wait up to ``timeout`` seconds for the queue to be delivered. What is
        still queued then is dropped and the worker stops retrying. True if nothing was left behind."""
        with self._lock:
            self._closing = True
            self._lock.notify_all()
            worker = self._worker
        if worker is None:
            return True
        worker.join(timeout)
        if not worker.is_alive():
            return True
        self._abandon.set()
        with self._lock:
            left = len(self._queue)
            self._queue.clear()
            self._dropped += left
        log.warning("alert webhook at %s did not drain within %.1fs: %d queued alert(s) dropped",
                    self.destination, timeout, left)
        return False

    # -- for metrics ---------------------------------------------------------------------------

    @property
    def sent(self) -> int:
        """Alerts the webhook accepted (2xx)."""
        return self._sent

    @property
    def failed(self) -> int:
        """Alerts given up on after their attempts, or refused outright (a 4xx other than 408/429)."""
        return self._failed

    @property
    def dropped(self) -> int:
        """Alerts never attempted: pushed out of a full queue, sent after close, left at close."""
        return self._dropped

    @property
    def pending(self) -> int:
        """Alerts waiting in the queue (not counting one being delivered)."""
        with self._lock:
            return len(self._queue)

    @property
    def destination(self) -> str | None:
        """The webhook's host (and port), safe to show; None when alerts only go to the log."""
        return self._url.display if self._url else None

    def __repr__(self) -> str:
        return f"AlertSink(webhook={self.destination or 'off'})"

    # -- the worker ----------------------------------------------------------------------------

    def _run(self) -> None:
        assert self._url is not None
        transport = _SecretUrlTransport(self._url.real, self._transport or httpx.HTTPTransport())
        with httpx.Client(transport=transport, timeout=self._timeout,
                          headers={"User-Agent": "milkbot-alerts"}) as client:
            while True:
                with self._lock:
                    while not self._queue and not self._closing:
                        self._lock.wait()
                    if not self._queue:
                        return
                    body = self._queue.popleft()
                try:
                    delivered = self._deliver(client, body)
                except Exception as e:  # the worker outlives any surprise
                    delivered = False
                    log.error("alert webhook at %s: delivery of %s broke: %s", self.destination,
                              body["event_id"], self._url.scrub(f"{type(e).__name__}: {e}"))
                with self._lock:
                    if delivered:
                        self._sent += 1
                    else:
                        self._failed += 1

    def _deliver(self, client: httpx.Client, body: dict[str, Any]) -> bool:
        assert self._url is not None
        content = orjson.dumps({**body, "text": f"[{body['severity'].upper()}] {body['message']}"})
        outcome = "not attempted"
        for attempt in range(1, self._attempts + 1):
            if self._abandon.is_set():
                break
            retry_after = None
            try:
                response = client.post(self._url.stand_in, content=content,
                                       headers={"Content-Type": "application/json"})
            except httpx.HTTPError as e:
                outcome, retryable = self._url.scrub(f"{type(e).__name__}: {e}"), True
            else:
                status = response.status_code
                if 200 <= status < 300:
                    log.debug("alert %s delivered to %s", body["event_id"], self.destination)
                    return True
                outcome = f"HTTP {status}"
                retryable = status >= 500 or status in _RETRYABLE_STATUS
                retry_after = _retry_after(response)
            if not retryable or attempt == self._attempts:
                break
            delay = self._delay(attempt, retry_after)
            log.info("alert webhook at %s: attempt %d of %d for %s failed (%s); retrying in %.2fs",
                     self.destination, attempt, self._attempts, body["event_id"], outcome, delay)
            self._sleep(delay)
        log.warning("alert webhook at %s: gave up on alert %s after %d attempt(s): %s",
                    self.destination, body["event_id"], attempt, outcome)
        return False

    def _delay(self, attempt: int, retry_after: float | None) -> float:
        delay = min(self._max_backoff, self._backoff * 2.0 ** (attempt - 1))
        if retry_after is not None:
            delay = max(delay, min(retry_after, self._max_backoff))
        return delay


class _WebhookUrl:
    """The real URL (kept out of every repr), a stand-in with its host only, and a scrubber."""

    def __init__(self, real: httpx.URL) -> None:
        self.real = real
        self.stand_in = httpx.URL(scheme=real.scheme, host=real.host, port=real.port, path="/redacted")
        self.display = real.host if real.port is None else f"{real.host}:{real.port}"
        parts = {real.raw_path.decode("ascii", "replace"), real.path, real.query.decode("ascii", "replace"),
                 real.userinfo.decode("ascii", "replace")}
        # Longest first, so the whole URL goes before a piece of it.
        self._secrets = [(str(real), str(self.stand_in))] + [
            (part, "[redacted]") for part in sorted(parts, key=len, reverse=True) if part and part != "/"]

    def scrub(self, text: str) -> str:
        """``text`` with the URL, its path, query and user info replaced."""
        for secret, replacement in self._secrets:
            text = text.replace(secret, replacement)
        return text

    def __repr__(self) -> str:
        return f"<webhook {self.display}>"


def _webhook_url(text: str) -> _WebhookUrl:
    try:
        url = httpx.URL(text.strip())
    except (httpx.InvalidURL, TypeError, ValueError):
        url = None
    if url is None or url.scheme not in ("http", "https") or not url.host:
        # Never echo it: the URL is the credential.
        raise ValueError("MILKBOT_ALERT_WEBHOOK_URL must be an http:// or https:// URL with a host")
    return _WebhookUrl(url)


class _SecretUrlTransport(httpx.BaseTransport):
    """Sends each request to the real webhook URL instead of the stand-in the client was given, so
    httpx's request log and exceptions only ever hold the stand-in."""

    def __init__(self, real: httpx.URL, inner: httpx.BaseTransport) -> None:
        self._real = real
        self._inner = inner

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        actual = httpx.Request(request.method, self._real, headers=request.headers,
                               content=request.read(), extensions=request.extensions)
        return self._inner.handle_request(actual)

    def close(self) -> None:
        self._inner.close()


def _retry_after(response: httpx.Response) -> float | None:
    """Seconds asked for by ``Retry-After`` (delta-seconds or an HTTP date), or None."""
    value = response.headers.get("Retry-After", "").strip()
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - datetime.now(UTC)).total_seconds()
    return max(0.0, seconds) if math.isfinite(seconds) else None
