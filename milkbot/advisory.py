"""The optional daily advisory note: a language model's plain-language review of a day, for the operator.

With ``MILKBOT_OPENROUTER_API_KEY`` set, the handler passes the day's recorded facts as a
:class:`DaySummary`; :class:`Advisor` renders them as a short prompt, asks OpenRouter's chat
completions API (``POST {base_url}/chat/completions``, OpenAI-compatible) for a note, and returns an
``AdvisoryNoteRecorded`` for the handler to append. Without the key it is off:
:meth:`Advisor.from_settings` returns None.

The note is advice to a human. This module reaches no order, no sizing and no venue: it imports
neither the order manager, nor the Kalshi adapter, nor the strategies, the risk engine or the
decision, and its event carries nothing an order could be built from
(``tests/unit/test_advisory_isolation.py`` holds both lines).

Once per day: the event is the only one of ``advisory:{day}`` and its id is derived from the day
and the prompt's digest, so recording the same day's review again changes nothing. A re-run asks
OpenRouter again (and pays for it) unless the caller first checks that stream is empty.

Errors (a failed note never stops trading; the handler logs it and carries on)::

    AdvisoryError
    ├── AdvisoryUnavailable   OpenRouter could not be reached, timed out, or answered 5xx / 429
    │                         still after one retry (or asked to wait longer than we will), or
    │                         reported an error inside a 200 answer
    ├── AdvisoryRefused       a 4xx other than 429: a bad key (401), no credits (402), a flagged
    │                         input (403), a bad request or unknown model (400/404)...
    └── MalformedAdvisory     a 200 answer that is not JSON of the documented shape, or no note

The API key lives only in the HTTP client's headers: it is never logged, never put in an event,
and never in an error message (a provider message that echoes it is redacted).
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any

import httpx
from pydantic import SecretStr, ValidationError

from domain.events.advisory import NOTE_MAX_CHARS, AdvisoryNoteRecorded, advisory_stream
from domain.events.base import deterministic_id

if TYPE_CHECKING:  # only for the annotation: importing settings would load the whole domain
    from milkbot.settings import Settings

logger = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://openrouter.ai/api/v1"
#: A small, cheap, long-lived model; any OpenRouter model slug works.
DEFAULT_MODEL = "openai/gpt-4o-mini"
#: Shown as the app's name on OpenRouter's dashboard (its optional attribution header).
APP_TITLE = "Milkbot"
#: One retry in all: a note is worth little next to a second paid request or a stalled loop.
ATTEMPTS = 2
MAX_ALERTS = 20
MAX_ALERT_CHARS = 200
_REDACTED = "[redacted]"

SYSTEM_PROMPT = (
    "You review one day of an automated trader of Kalshi daily weather markets, for the human "
    "who operates it. From the facts given, write a short plain-language note (at most 200 "
    "words): what went well, what looks wrong or unusual, and what the operator might check. "
    "You cannot act and nothing you write is acted on: do not suggest trades, prices or sizes."
)


# -- errors ------------------------------------------------------------------------------------

class AdvisoryError(Exception):
    """Base of every advisory error. No message ever holds the API key."""


class AdvisoryUnavailable(AdvisoryError):
    pass


class AdvisoryRefused(AdvisoryError):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"OpenRouter refused the request ({status}): {message}")
        self.status = status


class MalformedAdvisory(AdvisoryError):
    pass


class _Transient(Exception):
    """An attempt failed in a way a second attempt may not (429, 5xx, a refused connection)."""

    def __init__(self, error: AdvisoryError, retry_after: float | None = None) -> None:
        super().__init__(str(error))
        self.error = error
        self.retry_after = retry_after


# -- what the note is about --------------------------------------------------------------------

@dataclass(frozen=True)
class DaySummary:
    """The facts of one day, as the ledger recorded them; the caller folds them from the log.

    Money is cents (``pnl_cents`` net of fees, ``fees_cents`` the fees paid). The scores are the
    day's mean Brier score and log loss of settled forecasts (lower is better), and the market's
    own Brier score as the baseline; None when nothing settled.
    """

    day: date
    decisions: int
    trades: int
    pnl_cents: int
    fees_cents: int = 0
    alerts: tuple[str, ...] = ()
    brier: float | None = None
    log_loss: float | None = None
    market_brier: float | None = None

    def __post_init__(self) -> None:
        for name in ("decisions", "trades", "pnl_cents", "fees_cents"):
            value = getattr(self, name)
            # bool is an int, and a float has lost the cent: both are a caller's mistake.
            if not isinstance(value, int) or isinstance(value, bool):
                raise TypeError(f"{name} must be an int, not {type(value).__name__}")
        for name in ("decisions", "trades"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} cannot be negative")
        for name in ("brier", "log_loss", "market_brier"):
            score = getattr(self, name)
            if score is not None and not (math.isfinite(score) and score >= 0):
                raise ValueError(f"{name} must be a finite score >= 0")
        if isinstance(self.alerts, str) or not all(isinstance(a, str) for a in self.alerts):
            raise TypeError("alerts must be a tuple of messages")


def _dollars(cents: int) -> str:
    sign = "-" if cents < 0 else ""
    whole, part = divmod(abs(cents), 100)
    return f"{sign}${whole:,}.{part:02d}"


def _one_line(text: str, limit: int) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def summary_text(summary: DaySummary) -> str:
    """The day's facts in plain words: the user message the model sees. Deterministic."""
    lines = [
        f"Day reviewed: {summary.day.isoformat()}",
        f"Decisions made: {summary.decisions}",
        f"Trades (fills): {summary.trades}",
        f"Profit and loss, net of fees: {_dollars(summary.pnl_cents)} "
        f"(fees paid: {_dollars(summary.fees_cents)})",
    ]
    if summary.brier is None and summary.log_loss is None:
        lines.append("Forecast calibration: no settled forecasts were scored.")
    else:
        scores = [f"{label} {value:.4f}" for label, value in
                  (("Brier", summary.brier), ("log loss", summary.log_loss)) if value is not None]
        line = f"Forecast calibration (lower is better): {', '.join(scores)}"
        if summary.market_brier is not None:
            line += f"; the market prices' own Brier {summary.market_brier:.4f}"
        lines.append(line)
    if not summary.alerts:
        lines.append("Alerts raised: none.")
    else:
        lines.append(f"Alerts raised ({len(summary.alerts)}):")
        lines.extend(f"- {_one_line(a, MAX_ALERT_CHARS)}" for a in summary.alerts[:MAX_ALERTS])
        if len(summary.alerts) > MAX_ALERTS:
            lines.append(f"- ...and {len(summary.alerts) - MAX_ALERTS} more.")
    return "\n".join(lines)


def prompt_messages(summary: DaySummary) -> list[dict[str, str]]:
    """The chat messages sent for ``summary``: the fixed instructions, then the day's facts."""
    return [{"role": "system", "content": SYSTEM_PROMPT},
            {"role": "user", "content": summary_text(summary)}]


def prompt_digest(messages: list[dict[str, str]]) -> str:
    """SHA-256 (hex) of the messages as canonical JSON: the same facts give the same digest."""
    canonical = json.dumps(messages, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def advisory_event_id(day: date, digest: str) -> uuid.UUID:
    return deterministic_id("advisory", day.isoformat(), digest)


# -- the client --------------------------------------------------------------------------------

def _utc_now() -> datetime:
    return datetime.now(UTC)


class Advisor:
    """Requests one advisory note per call from OpenRouter. ``close()`` it (or use ``with``)."""

    def __init__(
        self,
        api_key: SecretStr,
        *,
        model: str = DEFAULT_MODEL,
        base_url: str = DEFAULT_BASE_URL,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], datetime] = _utc_now,
        timeout: float = 60.0,
        max_tokens: int = 500,
        retry_wait: float = 2.0,
        max_retry_wait: float = 60.0,
    ) -> None:
        secret = api_key.get_secret_value().strip()
        if not secret:
            raise ValueError("the OpenRouter API key is empty")
        if not base_url.startswith(("http://", "https://")):
            raise ValueError("the OpenRouter base URL must be http(s)://...")
        self._secret = SecretStr(secret)
        self._http = httpx.Client(
            base_url=base_url.rstrip("/"),
            headers={"Authorization": f"Bearer {secret}", "X-Title": APP_TITLE,
                     "Accept": "application/json"},
            transport=transport,
            # A model can take tens of seconds to write; connecting should not.
            timeout=httpx.Timeout(timeout, connect=min(10.0, timeout)),
        )
        self.model = model
        self._max_tokens = max_tokens
        self._sleep = sleep
        self._clock = clock
        self._retry_wait = retry_wait
        self._max_retry_wait = max_retry_wait

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        *,
        model: str = DEFAULT_MODEL,
        base_url: str = DEFAULT_BASE_URL,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], datetime] = _utc_now,
    ) -> Advisor | None:
        """An advisor when ``MILKBOT_OPENROUTER_API_KEY`` is set (and not blank); None: it is off."""
        key = settings.openrouter_api_key
        if key is None or not key.get_secret_value().strip():
            return None
        return cls(key, model=model, base_url=base_url, transport=transport, sleep=sleep, clock=clock)

    def __repr__(self) -> str:
        return f"Advisor(model={self.model!r}, base_url={str(self._http.base_url)!r})"

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Advisor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- the one public act -------------------------------------------------------------------

    def review(self, summary: DaySummary, *, recorded_at: datetime,
               correlation_id: uuid.UUID | None = None,
               causation_id: uuid.UUID | None = None) -> AdvisoryNoteRecorded:
        """Ask for a note on ``summary`` and return the event to record (nothing is appended here).

        ``recorded_at`` is the ledger clock's now; ``correlation_id`` defaults to one derived from
        the day. Raises an :class:`AdvisoryError`.
        """
        messages = prompt_messages(summary)
        digest = prompt_digest(messages)
        body = {"model": self.model, "messages": messages, "max_tokens": self._max_tokens,
                "temperature": 0.2, "stream": False}
        answer = self._complete(body)
        event = self._event_of(answer, summary.day, digest, recorded_at=recorded_at,
                               correlation_id=correlation_id or deterministic_id("advisory", summary.day),
                               causation_id=causation_id)
        logger.info("advisory note for %s from %s (request %s, %s tokens)", summary.day.isoformat(),
                    event.model, event.provider_request_id, event.total_tokens)
        return event

    # -- HTTP ---------------------------------------------------------------------------------

    def _complete(self, body: dict[str, Any]) -> dict[str, Any]:
        for attempt in range(1, ATTEMPTS + 1):
            try:
                return self._attempt(body)
            except _Transient as t:
                if attempt == ATTEMPTS:
                    raise t.error from None
                wait = self._retry_wait if t.retry_after is None else t.retry_after
                if wait > self._max_retry_wait:
                    raise AdvisoryUnavailable(f"{t.error}; asked to wait {wait:.0f}s, longer than "
                                              f"{self._max_retry_wait:.0f}s") from None
                logger.warning("%s; retrying once in %.1fs", t.error, wait)
                self._sleep(wait)
        raise AssertionError("unreachable: the last attempt returns or raises")

    def _attempt(self, body: dict[str, Any]) -> dict[str, Any]:
        # Translated ``from None``: httpx's errors hold the request, and with it the key's header.
        try:
            response = self._http.post("/chat/completions", json=body)
        except (httpx.ConnectError, httpx.ConnectTimeout) as e:
            # Nothing was sent, so nothing was billed: worth one more try.
            raise _Transient(AdvisoryUnavailable(f"OpenRouter could not be reached: {e}")) from None
        except httpx.TimeoutException as e:
            # The model may be writing (and billing) the first answer still: do not ask twice.
            raise AdvisoryUnavailable(f"OpenRouter timed out ({type(e).__name__})") from None
        except httpx.HTTPError as e:
            raise AdvisoryUnavailable(f"OpenRouter request failed: {type(e).__name__}: "
                                      f"{self._redact(str(e))}") from None
        status = response.status_code
        if status == 429 or status >= 500:
            raise _Transient(AdvisoryUnavailable(f"OpenRouter answered {status}: "
                                                 f"{self._provider_message(response)}"),
                             self._retry_after(response))
        if status != 200:
            raise AdvisoryRefused(status, self._provider_message(response))
        try:
            answer = response.json()
        except ValueError:
            raise MalformedAdvisory(f"OpenRouter answered 200 with a body that is not JSON "
                                    f"({len(response.content)} bytes)") from None
        if not isinstance(answer, dict):
            raise MalformedAdvisory(f"OpenRouter answered a JSON {type(answer).__name__}, not an object")
        if answer.get("error") is not None:
            # An error while the model was writing arrives in a 200 (OpenRouter's errors page).
            raise AdvisoryUnavailable(f"OpenRouter reported an error: {self._error_text(answer['error'])}")
        return answer

    def _retry_after(self, response: httpx.Response) -> float | None:
        value = response.headers.get("Retry-After")
        if value is None:
            return None
        try:
            seconds = float(value)
        except ValueError:
            try:
                when = parsedate_to_datetime(value)
            except (TypeError, ValueError):
                return None  # unreadable: fall back to our own wait
            if when.tzinfo is None:
                when = when.replace(tzinfo=UTC)
            seconds = (when - self._clock()).total_seconds()
        return max(0.0, seconds) if math.isfinite(seconds) else None

    def _provider_message(self, response: httpx.Response) -> str:
        try:
            payload = response.json()
        except ValueError:
            return f"(no JSON error; {len(response.content)} bytes)"
        if isinstance(payload, dict) and "error" in payload:
            return self._error_text(payload["error"])
        return "(no error object)"

    def _error_text(self, error: object) -> str:
        if isinstance(error, dict):
            code, message = error.get("code"), error.get("message")
            text = f"{code} {message}" if code is not None else str(message)
        else:
            text = str(error)
        return self._redact(_one_line(text, 300))

    def _redact(self, text: str) -> str:
        # OpenRouter has no reason to echo the key; a proxy in between might. Never pass it on.
        return text.replace(self._secret.get_secret_value(), _REDACTED)

    # -- the answer ---------------------------------------------------------------------------

    def _event_of(self, answer: dict[str, Any], day: date, digest: str, *, recorded_at: datetime,
                  correlation_id: uuid.UUID, causation_id: uuid.UUID | None) -> AdvisoryNoteRecorded:
        request_id, model = answer.get("id"), answer.get("model")
        if not isinstance(request_id, str) or not request_id:
            raise MalformedAdvisory("OpenRouter's answer has no request id")
        if not isinstance(model, str) or not model:
            raise MalformedAdvisory(f"OpenRouter's answer {request_id} names no model")
        choices = answer.get("choices")
        if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
            raise MalformedAdvisory(f"OpenRouter's answer {request_id} has no choices")
        choice = choices[0]
        if choice.get("error") is not None or choice.get("finish_reason") == "error":
            raise AdvisoryUnavailable(f"the model failed while writing {request_id}: "
                                      f"{self._error_text(choice.get('error'))}")
        message = choice.get("message")
        content = message.get("content") if isinstance(message, dict) else None
        if not isinstance(content, str) or not content.strip():
            raise MalformedAdvisory(f"OpenRouter's answer {request_id} holds no note")
        note = self._redact(content.strip())
        if len(note) > NOTE_MAX_CHARS:
            logger.info("advisory note %s cut from %d to %d characters", request_id, len(note),
                        NOTE_MAX_CHARS)
            note = note[: NOTE_MAX_CHARS - 1] + "…"
        usage = answer.get("usage")
        if usage is not None and not isinstance(usage, dict):
            raise MalformedAdvisory(f"OpenRouter's answer {request_id} has a usage that is not an object")
        tokens = {name: (usage or {}).get(name)
                  for name in ("prompt_tokens", "completion_tokens", "total_tokens")}
        try:
            return AdvisoryNoteRecorded(
                event_id=advisory_event_id(day, digest), stream=advisory_stream(day), version=1,
                recorded_at=recorded_at, venue_time=_created_at(answer.get("created")),
                correlation_id=correlation_id, causation_id=causation_id,
                day=day, model=model, provider_request_id=request_id, prompt_digest=digest, note=note,
                **tokens)
        except ValidationError as e:
            problems = "; ".join(f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}"
                                 for err in e.errors(include_input=False, include_url=False))
            raise MalformedAdvisory(f"OpenRouter's answer {request_id[:200]} cannot be recorded: "
                                    f"{problems}") from None


def _created_at(created: object) -> datetime | None:
    """OpenRouter's ``created`` (Unix seconds) as an aware time; None when absent or absurd."""
    if isinstance(created, bool) or not isinstance(created, int | float):
        return None
    try:
        return datetime.fromtimestamp(created, UTC)
    except (OverflowError, OSError, ValueError):
        return None
