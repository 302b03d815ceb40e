"""Structured JSON logs: one object per line with the record's fields, and secrets redacted."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from datetime import datetime
from decimal import Decimal
from typing import Any

import orjson
import pytest

from milkbot.logs import REDACTED, JsonFormatter, RedactingFilter, configure_logging, redact, redact_text
from tests.builders import a_kill_switch

PEM = ("-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\nBKcwggSjAgEAAoIBAQC7\n"
       "-----END PRIVATE KEY-----")


def a_record(msg: str = "hello %s", *args: object, level: int = logging.INFO, name: str = "milkbot.test",
             exc_info: Any = None, **extra: Any) -> logging.LogRecord:
    record = logging.LogRecord(name, level, __file__, 1, msg, args or None, exc_info)
    for key, value in extra.items():
        setattr(record, key, value)
    return record


def formatted(record: logging.LogRecord, *, redacted: bool = True) -> dict[str, Any]:
    if redacted:
        assert RedactingFilter().filter(record)
    line = JsonFormatter().format(record)
    assert "\n" not in line
    parsed: dict[str, Any] = orjson.loads(line)
    return parsed


# -- the formatter ----------------------------------------------------------------------------------

def test_a_line_has_ts_with_offset_level_logger_message_and_extras() -> None:
    record = a_record("filled %d of %s", 3, "KXHIGHNY", level=logging.WARNING, city="NYC", count=3,
                      price=Decimal("0.43"), nested={"a": [1, 2]})

    line = formatted(record, redacted=False)

    assert line["message"] == "filled 3 of KXHIGHNY"
    assert line["level"] == "WARNING"
    assert line["logger"] == "milkbot.test"
    ts = datetime.fromisoformat(line["ts"])
    assert ts.utcoffset() is not None
    assert ts.timestamp() == pytest.approx(record.created, abs=0.001)
    assert (line["city"], line["count"], line["price"], line["nested"]) == ("NYC", 3, "0.43", {"a": [1, 2]})
    assert not {"args", "msg", "levelno", "pathname", "exc"} & line.keys()


def test_an_extra_named_like_a_core_key_is_kept_beside_it() -> None:
    record = a_record("m", level=logging.ERROR)
    record.level = "mine"

    line = formatted(record, redacted=False)

    assert line["level"] == "ERROR"
    assert line["extra.level"] == "mine"


def test_an_exception_is_one_field_of_the_same_line() -> None:
    try:
        raise RuntimeError("it broke")
    except RuntimeError:
        import sys
        record = a_record("cycle failed", exc_info=sys.exc_info())

    line = formatted(record, redacted=False)

    assert line["message"] == "cycle failed"
    assert "RuntimeError: it broke" in line["exc"]
    assert "Traceback" in line["exc"]


def test_events_sets_and_decimals_are_written_as_json() -> None:
    event = a_kill_switch()

    line = formatted(a_record("m", event=event, tags={"b", "a"}, price=Decimal("0.43")), redacted=False)

    assert line["event"]["operator"] == "ops"
    assert line["event"]["event_id"] == str(event.event_id)
    assert line["tags"] == ["a", "b"]
    assert line["price"] == "0.43"


def test_a_value_json_cannot_hold_still_gives_a_line() -> None:
    # orjson refuses an int past 64 bits; the line still comes out, every field as text.
    line = formatted(a_record("m", big=2**70, city="NYC"), redacted=False)

    assert line["big"] == str(2**70)
    assert (line["message"], line["city"]) == ("m", "NYC")


# -- redaction --------------------------------------------------------------------------------------

@pytest.mark.parametrize("field", ["api_key", "kalshi_key_id", "operator_token", "client_secret",
                                   "KALSHI-ACCESS-SIGNATURE", "db_password", "Authorization"])
def test_a_field_named_like_a_secret_is_redacted_whatever_its_value(field: str) -> None:
    line = formatted(a_record("m", **{field: "plain-looking-value", "ticker": "KXHIGHNY"}))

    assert line[field] == REDACTED
    assert line["ticker"] == "KXHIGHNY"
    assert "plain-looking-value" not in orjson.dumps(line).decode()


def test_secret_fields_are_redacted_at_any_depth() -> None:
    headers = {"KALSHI-ACCESS-KEY": "key-id-1", "KALSHI-ACCESS-SIGNATURE": "c2lnbmVk",
               "Accept": "application/json"}

    line = formatted(a_record("m", request={"headers": headers, "items": [{"token": "t0k"}]}))

    assert line["request"]["headers"] == {"KALSHI-ACCESS-KEY": REDACTED, "KALSHI-ACCESS-SIGNATURE": REDACTED,
                                          "Accept": "application/json"}
    assert line["request"]["items"] == [{"token": REDACTED}]


def test_a_pem_block_in_the_message_or_a_field_is_removed() -> None:
    line = formatted(a_record("loaded %s from disk", PEM, note=f"key was {PEM} ok"))

    assert "MIIEvQIBADANBgkqhkiG9w0BAQEFAASC" not in orjson.dumps(line).decode()
    assert line["message"].startswith("loaded ") and line["message"].endswith(" from disk")
    assert line["note"].endswith(" ok")


def test_a_pem_block_cut_off_before_its_end_is_removed_to_the_end() -> None:
    text = redact_text("oops -----BEGIN RSA PRIVATE KEY-----\nMIIEow_truncated")

    assert "MIIEow" not in text
    assert text.startswith("oops ")


@pytest.mark.parametrize(("text", "secret"), [
    ("Authorization: Bearer eyJhbGciOi.J9.abc-_+/=", "eyJhbGciOi"),
    ("sent bearer s3cr3t-token to the api", "s3cr3t-token"),
    ("GET https://hooks.example/post?token=abc123&city=NYC", "abc123"),
    ("MILKBOT_OPERATOR_TOKEN='hunter2' was read", "hunter2"),
    ("headers {'KALSHI-ACCESS-SIGNATURE': 'c2lnbmVk', 'Accept': 'json'}", "c2lnbmVk"),
    ('{"api_key": "k-123", "city": "NYC"}', "k-123"),
])
def test_credentials_in_text_are_removed(text: str, secret: str) -> None:
    cleaned = redact_text(text)

    assert secret not in cleaned
    assert REDACTED in cleaned


def test_our_own_fields_that_only_sound_secret_are_kept() -> None:
    line = formatted(a_record("m", scope_key="daily:2026-08-28", total_tokens=812, monkey_key="x"))

    assert (line["scope_key"], line["total_tokens"]) == ("daily:2026-08-28", 812)
    assert line["monkey_key"] == REDACTED


def test_text_without_secrets_is_left_alone() -> None:
    text = "NYC high 84F; bought 3 YES at 43c on KXHIGHNY-26AUG28-B83.5 (edge 0.07)"

    assert redact_text(text) == text
    assert redact({"city": "NYC", "count": 3, "ok": None}) == {"city": "NYC", "count": 3, "ok": None}


def test_a_secret_in_a_traceback_is_removed() -> None:
    try:
        raise ValueError("refused: Bearer abc.def.ghi")
    except ValueError:
        import sys
        record = a_record("request failed", exc_info=sys.exc_info())

    line = formatted(record)

    assert "abc.def.ghi" not in line["exc"]
    assert "ValueError: refused: Bearer " + REDACTED in line["exc"]


def test_arguments_that_do_not_fit_the_message_are_dropped_not_echoed() -> None:
    record = a_record("one placeholder %s", "a", "password=hunter2")

    line = formatted(record)

    assert "hunter2" not in orjson.dumps(line).decode()
    assert line["message"].startswith("one placeholder %s")


# -- configure_logging ------------------------------------------------------------------------------

@pytest.fixture
def restored_root() -> Iterator[logging.Logger]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    levels = {name: logging.getLogger(name).level for name in ("httpx", "httpcore")}
    try:
        yield root
    finally:
        for handler in [h for h in root.handlers if h not in handlers]:
            root.removeHandler(handler)
        root.setLevel(level)
        for name, old in levels.items():
            logging.getLogger(name).setLevel(old)


def test_configure_logging_writes_redacted_json_lines(restored_root: logging.Logger) -> None:
    out = io.StringIO()
    configure_logging("DEBUG", stream=out)

    logging.getLogger("milkbot.anything").info("connected with %s", "Bearer s3cr3t", extra={"token": "t"})
    logging.getLogger("milkbot.anything").debug("second")

    lines = [orjson.loads(line) for line in out.getvalue().splitlines()]
    assert [line["message"] for line in lines] == [f"connected with Bearer {REDACTED}", "second"]
    assert lines[0]["token"] == REDACTED
    assert "s3cr3t" not in out.getvalue()


def test_configure_logging_again_replaces_its_own_handler_only(restored_root: logging.Logger) -> None:
    other = logging.NullHandler()
    restored_root.addHandler(other)
    first, second = io.StringIO(), io.StringIO()

    configure_logging("INFO", stream=first)
    configure_logging("WARNING", stream=second, json=False)
    logging.getLogger("milkbot.anything").warning("token=abc only once")

    assert first.getvalue() == ""
    assert second.getvalue().rstrip().endswith(f"milkbot.anything: token={REDACTED} only once")
    assert other in restored_root.handlers
    assert restored_root.level == logging.WARNING


def test_configure_logging_holds_httpx_request_lines_back(restored_root: logging.Logger) -> None:
    out = io.StringIO()
    configure_logging("DEBUG", stream=out)

    logging.getLogger("httpx").info("HTTP Request: GET https://example/ 200")

    assert out.getvalue() == ""
