"""The schemas a tool list carries, kept small: a client pays for every byte of the list.

Input schemas are the arguments models' JSON Schemas without pydantic's titles. Output schemas
are the document models' own, abridged when big: the root's properties with their types and
short descriptions, nested objects left open, and a ``$comment`` naming the resource
(``tasker://schemas/<tool>``) that holds the whole schema. An abridged schema admits every
document the whole one does, so a client that validates answers against it never refuses one.
Every output schema also admits the ``page`` and ``cut`` blocks the server adds to long answers.
"""

from __future__ import annotations

import functools
import json
from typing import Any

from tasker_ctl.mcp.spec import ToolSpec, ToolTier

__all__ = ["full_output_schema", "input_schema", "output_schema"]

# an output schema larger than this (compact JSON) is abridged in the tool list
OUTPUT_SCHEMA_BUDGET = 900
_SCHEMA_LISTS = ("anyOf", "oneOf", "allOf", "prefixItems")
_SCHEMA_VALUES = ("items", "additionalProperties", "not", "contains")
_SCHEMA_MAPS = ("properties", "$defs", "patternProperties")

# the blocks the server adds (the instructions say what they are; the list stays small)
_PAGE = {"type": "object"}
_CUT = {"type": "object"}
_PREVIEW_FIELDS: dict[str, Any] = {
    "status": {"type": "string"},
    "preview": {"type": "object"},
    "token": {"type": "string"},
    "expires_in_seconds": {"type": "integer"},
    "instruction": {"type": "string"},
}


def _size(schema: Any) -> int:
    return len(json.dumps(schema, separators=(",", ":")))


def _untitled(schema: Any) -> Any:
    """``schema`` without pydantic's ``title`` keys (a property named title is kept)."""
    if isinstance(schema, list):
        return [_untitled(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    result: dict[str, Any] = {}
    for key, value in schema.items():
        if key == "title" and isinstance(value, str):
            continue
        if key in _SCHEMA_MAPS and isinstance(value, dict):
            result[key] = {name: _untitled(sub) for name, sub in value.items()}
        elif key in _SCHEMA_LISTS or key in _SCHEMA_VALUES:
            result[key] = _untitled(value)
        else:
            result[key] = value
    return result


def input_schema(spec: ToolSpec, *, cursor: str) -> dict[str, Any]:
    schema: dict[str, Any] = _untitled(spec.arguments.model_json_schema())
    if spec.pages:
        schema.setdefault("properties", {})[cursor] = {
            "type": "string",
            "maxLength": 512,
            "description": "page.next_cursor of the previous answer",
        }
    return schema


@functools.cache
def full_output_schema(spec: ToolSpec) -> dict[str, Any]:
    """The document model's whole schema, with the blocks the server may add."""
    schema: dict[str, Any] = _untitled(spec.output.model_json_schema())
    ref = schema.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/$defs/"):
        schema = {**schema["$defs"][ref.removeprefix("#/$defs/")], "$defs": schema["$defs"]}
    schema.setdefault("type", "object")
    properties = schema.setdefault("properties", {})
    properties.setdefault("page", _PAGE)
    properties.setdefault("cut", _CUT)
    if spec.tier is ToolTier.WRITE:
        # a write answers a preview first: the confirmed document's fields, none required
        properties.update(_PREVIEW_FIELDS)
        schema.pop("required", None)
        schema.pop("additionalProperties", None)
    return schema


def output_schema(spec: ToolSpec) -> dict[str, Any]:
    """The schema the tool list carries: whole when small, else abridged."""
    schema = full_output_schema(spec)
    if _size(schema) <= OUTPUT_SCHEMA_BUDGET:
        return schema
    defs = schema.get("$defs", {})
    abridged: dict[str, Any] = {
        "type": "object",
        "$comment": f"abridged; the whole schema: resource tasker://schemas/{spec.name}",
        "properties": {
            name: _open(sub, defs) for name, sub in schema.get("properties", {}).items()
        },
    }
    if "required" in schema:
        abridged["required"] = schema["required"]
    return abridged


def _open(schema: Any, defs: dict[str, Any]) -> dict[str, Any]:
    """A property's schema reduced to its JSON types (its description is in the resource)."""
    types = sorted(_types(schema, defs, depth=0))
    result: dict[str, Any] = {}
    if types and "any" not in types:
        result["type"] = types[0] if len(types) == 1 else types
    return result


def _types(schema: Any, defs: dict[str, Any], depth: int) -> set[str]:
    if not isinstance(schema, dict) or depth > 8:
        return {"any"}
    ref = schema.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/$defs/"):
        return _types(defs.get(ref.removeprefix("#/$defs/")), defs, depth + 1)
    if "const" in schema:
        return {_json_type(schema["const"])}
    if "enum" in schema:
        return {_json_type(value) for value in schema["enum"]}
    declared = schema.get("type")
    if isinstance(declared, str):
        return {"number" if declared == "integer" else declared}
    if isinstance(declared, list):
        return {"number" if item == "integer" else str(item) for item in declared}
    for key in ("anyOf", "oneOf"):
        if isinstance(schema.get(key), list):
            found: set[str] = set()
            for option in schema[key]:
                found |= _types(option, defs, depth + 1)
            return found
    return {"any"}


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"
