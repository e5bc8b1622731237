"""The JSON Schema of the fragment format: the tool-call schema a planner model is given.

Rendered from the models, then narrowed to one planning step: ``grammar`` and ``callable`` become
``enum``s of the names that step allows, and the composition branch goes when the step does not
allow dynamic composition. The output is self-contained (only ``#/$defs/...`` references) and
sorted, so the same arguments always give the same text.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from tasker_ctl.planning.fragment import Fragment

DRAFT_2020_12 = "https://json-schema.org/draft/2020-12/schema"


def fragment_json_schema(
    allowed_callables: Iterable[str],
    allowed_patterns: Iterable[str],
    allow_dynamic_composition: bool,
) -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of a fragment one planning step may propose."""
    schema = Fragment.model_json_schema()
    definitions: dict[str, Any] = schema["$defs"]
    definitions["CallableHandler"]["properties"]["callable"]["enum"] = sorted(
        set(allowed_callables)
    )
    definitions["GrammarHandler"]["properties"]["grammar"]["enum"] = sorted(set(allowed_patterns))
    if not allow_dynamic_composition:
        handler = definitions["FragmentStep"]["properties"]["handler"]
        handler["oneOf"] = [
            choice
            for choice in handler["oneOf"]
            if choice.get("$ref") != "#/$defs/CompositionHandler"
        ]
    schema["$schema"] = DRAFT_2020_12
    schema["$defs"] = {
        name: definition
        for name, definition in definitions.items()
        if name in _reachable_definitions(schema)
    }
    # A round trip through sorted JSON fixes the key order whatever pydantic's version does.
    ordered: dict[str, Any] = json.loads(json.dumps(schema, sort_keys=True))
    return ordered


def _reachable_definitions(schema: dict[str, Any]) -> set[str]:
    """The ``$defs`` the schema still refers to, directly or through other definitions."""
    definitions: dict[str, Any] = schema["$defs"]
    found: set[str] = set()
    pending: list[Any] = [{key: value for key, value in schema.items() if key != "$defs"}]
    while pending:
        node = pending.pop()
        if isinstance(node, dict):
            reference = node.get("$ref")
            if isinstance(reference, str):
                name = reference.removeprefix("#/$defs/")
                if name not in found:
                    found.add(name)
                    pending.append(definitions[name])
            pending.extend(node.values())
        elif isinstance(node, list):
            pending.extend(node)
    return found
