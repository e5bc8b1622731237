"""Deterministic example values that satisfy a JSON Schema.

Generated handler stubs return them and generated tests feed them as inputs, so they must
validate. Values come from the schema itself where it offers them (``const``, ``default``,
``examples``, ``enum``), else are built from the keywords (types, bounds, lengths, formats,
patterns, ``$ref``, ``allOf``/``anyOf``/``oneOf``). Every result is checked with a JSON Schema
validator; when the construction fails, Hypothesis searches for a value deterministically.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from tasker_ctl.codegen.errors import CodegenError
from tasker_ctl.codegen.regex_example import example_for_pattern

_MAX_DEPTH = 12
_FORMATS = {
    "date-time": "2024-01-01T00:00:00Z",
    "date": "2024-01-01",
    "time": "00:00:00Z",
    "duration": "P1D",
    "email": "user@example.com",
    "idn-email": "user@example.com",
    "hostname": "example.com",
    "idn-hostname": "example.com",
    "ipv4": "192.0.2.1",
    "ipv6": "2001:db8::1",
    "uri": "https://example.com/",
    "iri": "https://example.com/",
    "uri-reference": "https://example.com/",
    "iri-reference": "https://example.com/",
    "uri-template": "https://example.com/{id}",
    "uuid": "00000000-0000-4000-8000-000000000000",
    "json-pointer": "/example",
    "relative-json-pointer": "0",
    "regex": "^example$",
    "byte": "ZXhhbXBsZQ==",
    "binary": "example",
    "password": "example",
}


class ExampleBuilder:
    """Builds examples for schemas that live in one document (``$ref`` resolved against it)."""

    def __init__(self, document: dict[str, Any]) -> None:
        self.document = document
        self._validators: dict[str, Any] = {}

    def example(self, ref: str) -> Any:
        """A valid example for the schema at ``ref`` (e.g. ``#/$defs/OrderInput``)."""
        schema = self._resolve(ref)
        value = self._build(schema, 0)
        if self.is_valid(ref, value):
            return value
        found = self._search(ref)
        if found is not _NOTHING:
            return found
        raise CodegenError(
            f"cannot construct a value that satisfies schema {ref.rsplit('/', 1)[-1]}",
            code="NO_EXAMPLE_VALUE",
            hint="add an 'examples' entry to the schema so stubs and tests can use it",
        )

    def is_valid(self, ref: str, value: Any) -> bool:
        return not any(True for _ in self._validator(ref).iter_errors(value))

    def _validator(self, ref: str) -> Any:
        if ref not in self._validators:
            from jsonschema import Draft202012Validator

            schema = {"$defs": self.document.get("$defs", {}), "$ref": ref}
            self._validators[ref] = Draft202012Validator(
                schema, format_checker=Draft202012Validator.FORMAT_CHECKER
            )
        return self._validators[ref]

    def _resolve(self, ref: str) -> Any:
        node: Any = self.document
        for part in ref.lstrip("#").strip("/").split("/"):
            if not part:
                continue
            part = part.replace("~1", "/").replace("~0", "~")
            node = node[int(part)] if isinstance(node, list) else node[part]
        return node

    def _search(self, ref: str) -> Any:
        try:
            from hypothesis import HealthCheck, find, settings
            from hypothesis_jsonschema import from_schema
        except ImportError:  # pragma: no cover - both ship with tasker-ctl
            return _NOTHING
        schema = {"$defs": self.document.get("$defs", {}), "$ref": ref}
        try:
            return find(
                from_schema(schema),
                lambda value: self.is_valid(ref, value),
                settings=settings(
                    database=None,
                    derandomize=True,
                    max_examples=500,
                    suppress_health_check=list(HealthCheck),
                ),
            )
        except Exception:  # no value found, or a construct the strategy does not support
            return _NOTHING

    # -- construction ---------------------------------------------------------------------------

    def _build(self, schema: Any, depth: int) -> Any:
        if schema is True or schema == {} or not isinstance(schema, dict):
            return None
        if depth > _MAX_DEPTH:
            return None
        for key in ("const",):
            if key in schema:
                return schema[key]
        if "examples" in schema and isinstance(schema["examples"], list) and schema["examples"]:
            return schema["examples"][0]
        if "default" in schema:
            return schema["default"]
        if "enum" in schema and isinstance(schema["enum"], list) and schema["enum"]:
            return schema["enum"][0]
        if "$ref" in schema and isinstance(schema["$ref"], str):
            target = self._resolve(schema["$ref"])
            merged = {**target, **{k: v for k, v in schema.items() if k != "$ref"}}
            return self._build(merged, depth + 1)
        if isinstance(schema.get("allOf"), list):
            return self._build(_merge_all_of(schema), depth + 1)
        for key in ("oneOf", "anyOf"):
            if isinstance(schema.get(key), list) and schema[key]:
                return self._build_choice(schema, key, depth)
        kind = _choose_type(schema)
        if kind is None:
            return None
        builders: dict[str, Callable[[dict[str, Any], int], Any]] = {
            "object": self._object,
            "array": self._array,
            "string": _string,
            "integer": _integer,
            "number": _number,
            "boolean": lambda _schema, _depth: False,
            "null": lambda _schema, _depth: None,
        }
        builder = builders.get(kind)
        return builder(schema, depth) if builder else None

    def _build_choice(self, schema: dict[str, Any], key: str, depth: int) -> Any:
        from jsonschema import Draft202012Validator

        rest = {k: v for k, v in schema.items() if k != key}
        candidates = [
            self._build({**rest, **branch} if isinstance(branch, dict) else rest, depth + 1)
            for branch in schema[key]
        ]
        whole = {"$defs": self.document.get("$defs", {}), **schema}
        validator = Draft202012Validator(whole, format_checker=Draft202012Validator.FORMAT_CHECKER)
        for candidate in candidates:
            if validator.is_valid(candidate):
                return candidate
        return candidates[0]

    def _object(self, schema: dict[str, Any], depth: int) -> dict[str, Any]:
        declared = schema.get("properties")
        properties: dict[str, Any] = declared if isinstance(declared, dict) else {}
        listed = schema.get("required")
        required = (
            [name for name in listed if isinstance(name, str)] if isinstance(listed, list) else []
        )
        extra = schema.get("additionalProperties", True)
        result: dict[str, Any] = {}
        for name in required:
            if name in properties:
                result[name] = self._build(properties[name], depth + 1)
            else:
                result[name] = self._build(extra, depth + 1) if isinstance(extra, dict) else None
        minimum = schema.get("minProperties", 0)
        for name, subschema in properties.items():
            if len(result) >= (minimum if isinstance(minimum, int) else 0):
                break
            result.setdefault(name, self._build(subschema, depth + 1))
        return result

    def _array(self, schema: dict[str, Any], depth: int) -> list[Any]:
        declared = schema.get("prefixItems")
        prefix: list[Any] = declared if isinstance(declared, list) else []
        items = schema.get("items", {})
        minimum = schema.get("minItems", 0)
        count = max(minimum if isinstance(minimum, int) else 0, len(prefix))
        values: list[Any] = [self._build(item, depth + 1) for item in prefix]
        while len(values) < count:
            value = self._build(items if isinstance(items, dict) else {}, depth + 1)
            if schema.get("uniqueItems"):
                value = _distinct(value, len(values))
            values.append(value)
        contains = schema.get("contains")
        if isinstance(contains, dict) and not values:
            values.append(self._build(contains, depth + 1))
        return values


_NOTHING = object()


def _choose_type(schema: dict[str, Any]) -> str | None:
    declared = schema.get("type")
    if isinstance(declared, str):
        return declared
    if isinstance(declared, list):
        concrete = [kind for kind in declared if kind != "null"]
        return concrete[0] if concrete else "null"
    if any(key in schema for key in ("properties", "required", "additionalProperties")):
        return "object"
    if any(key in schema for key in ("items", "prefixItems", "minItems")):
        return "array"
    if any(key in schema for key in ("minLength", "maxLength", "pattern", "format")):
        return "string"
    if any(key in schema for key in ("minimum", "maximum", "multipleOf", "exclusiveMinimum")):
        return "number"
    return None


def _merge_all_of(schema: dict[str, Any]) -> dict[str, Any]:
    merged: dict[str, Any] = {k: v for k, v in schema.items() if k != "allOf"}
    for part in schema["allOf"]:
        if not isinstance(part, dict):
            continue
        for key, value in part.items():
            if key == "properties" and isinstance(value, dict):
                merged["properties"] = {**merged.get("properties", {}), **value}
            elif key == "required" and isinstance(value, list):
                merged["required"] = list(dict.fromkeys([*merged.get("required", []), *value]))
            else:
                merged.setdefault(key, value)
    return merged


def _string(schema: dict[str, Any], _depth: int) -> str:
    format_name = schema.get("format")
    if isinstance(format_name, str) and format_name in _FORMATS:
        return _FORMATS[format_name]
    pattern = schema.get("pattern")
    text = example_for_pattern(pattern) if isinstance(pattern, str) else "example"
    minimum, maximum = schema.get("minLength"), schema.get("maxLength")
    if isinstance(minimum, int) and len(text) < minimum:
        text = text + "x" * (minimum - len(text))
    if isinstance(maximum, int) and len(text) > maximum and not isinstance(pattern, str):
        text = text[:maximum]
    return text


def _bounds(schema: dict[str, Any], step: float) -> tuple[float | None, float | None]:
    low, high = schema.get("minimum"), schema.get("maximum")
    exclusive_low, exclusive_high = schema.get("exclusiveMinimum"), schema.get("exclusiveMaximum")
    if isinstance(exclusive_low, bool):  # draft-04 style flags
        exclusive_low = low if exclusive_low else None
        low = None if exclusive_low is not None else low
    if isinstance(exclusive_high, bool):
        exclusive_high = high if exclusive_high else None
        high = None if exclusive_high is not None else high
    if isinstance(exclusive_low, int | float):
        low = (
            max(low, exclusive_low + step) if isinstance(low, int | float) else exclusive_low + step
        )
    if isinstance(exclusive_high, int | float):
        high = (
            min(high, exclusive_high - step)
            if isinstance(high, int | float)
            else exclusive_high - step
        )
    return (
        low if isinstance(low, int | float) else None,
        high if isinstance(high, int | float) else None,
    )


def _integer(schema: dict[str, Any], _depth: int) -> int:
    low, high = _bounds(schema, 1)
    value: float = (
        math.ceil(low)
        if low is not None
        else (0 if high is None or high >= 0 else math.floor(high))
    )
    multiple = schema.get("multipleOf")
    if isinstance(multiple, int | float) and multiple > 0:
        value = math.ceil(value / multiple) * multiple
    return int(value)


def _number(schema: dict[str, Any], _depth: int) -> float:
    multiple = schema.get("multipleOf")
    low, high = _bounds(
        schema, multiple if isinstance(multiple, int | float) and multiple > 0 else 1
    )
    value = float(low) if low is not None else (0.0 if high is None or high >= 0 else float(high))
    if isinstance(multiple, int | float) and multiple > 0:
        value = math.ceil(value / multiple) * float(multiple)
    return value


def _distinct(value: Any, index: int) -> Any:
    if index == 0:
        return value
    if isinstance(value, str):
        return f"{value}{index}"
    if isinstance(value, bool):
        return not value if index == 1 else value
    if isinstance(value, int | float):
        return value + index
    return value
