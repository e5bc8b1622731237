"""The checks of nested planning steps (``step_type: planning`` in a fragment), in the stages
they belong to: 6, what ``planning.context_from`` names runs before the nested planner; 8, its
bounds fit in what its outer planning step may still add; 9, the frame allows another level
of planning, and the nested planner is a leaf (its own fill attaches between it and the
frame's convergence, so no fragment step can wait for it).
"""

from __future__ import annotations

from tasker_ctl.planning.stages_base import Draft, PlacedStep
from tasker_ctl.template.issue import did_you_mean


def nested_planners(draft: Draft) -> list[PlacedStep]:
    """The fragment's nested planning steps that parse."""
    return [placed for placed in draft.steps if placed.step.planning is not None]


def check_planner_context(draft: Draft) -> None:
    """Stage 6 for nested planning steps: each ``planning.context_from`` name runs before the
    nested planner (a fragment ancestor, the planning step or a step upstream of it)."""
    frame = draft.frame
    for placed in nested_planners(draft):
        nested = placed.step.planning
        assert nested is not None  # nested_planners keeps only those
        before = draft.ancestors.get(placed.name, frozenset())
        readable = before | frame.upstream | {frame.planning_step}
        for index, name in enumerate(nested.context_from):
            if name in readable:
                continue
            at = (*placed.path, "planning", "context_from", index)
            if name in draft.by_name or name in frame.frame_steps:
                where = (
                    "the fragment"
                    if name in draft.by_name
                    else "the template"
                    if name in frame.template_steps
                    else "the task"
                )
                draft.add(
                    "FRAGMENT_REFERENCE_NOT_UPSTREAM",
                    f"nested planning step '{placed.name}': context_from names step '{name}' "
                    f"of {where}, which does not run before it",
                    at,
                    step=placed.name,
                    hint=f"add '{name}' to the dependencies of '{placed.name}'"
                    if name in draft.by_name
                    else "only steps upstream of the planning step can be read",
                )
            else:
                match = did_you_mean(name, sorted(readable))
                draft.add(
                    "FRAGMENT_REFERENCE_UNKNOWN_STEP",
                    f"nested planning step '{placed.name}': context_from names step '{name}', "
                    "which does not exist",
                    at,
                    step=placed.name,
                    hint=f"did you mean '{match}'?" if match else None,
                )


def check_nested_bounds(draft: Draft) -> None:
    """Stage 8: a nested planner's fill fits in its outer step's bounds and in what the
    budget leaves once the fragment's own steps are added."""
    frame, bounds = draft.frame, draft.frame.block.bounds
    remaining = frame.remaining_steps
    left = None if remaining is None else max(remaining - draft.step_count, 0)
    for placed in nested_planners(draft):
        nested = placed.step.planning
        assert nested is not None
        at = (*placed.path, "planning")
        who = f"nested planning step '{placed.name}'"
        if nested.max_steps > bounds.max_steps:
            draft.add(
                "FRAGMENT_NESTED_BOUNDS_EXCEEDED",
                f"{who}: max_steps {nested.max_steps} is above planning.bounds.max_steps "
                f"({bounds.max_steps}) of '{frame.planning_step}'",
                (*at, "max_steps"),
                step=placed.name,
                hint=f"set max_steps to at most {bounds.max_steps}",
            )
        elif left is not None and nested.max_steps > left:
            draft.add(
                "FRAGMENT_NESTED_BOUNDS_EXCEEDED",
                f"{who}: max_steps {nested.max_steps}, but the budget leaves {left} after "
                f"the fragment's own {draft.step_count} steps",
                (*at, "max_steps"),
                step=placed.name,
                hint=f"set max_steps to at most {left}" if left else "propose fewer steps",
            )
        if nested.max_depth > bounds.max_depth:
            draft.add(
                "FRAGMENT_NESTED_BOUNDS_EXCEEDED",
                f"{who}: max_depth {nested.max_depth} is above planning.bounds.max_depth "
                f"({bounds.max_depth}) of '{frame.planning_step}'",
                (*at, "max_depth"),
                step=placed.name,
                hint=f"set max_depth to at most {bounds.max_depth}",
            )


def check_nested_frame(draft: Draft) -> None:
    """Stage 9: another level of planning is allowed here, and each nested planner is a leaf
    of the fragment."""
    frame = draft.frame
    for placed in nested_planners(draft):
        if frame.nesting_left < 1:
            level = frame.nesting + 1
            draft.add(
                "FRAGMENT_NESTING_EXCEEDED",
                f"nested planning step '{placed.name}' would plan at level {level}, but "
                f"planning step '{frame.planning_step}' allows "
                + (
                    "no nested planning (planning.max_nesting is 0)"
                    if frame.nesting == 0
                    else f"no level beyond {frame.nesting}"
                ),
                (*placed.path, "step_type"),
                step=placed.name,
                hint="plan the steps here instead of leaving them to a nested planner",
            )
        waiting = draft.children.get(placed.name, [])
        if waiting:
            listed = ", ".join(f"'{name}'" for name in waiting)
            draft.add(
                "FRAGMENT_NESTED_PLANNER_NOT_LEAF",
                f"nested planning step '{placed.name}' is a dependency of {listed}; its own "
                f"fill runs between it and the convergence '{frame.convergence}', so nothing "
                "in the fragment can wait for it",
                (*placed.path, "name"),
                step=placed.name,
                hint=f"drop '{placed.name}' from the dependencies of {listed}",
            )
