"""The shape of a written-out composition, before anything is parsed: its keys, the
lengths Tasker Core limits, and each invocation's keys and capability name.

Tasker Core cannot parse a malformed composition at all; here every problem is reported
(COMPOSITION_PARSE_ERROR) and the checks go on with what could be read.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tasker_ctl.grammar.validation.analysis import InvocationView
from tasker_ctl.grammar.validation.findings import CompositionFinding, finding
from tasker_ctl.template.issue import did_you_mean, quote_list

MAX_INVOCATIONS = 100
MAX_NAME_LENGTH = 256
MAX_DESCRIPTION_LENGTH = 4096
MAX_CAPABILITY_LENGTH = 128
SPEC_KEYS = ("name", "outcome", "invocations")
OUTCOME_KEYS = ("description", "output_schema")
INVOCATION_KEYS = ("capability", "config", "checkpoint")


def capability_names() -> list[str]:
    from tasker_ctl.grammar.capabilities import CAPABILITY_NAMES

    return list(CAPABILITY_NAMES)


def spec_shape(spec: Mapping[str, Any]) -> list[CompositionFinding]:
    findings = []
    for key in spec:
        if key not in SPEC_KEYS:
            match = did_you_mean(str(key), SPEC_KEYS)
            findings.append(
                finding(
                    "COMPOSITION_PARSE_ERROR",
                    f"unknown key '{key}' in the composition",
                    hint=f"did you mean '{match}'?" if match else f"keys: {quote_list(SPEC_KEYS)}",
                    path=(str(key),),
                    at_key=True,
                )
            )
    if "name" in spec and spec["name"] is not None and not isinstance(spec["name"], str):
        findings.append(
            finding("COMPOSITION_PARSE_ERROR", "'name' must be a string", path=("name",))
        )
    outcome = spec.get("outcome")
    if not isinstance(outcome, Mapping):
        findings.append(
            finding(
                "COMPOSITION_PARSE_ERROR",
                "missing 'outcome'"
                if outcome is None
                else f"'outcome' must be a mapping, got {kind(outcome)}",
                hint="write 'outcome: {description: ..., output_schema: {...}}'",
                path=("outcome",),
            )
        )
    else:
        for key in outcome:
            if key not in OUTCOME_KEYS:
                findings.append(
                    finding(
                        "COMPOSITION_PARSE_ERROR",
                        f"unknown key '{key}' in 'outcome'",
                        hint=f"keys: {quote_list(OUTCOME_KEYS)}",
                        path=("outcome", str(key)),
                        at_key=True,
                    )
                )
        if not isinstance(outcome.get("description"), str):
            findings.append(
                finding(
                    "COMPOSITION_PARSE_ERROR",
                    "'outcome.description' must be a string",
                    path=("outcome", "description"),
                )
            )
        if "output_schema" not in outcome:
            findings.append(
                finding(
                    "COMPOSITION_PARSE_ERROR",
                    "missing 'outcome.output_schema'",
                    hint="describe what the step produces with a JSON Schema",
                    path=("outcome",),
                )
            )
    invocations = spec.get("invocations")
    if not isinstance(invocations, list):
        findings.append(
            finding(
                "COMPOSITION_PARSE_ERROR",
                "missing 'invocations'"
                if invocations is None
                else f"'invocations' must be a list, got {kind(invocations)}",
                hint="list the capability invocations: 'invocations: [{capability: ..., "
                "config: {...}}]'",
                path=("invocations",),
            )
        )
    return findings


def lengths(spec: Mapping[str, Any], invocations: list[Any]) -> list[CompositionFinding]:
    findings = []
    name = spec.get("name")
    if isinstance(name, str) and len(name) > MAX_NAME_LENGTH:
        findings.append(_too_long("name", len(name), MAX_NAME_LENGTH, ("name",)))
    outcome = spec.get("outcome")
    description = outcome.get("description") if isinstance(outcome, Mapping) else None
    if isinstance(description, str) and len(description) > MAX_DESCRIPTION_LENGTH:
        findings.append(
            _too_long(
                "outcome.description",
                len(description),
                MAX_DESCRIPTION_LENGTH,
                ("outcome", "description"),
            )
        )
    for index, invocation in enumerate(invocations):
        capability = invocation.get("capability") if isinstance(invocation, Mapping) else None
        if isinstance(capability, str) and len(capability) > MAX_CAPABILITY_LENGTH:
            item = _too_long(
                f"invocation[{index}].capability",
                len(capability),
                MAX_CAPABILITY_LENGTH,
                ("invocations", index, "capability"),
            )
            findings.append(item.model_copy(update={"invocation_index": index}))
    return findings


def _too_long(
    label: str, length: int, limit: int, path: tuple[str | int, ...]
) -> CompositionFinding:
    return finding(
        "FIELD_TOO_LONG",
        f"{label} is {length} characters (max {limit})",
        hint="shorten it",
        path=path,
    )


def existence(views: list[InvocationView], invocations: list[Any]) -> list[CompositionFinding]:
    findings = []
    names = capability_names()
    for view in views:
        raw = invocations[view.index]
        if not isinstance(raw, Mapping):
            findings.append(
                finding(
                    "COMPOSITION_PARSE_ERROR",
                    f"invocation[{view.index}] must be a mapping, got {kind(raw)}",
                    hint="write '{capability: ..., config: {...}}'",
                    index=view.index,
                    path=view.path,
                )
            )
            continue
        findings += _invocation_shape(view)
        if view.name is not None and view.capability is None:
            match = did_you_mean(view.name, names)
            findings.append(
                finding(
                    "MISSING_CAPABILITY",
                    f"{view.label}: capability '{view.name}' not found in vocabulary",
                    hint=f"did you mean '{match}'?"
                    if match
                    else f"capabilities: {', '.join(names)}",
                    index=view.index,
                    path=(*view.path, "capability"),
                )
            )
    return findings


def _invocation_shape(view: InvocationView) -> list[CompositionFinding]:
    findings = []
    config_keys = _config_keys(view)
    for key in view.raw:
        if key in INVOCATION_KEYS:
            continue
        if key in config_keys:
            hint = f"'{key}' belongs under 'config'"
        else:
            match = did_you_mean(str(key), INVOCATION_KEYS)
            hint = f"did you mean '{match}'?" if match else f"keys: {quote_list(INVOCATION_KEYS)}"
        findings.append(
            finding(
                "COMPOSITION_PARSE_ERROR",
                f"invocation[{view.index}]: unknown key '{key}'",
                hint=hint,
                index=view.index,
                path=(*view.path, str(key)),
                at_key=True,
            )
        )
    capability = view.raw.get("capability")
    if not isinstance(capability, str):
        findings.append(
            finding(
                "COMPOSITION_PARSE_ERROR",
                f"invocation[{view.index}]: "
                + ("missing 'capability'" if capability is None else "'capability' must be a name"),
                index=view.index,
                path=(*view.path, "capability") if "capability" in view.raw else view.path,
            )
        )
    checkpoint = view.raw.get("checkpoint")
    if "checkpoint" in view.raw and not isinstance(checkpoint, bool):
        findings.append(
            finding(
                "COMPOSITION_PARSE_ERROR",
                f"invocation[{view.index}]: 'checkpoint' must be true or false",
                index=view.index,
                path=(*view.path, "checkpoint"),
            )
        )
    return findings


def _config_keys(view: InvocationView) -> set[str]:
    if view.capability is None:
        return set()
    try:
        schema = view.capability.config_schema()
    except Exception:
        return set()
    declared = schema.get("properties") if isinstance(schema, dict) else None
    return set(declared) if isinstance(declared, dict) else set()


def kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, int | float):
        return "a number"
    return type(value).__name__
