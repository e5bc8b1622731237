"""Hostile task contexts: JSON texts built from a seed context and its template's input_schema.

Values go in as JSON text, not Python values, because the hostile ones are what ``json.dumps``
never writes: NaN, Infinity, 1e999, lone surrogates, ints past Python's 4,300-digit limit,
nesting deeper than any recursion limit.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from typing import Any

from tests.fuzz.mutators import mutate_bytes

_DEEP = 5000

# (label, JSON text) makers for one value
VALUES: tuple[Callable[[random.Random], tuple[str, str]], ...] = (
    lambda rng: ("NaN", "NaN"),
    lambda rng: ("Infinity", rng.choice(("Infinity", "-Infinity"))),
    lambda rng: ("1e999", rng.choice(("1e999", "-1e999", "1e-999"))),
    lambda rng: ("NUL", '"\\u0000"'),
    lambda rng: ("lone surrogate", rng.choice(('"\\ud800"', '"x\\udfff"', '"\\udbff\\u0041"'))),
    lambda rng: ("5000-digit int", rng.choice(("", "-")) + "7" * 5000),
    lambda rng: ("4300-digit int", "1" * 4300),
    lambda rng: ("5000-deep list", "[" * _DEEP + "]" * _DEEP),
    lambda rng: ("5000-deep object", '{"a":' * _DEEP + "1" + "}" * _DEEP),
    lambda rng: ("huge string", '"' + "x" * rng.choice((100_000, 5_000_000)) + '"'),
    lambda rng: ("long list", "[" + ",".join(["1"] * rng.choice((10_000, 500_000))) + "]"),
    lambda rng: ("control characters", json.dumps("\x1b[2J\x07\r\u202e\u2028")),
    lambda rng: ("2**64", str(2**64)),
    lambda rng: ("-1", "-1"),
    lambda rng: ("1e308", "1e308"),
    lambda rng: ("null", "null"),
    lambda rng: ("empty object", "{}"),
    lambda rng: ("empty list", "[]"),
    lambda rng: ("$ref", '{"$ref": "file:///etc/passwd"}'),
)

# whole texts replacing the context
DOCUMENTS: tuple[Callable[[random.Random], tuple[str, str]], ...] = (
    lambda rng: ("empty text", ""),
    lambda rng: ("a list", "[1, 2]"),
    lambda rng: ("a string", '"context"'),
    lambda rng: ("null", "null"),
    lambda rng: ("NaN", "NaN"),
    lambda rng: ("BOM then object", "\ufeff{}"),
    lambda rng: ("unclosed object", "{"),
    lambda rng: ("duplicate keys", '{"a": 1, "a": "2"}'),
    lambda rng: ("5000-deep list", "[" * _DEEP + "]" * _DEEP),
    lambda rng: ("5000-deep object", '{"a":' * _DEEP + "1" + "}" * _DEEP),
    lambda rng: ("100000-deep list", "[" * 100_000 + "]" * 100_000),
    lambda rng: ("two documents", "{} {}"),
    lambda rng: ("trailing comma", '{"a": 1,}'),
    lambda rng: ("NUL byte", '{"a": 1}\x00'),
)

# a value of another type than the schema asks for
_OTHER_TYPE = {
    "string": ("0", "true", "[]", "{}", "null"),
    "integer": ('"1"', "1.5", "true", "[]", "null", "1e999"),
    "number": ('"1"', "true", "[]", "NaN", "null"),
    "boolean": ('"true"', "1", "[]", "null"),
    "array": ('"[]"', "{}", "1", "null"),
    "object": ('"{}"', "[]", "1", "null"),
}


def mutate_context(rng: random.Random, text: bytes, input_schema: Any) -> tuple[bytes, list[str]]:
    """A hostile variant of the context ``text`` for a template with ``input_schema``."""
    try:
        data = json.loads(text)
    except ValueError:
        data = {}
    if not isinstance(data, dict):
        data = {}
    roll = rng.random()
    if roll < 0.15:
        return mutate_bytes(rng, text)
    if roll < 0.3:
        label, document = rng.choice(DOCUMENTS)(rng)
        return document.encode("utf-8", "surrogatepass"), [label]
    labels = []
    fragments: dict[str, str] = {}
    for _ in range(rng.choice((1, 1, 2, 3))):
        key, label, fragment = _value_change(rng, data, input_schema)
        if fragment is None:
            labels.append(label)
            continue
        placeholder = f"__FUZZ_CONTEXT_{len(fragments)}__"
        fragments[placeholder] = fragment
        data[key] = placeholder
        labels.append(label)
    written = json.dumps(data, indent=2)
    for placeholder, fragment in fragments.items():
        written = written.replace(f'"{placeholder}"', fragment)
    return written.encode("utf-8", "surrogatepass"), labels


def _value_change(
    rng: random.Random, data: dict[str, Any], input_schema: Any
) -> tuple[str, str, str | None]:
    """Change one key of the context: (key, label, JSON text or None when the key is deleted)."""
    properties = input_schema.get("properties") if isinstance(input_schema, dict) else None
    properties = properties if isinstance(properties, dict) else {}
    keys = sorted({*data, *(k for k in properties if isinstance(k, str))})
    key = rng.choice(keys) if keys and rng.random() < 0.9 else "zz_fuzz_extra"
    roll = rng.random()
    if roll < 0.15 and key in data:
        del data[key]
        return key, f"delete {key}", None
    declared = properties.get(key)
    kind = declared.get("type") if isinstance(declared, dict) else None
    if roll < 0.45 and isinstance(kind, str) and kind in _OTHER_TYPE:
        fragment = rng.choice(_OTHER_TYPE[kind])
        return key, f"{key}: {fragment} for a {kind}", fragment
    label, fragment = rng.choice(VALUES)(rng)
    return key, f"{key} = {label}", fragment
