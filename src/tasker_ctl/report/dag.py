"""The planned DAG of a template, before any run: a view model and Mermaid, DOT and JSON renderers.

The view follows Tasker Core's creation rules. At task start every step is created except:
descendants of a ``decision`` step (they exist only if the decision's handler creates them),
``batch_worker`` steps (a ``batchable`` step spawns N copies named ``{worker}_{batch_id}``, the
worker step itself never runs), ``deferred_convergence`` steps (created when one of their
dependencies is created dynamically; they then wait only on the dependencies that exist) and the
convergence step of a ``planning`` step (the planner's fragment is inserted before it). Anything
downstream of a step that is not created at start is not created at start either.

Renderers only read the view; output is deterministic (no sets, no dates, no environment).
"""

from __future__ import annotations

import re
from typing import Final, Literal

from pydantic import BaseModel, ConfigDict, Field

from tasker_ctl.template.graph import StepGraph
from tasker_ctl.template.model import (
    PlanningBounds,
    PlanningBudget,
    StepDefinition,
    StepType,
    TaskTemplate,
)

FORMAT_NAME: Final = "tasker-ctl.dag-view"
FORMAT_VERSION = 1

CreatorKind = Literal["decision", "batch", "planning"]
EdgeKind = Literal["static", "decision_branch", "batch_spawn", "convergence"]

_CONFIG = ConfigDict(frozen=True, extra="forbid")


class Creator(BaseModel):
    """The step whose run creates a step that does not exist at task start."""

    model_config = _CONFIG

    kind: CreatorKind
    step: str


class PlanningSummary(BaseModel):
    """What a planning step may insert before its convergence step."""

    model_config = _CONFIG

    convergence: str
    goal: str | None = None
    bounds: PlanningBounds
    budget: PlanningBudget


class BatchSummary(BaseModel):
    """How a batch_worker step is copied at run time (``None`` fields: no batch_config)."""

    model_config = _CONFIG

    instance_name: str = Field(description="name of each copy, e.g. 'process_{batch_id}'")
    batch_size: int | None = None
    parallelism: int | None = None
    cursor_field: str | None = None
    failure_strategy: str | None = None


class DagNode(BaseModel):
    """One step of the template, with what the orchestrator does with it."""

    model_config = _CONFIG

    name: str
    type: StepType
    handler: str = Field(description="the handler callable")
    description: str | None = None
    dependencies: list[str] = Field(description="as declared, unknown names included")
    index: int = Field(description="0-based position in the template's steps list")
    level: int = Field(description="longest dependency chain from a root (roots are 0)")
    created_at_start: bool
    created_by: Creator | None = Field(
        default=None, description="for steps not created at start: which step creates them"
    )
    creates: list[str] = Field(
        default_factory=list, description="steps whose created_by names this step"
    )
    convergence_of: list[str] | None = Field(
        default=None,
        description="deferred_convergence only: the dependencies (and planning steps) it waits "
        "on only if they are created",
    )
    planning: PlanningSummary | None = None
    batch: BatchSummary | None = None


class DagEdge(BaseModel):
    """A dependency ``from -> to``; ``dynamic`` when it exists only if ``to`` is created."""

    # 'from' is a keyword: the fields are named source/target and serialized by alias, by
    # every dump (the MCP tool's answer is a plain model_dump of the view)
    model_config = ConfigDict(
        frozen=True, extra="forbid", populate_by_name=True, serialize_by_alias=True
    )

    source: str = Field(alias="from")
    target: str = Field(alias="to")
    kind: EdgeKind
    dynamic: bool


class DagView(BaseModel):
    """The planned DAG: nodes in topological order (template order breaks ties), then edges."""

    model_config = _CONFIG

    format: Literal["tasker-ctl.dag-view"] = FORMAT_NAME
    format_version: int = FORMAT_VERSION
    template: str = Field(description="'namespace/name@version'")
    namespace: str
    name: str
    version: str
    description: str | None = None
    roots: list[str]
    nodes: list[DagNode]
    edges: list[DagEdge]

    def node(self, name: str) -> DagNode | None:
        return next((node for node in self.nodes if node.name == name), None)


def build_dag_view(template: TaskTemplate) -> DagView:
    """The planned DAG of ``template``; tolerant of unknown dependencies and cycles."""
    return _Builder(template).view()


class _Builder:
    def __init__(self, template: TaskTemplate) -> None:
        self.template = template
        self.steps: dict[str, StepDefinition] = {}
        for step in template.steps:
            self.steps.setdefault(step.name, step)
        self.graph = StepGraph([(step.name, step.dependencies) for step in template.steps])
        self.order = self.graph.topological_order()
        placed = set(self.order)
        # Steps caught in a cycle have no topological place; they still deserve a node.
        self.order += [name for name in self.graph.order if name not in placed]
        self.depth = self.graph.depth()
        self.position = {name: index for index, name in enumerate(self.graph.order)}
        self.planned: dict[str, list[str]] = {}
        for name in self.graph.order:
            block = self.steps[name].planning
            if self.steps[name].step_type is StepType.PLANNING and block is not None:
                self.planned.setdefault(block.convergence, []).append(name)
        self.at_start: dict[str, bool] = {}
        self.creators: dict[str, Creator | None] = {}
        for name in self.order:  # parents first, so that creation can be inherited
            self.at_start[name], self.creators[name] = self._creation(name)

    def view(self) -> DagView:
        graph, template = self.graph, self.template
        edges = [
            DagEdge(
                source=parent,
                target=name,
                kind=self._edge_kind(parent, name),
                dynamic=not self.at_start[name],
            )
            for name in self.order
            for parent in graph.parents[name]
        ]
        return DagView(
            template=template.identifier,
            namespace=template.namespace_name,
            name=template.name,
            version=template.version,
            description=template.description,
            roots=[name for name in self.order if not graph.parents[name]],
            nodes=[self._node(name) for name in self.order],
            edges=edges,
        )

    def _creation(self, name: str) -> tuple[bool, Creator | None]:
        """Whether ``name`` exists at task start, else which step's run creates it."""
        step_type, parents = self.steps[name].step_type, self.graph.parents[name]
        if step_type is StepType.BATCH_WORKER:
            return False, self._nearest(name, (StepType.BATCHABLE,))
        if step_type is StepType.DEFERRED_CONVERGENCE:
            if name in self.planned:
                return False, Creator(kind="planning", step=self.planned[name][0])
            inherited = next((self.creators[p] for p in parents if self.creators.get(p)), None)
            # Without a dynamic parent it is never created; validation reports that.
            return False, inherited or self._nearest(name, tuple(_CREATOR_KIND))
        decision = next((p for p in parents if self.steps[p].step_type is StepType.DECISION), None)
        if decision is not None:
            return False, Creator(kind="decision", step=decision)
        dynamic = [p for p in parents if not self.at_start.get(p, True)]
        if dynamic:
            return False, next((self.creators[p] for p in dynamic if self.creators.get(p)), None)
        return True, None

    def _nearest(self, name: str, kinds: tuple[StepType, ...]) -> Creator | None:
        """The closest ancestor of one of ``kinds``: deepest first, then template order."""
        found = [
            a for a in self.graph.ancestors(name) if a != name and self.steps[a].step_type in kinds
        ]
        if not found:
            return None
        source = min(found, key=lambda a: (-self.depth.get(a, 0), self.position[a]))
        return Creator(kind=_CREATOR_KIND[self.steps[source].step_type], step=source)

    def _node(self, name: str) -> DagNode:
        step = self.steps[name]
        convergence_of: list[str] | None = None
        if step.step_type is StepType.DEFERRED_CONVERGENCE:
            waits = [d for d in dict.fromkeys(step.dependencies) if not self.at_start.get(d, True)]
            convergence_of = [*waits, *(p for p in self.planned.get(name, []) if p not in waits)]
        planning = None
        if step.step_type is StepType.PLANNING and (block := step.planning) is not None:
            planning = PlanningSummary(
                convergence=block.convergence,
                goal=block.goal,
                bounds=block.bounds,
                budget=block.budget,
            )
        batch = None
        if step.step_type is StepType.BATCH_WORKER:
            config = step.batch_config
            batch = BatchSummary(
                instance_name=f"{name}_{{batch_id}}",
                batch_size=config.batch_size if config else None,
                parallelism=config.parallelism if config else None,
                cursor_field=config.cursor_field if config else None,
                failure_strategy=config.failure_strategy.value if config else None,
            )
        creates = [o for o in self.order if (c := self.creators[o]) is not None and c.step == name]
        return DagNode(
            name=name,
            type=step.step_type,
            handler=step.handler.callable,
            description=step.description,
            dependencies=list(step.dependencies),
            index=self.position[name],
            level=self.depth.get(name, 0),
            created_at_start=self.at_start[name],
            created_by=self.creators[name],
            creates=creates,
            convergence_of=convergence_of,
            planning=planning,
            batch=batch,
        )

    def _edge_kind(self, parent: str, child: str) -> EdgeKind:
        parent_type, child_type = self.steps[parent].step_type, self.steps[child].step_type
        if child_type is StepType.BATCH_WORKER and parent_type is StepType.BATCHABLE:
            return "batch_spawn"
        if child_type is StepType.DEFERRED_CONVERGENCE:
            return "convergence"
        creator = self.creators[child]
        return "decision_branch" if creator and creator.kind == "decision" else "static"


_CREATOR_KIND: dict[StepType, CreatorKind] = {
    StepType.DECISION: "decision",
    StepType.BATCHABLE: "batch",
    StepType.PLANNING: "planning",
}


# -- renderers ----------------------------------------------------------------------------------

# Per type: Mermaid shape (opening, closing), Graphviz shape, style class ('' for none).
STEP_LOOK: dict[StepType, tuple[str, str, str, str]] = {
    StepType.STANDARD: ('["', '"]', "box", ""),
    StepType.DECISION: ('{"', '"}', "diamond", "decision"),
    StepType.DEFERRED_CONVERGENCE: ('[/"', '"/]', "trapezium", "convergence"),
    StepType.BATCHABLE: ('[/"', '"/]', "trapezium", "batch"),
    StepType.BATCH_WORKER: ('[["', '"]]', "box3d", "batch"),
    StepType.PLANNING: ('{{"', '"}}', "hexagon", "planning"),
}
TYPE_FILL: dict[str, tuple[str, str]] = {
    "decision": ("#fff4d6", "#b7791f"),
    "convergence": ("#e6f4ea", "#2f855a"),
    "batch": ("#e8f0fe", "#2b6cb0"),
    "planning": ("#f3e8ff", "#6b46c1"),
}


def type_caption(node: DagNode) -> str:
    """The second label line of a non-standard step ('' for standard steps)."""
    if node.type is StepType.STANDARD:
        return ""
    return "batch_worker ×N" if node.type is StepType.BATCH_WORKER else node.type.value


# Words the flowchart parser takes as keywords when used as a node id.
_MERMAID_RESERVED = frozenset(("end", "graph", "flowchart", "subgraph", "direction", "style"))
_MERMAID_RESERVED |= {"linkstyle", "classdef", "class", "click", "call", "href", "default"}


def mermaid_ids(names: list[str]) -> dict[str, str]:
    """Safe, unique Mermaid node ids for step names, assigned in the order given."""
    ids: dict[str, str] = {}
    used: set[str] = set()
    for name in names:
        base = re.sub(r"[^A-Za-z0-9_]", "_", name) or "step"
        if base[0].isdigit() or base.lower() in _MERMAID_RESERVED:
            base = f"step_{base}"
        candidate, suffix = base, 2
        while candidate in used:
            candidate, suffix = f"{base}_{suffix}", suffix + 1
        used.add(candidate)
        ids[name] = candidate
    return ids


def mermaid_text(text: str) -> str:
    # '#' first: it introduces the entity codes used for the other characters.
    for raw, code in (("#", "#35;"), ('"', "#quot;"), ("<", "#lt;"), (">", "#gt;")):
        text = text.replace(raw, code)
    return " ".join(text.split())


def render_mermaid(view: DagView) -> str:
    """A Mermaid flowchart (``graph TD``); dashed edges lead to steps created at run time."""
    ids = mermaid_ids([node.name for node in view.nodes])
    lines = ["graph TD", f"    %% {mermaid_text(view.template)}"]
    used_classes: set[str] = set()
    extra_dynamic: list[str] = []
    for node in view.nodes:
        opening, closing, _, type_class = STEP_LOOK[node.type]
        label = mermaid_text(node.name)
        if caption := type_caption(node):
            label += f"<br/>{mermaid_text(caption)}"
        dynamic = not node.created_at_start
        style = type_class or ("dynamic" if dynamic else "")
        if type_class and dynamic:
            extra_dynamic.append(ids[node.name])  # ':::' takes one class; 'class' adds more
        used_classes.update(name for name in (type_class, "dynamic" if dynamic else None) if name)
        suffix = f":::{style}" if style else ""
        lines.append(f"    {ids[node.name]}{opening}{label}{closing}{suffix}")
    for edge in view.edges:
        arrow = "-.->" if edge.dynamic else "-->"
        if edge.kind == "batch_spawn":
            arrow += '|"×N"|'
        lines.append(f"    {ids[edge.source]} {arrow} {ids[edge.target]}")
    for name in sorted(used_classes):
        if name == "dynamic":
            lines.append("    classDef dynamic stroke-dasharray:5 5")
        else:
            fill, stroke = TYPE_FILL[name]
            lines.append(f"    classDef {name} fill:{fill},stroke:{stroke},color:#1a202c")
    if extra_dynamic:
        lines.append(f"    class {','.join(extra_dynamic)} dynamic")
    return "\n".join(lines) + "\n"


def dot_quote(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'


def render_dot(view: DagView) -> str:
    """A Graphviz digraph; dashed nodes and edges exist only if created at run time."""
    lines = [
        f"digraph {dot_quote(view.template)} {{",
        "  rankdir=TB;",
        f"  label={dot_quote(view.template)};",
        "  labelloc=t;",
        '  node [shape=box, fontname="Helvetica", fontsize=11];',
        '  edge [fontname="Helvetica", fontsize=10];',
    ]
    for node in view.nodes:
        label = node.name + (f"\n{caption}" if (caption := type_caption(node)) else "")
        _, _, shape, style_class = STEP_LOOK[node.type]
        attributes = [f"label={dot_quote(label)}", f"shape={shape}"]
        styles = []
        if style_class:
            fill, stroke = TYPE_FILL[style_class]
            styles.append("filled")
            attributes += [f'fillcolor="{fill}"', f'color="{stroke}"']
        if not node.created_at_start:
            styles.append("dashed")
        if styles:
            attributes.append(f'style="{",".join(styles)}"')
        lines.append(f"  {dot_quote(node.name)} [{', '.join(attributes)}];")
    for edge in view.edges:
        attributes = []
        if edge.dynamic:
            attributes.append("style=dashed")
        if edge.kind == "batch_spawn":
            attributes.append('label="×N"')
        suffix = f" [{', '.join(attributes)}]" if attributes else ""
        lines.append(f"  {dot_quote(edge.source)} -> {dot_quote(edge.target)}{suffix};")
    lines.append("}")
    return "\n".join(lines) + "\n"


def render_json(view: DagView) -> str:
    """The view as JSON (keys documented in ``docs/cli/visualize.md``), indent 2, final newline."""
    return view.model_dump_json(indent=2, by_alias=True) + "\n"
