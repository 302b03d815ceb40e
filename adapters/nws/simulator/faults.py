"""The simulator's switchable faults: which misbehaviour is on, for which cities.

``Faults`` is what ``POST /_sim/faults`` replaces and ``GET /_sim/faults`` shows; the app asks
``faults.on(name, city)`` before answering. A fault is off, on everywhere, or on for a set of city codes.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import timedelta
from typing import Any

#: How far back a stale forecast's ``updateTime`` lies.
STALE_AGE = timedelta(days=3)

Scope = bool | frozenset[str]


@dataclass(frozen=True)
class Faults:
    """Switchable misbehaviour. Each is off (``False``), on for every city (``True``), or on for a
    set of city codes. ``POST /_sim/faults`` with e.g. ``{"html_502": ["NYC"]}`` replaces them."""

    #: Forecasts and grid data answer with an ``updateTime`` ``STALE_AGE`` in the past.
    stale_forecasts: Scope = False
    #: Every endpoint of the city answers 500 problem+json.
    server_error: Scope = False
    #: Every endpoint of the city answers an HTML 502 page (a CDN in front of a dead origin).
    html_502: Scope = False
    #: Forecast endpoints answer 503 ``ForecastGridExpired`` problem+json.
    grid_expired: Scope = False
    #: Observations answer an empty FeatureCollection (``/latest``: 404 problem+json).
    missing_observations: Scope = False

    def on(self, name: str, city: str | None) -> bool:
        scope: Scope = getattr(self, name)
        if isinstance(scope, bool):
            return scope
        return city is not None and city in scope

    @classmethod
    def from_json(cls, data: Any) -> Faults:
        if not isinstance(data, dict):
            raise ValueError("faults must be a JSON object")
        names = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - names)
        if unknown:
            raise ValueError(f"unknown faults {unknown}; known: {sorted(names)}")
        values: dict[str, Scope] = {}
        for name, raw in data.items():
            if isinstance(raw, bool):
                values[name] = raw
            elif isinstance(raw, list) and all(isinstance(c, str) for c in raw):
                values[name] = frozenset(c.upper() for c in raw)
            else:
                raise ValueError(f"fault {name!r} must be true, false or a list of city codes")
        return cls(**values)

    def to_json(self) -> dict[str, bool | list[str]]:
        out: dict[str, bool | list[str]] = {}
        for f in fields(self):
            scope: Scope = getattr(self, f.name)
            out[f.name] = scope if isinstance(scope, bool) else sorted(scope)
        return out
