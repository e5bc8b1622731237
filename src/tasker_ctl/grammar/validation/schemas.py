"""Reading JSON Schemas tolerantly: local ``$ref``, declared types, nullability, enums.

Schemas come from user files, so any of these may be malformed; every helper answers "don't
know" (``None``, empty) rather than raising.
"""

from __future__ import annotations

import json
from typing import Any

from tasker_ctl.grammar.json_types import json_type

MAX_REF_HOPS = 32

# keywords that say nothing about which values are valid
_ANNOTATIONS = frozenset(
    {
        "$schema",
        "$id",
        "$anchor",
        "$comment",
        "$defs",
        "definitions",
        "title",
        "description",
        "default",
        "examples",
        "deprecated",
        "readOnly",
        "writeOnly",
        "format",
        "contentMediaType",
        "contentEncoding",
    }
)
JSON_TYPES = ("array", "boolean", "integer", "null", "number", "object", "string")


def is_trivial(schema: Any) -> bool:
    """True when the schema accepts anything (or is absent)."""
    if schema is None or schema is True:
        return True
    if isinstance(schema, dict):
        return all(key in _ANNOTATIONS for key in schema)
    return False


def resolve(schema: Any, root: Any) -> Any:
    """Follow local ``$ref`` pointers (``#``, ``#/$defs/x``, ``#/definitions/x``, any JSON
    pointer into ``root``); keywords beside the ``$ref`` are kept. Unresolvable references
    resolve to ``{}`` (unknown), cycles stop after a bounded number of hops."""
    for _ in range(MAX_REF_HOPS):
        if not isinstance(schema, dict) or not isinstance(schema.get("$ref"), str):
            return schema
        target = _pointer(root, schema["$ref"])
        siblings = {key: value for key, value in schema.items() if key != "$ref"}
        if not isinstance(target, dict):
            return siblings if target is None or target is True else target
        schema = {**target, **siblings}
    return {}


def _pointer(root: Any, reference: str) -> Any:
    if not reference.startswith("#"):
        return None  # remote references are not fetched
    current = root
    for raw in reference[1:].split("/")[1:]:
        part = raw.replace("~1", "/").replace("~0", "~")
        if isinstance(current, dict) and part in current:
            current = current[part]
        elif isinstance(current, list) and part.isdigit() and int(part) < len(current):
            current = current[int(part)]
        else:
            return None
    return current


def allowed_values(schema: Any) -> list[Any] | None:
    """The values ``enum``/``const`` restrict the schema to, or None when unrestricted."""
    if not isinstance(schema, dict):
        return None
    if "const" in schema:
        return [schema["const"]]
    values = schema.get("enum")
    return list(values) if isinstance(values, list) else None


def types_of(schema: Any) -> frozenset[str] | None:
    """The JSON types a schema admits, or None when it does not say."""
    if not isinstance(schema, dict):
        return None
    declared = schema.get("type")
    types: set[str] | None = None
    if isinstance(declared, str):
        types = {declared}
    elif isinstance(declared, list) and declared and all(isinstance(t, str) for t in declared):
        types = set(declared)
    else:
        values = allowed_values(schema)
        if values is not None:
            types = {json_type(value) for value in values}
    if types is None:
        return None
    if schema.get("nullable") is True:  # OpenAPI's spelling of a nullable type
        types.add("null")
    return frozenset(types)


def admits(types: frozenset[str], produced: str) -> bool:
    """Whether a value of JSON type ``produced`` fits ``types`` (integers are numbers)."""
    return produced in types or (produced == "integer" and "number" in types)


def properties(schema: Any) -> dict[str, Any]:
    value = schema.get("properties") if isinstance(schema, dict) else None
    return {str(k): v for k, v in value.items()} if isinstance(value, dict) else {}


def required(schema: Any) -> list[str]:
    value = schema.get("required") if isinstance(schema, dict) else None
    return [item for item in value if isinstance(item, str)] if isinstance(value, list) else []


def is_closed(schema: Any) -> bool:
    """Whether undeclared properties are refused."""
    return isinstance(schema, dict) and (
        schema.get("additionalProperties") is False or schema.get("unevaluatedProperties") is False
    )


def branches(schema: Any) -> list[Any] | None:
    """The alternatives of an ``anyOf``/``oneOf`` schema, each merged with the keywords
    beside it, or None when the schema has no alternatives."""
    if not isinstance(schema, dict):
        return None
    for keyword in ("anyOf", "oneOf"):
        options = schema.get(keyword)
        if isinstance(options, list) and options:
            base = {k: v for k, v in schema.items() if k not in ("anyOf", "oneOf")}
            return [merge(base, option) for option in options]
    return None


def merge(base: dict[str, Any], extra: Any) -> Any:
    """``base`` and ``extra`` as one schema (``extra`` wins; properties are combined)."""
    if extra is False:
        return False
    if not isinstance(extra, dict):
        return base
    merged = {**base, **extra}
    if isinstance(base.get("properties"), dict) and isinstance(extra.get("properties"), dict):
        merged["properties"] = {**base["properties"], **extra["properties"]}
    if isinstance(base.get("required"), list) and isinstance(extra.get("required"), list):
        merged["required"] = list(dict.fromkeys([*base["required"], *extra["required"]]))
    return merged


def flatten_all_of(schema: Any, root: Any) -> Any:
    """An ``allOf`` schema as one schema whose properties are all the parts' properties."""
    if not isinstance(schema, dict) or not isinstance(schema.get("allOf"), list):
        return schema
    merged: dict[str, Any] = {k: v for k, v in schema.items() if k != "allOf"}
    for part in schema["allOf"]:
        part = resolve(part, root)
        if isinstance(part, dict):
            closed = merged.get("additionalProperties")
            merged = merge(merged, {k: v for k, v in part.items() if k != "additionalProperties"})
            if closed is not None:
                merged["additionalProperties"] = closed
    return merged


def same_json(left: Any, right: Any) -> bool:
    """JSON equality (``1`` and ``true`` differ; ``1`` and ``1.0`` do not)."""
    if isinstance(left, bool) or isinstance(right, bool):
        return type(left) is type(right) and left == right
    if isinstance(left, int | float) and isinstance(right, int | float):
        return bool(left == right)
    try:
        return json.dumps(left, sort_keys=True) == json.dumps(right, sort_keys=True)
    except (TypeError, ValueError):
        return bool(left == right)


def describe_types(types: frozenset[str] | None) -> str:
    if not types:
        return "any type"
    ordered = sorted(types)
    return ordered[0] if len(ordered) == 1 else " or ".join(ordered)
