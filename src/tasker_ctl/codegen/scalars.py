"""Example strings and numbers for single JSON Schema nodes, and the keyword merging of allOf.

Helpers of ``examples.ExampleBuilder``: each returns a value meant to satisfy the node's own
keywords; the builder validates the whole example afterwards.
"""

from __future__ import annotations

import math
from decimal import Decimal
from typing import Any

from tasker_ctl.codegen.regex_example import FALLBACK, example_for_pattern

FORMATS = {
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
_NUMERIC_TRIES = 50


def choose_type(schema: dict[str, Any]) -> str | None:
    """The JSON type to build: the declared one (not null if another is allowed), else inferred."""
    declared = schema.get("type")
    if isinstance(declared, str):
        return declared
    if isinstance(declared, list):
        concrete = [kind for kind in declared if kind != "null"]
        return str(concrete[0]) if concrete else "null"
    inferred = (
        ("object", ("properties", "required", "additionalProperties", "patternProperties")),
        ("array", ("items", "prefixItems", "minItems", "maxItems", "contains")),
        ("string", ("minLength", "maxLength", "pattern", "format")),
        ("number", ("minimum", "maximum", "multipleOf", "exclusiveMinimum", "exclusiveMaximum")),
    )
    for kind, keys in inferred:
        if any(key in schema for key in keys):
            return kind
    return None


def string_value(schema: dict[str, Any]) -> str:
    minimum = _int(schema.get("minLength")) or 0
    maximum = _int(schema.get("maxLength"))
    format_name = schema.get("format")
    if isinstance(format_name, str) and format_name in FORMATS:
        return FORMATS[format_name]
    pattern = schema.get("pattern")
    if isinstance(pattern, str):
        return example_for_pattern(pattern, minimum, maximum)
    text = FALLBACK
    if len(text) < minimum:
        text += "x" * (minimum - len(text))
    return text[:maximum] if maximum is not None else text


def integer_value(schema: dict[str, Any]) -> int:
    low, high = _bounds(schema, 1)
    multiple = _number(schema.get("multipleOf"))
    start = math.ceil(low) if low is not None else None
    if start is None:
        start = 0 if high is None or high >= 0 else math.floor(high)
    if multiple is not None and multiple > 0:
        step = Decimal(str(multiple))
        first = math.ceil(Decimal(start) / step)
        indexes = range(first, first + _NUMERIC_TRIES)
        if high is not None and first * step > Decimal(str(high)):
            # only an upper bound below the start: count down from the largest multiple under it
            last = math.floor(Decimal(str(high)) / step)
            indexes = range(last, last - _NUMERIC_TRIES, -1)
        for index in indexes:
            candidate = index * step
            if candidate == candidate.to_integral_value():
                return int(candidate)
    return int(start)


def number_value(schema: dict[str, Any]) -> float | int:
    multiple = _number(schema.get("multipleOf"))
    low, high = _bounds(schema, 0)
    exclusive_low = (
        _is_number(schema.get("exclusiveMinimum")) or schema.get("exclusiveMinimum") is True
    )
    exclusive_high = (
        _is_number(schema.get("exclusiveMaximum")) or schema.get("exclusiveMaximum") is True
    )
    if multiple is not None and multiple > 0:
        return _multiple_in(Decimal(str(multiple)), low, high, exclusive_low, exclusive_high)
    if low is not None and high is not None:
        if not exclusive_low:
            return float(low)
        if not exclusive_high and high > low:
            return float(high)
        return (low + high) / 2
    if low is not None:
        return float(low) + (1.0 if exclusive_low else 0.0)
    if high is not None:
        value = min(0.0, float(high))
        return value - 1.0 if exclusive_high and value == high else value
    return 0.0


def _multiple_in(
    step: Decimal, low: float | None, high: float | None, open_low: bool, open_high: bool
) -> float | int:
    """The first multiple of ``step`` within the bounds that survives float division checks."""
    floor = Decimal(str(low)) if low is not None else Decimal(0)
    ceiling = Decimal(str(high)) if high is not None else None
    index, direction = math.ceil(floor / step), 1
    if low is None and ceiling is not None and ceiling < floor:
        # only an upper bound below zero: count down from the largest multiple under it
        index, direction = math.floor(ceiling / step), -1
    for _ in range(_NUMERIC_TRIES):
        candidate = index * step
        index += direction
        if low is not None and (candidate < floor or (open_low and candidate == floor)):
            continue
        if ceiling is not None and open_high and candidate == ceiling:
            continue
        if ceiling is not None and candidate > ceiling:
            break
        if candidate == candidate.to_integral_value():
            return int(candidate)
        value = float(candidate)
        quotient = value / float(step)  # the check validators apply to floats
        if int(quotient) == quotient:
            return value
    return float(floor)


def _bounds(schema: dict[str, Any], step: float) -> tuple[float | None, float | None]:
    """Inclusive-ish bounds: exclusive ones moved inwards by ``step`` (0 keeps them as they are)."""
    low, high = _number(schema.get("minimum")), _number(schema.get("maximum"))
    flag_low, flag_high = schema.get("exclusiveMinimum"), schema.get("exclusiveMaximum")
    open_low, open_high = _number(flag_low), _number(flag_high)
    if flag_low is True:  # draft-04 flags
        open_low, low = low, None
    if flag_high is True:
        open_high, high = high, None
    if open_low is not None:
        low = open_low + step if low is None else max(low, open_low + step)
    if open_high is not None:
        high = open_high - step if high is None else min(high, open_high - step)
    return low, high


def merge_all_of(schema: dict[str, Any]) -> dict[str, Any]:
    """One schema with the keywords of ``schema`` and its ``allOf`` parts combined."""
    merged: dict[str, Any] = {k: v for k, v in schema.items() if k != "allOf"}
    for part in schema["allOf"]:
        if not isinstance(part, dict):
            continue
        if isinstance(part.get("allOf"), list):
            part = merge_all_of(part)
        for key, value in part.items():
            merged[key] = _merge_keyword(key, merged[key], value) if key in merged else value
    return merged


def _merge_keyword(key: str, current: Any, value: Any) -> Any:
    both_numbers = _is_number(current) and _is_number(value)
    if key == "properties" and isinstance(current, dict) and isinstance(value, dict):
        return {**current, **value}
    if key == "required" and isinstance(current, list) and isinstance(value, list):
        return list(dict.fromkeys([*current, *value]))
    if key in ("minimum", "exclusiveMinimum", "minLength", "minItems", "minProperties"):
        return max(current, value) if both_numbers else current
    if key in ("maximum", "exclusiveMaximum", "maxLength", "maxItems", "maxProperties"):
        return min(current, value) if both_numbers else current
    if key == "multipleOf" and both_numbers:
        if isinstance(current, int) and isinstance(value, int):
            return math.lcm(current, value)
        return max(current, value)
    if key == "enum" and isinstance(current, list) and isinstance(value, list):
        return [item for item in current if item in value] or current
    if key == "type":
        left = current if isinstance(current, list) else [current]
        right = value if isinstance(value, list) else [value]
        common = [kind for kind in left if kind in right]
        mixed = ("number" in left and "integer" in right) or (
            "integer" in left and "number" in right
        )
        if mixed and "integer" not in common:
            common.append("integer")
        return common[0] if len(common) == 1 else (common or current)
    return current


def distinct(value: Any, index: int, options: list[Any] | None) -> Any:
    """The ``index``-th of several different values like ``value`` (for ``uniqueItems``)."""
    if options:
        return options[index % len(options)]
    if index == 0:
        return value
    if isinstance(value, bool):
        return not value if index == 1 else value
    if isinstance(value, str):
        return f"{value}{index}"
    if isinstance(value, int | float):
        return value + index
    if isinstance(value, dict) and value:
        key = next(iter(value))
        return {**value, key: distinct(value[key], index, None)}
    if isinstance(value, list) and value:
        return [distinct(value[0], index, None), *value[1:]]
    return value


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _number(value: Any) -> float | None:
    return value if isinstance(value, int | float) and not isinstance(value, bool) else None


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None
