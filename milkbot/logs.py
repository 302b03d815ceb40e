"""Structured JSON logs for the long-running processes, with secrets taken out on the way.

``configure_logging(level)`` installs one handler on the root logger that writes one JSON object per
line (``ts`` ISO 8601 with offset, ``level``, ``logger``, ``message``, then any ``extra`` fields, then
``exc``/``stack`` when present) and runs every record through ``RedactingFilter`` first:

- the value of any field whose name contains key, token, secret, signature, password or authorization
  becomes ``[REDACTED]`` (at any depth of a dict);
- in text (the message, string fields, tracebacks), PEM blocks, ``Bearer ...`` credentials and
  ``name=value`` / ``"name": "value"`` pairs with such a name lose their secret part.

Redaction is a safety net, not a licence: code still never logs a secret on purpose (STYLE.md rule 11).
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import IO, Any

import orjson

REDACTED = "[REDACTED]"

_SECRET_WORDS = "key|token|secret|signature|password|authorization"
_SECRET_FIELD = re.compile(_SECRET_WORDS, re.IGNORECASE)
#: Fields of ours whose names contain one of those words but whose values are not secrets (a risk
#: limit's scope, an LLM's token counts). Exact names only: anything else so named is redacted.
NOT_SECRET_FIELDS = frozenset({"scope_key", "conflict_key", "max_tokens", "prompt_tokens",
                               "completion_tokens", "total_tokens"})
# A whole PEM block; one cut off before its END line (a truncated message) is redacted to the end.
_PEM = re.compile(r"-----BEGIN [A-Z0-9 ]+-----.*?(?:-----END [A-Z0-9 ]+-----|\Z)", re.DOTALL)
_BEARER = re.compile(r"\b(bearer)\s+[A-Za-z0-9\-._~+/]+=*", re.IGNORECASE)
# token=abc (a query string, a key=value log line); stops at whitespace, &, quotes, comma, semicolon.
_ASSIGNED = re.compile(rf"\b([\w.-]*(?:{_SECRET_WORDS})[\w.-]*)=([\"']?)[^\s&\"',;]+", re.IGNORECASE)
# "token": "abc" or 'token': 'abc' (a dict or JSON rendered into text).
_QUOTED = re.compile(rf"""(["'])([\w.-]*(?:{_SECRET_WORDS})[\w.-]*)\1(\s*:\s*)(["'])(.*?)\4""",
                     re.IGNORECASE)

#: The attributes every LogRecord has; anything else on a record came from ``extra``.
_STANDARD_ATTRIBUTES = frozenset(vars(logging.makeLogRecord({}))) | {"message", "asctime", "taskName"}
_CORE_KEYS = ("ts", "level", "logger", "message", "exc", "stack")
_INSTALLED = "_milkbot_handler"


def is_secret_field(name: str) -> bool:
    """Whether a field of this name holds a secret, whatever its value looks like."""
    return name not in NOT_SECRET_FIELDS and _SECRET_FIELD.search(name) is not None


def redact_text(text: str) -> str:
    """``text`` without PEM blocks, bearer credentials or secret-named ``name=value`` pairs."""
    text = _PEM.sub(f"-----{REDACTED} PEM-----", text)
    text = _BEARER.sub(rf"\1 {REDACTED}", text)
    text = _ASSIGNED.sub(rf"\1=\2{REDACTED}", text)
    return _QUOTED.sub(rf"\1\2\1\3\4{REDACTED}\4", text)


def redact(value: Any) -> Any:
    """A copy of ``value`` with secret-named fields (at any depth) and secrets in text redacted."""
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, Mapping):
        return {key: REDACTED if isinstance(key, str) and is_secret_field(key) and item is not None
                else redact(item) for key, item in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [redact(item) for item in value]
    return value


def extra_fields(record: logging.LogRecord) -> dict[str, Any]:
    """The fields a record was given through ``extra``."""
    return {k: v for k, v in vars(record).items() if k not in _STANDARD_ATTRIBUTES}


class RedactingFilter(logging.Filter):
    """Redacts a record in place (message, ``extra`` fields, traceback) and lets it through.

    Install it on a handler, not a logger: a logger's filters see only the records logged on that
    logger itself, a handler's see everything that reaches it."""

    _tracebacks = logging.Formatter()

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:
            # Arguments that do not fit the format. Logging would report them with their values on
            # stderr, unredacted: keep the format string and drop the arguments instead.
            message = f"{record.msg} [log arguments did not fit the message]"
        record.msg = redact_text(message)
        record.args = None
        for name, value in extra_fields(record).items():
            setattr(record, name, REDACTED if is_secret_field(name) and value is not None
                    else redact(value))
        if record.exc_info and not record.exc_text:
            record.exc_text = self._tracebacks.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact_text(record.exc_text)
        if record.stack_info:
            record.stack_info = redact_text(record.stack_info)
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ts, level, logger, message, the ``extra`` fields, exc, stack."""

    def format(self, record: logging.LogRecord) -> str:
        payload: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name, value in extra_fields(record).items():
            # An extra that shares a core key's name is kept, beside it rather than over it.
            payload[f"extra.{name}" if name in _CORE_KEYS else name] = value
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            payload["exc"] = record.exc_text
        if record.stack_info:
            payload["stack"] = self.formatStack(record.stack_info)
        try:
            return orjson.dumps(payload, default=_json_fallback, option=orjson.OPT_NON_STR_KEYS).decode()
        except (TypeError, orjson.JSONEncodeError):
            # Something orjson will not take (an int past 64 bits, a cycle): a log line must still
            # come out, so every field becomes its text.
            flat = {k: v if isinstance(v, str) else redact_text(repr(v)) for k, v in payload.items()}
            return orjson.dumps(flat).decode()


def _json_fallback(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, set | frozenset):
        return sorted(value, key=str)
    dump = getattr(value, "model_dump", None)  # a pydantic model (an event, a record)
    if callable(dump):
        return redact(dump(mode="json"))
    return redact_text(str(value))


def configure_logging(level: int | str = "INFO", *, json: bool = True,
                      stream: IO[str] | None = None) -> logging.Handler:
    """Send every log record to ``stream`` (stderr by default), redacted, as JSON lines (or as plain
    text with ``json=False``, for a terminal). Calling it again replaces the handler it installed
    before and touches no other handler. Returns the handler.

    httpx and httpcore log every request at INFO/DEBUG; for a process that polls all day that is noise,
    so they are held at WARNING unless ``level`` is higher."""
    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, _INSTALLED, False)]:
        root.removeHandler(old)
        old.close()
    handler = logging.StreamHandler(stream if stream is not None else sys.stderr)
    handler.setFormatter(JsonFormatter() if json
                         else logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactingFilter())
    setattr(handler, _INSTALLED, True)
    root.addHandler(handler)
    root.setLevel(level)
    quiet = max(logging.WARNING, root.level)
    for chatty in ("httpx", "httpcore"):
        logging.getLogger(chatty).setLevel(quiet)
    return handler
