"""Checks Tasker Core makes when it loads a template (registry and worker)."""

from __future__ import annotations

import re
from collections.abc import Iterator

from tasker_ctl.template.context import RuleContext
from tasker_ctl.template.issue import Issue
from tasker_ctl.template.rules import rule

_NAMESPACE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@rule("DECISION_WITHOUT_DEPENDENCY")
def decisions_need_a_dependency(context: RuleContext) -> Iterator[Issue]:
    for step in context.steps:
        if step.type == "decision" and not step.dependencies:
            yield Issue(
                "DECISION_WITHOUT_DEPENDENCY",
                f"Decision step '{step.label}' must have at least one dependency",
                (*step.path, "name"),
                "make the decision depend on the step whose result it routes on",
                step=step.name,
            )


@rule("NAMESPACE_INVALID_CHARS")
def namespace_characters(context: RuleContext) -> Iterator[Issue]:
    namespace = context.text("namespace_name")
    if not namespace or _NAMESPACE.match(namespace):
        return
    suggestion = re.sub(r"[^A-Za-z0-9_]", "_", namespace)
    if suggestion[0].isdigit():
        suggestion = f"_{suggestion}"
    yield Issue(
        "NAMESPACE_INVALID_CHARS",
        f"Namespace '{namespace}' may contain only letters, digits and underscores, and "
        "must not start with a digit",
        ("namespace_name",),
        f"use '{suggestion}'",
    )


@rule("NO_STEPS")
def template_has_steps(context: RuleContext) -> Iterator[Issue]:
    steps = context.data.get("steps")
    if steps is None or (isinstance(steps, list) and not steps):
        yield Issue(
            "NO_STEPS",
            "the template has no steps; Tasker Core workers refuse to load it",
            ("steps",) if "steps" in context.data else (),
            "add at least one step with a name and a handler",
        )


@rule("EMPTY_REQUIRED_VALUE")
def required_values_not_empty(context: RuleContext) -> Iterator[Issue]:
    for key in ("name", "namespace_name", "version"):
        value = context.data.get(key)
        if isinstance(value, str) and not value.strip():
            yield Issue(
                "EMPTY_REQUIRED_VALUE",
                f"'{key}' is empty; Tasker Core's registry rejects it",
                (key,),
            )
    for step in context.steps:
        name = step.data.get("name")
        if isinstance(name, str) and not name.strip():
            yield Issue(
                "EMPTY_REQUIRED_VALUE",
                f"step #{step.index} has an empty name",
                (*step.path, "name"),
            )


@rule("CONFLICTING_ALIASES")
def conflicting_aliases(context: RuleContext) -> Iterator[Issue]:
    for step in context.steps:
        for first, second in (("dependencies", "depends_on"), ("type", "step_type")):
            if first in step.data and second in step.data:
                yield Issue(
                    "CONFLICTING_ALIASES",
                    f"Step '{step.label}' sets both '{first}' and '{second}', which are the "
                    "same key",
                    (*step.path, second),
                    f"keep '{first}' only and merge the values into it",
                    step=step.name,
                    at_key=True,
                )
