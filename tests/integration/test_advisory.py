"""The advisory note against a local fake of OpenRouter's chat completions API over real loopback.

The fake checks what OpenRouter's docs require of a request (``POST /api/v1/chat/completions``,
``Authorization: Bearer <key>``, a JSON body with ``model`` and ``messages`` of ``role``/``content``)
and answers as they describe (``id``, ``model``, ``created``, ``choices[0].message.content``,
``usage``; errors as ``{"error": {"code", "message"}}``), or with what a test scripts: a 500, a 429
with ``Retry-After``, garbage.
"""

from __future__ import annotations

import hashlib
import json
import logging
import traceback
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from domain.events.advisory import NOTE_MAX_CHARS, AdvisoryNoteRecorded, advisory_stream
from eventstore.codec import encode
from eventstore.ledger import open_ledger
from milkbot.advisory import (
    SYSTEM_PROMPT,
    Advisor,
    AdvisoryError,
    AdvisoryRefused,
    AdvisoryUnavailable,
    DaySummary,
    MalformedAdvisory,
    prompt_digest,
    prompt_messages,
)
from milkbot.settings import Settings, load_settings
from tests import servers

KEY = "sk-or-v1-test-0123456789abcdef-very-secret"
DAY = date(2026, 8, 28)
NOW = datetime(2026, 8, 29, 9, 0, tzinfo=UTC)
CREATED = 1_788_000_000
ROUTED_MODEL = "openai/gpt-4o-mini-2024-07-18"

#: Request keys this client may send; all of them are documented chat-completions parameters.
DOCUMENTED_KEYS = {"model", "messages", "max_tokens", "temperature", "stream"}


def a_summary(**overrides: Any) -> DaySummary:
    fields: dict[str, Any] = {
        "day": DAY, "decisions": 240, "trades": 17, "pnl_cents": -1234, "fees_cents": 56,
        "alerts": ("NWS feed stale for DEN for 42 minutes",), "brier": 0.1834, "log_loss": 0.6021,
        "market_brier": 0.1901,
    }
    return DaySummary(**{**fields, **overrides})


# -- the fake --------------------------------------------------------------------------------------

@dataclass
class FakeOpenRouter:
    """Answers each request with the next scripted reply (``ok`` once the script is spent)."""

    script: list[Any] = field(default_factory=list)
    requests: list[dict[str, Any]] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)

    def app(self) -> Starlette:
        return Starlette(routes=[Route("/api/v1/chat/completions", self.complete, methods=["POST"])])

    async def complete(self, request: Request) -> Response:
        self.headers.append(dict(request.headers))
        if request.headers.get("authorization") != f"Bearer {KEY}":
            return _error(401, "No auth credentials found")
        if not request.headers.get("content-type", "").startswith("application/json"):
            return _error(400, "expected a JSON body")
        try:
            body = json.loads(await request.body())
        except ValueError:
            return _error(400, "the body is not JSON")
        problem = _shape_problem(body)
        if problem:
            return _error(400, problem)
        self.requests.append(body)
        reply = self.script.pop(0) if self.script else "ok"
        answer: Response = reply(body) if callable(reply) else _REPLIES[reply](body, len(self.requests))
        return answer


def _shape_problem(body: Any) -> str | None:
    if not isinstance(body, dict):
        return "the body is not an object"
    if set(body) - DOCUMENTED_KEYS:
        return f"unexpected keys {sorted(set(body) - DOCUMENTED_KEYS)}"
    if not isinstance(body.get("model"), str) or not body["model"]:
        return "model must be a string"
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        return "messages must be a non-empty list"
    for message in messages:
        if (not isinstance(message, dict) or set(message) != {"role", "content"}
                or message["role"] not in ("system", "user", "assistant")
                or not isinstance(message["content"], str)):
            return "each message is {role, content}"
    max_tokens = body.get("max_tokens")
    if max_tokens is not None and (not isinstance(max_tokens, int) or max_tokens < 1):
        return "max_tokens must be a positive integer"
    temperature = body.get("temperature")
    if temperature is not None and not 0 <= temperature <= 2:
        return "temperature is in [0, 2]"
    if body.get("stream") not in (None, False):
        return "this fake does not stream"
    return None


def _error(status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": {"code": status, "message": message}}, status_code=status,
                        headers=headers)


def completion(request_id: str, content: Any, **extra: Any) -> dict[str, Any]:
    return {
        "id": request_id, "model": ROUTED_MODEL, "object": "chat.completion", "created": CREATED,
        "choices": [{"index": 0, "finish_reason": "stop", "native_finish_reason": "stop",
                     "message": {"role": "assistant", "content": content}}],
        "usage": {"prompt_tokens": 180, "completion_tokens": 64, "total_tokens": 244},
        **extra,
    }


def note_text(n: int) -> str:
    return f"Note {n}: a quiet day; check Denver's feed, stale for 42 minutes."


_REPLIES: dict[str, Any] = {
    "ok": lambda body, n: JSONResponse(completion(f"gen-{n}", note_text(n))),
    "500": lambda body, n: _error(500, "Internal Server Error"),
    "502": lambda body, n: _error(502, "the model is down"),
    "429": lambda body, n: _error(429, "Rate limit exceeded", {"Retry-After": "7"}),
    "429-long": lambda body, n: _error(429, "Rate limit exceeded", {"Retry-After": "3600"}),
    "402": lambda body, n: _error(402, "Insufficient credits"),
    "garbage": lambda body, n: PlainTextResponse("<html>upstream hiccup</html>"),
    "a-list": lambda body, n: JSONResponse([1, 2, 3]),
    "no-choices": lambda body, n: JSONResponse({**completion(f"gen-{n}", "x"), "choices": []}),
    "no-id": lambda body, n: JSONResponse({k: v for k, v in completion("", "x").items() if k != "id"}),
    "empty-note": lambda body, n: JSONResponse(completion(f"gen-{n}", "   ")),
    "null-note": lambda body, n: JSONResponse(completion(f"gen-{n}", None)),
    "bad-usage": lambda body, n: JSONResponse({**completion(f"gen-{n}", "x"),
                                              "usage": {"total_tokens": "many"}}),
    "error-in-200": lambda body, n: JSONResponse({"error": {"code": 502, "message": "provider died"}}),
    "echo-key": lambda body, n: _error(400, f"bad request from key {KEY}"),
    "long-note": lambda body, n: JSONResponse(completion(f"gen-{n}", "word " * NOTE_MAX_CHARS)),
}


@pytest.fixture
def fake() -> FakeOpenRouter:
    return FakeOpenRouter()


@pytest.fixture
def base_url(fake: FakeOpenRouter) -> Iterator[str]:
    with servers.serving(fake.app(), name="fake-openrouter") as url:
        yield f"{url}/api/v1"


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def advisor(base_url: str, sleeps: list[float]) -> Iterator[Advisor]:
    made = Advisor.from_settings(Settings(openrouter_api_key=SecretStr(KEY)), base_url=base_url,
                                 sleep=sleeps.append, clock=lambda: NOW)
    assert made is not None
    with made:
        yield made


# -- a note --------------------------------------------------------------------------------------

def test_a_note_is_requested_as_documented_and_returned_as_an_event(
        advisor: Advisor, fake: FakeOpenRouter) -> None:
    event = advisor.review(a_summary(), recorded_at=NOW)

    [sent] = fake.requests
    assert sent["messages"] == prompt_messages(a_summary())
    assert sent["messages"][0] == {"role": "system", "content": SYSTEM_PROMPT}
    assert sent["model"] == advisor.model and sent["stream"] is False
    assert fake.headers[0]["authorization"] == f"Bearer {KEY}"
    assert fake.headers[0]["x-title"] == "Milkbot"

    assert isinstance(event, AdvisoryNoteRecorded)
    digest = hashlib.sha256(json.dumps(sent["messages"], sort_keys=True, separators=(",", ":"),
                                       ensure_ascii=False).encode()).hexdigest()
    assert event.prompt_digest == digest == prompt_digest(sent["messages"])
    assert (event.day, event.stream, event.version) == (DAY, "advisory:2026-08-28", 1)
    assert event.model == ROUTED_MODEL  # what answered, not what was asked for
    assert event.provider_request_id == "gen-1"
    assert event.note == note_text(1)
    assert (event.prompt_tokens, event.completion_tokens, event.total_tokens) == (180, 64, 244)
    assert event.recorded_at == NOW
    assert event.venue_time == datetime.fromtimestamp(CREATED, UTC)


def test_the_user_message_states_the_days_facts_in_plain_words(
        advisor: Advisor, fake: FakeOpenRouter) -> None:
    advisor.review(a_summary(), recorded_at=NOW)
    facts = fake.requests[0]["messages"][1]["content"]
    for expected in ("2026-08-28", "Decisions made: 240", "Trades (fills): 17", "-$12.34", "$0.56",
                     "Brier 0.1834", "log loss 0.6021", "Brier 0.1901", "NWS feed stale for DEN"):
        assert expected in facts


def test_a_rerun_the_same_day_records_nothing_twice(advisor: Advisor, tmp_path: Path) -> None:
    first = advisor.review(a_summary(), recorded_at=NOW)
    again = advisor.review(a_summary(), recorded_at=NOW + timedelta(hours=1))
    assert again.event_id == first.event_id and again.note != first.note  # the model spoke anew

    ledger = open_ledger(f"sqlite:///{tmp_path / 'ledger.sqlite'}")
    try:
        assert ledger.store.append([first]).positions
        assert ledger.store.append([again]).already_recorded
        assert ledger.store.read_stream(advisory_stream(DAY)) == [first]
    finally:
        ledger.close()


def test_other_facts_or_another_day_give_another_id(advisor: Advisor) -> None:
    one = advisor.review(a_summary(), recorded_at=NOW)
    assert advisor.review(a_summary(trades=18), recorded_at=NOW).event_id != one.event_id
    other_day = advisor.review(a_summary(day=DAY + timedelta(days=1)), recorded_at=NOW)
    assert other_day.event_id != one.event_id and other_day.stream == "advisory:2026-08-29"


def test_a_long_note_is_cut_to_the_bound(advisor: Advisor, fake: FakeOpenRouter) -> None:
    fake.script = ["long-note"]
    event = advisor.review(a_summary(), recorded_at=NOW)
    assert len(event.note) == NOTE_MAX_CHARS and event.note.endswith("…")


# -- retries -------------------------------------------------------------------------------------

@pytest.mark.parametrize("failure", ["500", "502"])
def test_a_5xx_is_retried_once(advisor: Advisor, fake: FakeOpenRouter, sleeps: list[float],
                               failure: str) -> None:
    fake.script = [failure]
    event = advisor.review(a_summary(), recorded_at=NOW)
    assert len(fake.requests) == 2 and event.provider_request_id == "gen-2"
    assert sleeps == [2.0]


def test_a_429_waits_as_long_as_retry_after_says(advisor: Advisor, fake: FakeOpenRouter,
                                                 sleeps: list[float]) -> None:
    fake.script = ["429"]
    advisor.review(a_summary(), recorded_at=NOW)
    assert len(fake.requests) == 2
    assert sleeps == [7.0]


def test_retry_after_as_an_http_date(advisor: Advisor, fake: FakeOpenRouter, sleeps: list[float]) -> None:
    later = format_datetime(NOW + timedelta(seconds=30), usegmt=True)
    fake.script = [lambda body: _error(429, "slow down", {"Retry-After": later})]
    advisor.review(a_summary(), recorded_at=NOW)
    assert sleeps == [30.0]


def test_two_failures_are_a_typed_error_and_no_third_request(
        advisor: Advisor, fake: FakeOpenRouter, sleeps: list[float]) -> None:
    fake.script = ["500", "429"]
    with pytest.raises(AdvisoryUnavailable, match="429"):
        advisor.review(a_summary(), recorded_at=NOW)
    assert len(fake.requests) == 2 and len(sleeps) == 1


def test_a_wait_longer_than_we_will_is_not_waited(advisor: Advisor, fake: FakeOpenRouter,
                                                  sleeps: list[float]) -> None:
    fake.script = ["429-long"]
    with pytest.raises(AdvisoryUnavailable, match="3600s"):
        advisor.review(a_summary(), recorded_at=NOW)
    assert len(fake.requests) == 1 and sleeps == []


def test_an_unreachable_openrouter_is_tried_twice_then_unavailable(sleeps: list[float]) -> None:
    port = servers.free_port()  # nothing listens there
    with Advisor(SecretStr(KEY), base_url=f"http://127.0.0.1:{port}/api/v1", sleep=sleeps.append,
                 timeout=5.0) as advisor, pytest.raises(AdvisoryUnavailable, match="could not be reached"):
        advisor.review(a_summary(), recorded_at=NOW)
    assert sleeps == [2.0]


# -- refusals and malformed answers: typed, and never retried ------------------------------------

@pytest.mark.parametrize(("reply", "error", "match"), [
    ("garbage", MalformedAdvisory, "not JSON"),
    ("a-list", MalformedAdvisory, "JSON list"),
    ("no-choices", MalformedAdvisory, "no choices"),
    ("no-id", MalformedAdvisory, "no request id"),
    ("empty-note", MalformedAdvisory, "no note"),
    ("null-note", MalformedAdvisory, "no note"),
    ("bad-usage", MalformedAdvisory, "total_tokens"),
    ("error-in-200", AdvisoryUnavailable, "provider died"),
    ("402", AdvisoryRefused, "Insufficient credits"),
])
def test_an_unusable_answer_is_a_typed_error(advisor: Advisor, fake: FakeOpenRouter, sleeps: list[float],
                                             reply: str, error: type[AdvisoryError], match: str) -> None:
    fake.script = [reply]
    with pytest.raises(error, match=match):
        advisor.review(a_summary(), recorded_at=NOW)
    assert len(fake.requests) == 1 and sleeps == []


def test_a_wrong_key_is_refused_with_its_status(base_url: str, fake: FakeOpenRouter) -> None:
    with Advisor(SecretStr("sk-or-v1-wrong"), base_url=base_url) as advisor, \
            pytest.raises(AdvisoryRefused) as raised:
        advisor.review(a_summary(), recorded_at=NOW)
    assert raised.value.status == 401 and fake.requests == []


# -- the key stays secret ------------------------------------------------------------------------

def test_the_key_reaches_no_log_no_error_and_no_event(
        advisor: Advisor, fake: FakeOpenRouter, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)  # httpx and httpcore included
    fake.script = ["429", "ok", "500", "500", "echo-key", "garbage", "no-choices", "error-in-200"]
    event = advisor.review(a_summary(), recorded_at=NOW)
    errors: list[AdvisoryError] = []
    for _ in range(5):
        with pytest.raises(AdvisoryError) as raised:
            advisor.review(a_summary(), recorded_at=NOW)
        errors.append(raised.value)

    assert caplog.records, "the advisor logs its retries and notes"
    assert KEY not in caplog.text
    for error in errors:
        shown = "".join(traceback.format_exception(error))
        assert KEY not in str(error) and KEY not in repr(error) and KEY not in shown
    assert "[redacted]" in str(errors[1])  # the provider echoed it; we did not pass it on
    assert KEY.encode() not in encode(event) and KEY not in event.model_dump_json()
    assert KEY not in repr(advisor)


# -- off without the key -------------------------------------------------------------------------

@pytest.mark.parametrize("key", [None, SecretStr(""), SecretStr("   ")])
def test_without_a_key_the_advisor_is_off(key: SecretStr | None) -> None:
    assert Advisor.from_settings(Settings(openrouter_api_key=key)) is None


def test_the_key_is_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MILKBOT_OPENROUTER_API_KEY", raising=False)
    assert Advisor.from_settings(load_settings()) is None
    monkeypatch.setenv("MILKBOT_OPENROUTER_API_KEY", KEY)
    settings = load_settings()
    assert KEY not in repr(settings)
    advisor = Advisor.from_settings(settings)
    assert advisor is not None
    advisor.close()


# -- the summary ---------------------------------------------------------------------------------

def test_the_prompt_is_a_pure_function_of_the_summary() -> None:
    assert prompt_messages(a_summary()) == prompt_messages(a_summary())
    assert prompt_digest(prompt_messages(a_summary())) != prompt_digest(prompt_messages(a_summary(
        alerts=())))


def test_many_alerts_are_bounded_in_the_prompt() -> None:
    alerts = tuple(f"alert {i} " + "x" * 500 for i in range(50))
    text = prompt_messages(a_summary(alerts=alerts))[1]["content"]
    assert "(50)" in text and "...and 30 more." in text and "alert 20 " not in text
    assert max(len(line) for line in text.splitlines()) < 300


def test_a_quiet_day_says_so() -> None:
    text = prompt_messages(a_summary(alerts=(), brier=None, log_loss=None, market_brier=None,
                                     pnl_cents=0))[1]["content"]
    assert "Alerts raised: none." in text and "no settled forecasts" in text and "$0.00" in text


@pytest.mark.parametrize("bad", [
    {"pnl_cents": 12.5}, {"trades": True}, {"decisions": -1}, {"brier": float("nan")},
    {"log_loss": -0.1}, {"alerts": "one alert"},
])
def test_a_summary_refuses_what_the_ledger_cannot_have_said(bad: dict[str, Any]) -> None:
    with pytest.raises((TypeError, ValueError)):
        a_summary(**bad)


def test_the_correlation_id_defaults_to_the_day(advisor: Advisor) -> None:
    given = uuid.uuid4()
    assert advisor.review(a_summary(), recorded_at=NOW, correlation_id=given).correlation_id == given
    assert advisor.review(a_summary(), recorded_at=NOW).correlation_id == \
        advisor.review(a_summary(), recorded_at=NOW + timedelta(hours=2)).correlation_id
