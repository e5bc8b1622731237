"""What a nested planning step of an accepted fragment becomes in the task: a planning step
whose block is its outer planning step's, narrowed to the nested step's goal, context and
bounds.

The nested planner inherits what the template's author granted the outer one (convergence,
allow-lists, model and fallbacks, price, context policy, repairs, budget, prompt) and nothing
more: it plans one round (``max_phases: 1``) of at most its own ``max_steps`` and
``max_depth``, may open one level of nesting fewer than its outer step, and is shown no
few-shot examples (those were written for the outer goal).
"""

from __future__ import annotations

from typing import Any

from tasker_ctl.errors import PlanningStepError
from tasker_ctl.planning.fragment import FragmentStep
from tasker_ctl.template.model import StepDefinition, StepType

PLANNER_CALLABLE = "tasker.planner"
"""The handler a nested planning step is written with: the engine plans it, never calls it."""


def nested_definition(outer: StepDefinition, step: FragmentStep) -> StepDefinition:
    """The definition the nested planning step ``step`` of a fragment of ``outer`` is
    materialized as (``dependencies`` as the fragment gives them: a root's planning step is
    added by the fill)."""
    block = outer.planning
    if block is None or outer.step_type is not StepType.PLANNING:
        raise PlanningStepError(f"step '{outer.name}' is not a planning step with a block")
    nested = step.planning
    if step.step_type != "planning" or nested is None:
        raise PlanningStepError(f"fragment step '{step.name}' is not a nested planning step")
    if block.max_nesting < 1:
        raise PlanningStepError(
            f"planning step '{outer.name}' allows no nested planning (max_nesting is 0), so "
            f"'{step.name}' cannot be planned",
            hint="set planning.max_nesting on the template's planning step",
        )
    planning: dict[str, Any] = block.model_dump(mode="json", by_alias=True, exclude_none=True)
    planning.update(
        goal=nested.goal,
        context_from=list(nested.context_from),
        convergence=block.convergence,
        bounds={
            "max_steps": nested.max_steps,
            "max_depth": nested.max_depth,
            "max_phases": 1,
        },
        max_nesting=block.max_nesting - 1,
        examples=[],
    )
    definition: dict[str, Any] = {
        "name": step.name,
        "type": StepType.PLANNING.value,
        "handler": {"callable": PLANNER_CALLABLE},
        "dependencies": list(step.dependencies),
        "planning": planning,
    }
    if step.reasoning is not None:
        definition["description"] = step.reasoning
    return StepDefinition.model_validate(definition)
