"""The exchange simulator's switchable faults, replaced by ``POST /_sim/faults``.

Counters (``*_next``) apply to that many upcoming requests and count down; flags stay on until
replaced. ``GET /_sim/faults`` shows what is left.

Two faults hold a request instead of answering it, and both let go of it as soon as the client
hangs up, so a client timeout ends them without anyone sleeping: ``latency_ms`` waits before the
request is looked at (if the client gives up first, the request is dropped undone), and
``timeout_next`` carries the request out, then withholds the answer until the client has gone
(a write may therefore have happened although the client saw only a timeout).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any


@dataclass
class Faults:
    #: Added before every request is handled, in milliseconds.
    latency_ms: int = 0
    #: The next N requests are carried out but never answered: the client times out.
    timeout_next: int = 0
    #: The next N requests answer 429 ``too_many_requests``.
    rate_limit_next: int = 0
    #: The next N requests answer 500 ``internal_server_error`` (nothing is done).
    server_error_next: int = 0
    #: The next N order creations (one order, or a whole batch) are carried out, but the answer
    #: is a 504: the client cannot tell whether the order exists until it reads orders or fills.
    lose_create_answer_next: int = 0
    #: ``GET /portfolio/fills`` reports every fill twice.
    duplicate_fills: bool = False
    #: ``GET /portfolio/fills`` reports fills oldest first instead of newest first.
    out_of_order_fills: bool = False

    @classmethod
    def from_json(cls, data: Any) -> Faults:
        if not isinstance(data, dict):
            raise ValueError("faults must be a JSON object")
        kinds = {f.name: f.type for f in fields(cls)}
        unknown = sorted(set(data) - set(kinds))
        if unknown:
            raise ValueError(f"unknown faults {unknown}; known: {sorted(kinds)}")
        for name, value in data.items():
            wanted = bool if kinds[name] in (bool, "bool") else int
            if type(value) is not wanted or (wanted is int and value < 0):
                raise ValueError(f"fault {name!r} must be a {'boolean' if wanted is bool else 'count >= 0'}")
        return cls(**data)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)
