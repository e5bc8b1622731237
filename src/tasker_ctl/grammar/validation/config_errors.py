"""CONFIG_SCHEMA_VIOLATION findings from a capability's Pydantic errors, one per error,
located at the config field and with the closest valid key for an unknown one."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import ValidationError

from tasker_ctl.grammar.validation.analysis import InvocationView
from tasker_ctl.grammar.validation.findings import CompositionFinding, finding
from tasker_ctl.grammar.validation.schemas import branches, properties, resolve
from tasker_ctl.template.issue import did_you_mean, quote_list

MAX_ERRORS_PER_CONFIG = 20


def config_findings(view: InvocationView) -> list[CompositionFinding]:
    error = view.config_error
    config = view.raw.get("config")
    if not isinstance(error, ValidationError):
        return [
            finding(
                "CONFIG_SCHEMA_VIOLATION",
                f"{view.label}: config could not be read: {error}",
                index=view.index,
                path=(*view.path, "config"),
            )
        ]
    schema = _config_schema(view)
    findings = []
    for item in error.errors()[:MAX_ERRORS_PER_CONFIG]:
        kind = str(item.get("type", ""))
        location = data_path(config, item.get("loc", ()), missing=kind == "missing")
        shown = render(location)
        message, hint = _describe(
            kind, str(item.get("msg", "")), location, shown, schema, _value_at(config, location)
        )
        findings.append(
            finding(
                "CONFIG_SCHEMA_VIOLATION",
                f"{view.label}: {message}",
                hint=hint,
                index=view.index,
                path=(*view.path, "config", *location),
                at_key=kind == "extra_forbidden",
            )
        )
    return findings


def data_path(config: Any, loc: Sequence[Any], *, missing: bool) -> tuple[str | int, ...]:
    """The part of a Pydantic location that indexes into the data: union member tags and
    validator names in between are dropped."""
    path: list[str | int] = []
    current = config
    parts = list(loc)
    for position, part in enumerate(parts):
        in_mapping = isinstance(current, Mapping) and isinstance(part, str) and part in current
        in_list = isinstance(current, list) and isinstance(part, int) and 0 <= part < len(current)
        if in_mapping or in_list:
            path.append(part)
            current = current[part]
        elif missing and position == len(parts) - 1 and isinstance(part, str):
            path.append(part)
    return tuple(path)


def _value_at(config: Any, location: Sequence[str | int]) -> Any:
    current = config
    for part in location:
        found = (isinstance(current, Mapping) and part in current) or (
            isinstance(current, list) and isinstance(part, int) and 0 <= part < len(current)
        )
        if not found:
            return None
        current = current[part]
    return current


def render(location: Sequence[str | int]) -> str:
    return "config" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in location)


def _describe(
    kind: str,
    text: str,
    location: tuple[str | int, ...],
    shown: str,
    schema: Any,
    value: Any,
) -> tuple[str, str | None]:
    text = text.removeprefix("Value error, ")
    if kind == "extra_forbidden" and location:
        key = str(location[-1])
        parent = render(location[:-1])
        valid = valid_keys(schema, location[:-1])
        match = did_you_mean(key, valid) if valid else None
        if match:
            hint: str | None = f"did you mean '{match}'?"
        elif valid:
            hint = f"valid keys: {quote_list(valid)}"
        else:
            hint = None
        return f"unknown key '{key}' in {parent}", hint
    if kind == "missing" and location:
        return f"missing required key '{location[-1]}' in {render(location[:-1])}", None
    if "Expression" in text and isinstance(value, str):
        return (
            f"{shown} must be an expression object, not a string",
            f"write '{{expression: {json.dumps(value)}}}'",
        )
    return f"{shown}: {text}", None


def _config_schema(view: InvocationView) -> Any:
    if view.capability is None:
        return None
    try:
        return view.capability.config_schema()
    except Exception:
        return None


def valid_keys(schema: Any, location: Sequence[str | int]) -> list[str]:
    """The keys a config schema declares for the object at ``location``."""
    root = schema
    current: list[Any] = [schema]
    for part in location:
        following: list[Any] = []
        for candidate in _expand(current, root):
            if isinstance(part, int):
                items = candidate.get("items")
                if isinstance(items, dict):
                    following.append(items)
            else:
                declared = properties(candidate)
                if part in declared:
                    following.append(declared[part])
                elif isinstance(candidate.get("additionalProperties"), dict):
                    following.append(candidate["additionalProperties"])
        current = following
    names: dict[str, None] = {}
    for candidate in _expand(current, root):
        names.update(dict.fromkeys(properties(candidate)))
    return list(names)


def _expand(schemas: list[Any], root: Any) -> list[dict[str, Any]]:
    """Schemas with references resolved and alternatives spread out."""
    result: list[dict[str, Any]] = []
    pending = list(schemas)
    for _ in range(64):
        if not pending:
            break
        schema = resolve(pending.pop(0), root)
        if not isinstance(schema, dict):
            continue
        options = branches(schema)
        if options is not None:
            pending.extend(options)
        else:
            result.append(schema)
    return result
