"""JSON Schema checks at the engine's boundaries: task context in, step results out."""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any


@lru_cache(maxsize=256)
def _validator(schema_json: str) -> Any:
    from jsonschema import validators

    schema = json.loads(schema_json)
    cls = validators.validator_for(schema, default=validators.Draft202012Validator)
    return cls(schema, format_checker=cls.FORMAT_CHECKER)


def violations(value: Any, schema: Any) -> list[str]:
    """Every way ``value`` breaks ``schema``, as ``$.path: message`` strings (sorted by path)."""
    if schema is None:
        return []
    validator = _validator(json.dumps(schema, sort_keys=True))
    errors = sorted(validator.iter_errors(value), key=lambda error: [str(p) for p in error.path])
    return [f"{_path(error.path)}: {error.message}" for error in errors]


def _path(parts: Any) -> str:
    return "$" + "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in parts)
