"""The planning checks of ``tasker-ctl validate`` that need the grammar or the fragment
validator: ``allowed_patterns`` name catalog patterns, and each few-shot fragment in
``planning.examples`` is one the planning step would accept (``check_fragment`` against the
template's own frame), its findings placed under the example.

Registered through the ``tasker_ctl.rules`` entry point (``pyproject.toml``), so that the
template package never imports the planning package.
"""

from __future__ import annotations

from collections.abc import Iterator

from tasker_ctl.errors import TaskerError
from tasker_ctl.template.context import RuleContext
from tasker_ctl.template.issue import Issue, did_you_mean, quote_list
from tasker_ctl.template.rules import rule

MAX_EXAMPLE_FINDINGS = 10
"""Findings reported per example: the first few say what to fix."""


@rule("PLANNING_PATTERN_UNKNOWN")
def planning_patterns(context: RuleContext) -> Iterator[Issue]:
    planners = [step for step in context.steps if step.type == "planning"]
    if not planners:
        return  # the grammar's catalog is imported only for a planning step
    from tasker_ctl.grammar.patterns import PATTERNS

    known = sorted(PATTERNS)
    for step in planners:
        block = step.mapping("planning")
        if block is None:
            continue
        patterns = block.get("allowed_patterns")
        for index, name in enumerate(patterns if isinstance(patterns, list) else []):
            if isinstance(name, str) and name not in PATTERNS:
                match = did_you_mean(name, known)
                yield Issue(
                    "PLANNING_PATTERN_UNKNOWN",
                    f"planning.allowed_patterns names '{name}', which is not a pattern of the "
                    "grammar's catalog",
                    (*step.path, "planning", "allowed_patterns", index),
                    f"did you mean '{match}'?" if match else f"patterns: {quote_list(known)}",
                    step=step.name,
                )


@rule("PLANNING_EXAMPLE_INVALID")
def planning_examples(context: RuleContext) -> Iterator[Issue]:
    template = context.template
    if template is None:
        return  # the template's own errors come first
    with_examples = []  # (the step's view, its name, its examples)
    for step in context.steps:
        # the planning block first: looking a step up by name scans the template's steps
        if step.name is None or step.mapping("planning") is None:
            continue
        definition = template.step(step.name)
        if definition is not None and definition.planning and definition.planning.examples:
            with_examples.append((step, definition.name, definition.planning.examples))
    if not with_examples:
        return  # the fragment validator is imported only for examples to check
    from tasker_ctl.planning.frame import FragmentFrame
    from tasker_ctl.planning.validator import check_fragment

    for step, name, examples in with_examples:
        try:
            frame = FragmentFrame(template, name)
        except TaskerError:
            continue  # not a planning step: PLANNING_BLOCK_MISPLACED says so
        base = (*step.path, "planning", "examples")
        for index, example in enumerate(examples):
            check = check_fragment(example, frame, source=f"example {index}")
            for finding in check.errors[:MAX_EXAMPLE_FINDINGS]:
                yield Issue(
                    "PLANNING_EXAMPLE_INVALID",
                    f"planning.examples[{index}]: {finding.code}: {finding.message}",
                    (*base, index, *finding.keys),
                    finding.hint,
                    step=step.name,
                )
