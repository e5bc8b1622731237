"""Shape checks for grammar compositions embedded in steps.

Deeper checks (capability configs, expressions, data contracts) belong to the action grammar;
these are the ones that need nothing but the template.
"""

from __future__ import annotations

from collections.abc import Iterator

from tasker_ctl.template.context import RuleContext
from tasker_ctl.template.issue import Issue, suggestion_hint
from tasker_ctl.template.rules import rule

STANDARD_CAPABILITIES = ("transform", "validate", "assert", "acquire", "persist", "emit")
MUTATING_CAPABILITIES = ("persist", "emit")
MAX_INVOCATIONS = 100
GRAMMAR_PREFIX = "grammar:"


@rule(
    "EMPTY_COMPOSITION",
    "TOO_MANY_INVOCATIONS",
    "MISSING_CAPABILITY",
    "CHECKPOINT_REQUIRED",
    "COMPOSITION_CALLABLE_CONVENTION",
)
def composition_shape(context: RuleContext) -> Iterator[Issue]:
    for step in context.steps:
        composition = step.mapping("composition")
        if composition is None:
            continue
        base = (*step.path, "composition")
        callable_ = step.handler.get("callable")
        if isinstance(callable_, str) and callable_ and not callable_.startswith(GRAMMAR_PREFIX):
            yield Issue(
                "COMPOSITION_CALLABLE_CONVENTION",
                f"step '{step.label}' has a composition but callable '{callable_}' does not "
                f"use the '{GRAMMAR_PREFIX}' prefix",
                (*step.path, "handler", "callable"),
                f"use 'callable: {GRAMMAR_PREFIX}{step.label}'",
                step=step.name,
            )
        invocations = composition.get("invocations")
        if not isinstance(invocations, list):
            continue
        if not invocations:
            yield Issue(
                "EMPTY_COMPOSITION",
                f"step '{step.label}': composition has no invocations",
                (*base, "invocations"),
                step=step.name,
            )
            continue
        if len(invocations) > MAX_INVOCATIONS:
            yield Issue(
                "TOO_MANY_INVOCATIONS",
                f"step '{step.label}': composition has {len(invocations)} invocations "
                f"(max {MAX_INVOCATIONS})",
                (*base, "invocations"),
                step=step.name,
            )
        for index, invocation in enumerate(invocations):
            if not isinstance(invocation, dict):
                continue
            path = (*base, "invocations", index)
            capability = invocation.get("capability")
            if not isinstance(capability, str):
                continue
            if capability not in STANDARD_CAPABILITIES:
                yield Issue(
                    "MISSING_CAPABILITY",
                    f"invocation[{index}]: capability '{capability}' not found in vocabulary",
                    (*path, "capability"),
                    suggestion_hint(capability, STANDARD_CAPABILITIES)
                    or f"capabilities: {', '.join(STANDARD_CAPABILITIES)}",
                    step=step.name,
                )
            elif capability in MUTATING_CAPABILITIES and invocation.get("checkpoint") is not True:
                yield Issue(
                    "CHECKPOINT_REQUIRED",
                    f"invocation[{index}]: mutating capability '{capability}' must be a "
                    "checkpoint boundary",
                    path,
                    "add 'checkpoint: true'",
                    step=step.name,
                )
