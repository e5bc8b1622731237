"""JSON Schema contract checks: task context in, step results out.

Used by the orchestrator at its boundaries and by ``testing.assert_matches_schema`` in
handler tests, so both report a broken contract the same way.

Violations are ``$.path: message`` strings, sorted by path, so that a message names exactly
where a value breaks its contract (``$.items[0].quantity: -1 is less than the minimum of 1``).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import lru_cache
from typing import Any

SchemaCheck = Callable[[Any], list[str]]


@lru_cache(maxsize=256)
def _validator(schema_json: str) -> Any:
    from jsonschema import validators

    schema = json.loads(schema_json)
    cls = validators.validator_for(schema, default=validators.Draft202012Validator)
    return cls(schema, format_checker=cls.FORMAT_CHECKER)


def compile_schema(schema: Any) -> SchemaCheck | None:
    """A reusable check for ``schema`` (None when there is no schema).

    Workers compile each step's ``result_schema`` once per template revision instead of
    serializing the schema again for every attempt.
    """
    if schema is None:
        return None
    validator = _validator(json.dumps(schema, sort_keys=True))

    def check(value: Any) -> list[str]:
        errors = sorted(validator.iter_errors(value), key=lambda e: [str(p) for p in e.path])
        return [f"{_path(error.path)}: {error.message}" for error in errors]

    return check


def violations(value: Any, schema: Any) -> list[str]:
    """Every way ``value`` breaks ``schema``, as ``$.path: message`` strings (sorted by path)."""
    check = compile_schema(schema)
    return [] if check is None else check(value)


def _path(parts: Any) -> str:
    return "$" + "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in parts)
