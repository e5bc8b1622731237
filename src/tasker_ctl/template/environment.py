"""Applying ``environments.<name>`` overrides to a template, as Tasker Core does at load time.

An override names a step (or ``ALL``) and may merge ``handler.initialization`` (override wins
per key), replace ``timeout_seconds``, and replace the whole ``retry`` block. ``ALL`` overrides
apply first, then the step's own. Works on plain data so that validation can run on the result
and point back at the override that supplied each value.
"""

from __future__ import annotations

import copy
from typing import Any

from tasker_ctl.template.model import scalar_text
from tasker_ctl.template.source import JsonPath

ALL_STEPS = "ALL"

Graft = tuple[JsonPath, JsonPath]


def declared_environments(data: Any) -> list[str]:
    environments = data.get("environments") if isinstance(data, dict) else None
    return sorted(environments) if isinstance(environments, dict) else []


def resolve_data(data: dict[str, Any], environment: str) -> tuple[dict[str, Any], list[Graft]]:
    """Return the resolved copy and, for each replaced value, (override path, step path)."""
    resolved = copy.deepcopy(data)
    grafts: list[Graft] = []
    steps = resolved.get("steps")
    environments = resolved.get("environments")
    if not isinstance(steps, list) or not isinstance(environments, dict):
        return resolved, grafts
    overrides = environments.get(environment)
    if not isinstance(overrides, dict) or not isinstance(overrides.get("steps"), list):
        return resolved, grafts
    entries = [
        (index, entry) for index, entry in enumerate(overrides["steps"]) if isinstance(entry, dict)
    ]
    ordered = [item for item in entries if item[1].get("name") == ALL_STEPS] + [
        item for item in entries if item[1].get("name") != ALL_STEPS
    ]
    for override_index, override in ordered:
        source: JsonPath = ("environments", environment, "steps", override_index)
        target = scalar_text(override.get("name"))
        for step_index, step in enumerate(steps):
            if not isinstance(step, dict):
                continue
            if target is None or target not in (ALL_STEPS, scalar_text(step.get("name"))):
                continue
            grafts += _apply(override, source, step, ("steps", step_index))
    return resolved, grafts


def _apply(
    override: dict[str, Any], source: JsonPath, step: dict[str, Any], target: JsonPath
) -> list[Graft]:
    grafts: list[Graft] = []
    for key in ("timeout_seconds", "retry"):
        if key in override and override[key] is not None:
            step[key] = copy.deepcopy(override[key])
            grafts.append(((*source, key), (*target, key)))
    handler_override = override.get("handler")
    initialization = (
        handler_override.get("initialization") if isinstance(handler_override, dict) else None
    )
    handler = step.get("handler")
    if isinstance(initialization, dict) and isinstance(handler, dict):
        merged = handler.get("initialization")
        merged = dict(merged) if isinstance(merged, dict) else {}
        for key, value in initialization.items():
            merged[key] = copy.deepcopy(value)
            grafts.append(
                (
                    (*source, "handler", "initialization", key),
                    (*target, "handler", "initialization", key),
                )
            )
        handler["initialization"] = merged
    return grafts
