"""The naming convention of steps whose handler is a grammar composition.

Everything inside the composition (capabilities, configs, expressions, data contracts) is
checked by the action grammar, which registers its rule through the ``tasker_ctl.rules`` entry
point; this is the one check that concerns the step around it.
"""

from __future__ import annotations

from collections.abc import Iterator

from tasker_ctl.template.context import RuleContext
from tasker_ctl.template.issue import Issue
from tasker_ctl.template.rules import rule

GRAMMAR_PREFIX = "grammar:"


@rule("COMPOSITION_CALLABLE_CONVENTION")
def composition_callable(context: RuleContext) -> Iterator[Issue]:
    for step in context.steps:
        if step.mapping("composition") is None:
            continue
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
