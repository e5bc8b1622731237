"""The JSON Schema of the fragment format: the tool-call schema a planner model is given.

Rendered from the models, then narrowed to one planning step: ``grammar`` and ``callable`` become
``enum``s of the names that step allows, and the composition branch goes when the step does not
allow dynamic composition; the nested-planning step is offered only when the frame may open
another level of planning. The output is self-contained (only ``#/$defs/...`` references) and
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
    allow_nested: bool = False,
) -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of a fragment one planning step may propose; with
    ``allow_nested`` (the frame may open another level: ``FragmentFrame.nesting_left``) a
    step may also be a nested planning step."""
    schema = Fragment.model_json_schema()
    definitions: dict[str, Any] = schema["$defs"]
    definitions["CallableHandler"]["properties"]["callable"]["enum"] = sorted(
        set(allowed_callables)
    )
    definitions["GrammarHandler"]["properties"]["grammar"]["enum"] = sorted(set(allowed_patterns))
    step = definitions["FragmentStep"]
    handler = _handler_choices(step)
    if not allow_dynamic_composition:
        handler["oneOf"] = [
            choice
            for choice in handler["oneOf"]
            if choice.get("$ref") != "#/$defs/CompositionHandler"
        ]
    nested = _nested_planning_step(step)
    definitions["FragmentStep"] = _ordinary_step(step, handler)
    if allow_nested:
        definitions["NestedPlanningStep"] = nested
        schema["properties"]["steps"]["items"] = {
            "oneOf": [{"$ref": "#/$defs/FragmentStep"}, {"$ref": "#/$defs/NestedPlanningStep"}]
        }
    schema["$schema"] = DRAFT_2020_12
    schema["$defs"] = {
        name: definition
        for name, definition in definitions.items()
        if name in _reachable_definitions(schema)
    }
    # A round trip through sorted JSON fixes the key order whatever pydantic's version does.
    ordered: dict[str, Any] = json.loads(json.dumps(schema, sort_keys=True))
    return ordered


def _handler_choices(step: dict[str, Any]) -> dict[str, Any]:
    """The handler's ``oneOf`` of shapes (the model's handler is optional: ``anyOf`` with
    null, for nested planning steps)."""
    handler: dict[str, Any] = step["properties"]["handler"]
    for choice in handler.get("anyOf", [handler]):
        if "oneOf" in choice:
            return {"oneOf": list(choice["oneOf"])}
    raise AssertionError("the fragment step's handler has no oneOf of shapes")


def _ordinary_step(step: dict[str, Any], handler: dict[str, Any]) -> dict[str, Any]:
    """A step with a handler: what every fragment step is but a nested planner."""
    properties = {key: value for key, value in step["properties"].items() if key != "planning"}
    properties["handler"] = {**handler, "title": "Handler"}
    properties["step_type"] = {
        **properties["step_type"],
        "enum": [kind for kind in properties["step_type"]["enum"] if kind != "planning"],
    }
    return {
        **{key: value for key, value in step.items() if key != "description"},
        "description": "One step the planner proposes.",
        "properties": properties,
        "required": ["name", "handler"],
    }


def _nested_planning_step(step: dict[str, Any]) -> dict[str, Any]:
    """A nested planning step: no handler nor inputs, a ``planning`` object."""
    properties = step["properties"]
    return {
        "additionalProperties": False,
        "description": "A nested planner: the engine asks a planner for this step's own fill "
        "(goal, context and bounds below). It inherits the outer convergence and allow-lists, "
        "and no step of the fragment may depend on it.",
        "properties": {
            "name": properties["name"],
            "dependencies": properties["dependencies"],
            "step_type": {"const": "planning", "title": "Step Type", "type": "string"},
            "planning": {"$ref": "#/$defs/NestedPlanning"},
            # the models dump an empty map; a nested planner reads planning.context_from
            "inputs": {"maxProperties": 0, "title": "Inputs", "type": "object"},
            "reasoning": properties["reasoning"],
        },
        "required": ["name", "step_type", "planning"],
        "title": "NestedPlanningStep",
        "type": "object",
    }


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
