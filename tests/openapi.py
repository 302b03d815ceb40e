"""A small OpenAPI 3.0 schema checker for the tests, shared by the NWS and Kalshi suites.

No openapi validation library is installed here, so this reads the spec with PyYAML and checks a
value against a schema: ``$ref``, ``allOf``, ``anyOf``/``oneOf`` (oneOf as anyOf: the specs'
alternatives overlap), ``type``, ``nullable``, ``enum``, ``pattern``, ``minimum``/``maximum``,
``required``, ``properties``, ``additionalProperties``, ``items``, ``minItems``/``maxItems``.
Its own tests (tests/unit/test_openapi_checker.py) show it catches what it claims to.
"""

from __future__ import annotations

import re
from functools import cached_property
from pathlib import Path
from typing import Any

import yaml  # a dev dependency: spec checks must run, never skip

_TYPES: dict[str, Any] = {"object": dict, "array": list, "string": str, "boolean": bool}


class OpenApiSpec:
    def __init__(self, path: Path, *, allowed_extras: frozenset[str] = frozenset()) -> None:
        """``allowed_extras``: property names let through where a schema forbids extras, for
        fields the real service sends that its spec does not list (say which, and why)."""
        self.path = path
        self.allowed_extras = allowed_extras

    @cached_property
    def document(self) -> dict[str, Any]:
        loaded: dict[str, Any] = yaml.safe_load(self.path.read_text())
        return loaded

    def resolve(self, node: dict[str, Any]) -> dict[str, Any]:
        while "$ref" in node:
            target: Any = self.document
            for part in node["$ref"].removeprefix("#/").split("/"):
                target = target[part]
            node = target
        return node

    def response_schema(self, path: str, status: int | str, *, method: str = "get",
                        media: str = "application/json") -> dict[str, Any] | None:
        """The schema of an answer, or None when the spec gives that answer no body."""
        responses = self.document["paths"][path][method]["responses"]
        answer = self.resolve(responses.get(str(status)) or responses["default"])
        content = answer.get("content")
        return None if content is None else self.resolve(content[media]["schema"])

    def schema(self, name: str) -> dict[str, Any]:
        return self.resolve(self.document["components"]["schemas"][name])

    def problems(self, value: Any, schema: dict[str, Any], where: str = "$") -> list[str]:
        """Where ``value`` breaks ``schema`` (empty when it conforms)."""
        schema = self.resolve(schema)
        if value is None:
            return [] if schema.get("nullable") or not schema else [f"{where}: null"]
        errors: list[str] = []
        for part in schema.get("allOf", []):
            errors += self.problems(value, part, where)
        for key in ("anyOf", "oneOf"):
            if key in schema and all(self.problems(value, s, where) for s in schema[key]):
                errors.append(f"{where}: matches none of the {key} alternatives")
        kind = schema.get("type")
        if kind == "number":
            ok = isinstance(value, int | float) and not isinstance(value, bool)
        elif kind == "integer":
            ok = isinstance(value, int) and not isinstance(value, bool)
        else:
            ok = kind is None or isinstance(value, _TYPES[kind])
        if not ok:
            return [*errors, f"{where}: {type(value).__name__} is not {kind}"]
        if "enum" in schema and value not in schema["enum"]:
            errors.append(f"{where}: {value!r} not in enum")
        if isinstance(value, str) and "pattern" in schema and not re.search(schema["pattern"], value):
            errors.append(f"{where}: {value!r} does not match {schema['pattern']}")
        if isinstance(value, int | float) and not isinstance(value, bool):
            if "minimum" in schema and value < schema["minimum"]:
                errors.append(f"{where}: {value} < {schema['minimum']}")
            if "maximum" in schema and value > schema["maximum"]:
                errors.append(f"{where}: {value} > {schema['maximum']}")
        if isinstance(value, dict):
            errors += self._object_problems(value, schema, where)
        if isinstance(value, list):
            if not schema.get("minItems", 0) <= len(value) <= schema.get("maxItems", len(value)):
                errors.append(f"{where}: {len(value)} items")
            for i, item in enumerate(value):
                errors += self.problems(item, schema.get("items", {}), f"{where}[{i}]")
        return errors

    def _object_problems(self, value: dict[str, Any], schema: dict[str, Any], where: str) -> (
        list[str]
    ):
        props = schema.get("properties", {})
        errors = [f"{where}: missing {k!r}" for k in schema.get("required", []) if k not in value]
        extra = schema.get("additionalProperties", True)
        for key, item in value.items():
            if key in props:
                errors += self.problems(item, props[key], f"{where}.{key}")
            elif isinstance(extra, dict):
                errors += self.problems(item, extra, f"{where}.{key}")
            elif extra is False and key not in self.allowed_extras:
                errors.append(f"{where}: unexpected property {key!r}")
        return errors
