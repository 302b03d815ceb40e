"""The shared OpenAPI checker catches what it claims to, on both real specs."""

from __future__ import annotations

from tests import paths
from tests.openapi import OpenApiSpec

NWS = OpenApiSpec(paths.SPECS / "nws-openapi.yaml")
KALSHI = OpenApiSpec(paths.SPECS / "kalshi-openapi.yaml")


def test_a_conforming_kalshi_error_passes_and_broken_ones_do_not() -> None:
    error = KALSHI.schema("ErrorResponse")
    assert KALSHI.problems({"code": "not_found", "message": "no such market"}, error) == []
    assert KALSHI.problems({"code": 404, "message": "x"}, error) != []
    assert KALSHI.problems([], error) != []


def test_required_fields_types_enums_and_extras_are_checked() -> None:
    schema = {"type": "object", "required": ["a"], "additionalProperties": False,
              "properties": {"a": {"type": "integer", "minimum": 1},
                             "b": {"type": "string", "enum": ["x", "y"]},
                             "c": {"type": "array", "items": {"type": "number"}, "maxItems": 2}}}
    assert NWS.problems({"a": 1, "b": "x", "c": [1.5]}, schema) == []
    assert NWS.problems({"b": "x"}, schema) == ["$: missing 'a'"]
    assert NWS.problems({"a": 0}, schema) == ["$.a: 0 < 1"]
    assert NWS.problems({"a": 1, "b": "z"}, schema) == ["$.b: 'z' not in enum"]
    assert NWS.problems({"a": True}, schema) == ["$.a: bool is not integer"]
    assert NWS.problems({"a": 1, "c": [1, 2, 3]}, schema) == ["$.c: 3 items"]
    assert NWS.problems({"a": 1, "d": 1}, schema) == ["$: unexpected property 'd'"]
    assert OpenApiSpec(NWS.path, allowed_extras=frozenset({"d"})).problems({"a": 1, "d": 1},
                                                                            schema) == []


def test_refs_resolve_into_the_real_nws_spec() -> None:
    point = NWS.response_schema("/points/{point}", 200,
                                media="application/geo+json")
    assert point is not None
    assert NWS.problems({"type": "Feature"}, point) != []
