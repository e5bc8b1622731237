"""``tasker-ctl task graph``: a task's DAG as it actually ran, as Mermaid, DOT or JSON.

Nodes are drawn like ``template visualize`` draws the template's steps (the same shapes per
step type), so the two can be set side by side; each node adds its state and attempts,
and is coloured by state. Dependency edges are solid. A step created at run time is linked
to the step that created it: its dependency edge from that step is labelled ``creates``,
or, when the creator is not one of its parents (a convergence step created by a decision),
a dotted ``created`` edge is added, unless the step's parents were created by that same step
(then the creation shows through them).
"""

from __future__ import annotations

import uuid
from typing import Final, Literal

from pydantic import BaseModel, ConfigDict, Field

from tasker_ctl.engine.views import TaskInspection
from tasker_ctl.report.dag import STEP_LOOK, dot_quote, mermaid_ids, mermaid_text
from tasker_ctl.template.model import StepType

FORMAT_NAME: Final = "tasker-ctl.task-graph"

_STATE_FILL = {
    "complete": ("#e6f4ea", "#2f855a"),
    "resolved_manually": ("#f3e8ff", "#6b46c1"),
    "error": ("#fde8e8", "#c53030"),
    "cancelled": ("#edf2f7", "#4a5568"),
    "in_progress": ("#e8f0fe", "#2b6cb0"),
    "waiting_for_retry": ("#fff4d6", "#b7791f"),
    "waiting_for_approval": ("#fff4d6", "#b7791f"),
}
_CONFIG = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)


class RunNode(BaseModel):
    model_config = _CONFIG

    name: str
    type: str = Field(description="the step type, as in the template")
    template_step: str = Field(description="the template step it is an instance of")
    state: str
    attempts: int
    duration_ms: int | None
    handler: str | None
    handler_type: str
    created_by: str
    created_by_step: str | None = Field(description="the step whose outcome created it")


class RunEdge(BaseModel):
    # dumped as from/to however it is dumped: every JSON of it says what the format says
    model_config = ConfigDict(
        frozen=True, extra="forbid", populate_by_name=True, serialize_by_alias=True
    )

    source: str = Field(alias="from")
    target: str = Field(alias="to")
    kind: Literal["dependency", "created"] = Field(
        description="'created': the creator is not a parent, the edge only shows origin"
    )
    name: str | None = Field(description="the dependency edge's name; null for 'created'")
    creates: bool = Field(description="the source created the target at run time")


class TaskGraph(BaseModel):
    model_config = _CONFIG

    format: Literal["tasker-ctl.task-graph"] = FORMAT_NAME
    format_version: int = 1
    task_uuid: uuid.UUID
    task: str = Field(description="'namespace/name@version', as in template visualize")
    status: str
    nodes: list[RunNode] = Field(description="in creation order")
    edges: list[RunEdge]


def build_task_graph(task: TaskInspection) -> TaskGraph:
    nodes = [
        RunNode(
            name=step.name,
            type=step.step_type,
            template_step=step.template_step_name,
            state=step.state,
            attempts=step.attempts,
            duration_ms=step.duration_ms,
            handler=step.handler,
            handler_type=step.provenance.handler_type,
            created_by=step.provenance.created_by,
            created_by_step=step.provenance.origin_step or step.provenance.planning_step,
        )
        for step in task.steps
    ]
    creator = {node.name: node.created_by_step for node in nodes}
    edges = [
        RunEdge(
            source=edge.source,
            target=edge.target,
            kind="dependency",
            name=edge.name,
            creates=creator.get(edge.target) == edge.source,
        )
        for edge in task.edges
    ]
    # a created step whose parents the same step created is drawn through them; a dotted
    # link is added only where the creation would otherwise not show
    parents: dict[str, list[str]] = {}
    for edge in task.edges:
        parents.setdefault(edge.target, []).append(edge.source)
    edges += [
        RunEdge(source=origin, target=node.name, kind="created", name=None, creates=True)
        for node in nodes
        if (origin := node.created_by_step) is not None
        and origin not in parents.get(node.name, [])
        and not any(creator.get(parent) == origin for parent in parents.get(node.name, []))
    ]
    return TaskGraph(
        task_uuid=task.task_uuid, task=task.task, status=task.status, nodes=nodes, edges=edges
    )


def _step_type(node: RunNode) -> StepType:
    try:
        return StepType(node.type)
    except ValueError:
        return StepType.STANDARD


def _caption(node: RunNode) -> str:
    parts = [node.state]
    if node.attempts > 1:
        parts.append(f"{node.attempts} attempts")
    if node.type != StepType.STANDARD.value:
        parts.insert(0, node.type)
    return " · ".join(parts)


def render_mermaid(graph: TaskGraph) -> str:
    ids = mermaid_ids([node.name for node in graph.nodes])
    lines = ["graph TD", f"    %% {mermaid_text(graph.task)} {graph.task_uuid} ({graph.status})"]
    used: set[str] = set()
    for node in graph.nodes:
        opening, closing, _, _ = STEP_LOOK[_step_type(node)]
        label = f"{mermaid_text(node.name)}<br/>{mermaid_text(_caption(node))}"
        style = node.state if node.state in _STATE_FILL else ""
        used.update([style] if style else [])
        suffix = f":::{style}" if style else ""
        lines.append(f"    {ids[node.name]}{opening}{label}{closing}{suffix}")
    for edge in graph.edges:
        if edge.kind == "created":
            arrow = '-.->|"created"|'
        elif edge.creates:
            arrow = '-->|"creates"|'
        else:
            arrow = "-->"
        lines.append(f"    {ids[edge.source]} {arrow} {ids[edge.target]}")
    for state in sorted(used):
        fill, stroke = _STATE_FILL[state]
        lines.append(f"    classDef {state} fill:{fill},stroke:{stroke},color:#1a202c")
    return "\n".join(lines) + "\n"


def render_dot(graph: TaskGraph) -> str:
    title = f"{graph.task} {graph.task_uuid} ({graph.status})"
    lines = [
        f"digraph {dot_quote(graph.task)} {{",
        "  rankdir=TB;",
        f"  label={dot_quote(title)};",
        "  labelloc=t;",
        '  node [shape=box, fontname="Helvetica", fontsize=11];',
        '  edge [fontname="Helvetica", fontsize=10];',
    ]
    for node in graph.nodes:
        _, _, shape, _ = STEP_LOOK[_step_type(node)]
        attributes = [f"label={dot_quote(node.name + chr(10) + _caption(node))}", f"shape={shape}"]
        if node.state in _STATE_FILL:
            fill, stroke = _STATE_FILL[node.state]
            attributes += ['style="filled"', f'fillcolor="{fill}"', f'color="{stroke}"']
        lines.append(f"  {dot_quote(node.name)} [{', '.join(attributes)}];")
    for edge in graph.edges:
        attributes = []
        if edge.kind == "created":
            attributes += ["style=dotted", 'label="created"']
        elif edge.creates:
            attributes.append('label="creates"')
        suffix = f" [{', '.join(attributes)}]" if attributes else ""
        lines.append(f"  {dot_quote(edge.source)} -> {dot_quote(edge.target)}{suffix};")
    lines.append("}")
    return "\n".join(lines) + "\n"


def render_json(graph: TaskGraph) -> str:
    return graph.model_dump_json(indent=2, by_alias=True) + "\n"
