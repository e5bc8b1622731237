"""Rules for a template's ``budget`` and ``chain`` blocks (tasker-ctl extensions).

A template budget caps what all its planning steps together may spend; each planning step
then gets the smaller of its own bound and what the task has left. A cap below what one
planning step needs for a single round is legal but surely a mistake: the step is narrowed
at run time (a fill of fewer steps, less answer room, a shorter call) or cannot call at all.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from tasker_ctl.template.context import RuleContext, StepView
from tasker_ctl.template.issue import Issue
from tasker_ctl.template.model import PlanningBlock, PlanningBounds, PlanningBudget
from tasker_ctl.template.rules import rule

_BOUNDS = PlanningBounds()
_STEP_BUDGET = PlanningBudget()
_OUTPUT_TOKENS = PlanningBlock.model_fields["max_output_tokens"].default
_TIMEOUT = PlanningBlock.model_fields["timeout_seconds"].default

# (template budget key, what one round of a planning step needs, how it is narrowed)
_NEEDS = (
    ("max_steps", "a fill of up to {need} step(s) (bounds.max_steps)", "its fills are cut"),
    ("max_tokens", "{need} tokens of answer room (max_output_tokens)", "its answers are cut"),
    (
        "max_wall_seconds",
        "{need} s for a call (timeout_seconds)",
        "its calls are given less time",
    ),
)


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _step_needs(step: StepView) -> dict[str, float]:
    block = step.mapping("planning") or {}
    raw_bounds = block.get("bounds")
    bounds: dict[str, Any] = raw_bounds if isinstance(raw_bounds, dict) else {}
    found = {
        "max_steps": _number(bounds.get("max_steps", _BOUNDS.max_steps)),
        "max_tokens": _number(block.get("max_output_tokens", _OUTPUT_TOKENS)),
        "max_wall_seconds": _number(block.get("timeout_seconds", _TIMEOUT)),
    }
    return {key: value for key, value in found.items() if value is not None}


@rule("TEMPLATE_BUDGET_BELOW_STEP", "TEMPLATE_BUDGET_UNUSED")
def template_budget(context: RuleContext) -> Iterator[Issue]:
    budget = context.data.get("budget")
    if not isinstance(budget, dict):
        return
    planners = [
        step for step in context.steps if step.type == "planning" and step.mapping("planning")
    ]
    if not planners:
        yield Issue(
            "TEMPLATE_BUDGET_UNUSED",
            "the template has a 'budget:' block but no planning step: its limits bound "
            "planners only, so they never apply",
            ("budget",),
            "remove the block, or add the planning steps it is meant to bound",
            at_key=True,
        )
        return
    for key, need_text, effect in _NEEDS:
        cap = _number(budget.get(key))
        if cap is None:
            continue
        for step in planners:
            need = _step_needs(step).get(key)
            if need is not None and cap < need:
                shown = f"{need:g}"
                yield Issue(
                    "TEMPLATE_BUDGET_BELOW_STEP",
                    f"budget.{key} ({cap:g}) is below what one round of planning step "
                    f"'{step.label}' needs: {need_text.format(need=shown)}; {effect}",
                    ("budget", key),
                    f"raise budget.{key} to at least {shown}, or lower the step's own bound",
                    step=step.name,
                )
    cost = _number(budget.get("max_cost_usd"))
    if cost == 0:
        yield Issue(
            "TEMPLATE_BUDGET_BELOW_STEP",
            "budget.max_cost_usd is 0: no planning step can make a model call",
            ("budget", "max_cost_usd"),
            f"give the planners money (each step defaults to ${_STEP_BUDGET.max_cost_usd:g})",
        )


@rule("CHAIN_LIMITS_EMPTY")
def chain_limits(context: RuleContext) -> Iterator[Issue]:
    chain = context.data.get("chain")
    if isinstance(chain, dict) and not any(value is not None for value in chain.values()):
        yield Issue(
            "CHAIN_LIMITS_EMPTY",
            "the template's 'chain:' block sets no limit, so the chains its tasks start are "
            "unbounded",
            ("chain",),
            "set max_depth, max_tasks, max_cost_usd, max_tokens or max_llm_calls, or remove "
            "the block",
            at_key=True,
        )
