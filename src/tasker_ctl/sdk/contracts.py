"""JSON Schema contract checks: task context in, step results out.

Used by the orchestrator at its boundaries and by ``testing.assert_matches_schema`` in
handler tests, so both report a broken contract the same way.

Violations are ``$.path: message`` strings, sorted by path, so that a message names exactly
where a value breaks its contract (``$.items[0].quantity: -1 is less than the minimum of 1``).

Schemas are self-contained: a ``$ref`` resolves inside the schema or to a schema registered
with ``register_schema``, never over the network or from files. Applying a schema whose
reference leads elsewhere raises ``SchemaRefError`` (code ``SCHEMA_REF_UNRESOLVABLE``) naming
the reference, whatever the value.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import lru_cache
from typing import Any

from tasker_ctl.errors import SchemaRefError, SchemaUnusableError
from tasker_ctl.schema_refs import (
    build_validator,
    ref_problems,
    register_schema,
    registered_schema_uris,
    registrations_generation,
    unregister_schema,
    validation_errors,
)

__all__ = [
    "SchemaCheck",
    "SchemaRefError",
    "SchemaUnusableError",
    "compile_schema",
    "register_schema",
    "registered_schema_uris",
    "unregister_schema",
    "violations",
]

SchemaCheck = Callable[[Any], list[str]]


@lru_cache(maxsize=256)
def _validator(schema_json: str, generation: int) -> Any:
    # ``generation`` is part of the key: a registration changes what the schema means
    return build_validator(json.loads(schema_json), check_formats=True)


@lru_cache(maxsize=256)
def _refused_ref(schema_json: str, generation: int) -> str | None:
    problems = ref_problems(json.loads(schema_json))
    return problems[0].ref if problems else None


def compile_schema(schema: Any) -> SchemaCheck | None:
    """A reusable check for ``schema`` (None when there is no schema).

    Workers compile each step's ``result_schema`` once per template revision instead of
    serializing the schema again for every attempt. The check raises ``SchemaRefError`` when
    the schema refers outside itself, and ``SchemaUnusableError`` when it cannot be applied.
    """
    if schema is None:
        return None
    schema_json = json.dumps(schema, sort_keys=True)

    def check(value: Any) -> list[str]:
        generation = registrations_generation()
        # refused whatever the value, so a reference a value happens not to reach still fails
        refused = _refused_ref(schema_json, generation)
        if refused is not None:
            raise SchemaRefError(refused)
        validator = _validator(schema_json, generation)
        errors = sorted(validation_errors(validator, value), key=_sort_key)
        return [f"{_path(error.path)}: {error.message}" for error in errors]

    return check


def violations(value: Any, schema: Any) -> list[str]:
    """Every way ``value`` breaks ``schema``, as ``$.path: message`` strings (sorted by path)."""
    check = compile_schema(schema)
    return [] if check is None else check(value)


def _sort_key(error: Any) -> list[str]:
    return [str(part) for part in error.path]


def _path(parts: Any) -> str:
    return "$" + "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in parts)
