"""The grammar's checks as a template rule: every step with a composition is validated with
what the template says about it (its dependencies and their result schemas, the input schema,
the step's result schema), and each finding is placed under the step's ``composition``.

Registered through the ``tasker_ctl.rules`` entry point (see ``pyproject.toml``), so the
template package never imports the grammar; it also registers ``reach_rules`` (what the
template's resources let its compositions reach).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from tasker_ctl.grammar import reach_rules  # noqa: F401  (registers what resources reach)
from tasker_ctl.template.context import RuleContext, StepView
from tasker_ctl.template.issue import Issue
from tasker_ctl.template.rules import rule
from tasker_ctl.template.source import JsonPath

if TYPE_CHECKING:
    from tasker_ctl.grammar.validation import CompositionFinding, StepContract

# reported by the template's own shape checks (UNKNOWN_KEY, WRONG_TYPE, ...) at the same place
SHADOWED = frozenset({"COMPOSITION_PARSE_ERROR"})
# the rule context's ``extras`` key that selects the mutation policy
POLICY_KEY = "mutation_policy"

CODES = (
    "PATTERN_INVALID",
    "EMPTY_COMPOSITION",
    "TOO_MANY_INVOCATIONS",
    "FIELD_TOO_LONG",
    "MISSING_CAPABILITY",
    "CONFIG_SCHEMA_VIOLATION",
    "MISSING_OUTPUT_SCHEMA",
    "INVALID_EXPRESSION",
    "CHECKPOINT_REQUIRED",
    "MULTIPLE_MUTATIONS",
    "INVOCATION_AFTER_MUTATION",
    "EMIT_NOT_LAST",
    "ASSERT_AFTER_MUTATION",
    "PREV_ON_FIRST_INVOCATION",
    "UNKNOWN_DEPENDENCY",
    "UNKNOWN_FIELD",
    "UNDECLARED_FIELD",
    "PATH_TYPE_MISMATCH",
    "SUSPECT_PATH",
    "MISSING_PRODUCER_SCHEMA",
    "MISSING_REQUIRED_FIELD",
    "FIELD_NOT_GUARANTEED",
    "TYPE_MISMATCH",
    "ENUM_MISMATCH",
    "ENUM_NOT_CONSTRAINED",
    "EXTRA_FIELD_REJECTED",
    "SCHEMA_DEPTH_EXCEEDED",
    "UNVERIFIABLE_OUTCOME",
    "COMPOSITION_RESULT_SCHEMA_MISMATCH",
)


def step_contract(context: RuleContext, step: StepView) -> StepContract:
    """What the template promises the composition of ``step``."""
    from tasker_ctl.grammar.validation import StepContract

    # ``.deps`` holds the declared dependencies only (not every ancestor), as the engine
    # builds it
    names = list(dict.fromkeys(step.dependency_names))
    schemas: dict[str, Any] = {}
    for name in names:
        view = context.named_steps.get(name)
        if view is not None and view.data.get("result_schema") is not None:
            schemas[name] = view.data["result_schema"]
    return StepContract(
        step_name=step.name,
        dependency_names=tuple(names),
        dependency_schemas=schemas,
        input_schema=context.data.get("input_schema"),
        result_schema=step.data.get("result_schema"),
    )


@rule(*CODES)
def composition_contracts(context: RuleContext) -> Iterator[Issue]:
    composed = [step for step in context.steps if isinstance(step.data.get("composition"), dict)]
    if not composed:
        return  # the validator and its capabilities are imported only for a composition
    from tasker_ctl.grammar.validation import MUTATION_POLICIES, validate_composition

    policy = context.extras.get(POLICY_KEY, "checkpointed")
    if policy not in MUTATION_POLICIES:
        policy = "checkpointed"
    for step in composed:
        composition = step.data["composition"]
        report = validate_composition(composition, step=step_contract(context, step), policy=policy)
        for item in report.findings:
            if item.code not in SHADOWED:
                yield as_issue(item, (*step.path, "composition"), step.name)


def as_issue(finding: CompositionFinding, base: JsonPath, step: str | None) -> Issue:
    """A composition finding as a template issue, its path under ``base``."""
    return Issue(
        finding.code,
        finding.message,
        (*base, *finding.path),
        finding.hint,
        step=step,
        at_key=finding.at_key,
    )
