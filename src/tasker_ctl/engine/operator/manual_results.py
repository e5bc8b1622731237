"""Results that an operator gives a step by hand (``tasker-ctl task complete-step``).

A manual result is held to the same contract as a handler's: a JSON object that satisfies
the step's ``result_schema``, and for a decision step an outcome naming only steps it may
create. It is stored in the envelope the executor stores, marked as manual, so children
read it as they read any completed parent's result.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError

from tasker_ctl.engine.errors import (
    DecisionOutcomeError,
    ManualCompletionUnsupportedError,
    ManualResultError,
    ResultJsonError,
    ResultSchemaViolationError,
)
from tasker_ctl.engine.graph.submission import json_kind
from tasker_ctl.engine.rules.decisions import DecisionSegments, read_decision_outcome
from tasker_ctl.sdk.contracts import violations
from tasker_ctl.template.model import StepDefinition, StepType, TaskTemplate

# how many violations the one-line message names; the error carries all of them
_VIOLATIONS_SHOWN = 10
# steps whose result grows the task through machinery only a handler's run goes through
# (a planning step's result is a fragment: planned_by_hand.py takes it)
_GROWING_STEP_TYPES = (StepType.BATCHABLE,)


@dataclass(frozen=True)
class CheckedResult:
    """A manual result that may be stored, and the steps it creates (a decision's choice)."""

    result: dict[str, Any]
    chosen: tuple[str, ...] = ()
    segments: DecisionSegments | None = None


def parse_result(text: str, *, source: str = "--result") -> dict[str, Any]:
    """A manual result given as JSON text; ``source`` names where it came from. JSON that
    ``jsonb`` cannot store (NaN, ``\\u0000``...) or past ``bounded_json``'s limits is refused."""
    from tasker_ctl.bounded_json import loads
    from tasker_ctl.errors import JsonInputError

    try:
        value = loads(text)
    except JsonInputError as error:
        joiner = " is " if error.code == "JSON_SYNTAX" else ": "
        raise ResultJsonError(
            source + joiner + error.message,
            hint="pass a JSON object, e.g. --result '{\"total\": 36}', or @FILE"
            if error.code == "JSON_SYNTAX"
            else error.hint,
        ) from None
    return require_object(value, source=source)


def require_object(value: Any, *, source: str = "the result") -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ResultJsonError(
            f"{source} must be a JSON object, not {json_kind(value)}",
            hint='a step result is an object of named values, e.g. {"total": 36}',
        )
    return value


def check_manual_result(
    configuration: Any,
    template_step_name: str,
    step_name: str,
    result: Any,
    stored_definition: Any = None,
) -> CheckedResult:
    """Check ``result`` for the step against its template (the task's registered
    ``configuration``); raises a coded error naming every problem."""
    result = require_object(result, source=f"the result for step '{step_name}'")
    try:
        template = TaskTemplate.model_validate(configuration)
    except ValidationError as error:
        raise ManualCompletionUnsupportedError(
            f"the registered template of step '{step_name}' cannot be read: "
            f"{error.error_count()} problem(s)",
            hint="re-register the template (tasker-ctl run / task submit), or settle the "
            "step without a result: tasker-ctl task resolve-step",
        ) from None
    definition = (
        StepDefinition.model_validate(stored_definition)  # a planned step's own
        if stored_definition is not None
        else _definition(template, template_step_name, step_name)
    )
    if definition.step_type in _GROWING_STEP_TYPES:
        raise ManualCompletionUnsupportedError(
            f"step '{step_name}' is a {definition.step_type.value} step: its result creates "
            "steps, which only a run of its handler does",
            hint="run it again with 'tasker-ctl task retry-step', or settle it without a "
            "result (nothing is created) with 'tasker-ctl task resolve-step'",
        )
    problems = violations(result, definition.result_schema)
    if problems:
        shown = "; ".join(problems[:_VIOLATIONS_SHOWN])
        more = len(problems) - _VIOLATIONS_SHOWN
        raise ResultSchemaViolationError(
            f"the result for step '{step_name}' does not match its result_schema: {shown}"
            + (f" (and {more} more)" if more > 0 else ""),
            problems,
            hint="fix the result; nothing was changed",
        )
    if definition.step_type is not StepType.DECISION:
        return CheckedResult(result)
    return _checked_decision(template, definition, result)


def planning_definition(
    configuration: Any, step: dict[str, Any]
) -> tuple[TaskTemplate, StepDefinition] | None:
    """The template and definition of ``step`` when it is a planning step (its manual result
    is then a fragment); None for any other step."""
    try:
        template = TaskTemplate.model_validate(configuration)
    except ValidationError:
        return None  # check_manual_result says why the template cannot be read
    stored = step.get("step_definition")
    definitions = (
        [StepDefinition.model_validate(stored)] if stored is not None else template.steps
    )  # a planned step's own definition: a nested planner, say
    for definition in definitions:
        if stored is not None or definition.name == step["template_step_name"]:
            if definition.step_type is StepType.PLANNING and definition.planning is not None:
                return template, definition
            return None
    return None


def manual_envelope(
    step_uuid: Any, attempt: int, result: dict[str, Any], *, by: str, reason: str
) -> dict[str, Any]:
    """The stored result envelope of a manual completion: the executor's shape (see
    ``executor._outcome``), marked as manual in its metadata."""
    return {
        "step_uuid": str(step_uuid),
        "success": True,
        "result": result,
        "metadata": {
            "execution_time_ms": 0,
            "handler_version": None,
            "retryable": False,
            "completed_at": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
            "worker_id": None,
            "attempt": attempt,
            "error_code": None,
            "error_type": None,
            "custom": {},
            "completed_manually": True,
            "completed_by": by,
            "completion_reason": reason,
        },
        "status": "completed",
        "error": None,
    }


def _definition(template: TaskTemplate, template_step_name: str, step_name: str) -> StepDefinition:
    for definition in template.steps:
        if definition.name == template_step_name:
            return definition
    raise ManualCompletionUnsupportedError(
        f"template {template.identifier} no longer has step '{template_step_name}', so the "
        f"result for step '{step_name}' cannot be checked",
        hint="settle the step without a result: tasker-ctl task resolve-step",
    )


def _checked_decision(
    template: TaskTemplate, definition: StepDefinition, result: dict[str, Any]
) -> CheckedResult:
    segments = DecisionSegments(template)
    try:
        outcome = read_decision_outcome(result)
        chosen = outcome.step_names if outcome else ()
        segments.check_choice(definition.name, chosen)
    except DecisionOutcomeError as error:
        raise ManualResultError(
            f"the result for decision step '{definition.name}': {error}",
            error.code,
            hint='a decision\'s result holds {"decision_point_outcome": {"type": '
            '"create_steps", "step_names": [...]}} or {"type": "no_branches"}',
        ) from None
    return CheckedResult(result, chosen, segments)
