"""Query parameters, read strictly: anything the API cannot read is a 400 that says which and why."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from starlette.datastructures import QueryParams

from api.public_queries import BadParameter, Cursor, aware


class Params:
    def __init__(self, params: QueryParams) -> None:
        self._params = params

    def _text(self, name: str) -> str | None:
        value = self._params.get(name)
        return None if value is None or value == "" else value

    def integer(self, name: str, *, default: int, low: int, high: int) -> int:
        text = self._text(name)
        if text is None:
            return default
        if not (text.isascii() and text.isdigit()) or not low <= int(text) <= high:
            raise BadParameter(f"{name} must be a whole number from {low} to {high}")
        return int(text)

    def time(self, name: str) -> datetime | None:
        """ISO 8601 with an offset; a ``+`` sent unescaped arrives as a space and is taken back."""
        text = self._text(name)
        if text is None:
            return None
        try:
            return aware(datetime.fromisoformat(text.replace(" ", "+")))
        except (ValueError, OverflowError):
            raise BadParameter(f"{name} must be an ISO 8601 time with its UTC offset, e.g. "
                               "2026-08-28T14:00:00+00:00") from None

    def choice(self, name: str, allowed: Collection[str]) -> str | None:
        text = self._text(name)
        if text is not None and text not in allowed:
            raise BadParameter(f"{name} must be one of {', '.join(sorted(allowed))}")
        return text

    def cursor(self, name: str = "cursor") -> Cursor | None:
        text = self._text(name)
        if text is None:
            return None
        if len(text) > 200:
            raise BadParameter("cursor is not one this API gave")
        return Cursor.decode(text)

    def key(self, *names: str) -> tuple[tuple[str, str | None], ...]:
        """The parameters an answer depends on (for the cache)."""
        return tuple((n, self._text(n)) for n in names)
