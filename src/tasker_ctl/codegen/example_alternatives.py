"""What the example builder (``examples.ExampleBuilder``) needs beyond single keywords: schemas
conjoined (``if`` with ``then``, ``dependentSchemas``), the properties ``dependentRequired``
and ``dependentSchemas`` bring along, and the other strings and numbers it tries, in a fixed
order, when the first value built is ruled out (by ``not``, an ``if`` it meets, two ``oneOf``
branches it meets)."""

from __future__ import annotations

from collections.abc import Iterator
from itertools import islice
from typing import Any

from tasker_ctl.codegen.regex_example import FALLBACK, pattern_examples
from tasker_ctl.codegen.scalars import integer_value, merge_all_of, number_value

_DEPENDENCY_ROUNDS = 16  # dependencies that bring in properties with dependencies of their own
_PATTERN_VARIANTS = 8
# a second value of each format scalars.FORMATS knows, for a node whose first one is ruled out
_OTHER_FORMATS = {
    "date-time": "2024-01-02T00:00:00Z",
    "date": "2024-01-02",
    "time": "00:00:01Z",
    "duration": "P2D",
    "email": "other@example.com",
    "idn-email": "other@example.com",
    "hostname": "example.org",
    "idn-hostname": "example.org",
    "ipv4": "192.0.2.2",
    "ipv6": "2001:db8::2",
    "uri": "https://example.org/",
    "iri": "https://example.org/",
    "uri-reference": "https://example.org/",
    "iri-reference": "https://example.org/",
    "uri-template": "https://example.org/{id}",
    "uuid": "00000000-0000-4000-8000-000000000001",
    "json-pointer": "/other",
    "relative-json-pointer": "1",
    "regex": "^other$",
    "byte": "b3RoZXI=",
    "binary": "other",
    "password": "other",
}


def conjoin(*parts: Any) -> dict[str, Any]:
    """One schema that asks what all ``parts`` ask (boolean ``true`` asks nothing): keywords
    combined as ``allOf`` combines them, a property that several parts describe held to all
    of its descriptions."""
    described = [part for part in parts if isinstance(part, dict)]
    properties: dict[str, Any] = {}
    for part in described:
        declared = part.get("properties")
        for name, subschema in (declared if isinstance(declared, dict) else {}).items():
            known = properties.get(name)
            properties[name] = subschema if known is None else {"allOf": [known, subschema]}
    stripped = [{k: v for k, v in part.items() if k != "properties"} for part in described]
    merged = merge_all_of({"allOf": stripped})
    if properties:
        merged["properties"] = properties
    if any(part is False for part in parts):
        merged["not"] = {}  # nothing satisfies it: validation says so
    return merged


# a bound and the bound just past it: what a value outside the first keeps to
_OPPOSITE_BOUNDS = {
    "maxLength": ("minLength", 1),
    "minLength": ("maxLength", -1),
    "maxItems": ("minItems", 1),
    "minItems": ("maxItems", -1),
    "maxProperties": ("minProperties", 1),
    "minProperties": ("maxProperties", -1),
    "maximum": ("exclusiveMinimum", 0),
    "minimum": ("exclusiveMaximum", 0),
    "exclusiveMaximum": ("minimum", 0),
    "exclusiveMinimum": ("maximum", 0),
}


def outside(schema: Any) -> dict[str, Any]:
    """Keywords that steer a value away from ``schema`` (for an ``else`` branch): the
    opposite of its first bound, its first property's description negated, or ``not`` of
    its type or value; ``{}`` when there is no such hint. A hint, not the negation: the
    builder validates what it builds."""
    if not isinstance(schema, dict):
        return {}
    for key, (opposite, step) in _OPPOSITE_BOUNDS.items():
        bound = schema.get(key)
        if isinstance(bound, int | float) and not isinstance(bound, bool) and bound + step >= 0:
            return {opposite: bound + step}
    properties = schema.get("properties")
    if isinstance(properties, dict):
        for name, subschema in properties.items():
            if isinstance(subschema, dict) and subschema:
                return {"properties": {name: {"not": subschema}}}
    for key in ("type", "const", "enum", "pattern", "format"):
        if key in schema:
            return {"not": {key: schema[key]}}
    return {}


def required_names(schema: dict[str, Any]) -> list[str]:
    listed = schema.get("required")
    return [n for n in listed if isinstance(n, str)] if isinstance(listed, list) else []


def with_dependencies(schema: dict[str, Any], present: list[str]) -> dict[str, Any]:
    """``schema`` with what the properties in ``present`` bring along: the names their
    ``dependentRequired`` lists become required and their ``dependentSchemas`` apply, again
    for the properties those bring, a bounded number of rounds."""
    applied: set[str] = set()
    names = list(dict.fromkeys([*present, *required_names(schema)]))
    for _ in range(_DEPENDENCY_ROUNDS):
        needed = schema.get("dependentRequired")
        needed = needed if isinstance(needed, dict) else {}
        dependent = schema.get("dependentSchemas")
        dependent = dependent if isinstance(dependent, dict) else {}
        more = [
            extra
            for name in names
            if isinstance(needed.get(name), list)
            for extra in needed[name]
            if isinstance(extra, str) and extra not in names
        ]
        due = [name for name in names if name in dependent and name not in applied]
        if not more and not due:
            break
        for name in due:
            schema = conjoin(schema, dependent[name])
            applied.add(name)
        names = list(dict.fromkeys([*names, *more, *required_names(schema)]))
    return {**schema, "required": names} if names else schema


def scalar_variants(schema: dict[str, Any], kind: str) -> Iterator[Any]:
    """Other values of a string, number, integer or boolean node than the first one built:
    the shortest and a few other strings (or other matches of its pattern), neighbouring
    multiples, ``true``. Not all of them satisfy the node: the builder validates each."""
    if kind == "string":
        low = _int(schema.get("minLength")) or 0
        high = _int(schema.get("maxLength"))
        pattern, format_name = schema.get("pattern"), schema.get("format")
        if isinstance(format_name, str) and format_name in _OTHER_FORMATS:
            yield _OTHER_FORMATS[format_name]
        if isinstance(pattern, str):
            yield from islice(pattern_examples(pattern, low, high), _PATTERN_VARIANTS)
            return
        for index in (1, 2, 3):
            yield f"{FALLBACK}{index}"
        yield "x" * low
        if high is not None:
            yield "x" * high
    elif kind in ("integer", "number"):
        base = integer_value(schema) if kind == "integer" else number_value(schema)
        multiple = schema.get("multipleOf")
        step: float = multiple if isinstance(multiple, int | float) and multiple > 0 else 1
        for times in (1, -1, 2, -2, 3):
            value = base + times * step
            yield int(value) if kind == "integer" and value == int(value) else value
    elif kind == "boolean":
        yield True


def same_value(left: Any, right: Any) -> bool:
    """Equal as JSON values (1, 1.0 and true are different examples)."""
    return type(left) is type(right) and left == right


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None
