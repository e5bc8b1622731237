"""What an accepted fragment adds to a task: its steps in the template's own format, with their
provenance, and the edges that hang them in the frame (no database).

The fill's roots wait for the planning step and its leaves are waited for by the frame's
convergence step, so the convergence runs after every planned step (intersection semantics).
A fragment with no steps adds nothing: the convergence then waits only for the planning step.
A grammar step is written as a template writes one (``handler.callable`` ``grammar:<name>``
with a ``composition``), so it runs as every grammar step does; a callable runs as an
application handler.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from tasker_ctl.planning.fragment import (
    CallableHandler,
    CompositionHandler,
    Fragment,
    FragmentStep,
    GrammarHandler,
    parse_reference,
)
from tasker_ctl.template.model import (
    CompositionSpec,
    HandlerDefinition,
    StepDefinition,
    StepType,
)


@dataclass(frozen=True)
class PlannedStep:
    """One step of a fill: its definition (what runs) and its provenance."""

    definition: StepDefinition
    inputs: dict[str, str]  # input name -> the reference, resolved when the step runs
    reasoning: str | None
    handler_type: str  # application | grammar
    composition_source: str | None  # the pattern's name, or "dynamic"

    @property
    def name(self) -> str:
        return self.definition.name


@dataclass(frozen=True)
class PlannedEdge:
    parent: str
    child: str


@dataclass(frozen=True)
class PlannedFill:
    """The steps and edges one accepted fragment adds below ``planning_step``."""

    fragment_id: str
    planning_step: str
    convergence: str
    phase: int
    steps: tuple[PlannedStep, ...]
    edges: tuple[PlannedEdge, ...]
    attempt_uuid: str | None = None  # the planning attempt that proposed it (None: by hand)
    # planning ran out of budget: no steps, and this diagnostic for the convergence step
    exhausted: dict[str, Any] | None = None

    @property
    def step_names(self) -> tuple[str, ...]:
        return tuple(step.name for step in self.steps)


def phase_of_planner(created_by: str | None, planning_phase: int | None) -> int:
    """The phase a planning step fills: 1 for a template's, one more than the phase that
    planned it for a nested planner (a step a planner created)."""
    if created_by != "planning_step":
        return 1
    return (planning_phase or 1) + 1


def plan_fill(
    fragment: Fragment,
    *,
    fragment_id: str,
    planning_step: str,
    convergence: str,
    phase: int = 1,
    attempt_uuid: str | None = None,
    planning_definition: StepDefinition | None = None,
) -> PlannedFill:
    """The fill of an accepted ``fragment`` (validated: names unique, dependencies known).
    ``planning_definition`` is the planning step's own (what a nested planner it plans
    inherits)."""
    steps = tuple(
        _planned_step(step, planning_step, planning_definition) for step in fragment.steps
    )
    edges: list[PlannedEdge] = []
    depended_on = {parent for step in fragment.steps for parent in step.dependencies}
    for step in fragment.steps:
        if not step.dependencies:
            edges.append(PlannedEdge(planning_step, step.name))
        edges.extend(PlannedEdge(parent, step.name) for parent in step.dependencies)
    edges.extend(
        PlannedEdge(step.name, convergence)
        for step in fragment.steps
        if step.name not in depended_on
    )
    return PlannedFill(
        fragment_id=fragment_id,
        planning_step=planning_step,
        convergence=convergence,
        phase=phase,
        steps=steps,
        edges=tuple(edges),
        attempt_uuid=attempt_uuid,
    )


def _planned_step(
    step: FragmentStep, planning_step: str, outer: StepDefinition | None
) -> PlannedStep:
    if step.step_type == "planning":  # a nested planner: the engine plans it in turn
        from tasker_ctl.planning.nesting import nested_definition

        if outer is None:
            raise ValueError(f"nested planning step '{step.name}' needs its planner's definition")
        definition = nested_definition(outer, step)
        if not step.dependencies:
            definition = definition.model_copy(update={"dependencies": [planning_step]})
        return PlannedStep(
            definition=definition,
            inputs={},
            reasoning=step.reasoning,
            handler_type="application",
            composition_source=None,
        )
    handler = step.handler
    composition: CompositionSpec | None = None
    source: str | None = None
    if isinstance(handler, CallableHandler):
        definition_handler = HandlerDefinition(callable=handler.callable)
    elif isinstance(handler, GrammarHandler):
        composition = CompositionSpec(pattern=handler.grammar, config=handler.config)
        source = handler.grammar
        definition_handler = HandlerDefinition(callable=f"grammar:{step.name}")
    else:
        assert isinstance(handler, CompositionHandler)
        composition = handler.composition
        source = "dynamic"
        definition_handler = HandlerDefinition(callable=f"grammar:{step.name}")
    definition = StepDefinition.model_validate(
        {
            "name": step.name,
            "description": step.reasoning,
            "handler": definition_handler.model_dump(mode="json", exclude_defaults=True),
            "type": StepType(step.step_type).value,
            "dependencies": list(step.dependencies) or [planning_step],
            **(
                {"composition": composition.model_dump(mode="json", exclude_none=True)}
                if composition is not None
                else {}
            ),
        }
    )
    return PlannedStep(
        definition=definition,
        inputs={key: str(reference) for key, reference in step.inputs.items()},
        reasoning=step.reasoning,
        handler_type="application" if composition is None else "grammar",
        composition_source=source,
    )


def definition_json(step: PlannedStep) -> dict[str, Any]:
    """The step's definition as ``workflow_steps.step_definition`` stores it."""
    stored: dict[str, Any] = step.definition.model_dump(
        mode="json", by_alias=True, exclude_none=True
    )
    return stored


def resolve_inputs(
    inputs: Mapping[str, Any], context: Any, results: Mapping[str, Any]
) -> dict[str, Any]:
    """A planned step's inputs with each reference replaced by what it names when the step
    runs: a field of the task's context or of an ancestor's result (``None`` when the value
    is absent: validation made sure a schema declares it, not that it is present)."""
    resolved: dict[str, Any] = {}
    for key, value in inputs.items():
        try:
            reference = parse_reference(value)
        except ValueError:  # not a reference (a stored row written by other means): as is
            resolved[key] = value
            continue
        root = context if reference.root == "task_context" else results.get(reference.step or "")
        resolved[key] = _at_path(root, reference.path)
    return resolved


def _at_path(value: Any, path: tuple[str, ...]) -> Any:
    for part in path:
        if isinstance(value, Mapping):
            value = value.get(part)
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            return None
    return value
