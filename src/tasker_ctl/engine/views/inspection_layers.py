"""The composition layer of ``inspect task``, and a planner call written whole.

Grammar steps carry the composition they run; the layer says plainly when a task has none.
The planning and fragment layers are in ``views.planning_layers``. Planner calls are
``planning_attempts`` rows: the worker writes each before its call and completes it after;
``record_planning_attempt`` writes one whole (tests, tools that replay a call).
"""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from tasker_ctl.engine.errors import StepNotFoundError
from tasker_ctl.engine.store.connection import Json, Store
from tasker_ctl.engine.views.inspection import TaskInspection

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
    cost_usd: Decimal | None = None
    status: Literal["calling", "answered", "failed", "interrupted"] = "answered"
    planner: str | None = None
    prompt_version: str | None = None
    capability_text: str | None = None
    answer: str | None = None
    reserved: dict[str, Decimal] = Field(
        default_factory=dict, description="what the attempt reserved before its call"
    )
    usage_estimated: bool = False
    prices_version: str | None = None


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
    fields = record.model_dump()
    for key in ("capability_schema", "fragment", "findings"):
        fields[key] = None if fields[key] is None else Json(fields[key])
    fields["reserved"] = Json({key: str(value) for key, value in record.reserved.items()})
    row = store.fetch_one("record_planning_attempt", step_uuid=planning_step_uuid, **fields)
    if row is None:
        raise StepNotFoundError(
            f"step {planning_step_uuid} does not exist",
            hint="record a planner call against the planning step that made it",
        )
    return uuid.UUID(str(row["planning_attempt_uuid"]))


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
