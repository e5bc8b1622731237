"""Deterministic example values that satisfy a JSON Schema.

Generated handler stubs return them and generated tests feed them as inputs, so they must
validate. Values come from the schema itself where it offers valid ones (``const``,
``examples``, ``default``, ``enum``), else are built from the keywords (types, bounds, lengths,
formats, patterns, ``$ref``, ``allOf``/``anyOf``/``oneOf``); optional properties are left out
so examples stay small. Every result is checked with a JSON Schema validator; when the
construction fails, Hypothesis searches for a value, derandomized so the result is the same on
every run.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from tasker_ctl.codegen.errors import CodegenError
from tasker_ctl.codegen.scalars import (
    choose_type,
    distinct,
    integer_value,
    merge_all_of,
    number_value,
    string_value,
)
from tasker_ctl.schema_refs import build_validator, ref_problems, shown_ref

_MAX_DEPTH = 24
_SEARCH_EXAMPLES = 200
_NOTHING = object()


# Beside its use, not in codegen.errors: raised and caught inside ExampleBuilder only, where
# it means "no example down this branch".
class _Recursion(Exception):
    """A value would need a schema inside itself (or nesting past ``_MAX_DEPTH``)."""


class ExampleBuilder:
    """Builds examples for schemas that live in one document (``$ref`` resolved against it)."""

    def __init__(self, document: dict[str, Any]) -> None:
        self.document = document
        self._validators: dict[str, Any] = {}
        self._expanding: list[str] = []
        self._checked_refs = False

    def example(self, ref: str) -> Any:
        """A valid example for the schema at ``ref`` (e.g. ``#/$defs/OrderInput``)."""
        self._refuse_outside_refs()
        self._expanding = [ref]
        try:
            value = self._build(self._resolve(ref), 0)
        except _Recursion:
            value = _NOTHING
        if value is not _NOTHING and self.is_valid(ref, value):
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
        return self._valid_under({"$ref": ref}, value)

    def _valid_under(self, schema: dict[str, Any], value: Any) -> bool:
        from referencing.exceptions import Unresolvable

        try:
            return bool(self._validator(schema).is_valid(value))
        except Unresolvable as error:  # refused, never fetched (schema_refs)
            raise _unsupported_ref(getattr(error, "ref", str(error))) from None

    def _validator(self, schema: dict[str, Any]) -> Any:
        key = json.dumps(schema, sort_keys=True, default=str)
        if key not in self._validators:
            from jsonschema import Draft202012Validator

            whole = {"$defs": self.document.get("$defs", {}), **schema}
            self._validators[key] = build_validator(
                whole, validator_class=Draft202012Validator, check_formats=True
            )
        return self._validators[key]

    def _refuse_outside_refs(self) -> None:
        """Refuse a document whose references leave it before anything follows them: the
        Hypothesis search builds validators of its own."""
        if self._checked_refs:
            return
        problems = ref_problems(self.document)
        if problems:
            raise _unsupported_ref(problems[0].ref)
        self._checked_refs = True

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
            from hypothesis import HealthCheck, Phase, find, settings
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
                    max_examples=_SEARCH_EXAMPLES,
                    phases=(Phase.generate, Phase.shrink),
                    suppress_health_check=list(HealthCheck),
                ),
            )
        except Exception:  # no value found, or a construct the strategy does not support
            return _NOTHING

    # -- construction ---------------------------------------------------------------------------

    def _build(self, schema: Any, depth: int) -> Any:
        if not isinstance(schema, dict) or not schema:
            return None  # true, {}: anything goes; false: nothing does (validation says so)
        if depth > _MAX_DEPTH:
            raise _Recursion
        if "const" in schema:
            return schema["const"]
        given = self._given(schema)
        if given is not _NOTHING:
            return given
        if isinstance(schema.get("$ref"), str):
            return self._build_ref(schema, depth)
        if isinstance(schema.get("allOf"), list):
            parts = [self._inline(part) for part in schema["allOf"]]
            return self._build(merge_all_of({**schema, "allOf": parts}), depth + 1)
        for key in ("oneOf", "anyOf"):
            if isinstance(schema.get(key), list) and schema[key]:
                return self._build_choice(schema, key, depth)
        builders: dict[str, Callable[[dict[str, Any], int], Any]] = {
            "object": self._object,
            "array": self._array,
            "string": lambda node, _depth: string_value(node),
            "integer": lambda node, _depth: integer_value(node),
            "number": lambda node, _depth: number_value(node),
            "boolean": lambda _node, _depth: False,
            "null": lambda _node, _depth: None,
        }
        builder = builders.get(choose_type(schema) or "")
        return builder(schema, depth) if builder else None

    def _given(self, schema: dict[str, Any]) -> Any:
        """The first value the schema offers (examples, default, enum) that satisfies it."""
        offered: list[Any] = []
        if isinstance(schema.get("examples"), list):
            offered.extend(schema["examples"])
        for key in ("example", "default"):  # "example": the OpenAPI spelling
            if key in schema:
                offered.append(schema[key])
        if isinstance(schema.get("enum"), list):
            offered.extend(schema["enum"])
        for value in offered:
            if self._valid_under(schema, value):
                return value
        return _NOTHING

    def _build_ref(self, schema: dict[str, Any], depth: int) -> Any:
        ref = schema["$ref"]
        if ref in self._expanding:
            raise _Recursion
        self._expanding.append(ref)
        try:
            target = self._resolve(ref)
            rest = {k: v for k, v in schema.items() if k != "$ref"}
            merged = {**target, **rest} if isinstance(target, dict) else target
            return self._build(merged, depth + 1)
        finally:
            self._expanding.pop()

    def _inline(self, part: Any) -> Any:
        """An ``allOf`` part with a non-recursive ``$ref`` replaced by its target."""
        while isinstance(part, dict) and isinstance(part.get("$ref"), str):
            ref = part["$ref"]
            if ref in self._expanding:
                return part
            target = self._resolve(ref)
            rest = {k: v for k, v in part.items() if k != "$ref"}
            part = {**target, **rest} if isinstance(target, dict) else target
        return part

    def _build_choice(self, schema: dict[str, Any], key: str, depth: int) -> Any:
        rest = {k: v for k, v in schema.items() if k != key}
        for branch in schema[key]:
            try:
                candidate = self._build(
                    {**rest, **branch} if isinstance(branch, dict) else rest, depth + 1
                )
            except _Recursion:
                continue
            if self._valid_under(schema, candidate):
                return candidate
        raise _Recursion

    def _object(self, schema: dict[str, Any], depth: int) -> dict[str, Any]:
        declared = schema.get("properties")
        properties: dict[str, Any] = declared if isinstance(declared, dict) else {}
        listed = schema.get("required")
        required = [n for n in listed if isinstance(n, str)] if isinstance(listed, list) else []
        result: dict[str, Any] = {}
        for name in required:
            result[name] = self._build(self._property_schema(schema, name), depth + 1)
        minimum = schema.get("minProperties")
        wanted = minimum if isinstance(minimum, int) else 0
        for name, subschema in properties.items():
            if len(result) >= wanted:
                break
            result.setdefault(name, self._build(subschema, depth + 1))
        extra = schema.get("additionalProperties", True)
        counter = 1
        while len(result) < wanted and extra is not False:
            name = f"property{counter}"
            counter += 1
            if name not in result:
                result[name] = self._build(self._property_schema(schema, name), depth + 1)
        return result

    @staticmethod
    def _property_schema(schema: dict[str, Any], name: str) -> Any:
        properties = schema.get("properties")
        if isinstance(properties, dict) and name in properties:
            return properties[name]
        patterns = schema.get("patternProperties")
        for pattern, subschema in (patterns or {}).items() if isinstance(patterns, dict) else []:
            try:
                if re.search(pattern, name):
                    return subschema
            except re.error:
                continue
        extra = schema.get("additionalProperties", True)
        return extra if isinstance(extra, dict) else {}

    def _array(self, schema: dict[str, Any], depth: int) -> list[Any]:
        declared = schema.get("prefixItems")
        prefix: list[Any] = declared if isinstance(declared, list) else []
        items = schema.get("items", {})
        item_schema = items if isinstance(items, dict) else {}
        contains = schema.get("contains")
        minimum = schema.get("minItems")
        count = max(minimum if isinstance(minimum, int) else 0, len(prefix))
        if isinstance(contains, dict) and count == 0:
            count = 1
        values: list[Any] = [self._build(item, depth + 1) for item in prefix[:count]]
        if len(values) < count:
            base = self._build(item_schema, depth + 1)
            options = self._options(item_schema) if schema.get("uniqueItems") else None
            while len(values) < count:
                index = len(values) - len(prefix)
                values.append(distinct(base, index, options) if schema.get("uniqueItems") else base)
        if isinstance(contains, dict) and not any(self._valid_under(contains, v) for v in values):
            values[len(prefix) if len(prefix) < len(values) else -1] = self._build(
                contains, depth + 1
            )
        return values

    def _options(self, schema: dict[str, Any]) -> list[Any] | None:
        """Every value a schema allows when there are few (an enum, a boolean), else None."""
        if isinstance(schema.get("enum"), list):
            return [value for value in schema["enum"] if self._valid_under(schema, value)]
        if schema.get("type") == "boolean":
            return [False, True]
        return None


def _unsupported_ref(ref: str) -> CodegenError:
    return CodegenError(
        f"$ref '{shown_ref(ref)}' does not resolve inside the schema; schemas are never fetched",
        code="UNSUPPORTED_REF",
        hint="copy the schema under $defs and refer to it as #/$defs/NAME",
    )
