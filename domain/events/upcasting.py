"""Schema evolution: old stored events are upcast to the current class on read, never rewritten.

To change an event's schema: bump ``SCHEMA_VERSION`` on its class and register a function that turns
the previous version's field dict into the next one's::

    @upcaster("OrderFilled", from_version=1)
    def _order_filled_v1_to_v2(data: dict) -> dict:
        return {**data, "liquidity": "taker" if data.pop("is_taker") else "maker"}

Reading a v1 event then runs every step from its stored version to the class's current one.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Upcaster = Callable[[dict[str, Any]], dict[str, Any]]

_UPCASTERS: dict[tuple[str, int], Upcaster] = {}


class MissingUpcaster(LookupError):
    """A stored event's schema version has no path to the current class."""


def upcaster(event_type: str, *, from_version: int) -> Callable[[Upcaster], Upcaster]:
    """Register ``fn`` as the step from ``from_version`` to ``from_version + 1`` of ``event_type``."""

    def register(fn: Upcaster) -> Upcaster:
        key = (event_type, from_version)
        if key in _UPCASTERS:
            raise ValueError(f"{event_type} already has an upcaster from v{from_version}")
        _UPCASTERS[key] = fn
        return fn

    return register


def upcast(event_type: str, stored_version: int, target_version: int, data: dict[str, Any]) -> (
    dict[str, Any]
):
    """Apply each registered step from ``stored_version`` up to ``target_version``."""
    if stored_version > target_version:
        raise MissingUpcaster(
            f"{event_type} v{stored_version} is newer than this code's v{target_version}"
        )
    for version in range(stored_version, target_version):
        step = _UPCASTERS.get((event_type, version))
        if step is None:
            raise MissingUpcaster(f"no upcaster for {event_type} from v{version} to v{version + 1}")
        data = step(data)
    return data
