"""``inspect task --planning`` and ``--fragment``: a task's planner calls and the fragments
they added, read from ``planning_attempts`` and the planned steps.

Each says plainly what does not exist: a template without planning steps, a planning step
that has not planned yet. Long texts (the prompt, the capability text, the answer) are cut
to an excerpt unless the caller asks for them in full; the JSON document and the terminal
view are built from the same models.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field

from tasker_ctl.engine.rules.budget import Amount, exact
from tasker_ctl.engine.store.connection import Store
from tasker_ctl.engine.views.budget import reserved_amounts
from tasker_ctl.engine.views.inspection import InspectedStep, StepEdge, TaskInspection

_STRICT = ConfigDict(extra="forbid")

ANSWER_EXCERPT = 400
"""Characters of a planner's answer shown without ``--full``."""

AttemptStatus = Literal["calling", "answered", "failed", "interrupted"]
AttemptPurpose = Literal["plan", "summarize"]
ContextStrategy = Literal["verbatim", "structured", "summarize", "reference"]


class PlanningFinding(BaseModel):
    """One finding of the validator about an answer (docs/fragments.md lists the codes)."""

    model_config = _STRICT

    code: str
    severity: str | None = None
    stage: int | None = Field(default=None, description="the validation stage (1..9)")
    step: str | None = Field(default=None, description="the fragment's step concerned")
    path: str | None = Field(default=None, description="JSON path in the fragment")
    message: str
    hint: str | None = None


class ContextInputView(BaseModel):
    """How one input of the attempt's prompt (the task context or an upstream result) was
    given to the model (docs/planning.md, "Context between phases")."""

    model_config = _STRICT

    name: str = Field(description="task.context, or the upstream step's name")
    strategy: ContextStrategy = Field(
        description="verbatim (whole), structured (a summary keeping its shape), summarize "
        "(a model's summary) or reference (kept in the database, a sample shown)"
    )
    bytes_before: int = Field(description="bytes of the value's compact JSON")
    bytes_after: int = Field(description="bytes of what the prompt held for it")
    note: str | None = Field(description="what was elided and how it was reduced")


class PlanningAttemptView(BaseModel):
    """One model call of a planning step: who was asked, what came back, what it cost."""

    model_config = _STRICT

    planning_attempt_uuid: uuid.UUID
    attempt: int = Field(description="counts on across the planning step's retries")
    planning_phase: int
    purpose: AttemptPurpose = Field(
        default="plan",
        description="plan (a call for a fragment) or summarize (a call summarizing a large "
        "input for the prompt of a plan call)",
    )
    status: AttemptStatus = Field(
        description="calling (under way), answered, failed (no answer) or interrupted (the "
        "worker stopped during the call; its reservation was counted as spent)"
    )
    planner: str | None = Field(description="the planner spec the step was run with")
    provider: str | None
    model: str | None
    accepted: bool
    fragment_id: str | None = Field(description="the fragment's id when the answer had one")
    tokens_in: int | None
    tokens_out: int | None
    usage_estimated: bool = Field(
        description="tokens and cost are the reservation's worst case, not reported usage"
    )
    latency_ms: int | None
    cost_usd: Amount | None
    prices_version: str | None
    prompt_version: str | None
    prompt_hash: str | None
    capability_schema_hash: str | None
    reserved: dict[str, Amount] = Field(description="what the attempt reserved before calling")
    error: str | None = Field(description="why the call failed or was interrupted")
    findings: list[PlanningFinding]
    context_inputs: list[ContextInputView] = Field(
        default_factory=list, description="each input of the prompt: strategy, sizes, note"
    )
    answer_chars: int | None = Field(description="the answer's length; null without one")
    answer_excerpt: str | None = Field(description=f"its first {ANSWER_EXCERPT} characters")
    started_at: datetime
    finished_at: datetime | None
    prompt: str | None = Field(default=None, description="in full (--full); null otherwise")
    capability_text: str | None = Field(default=None, description="in full (--full)")
    answer: str | None = Field(default=None, description="in full (--full)")

    @property
    def reservation_spent(self) -> bool:
        return self.status == "interrupted"


class PlanningStepView(BaseModel):
    model_config = _STRICT

    step: str
    state: str
    goal: str | None
    convergence: str | None
    bounds: dict[str, Any] = Field(description="the template's planning bounds")
    budget: dict[str, Any] = Field(description="the template's planning budget")
    attempts: list[PlanningAttemptView]
    fragment_id: str | None = Field(description="the accepted fragment, once there is one")
    planned_steps: list[str] = Field(description="steps this planner created")
    note: str | None = Field(description="why there is nothing to show yet; null otherwise")


class PlanningLayer(BaseModel):
    """``inspect task --planning``."""

    model_config = _STRICT

    task_uuid: uuid.UUID
    task: str
    full: bool = Field(description="prompts, capability texts and answers are given whole")
    planning_steps: list[PlanningStepView]
    empty: str | None = Field(description="why there is nothing to show; null otherwise")


class FragmentStep(BaseModel):
    model_config = _STRICT

    name: str
    state: str
    step_type: str
    handler: str | None = Field(description="the callable, or the grammar composition's name")
    handler_type: str = Field(description="application or grammar")
    composition_source: str | None
    dependencies: list[str]
    inputs: dict[str, Any] = Field(description="input name -> the reference it reads")
    planning_reasoning: str | None = Field(description="the planner's reason for this step")


class FragmentEdge(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True, serialize_by_alias=True)

    source: str = Field(alias="from")
    target: str = Field(alias="to")
    kind: Literal["entry", "internal", "exit"] = Field(
        description="entry: planning step -> a root; internal; exit: a leaf -> convergence"
    )


class FragmentView(BaseModel):
    model_config = _STRICT

    fragment_id: str
    planning_step: str | None
    planning_phase: int | None
    accepted_attempt: int | None = Field(description="the planning attempt that proposed it")
    goal: str | None = Field(description="the fragment's planning_context.goal")
    reasoning: str | None = Field(description="the fragment's planning_context.reasoning")
    convergence: str | None = Field(description="the step the fragment's leaves lead into")
    steps: list[FragmentStep]
    edges: list[FragmentEdge]
    document: Any = Field(description="the accepted fragment as proposed (--full); else null")


class FragmentLayer(BaseModel):
    """``inspect task --fragment``."""

    model_config = _STRICT

    task_uuid: uuid.UUID
    task: str
    fragments: list[FragmentView]
    empty: str | None


def planning_layer(store: Store, overview: TaskInspection, *, full: bool = False) -> PlanningLayer:
    planners = [step for step in overview.steps if step.step_type == "planning"]
    blocks = _planning_blocks(store, overview.task_uuid)
    rows = store.fetch_all("inspect_planning_attempts", task_uuid=overview.task_uuid)
    views = []
    for step in planners:
        block = blocks.get(step.template_step_name, {})
        attempts = [_attempt(row, full) for row in rows if row["step_name"] == step.name]
        accepted = next((a.fragment_id for a in attempts if a.accepted), None)
        views.append(
            PlanningStepView(
                step=step.name,
                state=step.state,
                goal=block.get("goal"),
                convergence=block.get("convergence"),
                bounds=block.get("bounds") or {},
                budget=block.get("budget") or {},
                attempts=attempts,
                fragment_id=accepted,
                planned_steps=[
                    s.name for s in overview.steps if s.provenance.planning_step == step.name
                ],
                note=None if attempts else f"has not planned yet (it is {step.state})",
            )
        )
    empty = None
    if not views:
        empty = "this task's template has no planning steps"
    elif not any(view.attempts for view in views):
        states = ", ".join(f"'{view.step}' is {view.state}" for view in views)
        empty = f"no planner has been called yet ({states})"
    return PlanningLayer(
        task_uuid=overview.task_uuid,
        task=overview.task,
        full=full,
        planning_steps=views,
        empty=empty,
    )


def fragment_layer(store: Store, overview: TaskInspection, *, full: bool = False) -> FragmentLayer:
    definitions = {
        row["name"]: row for row in store.fetch_all("planned_steps", task_uuid=overview.task_uuid)
    }
    accepted = {
        row["fragment_id"]: row
        for row in store.fetch_all("inspect_planning_attempts", task_uuid=overview.task_uuid)
        if row["accepted"] and row["fragment_id"]
    }
    groups: dict[str, list[InspectedStep]] = {}
    for step in overview.steps:
        if step.provenance.created_by == "planning_step" and step.provenance.fragment_id:
            groups.setdefault(step.provenance.fragment_id, []).append(step)
    fragments = [
        _fragment(fragment_id, steps, overview.edges, definitions, accepted.get(fragment_id), full)
        for fragment_id, steps in groups.items()
    ]
    empty = None
    if not fragments:
        planners = [step for step in overview.steps if step.step_type == "planning"]
        if not planners:
            empty = "this task has no planned steps (its template has no planning steps)"
        else:
            states = ", ".join(f"'{step.name}' is {step.state}" for step in planners)
            empty = f"no fragment has been accepted and materialized yet ({states})"
    return FragmentLayer(
        task_uuid=overview.task_uuid, task=overview.task, fragments=fragments, empty=empty
    )


def _fragment(
    fragment_id: str,
    steps: list[InspectedStep],
    task_edges: list[StepEdge],
    definitions: dict[str, dict[str, Any]],
    attempt: dict[str, Any] | None,
    full: bool,
) -> FragmentView:
    members = {step.name for step in steps}
    planner = steps[0].provenance.planning_step
    edges = []
    for edge in task_edges:
        inside = (edge.source in members, edge.target in members)
        if inside == (True, True):
            edges.append(FragmentEdge(source=edge.source, target=edge.target, kind="internal"))
        elif inside == (False, True) and edge.source == planner:
            edges.append(FragmentEdge(source=edge.source, target=edge.target, kind="entry"))
        elif inside == (True, False):
            edges.append(FragmentEdge(source=edge.source, target=edge.target, kind="exit"))
    exits = {edge.target for edge in edges if edge.kind == "exit"}
    document = attempt["fragment"] if attempt is not None else None
    context = document.get("planning_context") if isinstance(document, dict) else None
    context = context if isinstance(context, dict) else {}
    return FragmentView(
        fragment_id=fragment_id,
        planning_step=planner,
        planning_phase=steps[0].provenance.planning_phase,
        accepted_attempt=None if attempt is None else attempt["attempt"],
        goal=_text(context.get("goal")),
        reasoning=_text(context.get("reasoning")),
        convergence=next(iter(sorted(exits)), None),
        steps=[_fragment_step(step, definitions.get(step.name, {})) for step in steps],
        edges=edges,
        document=document if full else None,
    )


def _fragment_step(step: InspectedStep, row: dict[str, Any]) -> FragmentStep:
    definition = row.get("step_definition")
    definition = definition if isinstance(definition, dict) else {}
    handler = definition.get("handler")
    callable_name = handler.get("callable") if isinstance(handler, dict) else None
    inputs = row.get("inputs")
    return FragmentStep(
        name=step.name,
        state=step.state,
        step_type=str(definition.get("type") or step.step_type),
        handler=_text(callable_name) or step.handler or step.provenance.composition_source,
        handler_type=step.provenance.handler_type,
        composition_source=step.provenance.composition_source,
        dependencies=step.parents,
        inputs=inputs if isinstance(inputs, dict) else {},
        planning_reasoning=step.provenance.planning_reasoning,
    )


def _planning_blocks(store: Store, task_uuid: uuid.UUID) -> dict[str, dict[str, Any]]:
    """The planning block of each planning step: the template's, and a nested planner's own
    (its row's definition: the template does not declare it)."""
    steps = store.fetch_value("task_template_steps", task_uuid=task_uuid)
    planned = [
        row["step_definition"]
        for row in store.fetch_all("task_planned_definitions", task_uuid=task_uuid)
        if row["step_definition"] is not None
    ]
    return {
        str(step.get("name")): step["planning"]
        for step in [*(steps if isinstance(steps, list) else []), *planned]
        if isinstance(step, dict) and isinstance(step.get("planning"), dict)
    }


def _attempt(row: dict[str, Any], full: bool) -> PlanningAttemptView:
    answer = row.get("answer")
    cost = exact(row.get("cost_usd"))
    return PlanningAttemptView(
        planning_attempt_uuid=row["planning_attempt_uuid"],
        attempt=row["attempt"],
        planning_phase=row["planning_phase"],
        purpose="summarize" if row.get("purpose") == "summarize" else "plan",
        status=row.get("status") or "answered",
        planner=row.get("planner"),
        provider=row.get("provider"),
        model=row.get("model"),
        accepted=bool(row.get("accepted")),
        fragment_id=row.get("fragment_id"),
        tokens_in=row.get("tokens_in"),
        tokens_out=row.get("tokens_out"),
        usage_estimated=bool(row.get("usage_estimated")),
        latency_ms=row.get("latency_ms"),
        cost_usd=cost,
        prices_version=row.get("prices_version"),
        prompt_version=row.get("prompt_version"),
        prompt_hash=row.get("prompt_hash"),
        capability_schema_hash=row.get("capability_schema_hash"),
        reserved=reserved_amounts(row.get("reserved")),
        error=row.get("error"),
        findings=[_finding(item) for item in row.get("findings") or [] if isinstance(item, dict)],
        context_inputs=[
            view
            for item in row.get("context_inputs") or []
            if (view := _context_input(item)) is not None
        ],
        answer_chars=None if answer is None else len(answer),
        answer_excerpt=None if answer is None else cut(answer, ANSWER_EXCERPT),
        started_at=row["created_at"],
        finished_at=row.get("finished_at"),
        prompt=row.get("prompt") if full else None,
        capability_text=row.get("capability_text") if full else None,
        answer=answer if full else None,
    )


def _context_input(item: Any) -> ContextInputView | None:
    """A stored context input, or None for one that is not (the column is the engine's, but
    a row written by hand may hold anything)."""
    if not isinstance(item, dict) or item.get("strategy") not in get_args(ContextStrategy):
        return None
    sizes = [item.get("bytes_before"), item.get("bytes_after")]
    return ContextInputView(
        name=str(item.get("name") or "?"),
        strategy=item["strategy"],
        bytes_before=_count(sizes[0]),
        bytes_after=_count(sizes[1]),
        note=_text(item.get("note")),
    )


def _count(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _finding(item: dict[str, Any]) -> PlanningFinding:
    stage = item.get("stage")
    return PlanningFinding(
        code=str(item.get("code") or "?"),
        severity=_text(item.get("severity")),
        stage=stage if isinstance(stage, int) and not isinstance(stage, bool) else None,
        step=_text(item.get("step")),
        path=_text(item.get("path")),
        message=str(item.get("message") or ""),
        hint=_text(item.get("hint")),
    )


def cut(text: str, limit: int) -> str:
    """``text`` up to ``limit`` characters, with a note of what was left out."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}… ({len(text) - limit} more characters; --full shows them)"


def _text(value: Any) -> str | None:
    return None if value is None else str(value)
