"""Shared readers for Kalshi JSON: objects, text, flags, integers, fixed-point amounts and times.

Every ``*_dollars`` / ``*_fp`` string is read exactly into the domain's integers (``domain.money``):
prices to 1/10,000 dollar, counts to 1/100 contract, money to micros. A value finer than its unit, a
value too long or too large to scale exactly, a missing required field or a value of the wrong JSON
type raises :class:`MalformedResponse` naming the field and where it was; nothing is guessed or
rounded.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from datetime import datetime
from decimal import Decimal, DecimalException, Inexact, InvalidOperation, localcontext
from typing import Any, TypeVar

from adapters.kalshi.errors import MalformedResponse
from domain.money import BadFixedPoint, count_from_fp, money_from_dollars, price_from_dollars

T = TypeVar("T")
_MISSING = object()


def parse_json(body: bytes, where: str) -> Any:
    """The JSON document in ``body``; floats become ``Decimal`` so strikes stay exact."""
    try:
        return json.loads(body, parse_float=Decimal)
    # InvalidOperation: a number whose exponent no Decimal can hold (``1e99999999999999999999``).
    except (ValueError, UnicodeDecodeError, RecursionError, InvalidOperation) as e:
        raise MalformedResponse(f"{where}: the answer is not JSON ({type(e).__name__})") from None


def obj(value: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(value, dict):
        raise MalformedResponse(f"{where} is not a JSON object")
    return value


def _get(o: Mapping[str, Any], key: str, where: str, required: bool) -> Any:
    value = o.get(key, _MISSING)
    if value is _MISSING or value is None:
        if required:
            raise MalformedResponse(f"{where} lacks the required field {key!r}")
        return None
    return value


def _typed(value: Any, kind: type[T], key: str, where: str, what: str) -> T:
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
        raise MalformedResponse(f"{where}.{key} is not {what}")
    return value


def req_obj(o: Mapping[str, Any], key: str, where: str) -> Mapping[str, Any]:
    return obj(_get(o, key, where, True), f"{where}.{key}")


def req_list(o: Mapping[str, Any], key: str, where: str) -> list[Any]:
    return _typed(_get(o, key, where, True), list, key, where, "a list")


def opt_list(o: Mapping[str, Any], key: str, where: str) -> list[Any]:
    value = _get(o, key, where, False)
    return [] if value is None else _typed(value, list, key, where, "a list")


def req_str(o: Mapping[str, Any], key: str, where: str) -> str:
    return _typed(_get(o, key, where, True), str, key, where, "text")


def opt_str(o: Mapping[str, Any], key: str, where: str) -> str | None:
    value = _get(o, key, where, False)
    return None if value is None else _typed(value, str, key, where, "text")


def req_bool(o: Mapping[str, Any], key: str, where: str) -> bool:
    return _typed(_get(o, key, where, True), bool, key, where, "true or false")


def req_int(o: Mapping[str, Any], key: str, where: str) -> int:
    return _typed(_get(o, key, where, True), int, key, where, "an integer")


def opt_int(o: Mapping[str, Any], key: str, where: str) -> int | None:
    value = _get(o, key, where, False)
    return None if value is None else _typed(value, int, key, where, "an integer")


def opt_decimal(o: Mapping[str, Any], key: str, where: str) -> Decimal | None:
    """A JSON number (read as ``Decimal`` or ``int`` by :func:`parse_json`), never a float."""
    value = _get(o, key, where, False)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | Decimal):
        raise MalformedResponse(f"{where}.{key} is not a number")
    if isinstance(value, Decimal) and not value.is_finite():
        raise MalformedResponse(f"{where}.{key} is not a finite number")
    return Decimal(value)


def enum(o: Mapping[str, Any], key: str, where: str, allowed: tuple[str, ...]) -> str:
    value = req_str(o, key, where)
    if value not in allowed:
        raise MalformedResponse(f"{where}.{key} is {value[:40]!r}, not one of {', '.join(allowed)}")
    return value


def opt_enum(o: Mapping[str, Any], key: str, where: str, allowed: tuple[str, ...]) -> str | None:
    return None if _get(o, key, where, False) is None else enum(o, key, where, allowed)


#: No fixed-point value reads past 10**19 of its units: ``domain.money``'s largest bound is
#: ``MAX_MONEY`` (10**18 micros), and ``"1e999990"`` would otherwise cost a minute of ``int()``.
_MAX_EXPONENT = 18


def fixed_point(convert: Callable[[str], int], text: str, where: str) -> int:
    """``convert(text)`` (a ``domain.money`` reader), exactly or not at all.

    The readers scale a ``Decimal`` in the current context, whose 28 digits would round a long value
    to a different integer, flush ``1e-999999999`` to 0, raise ``decimal.Overflow`` on
    ``1e999999999`` and turn ``1e999990`` into a million-digit integer: trapping ``Inexact`` with a
    small ``Emax`` makes all four a refusal.
    """
    try:
        with localcontext() as context:
            context.traps[Inexact] = True
            context.Emax = _MAX_EXPONENT
            return int(convert(text))
    except BadFixedPoint as e:
        raise MalformedResponse(f"{where}: {e}") from None
    except DecimalException:
        raise MalformedResponse(f"{where}: {text[:40]!r} is too long or too large to read exactly") from None


def _fixed(o: Mapping[str, Any], key: str, where: str, required: bool,
           convert: Callable[[str], int]) -> int | None:
    value = _get(o, key, where, required)
    if value is None:
        return None
    return fixed_point(convert, _typed(value, str, key, where, "a fixed-point string"), f"{where}.{key}")


def req_price(o: Mapping[str, Any], key: str, where: str) -> int:
    return _fixed(o, key, where, True, price_from_dollars)  # type: ignore[return-value]


def opt_price(o: Mapping[str, Any], key: str, where: str) -> int | None:
    return _fixed(o, key, where, False, price_from_dollars)


def req_count(o: Mapping[str, Any], key: str, where: str) -> int:
    return _fixed(o, key, where, True, count_from_fp)  # type: ignore[return-value]


def opt_count(o: Mapping[str, Any], key: str, where: str) -> int | None:
    return _fixed(o, key, where, False, count_from_fp)


def signed_count_from_fp(text: str) -> int:
    """A position count: ``"-3.50"`` -> -350 (NO contracts are negative)."""
    negative = text.startswith("-")
    unsigned = text[1:] if negative else text
    if unsigned.startswith(("-", "+")):  # count_from_fp would read "-+3.50" as 3.50
        raise BadFixedPoint(f"count {text[:40]!r} has two signs")
    count = count_from_fp(unsigned)
    return -count if negative else count


def req_signed_count(o: Mapping[str, Any], key: str, where: str) -> int:
    return _fixed(o, key, where, True, signed_count_from_fp)  # type: ignore[return-value]


def req_money(o: Mapping[str, Any], key: str, where: str) -> int:
    return _fixed(o, key, where, True, money_from_dollars)  # type: ignore[return-value]


def opt_money(o: Mapping[str, Any], key: str, where: str) -> int | None:
    return _fixed(o, key, where, False, money_from_dollars)


def _time(o: Mapping[str, Any], key: str, where: str, required: bool) -> datetime | None:
    value = _get(o, key, where, required)
    if value is None:
        return None
    text = _typed(value, str, key, where, "a date-time")
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00") if text.endswith("Z") else text)
    except ValueError:
        raise MalformedResponse(f"{where}.{key} is not an ISO 8601 date-time") from None
    if parsed.tzinfo is None:
        raise MalformedResponse(f"{where}.{key} has no UTC offset")
    return parsed


def req_time(o: Mapping[str, Any], key: str, where: str) -> datetime:
    return _time(o, key, where, True)  # type: ignore[return-value]


def opt_time(o: Mapping[str, Any], key: str, where: str) -> datetime | None:
    return _time(o, key, where, False)


def cursor(o: Mapping[str, Any], where: str) -> str:
    """The next-page cursor: empty when there is no further page."""
    return opt_str(o, "cursor", where) or ""
