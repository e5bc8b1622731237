"""Deterministic example values that satisfy a JSON Schema.

Generated handler stubs return them and generated tests feed them as inputs, so they must
validate. Values come from the schema itself where it offers valid ones (``const``,
``examples``, ``default``, ``enum``), else are built from the keywords (types, bounds, lengths,
formats, patterns, ``$ref``, ``allOf``/``anyOf``/``oneOf``, ``not``, ``if``/``then``/``else``,
``dependentRequired``, ``dependentSchemas``); optional properties are left out so examples stay
small. Every result is checked with a JSON Schema validator. Where a keyword rules out the
value first built (``not``, an ``if`` it meets, a ``oneOf`` branch it also meets), a bounded
list of alternatives is tried in a fixed order (other types, other strings and numbers,
optional properties included, one more item), so the result is the same on every run. When
none validates, ``NO_EXAMPLE_VALUE`` says so: an invalid example is never emitted.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from itertools import islice
from typing import Any

from tasker_ctl.codegen.errors import CodegenError
from tasker_ctl.codegen.example_alternatives import (
    conjoin,
    outside,
    required_names,
    same_value,
    scalar_variants,
    with_dependencies,
)
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
_ALTERNATIVES = 32  # values tried for one schema node after the first one built
_CONDITIONAL_KEYS = ("not", "if", "then", "else")
_TYPES = ("object", "array", "string", "integer", "number", "boolean", "null")
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
        found = self._alternative(ref)
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
        """Refuse a document whose references leave it before anything follows them, with
        the error that names the reference."""
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

    def _alternative(self, ref: str) -> Any:
        """The first of the alternatives for the schema at ``ref`` that validates."""
        self._expanding = [ref]
        for value in self._attempts(self._resolve(ref), 0):
            if self.is_valid(ref, value):
                return value
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
        if any(key in schema for key in ("not", "if")):
            return self._build_conditional(schema, depth)
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
        branches = [{**rest, **b} if isinstance(b, dict) else rest for b in schema[key]]
        # every branch's first value, then each branch's alternatives (a oneOf whose first
        # values all meet two branches)
        for branch in branches:
            candidate = self._first(branch, depth + 1)
            if candidate is not _NOTHING and self._valid_under(schema, candidate):
                return candidate
        for branch in branches:
            for candidate in islice(self._alternatives(branch, depth + 1), _ALTERNATIVES):
                if self._valid_under(schema, candidate):
                    return candidate
        raise _Recursion

    def _build_conditional(self, schema: dict[str, Any], depth: int) -> Any:
        """``not`` and ``if``/``then``/``else``: values of the schema without them, the ``if``
        taken with ``then`` and else with ``else``, until one satisfies the whole schema."""
        rest = {k: v for k, v in schema.items() if k not in _CONDITIONAL_KEYS}
        branches = [rest]
        if "if" in schema:
            then, otherwise = schema.get("then", True), schema.get("else", True)
            test = schema["if"]
            branches = [conjoin(rest, test, then), conjoin(rest, otherwise, outside(test))]
            branches += [conjoin(rest, otherwise), rest]
        for branch in branches:
            for candidate in islice(self._attempts(branch, depth + 1), _ALTERNATIVES):
                if self._valid_under(schema, candidate):
                    return candidate
        raise _Recursion

    def _first(self, schema: Any, depth: int) -> Any:
        try:
            return self._build(schema, depth)
        except _Recursion:
            return _NOTHING

    def _attempts(self, schema: Any, depth: int) -> Iterator[Any]:
        """The value built first, then the alternatives, each once."""
        seen: list[Any] = []
        first = self._first(schema, depth)
        for value in ([first] if first is not _NOTHING else []), self._alternatives(schema, depth):
            for candidate in value:
                if candidate is _NOTHING or any(same_value(candidate, s) for s in seen):
                    continue
                seen.append(candidate)
                yield candidate

    def _alternatives(self, schema: Any, depth: int) -> Iterator[Any]:
        """Other values for ``schema`` than the first built, in a fixed order: what it
        offers, then for each type it allows (all when it names none) the value built for
        that type and its variants."""
        if not isinstance(schema, dict) or depth > _MAX_DEPTH:
            return
        ref = schema.get("$ref")
        if isinstance(ref, str):
            if ref not in self._expanding:
                target = self._resolve(ref)
                rest = {k: v for k, v in schema.items() if k != "$ref"}
                yield from self._alternatives(
                    {**target, **rest} if isinstance(target, dict) else target, depth + 1
                )
            return
        if isinstance(schema.get("allOf"), list):
            parts = [self._inline(part) for part in schema["allOf"]]
            yield from self._alternatives(merge_all_of({**schema, "allOf": parts}), depth + 1)
            return
        for key in ("enum", "examples"):
            if isinstance(schema.get(key), list):
                yield from schema[key]
        declared = schema.get("type")
        kinds = [declared] if isinstance(declared, str) else declared
        for kind in kinds if isinstance(kinds, list) else _TYPES:
            if not isinstance(kind, str):
                continue
            node = {**schema, "type": kind}
            yield self._first(node, depth + 1)
            yield from self._variants(node, kind, depth + 1)

    def _variants(self, schema: dict[str, Any], kind: str, depth: int) -> Iterator[Any]:
        if kind == "object" and isinstance(schema.get("properties"), dict):
            declared = schema["properties"]
            yield self._first({**schema, "required": list(declared)}, depth)
            # minProperties filled with names of its own rather than the optional ones
            required = required_names(schema)
            kept = {name: sub for name, sub in declared.items() if name in required}
            yield self._first({**schema, "properties": kept}, depth)
        elif kind == "array":
            low = schema.get("minItems")
            low = low if isinstance(low, int) and not isinstance(low, bool) else 0
            yield self._first({**schema, "minItems": low + 1}, depth)
        else:
            yield from scalar_variants(schema, kind)

    def _object(self, schema: dict[str, Any], depth: int) -> dict[str, Any]:
        schema = with_dependencies(schema, required_names(schema))
        declared = schema.get("properties")
        properties: dict[str, Any] = declared if isinstance(declared, dict) else {}
        required = required_names(schema)
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
        # properties taken for minProperties may bring dependencies of their own
        closed = with_dependencies(schema, list(result))
        for name in required_names(closed):
            if name not in result:
                result[name] = self._build(self._property_schema(closed, name), depth + 1)
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
