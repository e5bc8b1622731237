"""``explain_fragment``: the data flow a fragment would have once materialized: where each
step's inputs come from (a task-context field, an upstream step's field) with their schema
types, the edges the materialization adds around the fill (planning step to each root, each
leaf to the frame's convergence; a nested planning step is such a leaf, its own fill planned
later between it and that convergence), and the findings, if any."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from tasker_ctl.planning.fragment import CallableHandler, CompositionHandler, GrammarHandler
from tasker_ctl.planning.frame import FragmentFrame
from tasker_ctl.planning.stages_base import Draft, PlacedStep
from tasker_ctl.planning.stages_references import Resolution, resolve_reference
from tasker_ctl.planning.validator import FragmentCheck, FragmentFinding, check_fragment

_CLOSED = ConfigDict(extra="forbid")


class InputFlow(BaseModel):
    """One input of a step: the reference and what it reads."""

    model_config = _CLOSED

    name: str
    reference: str
    origin: Literal["task_context", "fragment_step", "template_step", "planned_step", "unknown"]
    source_step: str | None = None
    path: str = Field(description="the field read, dot-separated ('' for the whole value)")
    type: str = Field(description="the JSON type its schema declares, or 'undeclared'")


class StepFlow(BaseModel):
    model_config = _CLOSED

    name: str
    handler_kind: Literal["grammar", "composition", "callable", "planning"]
    handler: str = Field(
        description="the pattern, composition or callable; a nested planner's goal"
    )
    step_type: str
    dependencies: list[str]
    inputs: list[InputFlow]
    output: str = Field(description="the JSON type of the result's schema, or 'undeclared'")


class Edge(BaseModel):
    model_config = _CLOSED

    source: str
    target: str
    kind: Literal["planning", "dependency", "convergence"] = Field(
        description="planning: the planning step to a root; dependency: between planned steps; "
        "convergence: a leaf to the frame's convergence"
    )


class FragmentExplanation(BaseModel):
    model_config = _CLOSED

    template: str
    planning_step: str
    convergence: str
    accepted: bool
    step_count: int
    depth: int | None
    steps: list[StepFlow]
    edges: list[Edge]
    findings: list[FragmentFinding]


def explain_fragment(
    data: object, frame: FragmentFrame, *, source: str = "<fragment>"
) -> FragmentExplanation:
    """The data flow of ``data`` as a fill of ``frame``'s planning step (never raises)."""
    check: FragmentCheck = check_fragment(data, frame, source=source)
    draft = Draft.of(data, check.fragment, frame, source)
    steps = [_step(draft, placed) for placed in draft.steps]
    return FragmentExplanation(
        template=frame.template.identifier,
        planning_step=frame.planning_step,
        convergence=frame.convergence,
        accepted=check.accepted,
        step_count=check.step_count,
        depth=check.depth,
        steps=steps,
        edges=_edges(draft),
        findings=check.findings,
    )


def _step(draft: Draft, placed: PlacedStep) -> StepFlow:
    handler = placed.step.handler
    if isinstance(handler, GrammarHandler):
        kind: Literal["grammar", "composition", "callable", "planning"] = "grammar"
        name = handler.grammar
    elif isinstance(handler, CompositionHandler):
        kind = "composition"
        name = handler.composition.pattern or handler.composition.name or "(written out)"
    elif isinstance(handler, CallableHandler):
        kind, name = "callable", handler.callable
    else:
        nested = placed.step.planning
        kind, name = "planning", nested.goal if nested is not None else ""
    inputs = []
    for key, ref in placed.step.inputs.items():
        resolution = resolve_reference(draft, placed, ref)
        inputs.append(
            InputFlow(
                name=key,
                reference=str(ref),
                origin=resolution.origin,
                source_step=ref.step,
                path=".".join(ref.path),
                type="unresolved" if resolution.problem else resolution.type_text,
            )
        )
    view = draft.handlers[placed.name]
    output = Resolution("fragment_step", view.output_schema, view.output_schema is not None)
    return StepFlow(
        name=placed.name,
        handler_kind=kind,
        handler=name,
        step_type=placed.step.step_type,
        dependencies=list(placed.step.dependencies),
        inputs=inputs,
        output=output.type_text,
    )


def _edges(draft: Draft) -> list[Edge]:
    frame = draft.frame
    edges: list[Edge] = []
    for placed in draft.steps:
        internal = draft.internal_dependencies(placed)
        if not internal:
            edges.append(Edge(source=frame.planning_step, target=placed.name, kind="planning"))
        edges.extend(Edge(source=name, target=placed.name, kind="dependency") for name in internal)
    for placed in draft.steps:
        if not draft.children[placed.name]:
            edges.append(Edge(source=placed.name, target=frame.convergence, kind="convergence"))
    if not draft.steps:
        edges.append(Edge(source=frame.planning_step, target=frame.convergence, kind="convergence"))
    return edges
