"""Turning a refused fragment into the project's findings: coded, located, never a traceback.

The codes belong to the planning package (``FRAGMENT_CODES``); they are stable strings like the
template codes, and docs/fragments.md lists them (a test keeps the two in step).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from tasker_ctl.planning.fragment import (
    HANDLER_KEYS,
    Fragment,
    FragmentStep,
    PlanningContext,
    ResourceBounds,
)
from tasker_ctl.template.diagnostics import Finding, Severity
from tasker_ctl.template.issue import suggestion_hint
from tasker_ctl.template.source import format_path

FRAGMENT_CODES: dict[str, str] = {
    "FRAGMENT_SCHEMA_INVALID": "a value of the wrong type or shape, or a required key missing",
    "FRAGMENT_UNKNOWN_KEY": "a key the format does not have (often a typo)",
    "FRAGMENT_HANDLER_AMBIGUOUS": "a handler with more than one of grammar/composition/callable",
    "FRAGMENT_HANDLER_MISSING": "a handler with none of grammar/composition/callable",
    "FRAGMENT_REFERENCE_INVALID": "an input that is not a task-context or step-result reference",
    "FRAGMENT_TOO_LARGE": "more steps, inputs, dependencies, characters or problems than allowed",
    "FRAGMENT_DEPENDENCY_DUPLICATE": "a step that lists the same dependency twice",
    "FRAGMENT_STEP_DUPLICATE": "two steps with the same name",
    "FRAGMENT_CONVERGENCE_UNKNOWN": "a convergence that names no step of the fragment",
}
"""Every code ``parse_fragment`` reports, with what it means; all are errors."""

_CODE_OF_TYPE = {
    "extra_forbidden": "FRAGMENT_UNKNOWN_KEY",
    "fragment_handler_ambiguous": "FRAGMENT_HANDLER_AMBIGUOUS",
    "fragment_handler_missing": "FRAGMENT_HANDLER_MISSING",
    "fragment_reference_invalid": "FRAGMENT_REFERENCE_INVALID",
    "too_long": "FRAGMENT_TOO_LARGE",
    "string_too_long": "FRAGMENT_TOO_LARGE",
    "fragment_dependency_duplicate": "FRAGMENT_DEPENDENCY_DUPLICATE",
    "fragment_step_duplicate": "FRAGMENT_STEP_DUPLICATE",
    "fragment_convergence_unknown": "FRAGMENT_CONVERGENCE_UNKNOWN",
}

# Whole-fragment checks: pydantic places them at the root, the finding at the key concerned;
# their messages already name the offending value.
_KEY_OF_TYPE: dict[str, tuple[int | str, ...]] = {
    "fragment_step_duplicate": ("steps",),
    "fragment_convergence_unknown": ("convergence",),
}

MAX_FINDINGS = 50
"""Findings listed for one fragment; a planner fed them back needs the first few, not all."""

_MAX_SHOWN = 80  # characters of an offending value quoted in a message


def parse_fragment(data: object, *, source: str = "<fragment>") -> Fragment | list[Finding]:
    """The fragment ``data`` describes, or the findings that say why it is not one.

    ``source`` names where the data came from (a file, a planner's answer) in each finding.
    """
    try:
        return Fragment.model_validate(data)
    except ValidationError as error:
        details = error.errors(include_url=False)
        findings = [_finding(detail, source) for detail in details[:MAX_FINDINGS]]
        if len(details) > MAX_FINDINGS:
            findings.append(
                Finding(
                    code="FRAGMENT_TOO_LARGE",
                    severity=Severity.ERROR,
                    message=f"{len(details) - MAX_FINDINGS} further problems are not listed",
                    file=source,
                )
            )
        return findings


def _finding(detail: ErrorDetails, source: str) -> Finding:
    location = _KEY_OF_TYPE.get(detail["type"]) or _location(detail["loc"])
    code = _CODE_OF_TYPE.get(detail["type"], "FRAGMENT_SCHEMA_INVALID")
    hint = None
    if code == "FRAGMENT_UNKNOWN_KEY" and location and isinstance(location[-1], str):
        hint = suggestion_hint(location[-1], _known_keys(location[:-1]))
        message = f"unknown key '{location[-1]}'"
    elif detail["type"] in _KEY_OF_TYPE:
        message = detail["msg"]
    else:
        message = f"{detail['msg']} (got {_shown(detail['input'])})"
    return Finding(
        code=code,
        severity=Severity.ERROR,
        message=message,
        hint=hint,
        file=source,
        path=format_path(location),
        step=None,
    )


_HANDLER_TAGS = frozenset(f"{key}_handler" for key in HANDLER_KEYS)


def _location(loc: Sequence[int | str]) -> tuple[int | str, ...]:
    # The union's tag ("grammar_handler" right after a step's "handler") is pydantic's, not the
    # document's; elsewhere the same text may be a key the planner wrote, so it stays.
    return tuple(
        part
        for index, part in enumerate(loc)
        if not (part in _HANDLER_TAGS and index > 0 and loc[index - 1] == "handler")
    )


def _known_keys(parent: tuple[int | str, ...]) -> list[str]:
    """The keys the object at ``parent`` may have, to suggest one for a typo."""
    if parent[-1:] == ("handler",):
        return ["grammar", "config", "composition", "callable"]
    if len(parent) >= 2 and parent[-2] == "steps" and isinstance(parent[-1], int):
        return list(FragmentStep.model_fields)
    models: dict[tuple[int | str, ...], type[BaseModel]] = {
        (): Fragment,
        ("planning_context",): PlanningContext,
        ("resource_bounds",): ResourceBounds,
    }
    model = models.get(parent)
    return list(model.model_fields) if model is not None else []


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= _MAX_SHOWN else text[: _MAX_SHOWN - 3] + "..."
