"""Turning a refused fragment into the project's findings: coded, located, never a traceback.

The codes belong to the planning package (``FRAGMENT_CODES``); they are stable strings like the
template codes, and docs/fragments.md lists them (a test keeps the two in step).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, Field, ValidationError
from pydantic_core import ErrorDetails

from tasker_ctl.planning.fragment import (
    HANDLER_KEYS,
    Fragment,
    FragmentStep,
    NestedPlanning,
    PlanningContext,
    ResourceBounds,
)
from tasker_ctl.template.diagnostics import Finding, Severity
from tasker_ctl.template.issue import suggestion_hint
from tasker_ctl.template.source import format_path


@dataclass(frozen=True)
class FragmentCode:
    """A fragment code's stage (1..9, docs/fragments.md), severity and meaning."""

    stage: int
    meaning: str
    severity: Severity = Severity.ERROR


_E, _W = Severity.ERROR, Severity.WARNING

FRAGMENT_CODES: dict[str, FragmentCode] = {
    # 1: the format
    "FRAGMENT_NOT_JSON": FragmentCode(
        1, "a planner's answer that is not JSON within the limits (the engine decodes it)"
    ),
    "FRAGMENT_SCHEMA_INVALID": FragmentCode(
        1, "a value of the wrong type or shape, or a required key missing"
    ),
    "FRAGMENT_UNKNOWN_KEY": FragmentCode(1, "a key the format does not have (often a typo)"),
    "FRAGMENT_HANDLER_AMBIGUOUS": FragmentCode(
        1, "a handler with more than one of grammar/composition/callable"
    ),
    "FRAGMENT_HANDLER_MISSING": FragmentCode(
        1, "a step without a handler, or a handler with none of grammar/composition/callable"
    ),
    "FRAGMENT_PLANNING_STEP_INVALID": FragmentCode(
        1,
        "a nested planning step with a handler or inputs, or without its planning object; "
        "or a planning object on another step",
    ),
    "FRAGMENT_REFERENCE_INVALID": FragmentCode(
        1, "an input that is not a task-context or step-result reference"
    ),
    "FRAGMENT_TOO_LARGE": FragmentCode(
        1, "more steps, inputs, dependencies, characters or problems than allowed"
    ),
    "FRAGMENT_DEPENDENCY_DUPLICATE": FragmentCode(1, "a step that lists the same dependency twice"),
    "FRAGMENT_STEP_DUPLICATE": FragmentCode(1, "two steps with the same name"),
    "FRAGMENT_CONVERGENCE_UNKNOWN": FragmentCode(
        1, "a convergence that names no step of the fragment"
    ),
    # 2: what the handlers name exists and is allowed
    "FRAGMENT_PATTERN_UNKNOWN": FragmentCode(2, "a grammar pattern the catalog does not have"),
    "FRAGMENT_PATTERN_NOT_ALLOWED": FragmentCode(
        2, "a grammar pattern the planning step does not list in allowed_patterns"
    ),
    "FRAGMENT_CALLABLE_NOT_ALLOWED": FragmentCode(
        2, "a callable that no allowed_callables entry (name or .* glob) allows"
    ),
    "FRAGMENT_CALLABLE_NOT_REGISTERED": FragmentCode(
        2, "an allowed callable the worker has not registered"
    ),
    "FRAGMENT_COMPOSITION_NOT_ALLOWED": FragmentCode(
        2, "a composition handler where allow_dynamic_composition is off"
    ),
    "FRAGMENT_CAPABILITY_UNKNOWN": FragmentCode(
        2, "a composition invocation naming a capability the grammar does not have"
    ),
    # 3: composition structure, mutation policy, what it may reach
    "FRAGMENT_COMPOSITION_INVALID": FragmentCode(
        3, "a composition the grammar refuses (empty, unparsable jq, no output schema, ...)"
    ),
    "FRAGMENT_COMPOSITION_SUSPECT": FragmentCode(
        3, "a composition that works but may not do what was meant", _W
    ),
    "FRAGMENT_MUTATION_POLICY": FragmentCode(
        3, "a planned composition with more than one mutation, or anything after it"
    ),
    "FRAGMENT_PERSIST_NOT_ALLOWED": FragmentCode(
        3, "persist to a resource or table the template and the trust policy do not allow"
    ),
    "FRAGMENT_ACQUIRE_NOT_ALLOWED": FragmentCode(
        3, "acquire from a resource or host the template does not allow"
    ),
    "FRAGMENT_RESOURCE_NOT_ALLOWED": FragmentCode(
        3, "emit to a resource the template does not declare, or of another kind"
    ),
    # 4: config
    "FRAGMENT_CONFIG_INVALID": FragmentCode(
        4, "a pattern's config, or an invocation's, that its schema refuses"
    ),
    # 5: the DAG
    "FRAGMENT_CYCLE": FragmentCode(5, "steps that depend on each other in a circle"),
    "FRAGMENT_DEPENDENCY_UNKNOWN": FragmentCode(
        5, "a dependency that names no step of the fragment"
    ),
    "FRAGMENT_CONVERGENCE_UNREACHED": FragmentCode(
        5, "a leaf step that does not lead to the fragment's convergence"
    ),
    # 6: references
    "FRAGMENT_REFERENCE_UNKNOWN_STEP": FragmentCode(6, "a reference to a step that does not exist"),
    "FRAGMENT_REFERENCE_NOT_UPSTREAM": FragmentCode(
        6, "a reference to a step that does not run before the referencing step"
    ),
    "FRAGMENT_REFERENCE_UNKNOWN_FIELD": FragmentCode(
        6, "a reference path its source's schema does not declare"
    ),
    "FRAGMENT_REFERENCE_NO_SCHEMA": FragmentCode(
        6, "a reference into a result or context that declares no schema"
    ),
    "FRAGMENT_CONTEXT_FIELD_MISSING": FragmentCode(
        6, "a task-context reference to a field the task's context does not hold"
    ),
    "FRAGMENT_RESULT_FIELD_MISSING": FragmentCode(
        6, "a reference to a field an upstream step's known result does not hold"
    ),
    # 7: data contracts
    "FRAGMENT_DATA_UNDECLARED": FragmentCode(
        7, "a jq expression reading a dependency or context field no schema declares"
    ),
    "FRAGMENT_DATA_INCOMPATIBLE": FragmentCode(
        7, "a producer's schema that does not satisfy what its consumer declares"
    ),
    "FRAGMENT_DATA_SUSPECT": FragmentCode(
        7, "a data contract that may not hold (a field not guaranteed, ...)", _W
    ),
    # 8: bounds
    "FRAGMENT_TOO_MANY_STEPS": FragmentCode(8, "more steps than planning.bounds.max_steps"),
    "FRAGMENT_NESTED_BOUNDS_EXCEEDED": FragmentCode(
        8,
        "a nested planner's max_steps or max_depth above the outer bounds, or max_steps above "
        "what the budget leaves after the fragment's own steps",
    ),
    "FRAGMENT_BUDGET_EXCEEDED": FragmentCode(8, "more steps than the task's budget leaves"),
    "FRAGMENT_TOO_DEEP": FragmentCode(8, "a longer chain of steps than planning.bounds.max_depth"),
    "FRAGMENT_FAN_OUT_TOO_WIDE": FragmentCode(
        8, "more children of one step (or roots) than planning.bounds.max_steps"
    ),
    # 9: the frame
    "FRAGMENT_STEP_NAME_TAKEN": FragmentCode(
        9, "a step name the template or an earlier fill already uses"
    ),
    "FRAGMENT_EDGE_INTO_FRAME": FragmentCode(
        9, "a dependency on a frame step other than the planning step"
    ),
    "FRAGMENT_EDGE_PAST_CONVERGENCE": FragmentCode(
        9, "a dependency on the frame's convergence step, which runs after the fill"
    ),
    "FRAGMENT_CONVERGENCE_MISPLACED": FragmentCode(
        9, "a deferred_convergence step that is not the fragment's own convergence"
    ),
    "FRAGMENT_NESTING_EXCEEDED": FragmentCode(
        9, "a nested planning step deeper than planning.max_nesting allows"
    ),
    "FRAGMENT_NESTED_PLANNER_NOT_LEAF": FragmentCode(
        9, "a nested planning step that another fragment step depends on"
    ),
}
"""Every fragment code, with its stage, severity and meaning (docs/fragments.md lists them)."""


class FragmentFinding(Finding):
    """A finding about a fragment, with the validation stage (1..9) that reported it."""

    stage: int = Field(ge=1, le=9)
    # the path as keys and indexes, for placing the finding inside another document (a
    # template's planning.examples); ``path`` is its rendering
    keys: tuple[int | str, ...] = Field(default=(), exclude=True, repr=False)


def fragment_finding(
    code: str,
    message: str,
    *,
    source: str,
    path: tuple[int | str, ...] = (),
    step: str | None = None,
    hint: str | None = None,
) -> FragmentFinding:
    """A finding whose stage and severity come from ``FRAGMENT_CODES``."""
    info = FRAGMENT_CODES[code]
    return FragmentFinding(
        code=code,
        severity=info.severity,
        message=message,
        hint=hint,
        file=source,
        path=format_path(path),
        step=step,
        stage=info.stage,
        keys=path,
    )


_CODE_OF_TYPE = {
    "extra_forbidden": "FRAGMENT_UNKNOWN_KEY",
    "fragment_handler_ambiguous": "FRAGMENT_HANDLER_AMBIGUOUS",
    "fragment_handler_missing": "FRAGMENT_HANDLER_MISSING",
    "fragment_handler_required": "FRAGMENT_HANDLER_MISSING",
    "fragment_planning_step_invalid": "FRAGMENT_PLANNING_STEP_INVALID",
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
        findings: list[Finding] = [_finding(detail, source) for detail in details[:MAX_FINDINGS]]
        if len(details) > MAX_FINDINGS:
            findings.append(
                FragmentFinding(
                    code="FRAGMENT_TOO_LARGE",
                    severity=Severity.ERROR,
                    message=f"{len(details) - MAX_FINDINGS} further problems are not listed",
                    file=source,
                    stage=1,
                )
            )
        return findings


# Step checks: pydantic places them at the step, the finding at the key concerned.
_STEP_KEY_OF_TYPE = {"fragment_handler_required": "handler"}


def _finding(detail: ErrorDetails, source: str) -> FragmentFinding:
    location = _KEY_OF_TYPE.get(detail["type"]) or _location(detail["loc"])
    step_key = (detail.get("ctx") or {}).get("key") or _STEP_KEY_OF_TYPE.get(detail["type"])
    if detail["type"] in _STEP_KEYED and isinstance(step_key, str):
        location = (*location, step_key)
    code = _CODE_OF_TYPE.get(detail["type"], "FRAGMENT_SCHEMA_INVALID")
    hint = None
    if code == "FRAGMENT_UNKNOWN_KEY" and location and isinstance(location[-1], str):
        hint = suggestion_hint(location[-1], _known_keys(location[:-1]))
        if location[-2:] == ("planning", "convergence"):
            hint = "a nested planner inherits the convergence of the step that plans it"
        message = f"unknown key '{location[-1]}'"
    elif detail["type"] in _KEY_OF_TYPE or detail["type"] in _STEP_KEYED:
        message = detail["msg"]
    else:
        message = f"{detail['msg']} (got {_shown(detail['input'])})"
    return FragmentFinding(
        code=code,
        severity=Severity.ERROR,
        message=message,
        hint=hint,
        file=source,
        path=format_path(location),
        step=None,
        stage=1,
        keys=location,
    )


_STEP_KEYED = frozenset({"fragment_handler_required", "fragment_planning_step_invalid"})

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
    if len(parent) >= 3 and parent[-1] == "planning" and parent[-3] == "steps":
        return list(NestedPlanning.model_fields)
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
