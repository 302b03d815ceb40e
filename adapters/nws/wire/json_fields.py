"""The shared readers every wire module uses: JSON shapes, text, numbers, units and times.

GeoJSON ``properties`` (or a flat JSON-LD object), feature collections, required and optional
text, grid indices, numbers that may arrive as numeric strings, QuantitativeValues and their unit
codes (``wmoUnit:degC``, bare UCUM ``Cel``...), conversion to °F, inches and fractions, and
ISO-8601 times with a UTC offset. Each raises :class:`MalformedPayload` naming what was wrong and
where; none guesses a value.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from pydantic import ValidationError

from adapters.nws.errors import MalformedPayload
from adapters.nws.metar import celsius_to_fahrenheit


def _properties(payload: Any, where: str) -> Mapping[str, Any]:
    """A GeoJSON Feature's ``properties``, or the object itself for JSON-LD (flat) answers."""
    if not isinstance(payload, dict) or not payload:
        raise MalformedPayload(f"{where} is empty or not a JSON object")
    if "properties" in payload:
        props = payload["properties"]
        if not isinstance(props, dict):
            raise MalformedPayload(f"{where} 'properties' is not an object")
        return props
    if payload.get("type") == "Feature":
        raise MalformedPayload(f"{where} is a Feature without 'properties'")
    return payload


def _feature_properties(payload: Any, where: str) -> list[Mapping[str, Any]]:
    """The properties of each feature of a FeatureCollection, or each ``@graph`` entry."""
    if not isinstance(payload, dict):
        raise MalformedPayload(f"{where} is empty or not a JSON object")
    if "features" in payload:
        features = payload["features"]
        if not isinstance(features, list):
            raise MalformedPayload(f"{where} 'features' is not a list")
        out: list[Mapping[str, Any]] = []
        for index, feature in enumerate(features):
            props = feature.get("properties") if isinstance(feature, dict) else None
            if not isinstance(props, dict):
                raise MalformedPayload(f"{where} feature {index} has no 'properties' object")
            out.append(props)
        return out
    graph = payload.get("@graph")
    if isinstance(graph, list) and all(isinstance(item, dict) for item in graph):
        return list(graph)
    raise MalformedPayload(f"{where} has no 'features' list")


def _required_str(obj: Mapping[str, Any], key: str, where: str) -> str:
    value = obj.get(key)
    if not isinstance(value, str) or not value:
        raise MalformedPayload(f"{where} has no {key!r}" if value in (None, "") else
                               f"{where} {key!r} is not text: {_show(value)}")
    return value


def _optional_str(obj: Mapping[str, Any], key: str, where: str) -> str | None:
    value = obj.get(key)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise MalformedPayload(f"{where} {key!r} is not text: {_show(value)}")
    return value


def _grid_index(obj: Mapping[str, Any], key: str, where: str) -> int:
    # The spec says integer; real answers have sent "58" as well as 58.
    value = obj.get(key)
    if value is None:
        raise MalformedPayload(f"{where} has no {key!r}")
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, str) and value.strip().isdigit():
        number = int(value.strip())
    else:
        raise MalformedPayload(f"{where} {key!r} is not a grid index: {_show(value)}")
    if number < 0:
        raise MalformedPayload(f"{where} {key!r} is negative: {number}")
    return number


def _number(value: Any, where: str) -> float | None:
    """A JSON number, or a numeric string (the API has sent both); ``None`` stays ``None``."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise MalformedPayload(f"{where} is a boolean, not a number")
    if isinstance(value, int | float):
        number = float(value)
    elif isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            raise MalformedPayload(f"{where} is not a number: {_show(value)}") from None
    else:
        raise MalformedPayload(f"{where} is not a number: {_show(value)}")
    if not math.isfinite(number):
        raise MalformedPayload(f"{where} is not a finite number: {_show(value)}")
    return number


def _quantity(raw: Mapping[str, Any], where: str) -> tuple[float | None, str | None]:
    """A QuantitativeValue's value and normalised unit code."""
    return _number(raw.get("value"), where), _unit(raw.get("unitCode"))


_UNIT_ALIASES = {"Cel": "degC", "[degF]": "degF", "[in_i]": "in", "%": "percent"}


def _unit(code: Any) -> str | None:
    """``wmoUnit:degC``, ``unit:degC``, ``uc:Cel``... -> ``degC``."""
    if not isinstance(code, str) or not code:
        return None
    bare = re.sub(r"^(?:wmoUnit|wmo|unit|uc|nwsUnit):", "", code)
    return _UNIT_ALIASES.get(bare, bare)


def _to_fahrenheit(value: float | None, unit: str | None, where: str) -> float | None:
    if value is None:
        return None
    if unit == "degF":
        return round(value, 2)
    if unit == "degC":
        return celsius_to_fahrenheit(value)
    if unit == "K":
        return celsius_to_fahrenheit(value - 273.15)
    raise MalformedPayload(f"{where} has temperature unit {unit!r}, not degC, degF or K")


_INCHES_PER = {"in": 1.0, "mm": 1 / 25.4, "cm": 1 / 2.54, "m": 1 / 0.0254}


def _to_inches(value: float | None, unit: str | None, where: str) -> float | None:
    if value is None:
        return None
    if unit not in _INCHES_PER:
        raise MalformedPayload(f"{where} has length unit {unit!r}, not mm, cm, m or in")
    # Six places strip float noise and keep a month of split hourly amounts summing true to 0.01".
    return round(value * _INCHES_PER[unit], 6)


def _percent_to_fraction(value: float | None) -> float | None:
    return None if value is None else round(value / 100, 6)


def _parse_time(value: Any, where: str) -> datetime:
    if not isinstance(value, str):
        raise MalformedPayload(f"{where} is not an ISO-8601 time: {_show(value)}")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise MalformedPayload(f"{where} is not an ISO-8601 time: {_show(value)}") from None
    if parsed.tzinfo is None:
        raise MalformedPayload(f"{where} has no UTC offset: {value!r}")
    return parsed


def _required_time(obj: Mapping[str, Any], key: str, where: str) -> datetime:
    if obj.get(key) is None:
        raise MalformedPayload(f"{where} has no {key!r}")
    return _parse_time(obj[key], f"{where} {key!r}")


def _optional_time(obj: Mapping[str, Any], key: str, where: str) -> datetime | None:
    return None if obj.get(key) is None else _parse_time(obj[key], f"{where} {key!r}")


def _first_error(error: ValidationError) -> str:
    first = error.errors()[0]
    return f"{'.'.join(str(p) for p in first['loc'])}: {first['msg']}"


def _show(value: Any) -> str:
    """A short rendering of a bad value for an error message; never a whole payload."""
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
