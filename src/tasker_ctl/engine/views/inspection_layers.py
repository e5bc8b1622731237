"""The deeper layers of ``inspect task``: planning, fragments and compositions.

Each reads what exists and says plainly when nothing does: a template without planning
steps, a planning step that has not run, a task without grammar steps. Planner calls are
``planning_attempts`` rows (``record_planning_attempt`` writes one); planned steps carry
their fragment id; grammar steps carry the composition they run.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from tasker_ctl.engine.errors import StepNotFoundError
from tasker_ctl.engine.store.connection import Json, Store
from tasker_ctl.engine.views.inspection import InspectedStep, TaskInspection

_STRICT = ConfigDict(extra="forbid")


class PlanningAttemptRecord(BaseModel):
    """One planner call: what it was asked, what it answered, and what that cost."""

    model_config = _STRICT

    planning_phase: int = 1
    attempt: int = 1
    provider: str | None = None
    model: str | None = None
    prompt: str | None = None
    prompt_hash: str | None = None
    capability_schema: Any = None
    capability_schema_hash: str | None = None
    fragment_id: str | None = None
    fragment: Any = None
    findings: list[dict[str, Any]] = Field(
        default_factory=list, description="validation findings: code, severity, message, ..."
    )
    accepted: bool = False
    error: str | None = None
    tokens_in: int | None = None
    tokens_out: int | None = None
    latency_ms: int | None = None
    cost_usd: float | None = None
    created_at: datetime | None = None


class PlanningStepView(BaseModel):
    model_config = _STRICT

    step: str
    state: str
    goal: str | None
    convergence: str | None
    bounds: dict[str, Any] = Field(description="the template's planning bounds")
    budget: dict[str, Any] = Field(description="the template's planning budget")
    attempts: list[PlanningAttemptRecord]
    planned_steps: list[str] = Field(description="steps this planner created")


class PlanningLayer(BaseModel):
    """``inspect task --planning``."""

    model_config = _STRICT

    task_uuid: uuid.UUID
    task: str
    planning_steps: list[PlanningStepView]
    empty: str | None = Field(description="why there is nothing to show; null otherwise")


class FragmentStep(BaseModel):
    model_config = _STRICT

    name: str
    state: str
    handler: str | None
    handler_type: str
    configuration: Any = Field(description="the step's handler initialization")
    dependencies: list[str]
    planning_reasoning: str | None


class FragmentView(BaseModel):
    model_config = _STRICT

    fragment_id: str
    planning_step: str | None
    planning_phase: int | None
    steps: list[FragmentStep]
    edges: list[tuple[str, str]] = Field(description="dependencies between the fragment's steps")
    document: Any = Field(description="the accepted fragment as the planner returned it")


class FragmentLayer(BaseModel):
    """``inspect task --fragment``."""

    model_config = _STRICT

    task_uuid: uuid.UUID
    task: str
    fragments: list[FragmentView]
    empty: str | None


class Invocation(BaseModel):
    model_config = _STRICT

    index: int
    capability: str
    checkpoint: bool
    config: Any


class CompositionStepView(BaseModel):
    model_config = _STRICT

    step: str
    state: str
    attempts: int
    composition_source: str | None
    spec: Any
    invocations: list[Invocation]
    checkpoint: Any = Field(description="the stored checkpoint (the last invocation reached)")
    result: Any
    error: Any


class CompositionLayer(BaseModel):
    """``inspect task --composition``."""

    model_config = _STRICT

    task_uuid: uuid.UUID
    task: str
    steps: list[CompositionStepView]
    empty: str | None


def record_planning_attempt(
    store: Store, planning_step_uuid: uuid.UUID, record: PlanningAttemptRecord
) -> uuid.UUID:
    """Store one planner call of a planning step; its id."""
    fields = record.model_dump(exclude={"created_at"})
    for key in ("capability_schema", "fragment", "findings"):
        fields[key] = None if fields[key] is None else Json(fields[key])
    row = store.fetch_one("insert_planning_attempt", step_uuid=planning_step_uuid, **fields)
    if row is None:
        raise StepNotFoundError(
            f"step {planning_step_uuid} does not exist",
            hint="record a planner call against the planning step that made it",
        )
    return uuid.UUID(str(row["planning_attempt_uuid"]))


def planning_layer(store: Store, overview: TaskInspection) -> PlanningLayer:
    planners = [step for step in overview.steps if step.step_type == "planning"]
    blocks = _planning_blocks(store, overview.task_uuid)
    rows = store.fetch_all("inspect_planning_attempts", task_uuid=overview.task_uuid)
    views = []
    for step in planners:
        block = blocks.get(step.template_step_name, {})
        views.append(
            PlanningStepView(
                step=step.name,
                state=step.state,
                goal=block.get("goal"),
                convergence=block.get("convergence"),
                bounds=block.get("bounds") or {},
                budget=block.get("budget") or {},
                attempts=[_attempt(row) for row in rows if row["step_name"] == step.name],
                planned_steps=[
                    s.name for s in overview.steps if s.provenance.planning_step == step.name
                ],
            )
        )
    empty = None
    if not views:
        empty = "this task's template has no planning steps"
    elif not any(view.attempts for view in views):
        states = ", ".join(f"'{view.step}' is {view.state}" for view in views)
        empty = f"no planner has been called yet ({states})"
    return PlanningLayer(
        task_uuid=overview.task_uuid, task=overview.task, planning_steps=views, empty=empty
    )


def fragment_layer(store: Store, overview: TaskInspection) -> FragmentLayer:
    planned = [step for step in overview.steps if step.provenance.fragment_id]
    inputs = {
        row["name"]: row["inputs"]
        for row in store.fetch_all("inspect_fragment_steps", task_uuid=overview.task_uuid)
    }
    documents = {
        row["fragment_id"]: row["fragment"]
        for row in store.fetch_all("inspect_planning_attempts", task_uuid=overview.task_uuid)
        if row["accepted"] and row["fragment_id"]
    }
    groups: dict[str, list[InspectedStep]] = {}
    for step in planned:
        groups.setdefault(str(step.provenance.fragment_id), []).append(step)
    fragments = []
    for fragment_id, steps in groups.items():
        members = {step.name for step in steps}
        fragments.append(
            FragmentView(
                fragment_id=fragment_id,
                planning_step=steps[0].provenance.planning_step,
                planning_phase=steps[0].provenance.planning_phase,
                steps=[
                    FragmentStep(
                        name=step.name,
                        state=step.state,
                        handler=step.handler,
                        handler_type=step.provenance.handler_type,
                        configuration=inputs.get(step.name),
                        dependencies=step.parents,
                        planning_reasoning=step.provenance.planning_reasoning,
                    )
                    for step in steps
                ],
                edges=[
                    (parent, step.name)
                    for step in steps
                    for parent in step.parents
                    if parent in members
                ],
                document=documents.get(fragment_id),
            )
        )
    empty = None
    if not fragments:
        has_planners = any(step.step_type == "planning" for step in overview.steps)
        empty = (
            "no fragment has been materialized yet"
            if has_planners
            else "this task has no planned steps (its template has no planning steps)"
        )
    return FragmentLayer(
        task_uuid=overview.task_uuid, task=overview.task, fragments=fragments, empty=empty
    )


def composition_layer(store: Store, overview: TaskInspection) -> CompositionLayer:
    rows = {
        row["name"]: row
        for row in store.fetch_all("inspect_composition_steps", task_uuid=overview.task_uuid)
    }
    views = []
    for step in overview.steps:
        if step.provenance.handler_type != "grammar":
            continue
        row = rows.get(step.name, {})
        spec = step.provenance.composition_spec
        views.append(
            CompositionStepView(
                step=step.name,
                state=step.state,
                attempts=step.attempts,
                composition_source=step.provenance.composition_source,
                spec=spec,
                invocations=_invocations(spec),
                checkpoint=row.get("checkpoint"),
                result=step.result,
                error=step.error,
            )
        )
    return CompositionLayer(
        task_uuid=overview.task_uuid,
        task=overview.task,
        steps=views,
        empty=None if views else "this task has no grammar-composed steps",
    )


def _invocations(spec: Any) -> list[Invocation]:
    raw = spec.get("invocations") if isinstance(spec, dict) else None
    found = []
    for index, item in enumerate(raw if isinstance(raw, list) else []):
        if isinstance(item, dict):
            found.append(
                Invocation(
                    index=index,
                    capability=str(item.get("capability", "?")),
                    checkpoint=bool(item.get("checkpoint", False)),
                    config=item.get("config"),
                )
            )
    return found


def _planning_blocks(store: Store, task_uuid: uuid.UUID) -> dict[str, dict[str, Any]]:
    steps = store.fetch_value("task_template_steps", task_uuid=task_uuid)
    return {
        str(step.get("name")): step["planning"]
        for step in (steps if isinstance(steps, list) else [])
        if isinstance(step, dict) and isinstance(step.get("planning"), dict)
    }


def _attempt(row: dict[str, Any]) -> PlanningAttemptRecord:
    fields = PlanningAttemptRecord.model_fields
    values = {key: row[key] for key in fields if key in row}
    if values.get("cost_usd") is not None:
        values["cost_usd"] = float(values["cost_usd"])
    return PlanningAttemptRecord(**values)
