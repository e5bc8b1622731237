"""Stages 5, 8 and 9: the fragment's steps form a DAG that ends at its convergence, stays
within the planning step's bounds and the task's budget, and keeps to its place in the frame
(new names, no edge into the frame or past its convergence)."""

from __future__ import annotations

from tasker_ctl.planning.stages_base import Draft, PlacedStep
from tasker_ctl.template.issue import did_you_mean


def check_dag(draft: Draft) -> None:
    """Stage 5: dependencies name fragment steps, no cycle, every leaf reaches the convergence."""
    frame = draft.frame
    for placed in draft.steps:
        for index, name in enumerate(placed.step.dependencies):
            known = (
                name in draft.by_name
                or name in draft.written_names
                or name in frame.frame_steps
                or name == frame.planning_step
            )
            if not known:
                match = did_you_mean(name, list(draft.by_name))
                draft.add(
                    "FRAGMENT_DEPENDENCY_UNKNOWN",
                    f"step '{placed.name}' depends on '{name}', which is not a step of the "
                    "fragment",
                    (*placed.path, "dependencies", index),
                    step=placed.name,
                    hint=f"did you mean '{match}'?" if match else "name a step of the fragment",
                )
    for cycle in _cycles(draft):
        first = draft.by_name[cycle[0]]
        draft.add(
            "FRAGMENT_CYCLE",
            "steps depend on each other in a circle: " + " -> ".join([*cycle, cycle[0]]),
            (*first.path, "dependencies"),
            step=first.name,
            hint="remove one of these dependencies",
        )
    convergence = draft.convergence
    if convergence is None:
        return
    above = draft.ancestors.get(convergence, frozenset())
    for placed in draft.steps:
        if placed.name == convergence or placed.name in draft.cyclic:
            continue
        if not draft.children[placed.name] and placed.name not in above:
            draft.add(
                "FRAGMENT_CONVERGENCE_UNREACHED",
                f"step '{placed.name}' is a leaf that does not lead to the fragment's "
                f"convergence '{convergence}'",
                (*placed.path, "name"),
                step=placed.name,
                hint=f"add '{placed.name}' to the dependencies of '{convergence}'",
            )


def _cycles(draft: Draft) -> list[list[str]]:
    """One cycle for each group of steps that reach each other, in document order."""
    found: list[list[str]] = []
    covered: set[str] = set()
    for placed in draft.steps:
        start = placed.name
        if start not in draft.cyclic or start in covered:
            continue
        path = _path_back(draft, start)
        covered.update(name for name in draft.cyclic if _same_group(draft, start, name))
        found.append(path)
    return found


def _same_group(draft: Draft, first: str, second: str) -> bool:
    return first in draft.ancestors[second] and second in draft.ancestors[first]


def _path_back(draft: Draft, start: str) -> list[str]:
    """The shortest chain ``start -> ... -> start`` along dependencies (breadth first)."""
    previous: dict[str, str] = {}
    frontier = [start]
    while frontier:
        following: list[str] = []
        for name in frontier:
            for parent in draft.internal_dependencies(draft.by_name[name]):
                if parent == start:
                    chain = [name]
                    while chain[-1] != start:
                        chain.append(previous[chain[-1]])
                    return list(reversed(chain)) if len(chain) > 1 else chain
                if parent not in previous:
                    previous[parent] = name
                    following.append(parent)
        frontier = following
    return [start]


def check_bounds(draft: Draft) -> None:
    """Stage 8: steps, depth and fan-out within the bounds; steps within the budget left."""
    frame, bounds = draft.frame, draft.frame.block.bounds
    count = draft.step_count
    if count > bounds.max_steps:
        draft.add(
            "FRAGMENT_TOO_MANY_STEPS",
            f"{count} steps, but planning.bounds.max_steps of '{frame.planning_step}' "
            f"allows {bounds.max_steps}",
            ("steps",),
            hint=f"propose at most {bounds.max_steps} steps",
        )
    remaining = frame.remaining_steps
    if remaining is not None and count > remaining:
        draft.add(
            "FRAGMENT_BUDGET_EXCEEDED",
            f"{count} steps, but the budget leaves {max(remaining, 0)}",
            ("steps",),
            hint=f"propose at most {max(remaining, 0)} steps",
        )
    depth = draft.depth
    if depth is not None and depth > bounds.max_depth:
        draft.add(
            "FRAGMENT_TOO_DEEP",
            f"the longest chain has {depth} steps, but planning.bounds.max_depth allows "
            f"{bounds.max_depth}",
            ("steps",),
            hint="run more steps side by side instead of one after another",
        )
    roots = [placed.name for placed in draft.steps if not draft.internal_dependencies(placed)]
    widest = [("the planning step", roots)] + [
        (f"step '{name}'", children) for name, children in draft.children.items()
    ]
    for owner, children in widest:
        if len(children) > bounds.max_steps:
            draft.add(
                "FRAGMENT_FAN_OUT_TOO_WIDE",
                f"{owner} has {len(children)} children, but planning.bounds.max_steps allows "
                f"{bounds.max_steps}",
                ("steps",),
            )


def check_frame(draft: Draft) -> None:
    """Stage 9: new names, no edge into the frame or past its convergence, and a
    deferred_convergence step only as the fragment's convergence."""
    frame = draft.frame
    for placed in draft.steps:
        if placed.name in frame.frame_steps:
            where = "the template" if placed.name in frame.template_steps else "the task"
            draft.add(
                "FRAGMENT_STEP_NAME_TAKEN",
                f"step name '{placed.name}' is already a step of {where}",
                (*placed.path, "name"),
                step=placed.name,
                hint="give the planned step a name of its own",
            )
        for index, name in enumerate(placed.step.dependencies):
            _check_edge(draft, placed, index, name)
        if placed.step.step_type == "deferred_convergence" and placed.name != draft.convergence:
            draft.add(
                "FRAGMENT_CONVERGENCE_MISPLACED",
                f"step '{placed.name}' is deferred_convergence but is not the fragment's "
                "convergence",
                (*placed.path, "step_type"),
                step=placed.name,
                hint=f"set 'convergence: {placed.name}' or make it a standard step",
            )


def _check_edge(draft: Draft, placed: PlacedStep, index: int, name: str) -> None:
    frame = draft.frame
    if name in draft.by_name or name == frame.planning_step:
        return
    at = (*placed.path, "dependencies", index)
    if name == frame.convergence:
        draft.add(
            "FRAGMENT_EDGE_PAST_CONVERGENCE",
            f"step '{placed.name}' depends on '{name}', the frame's convergence step, which "
            "runs after every planned step",
            at,
            step=placed.name,
            hint="planned steps run before the convergence; drop this dependency",
        )
    elif name in frame.frame_steps:
        draft.add(
            "FRAGMENT_EDGE_INTO_FRAME",
            f"step '{placed.name}' depends on frame step '{name}'; planned steps hang off "
            f"the planning step '{frame.planning_step}' only",
            at,
            step=placed.name,
            hint=f"if '{name}' is upstream, read its result with ${{steps.{name}.result}}",
        )
