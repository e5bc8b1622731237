"""A task as an operator inspects it: the overview (every step with its state, timing,
attempts and provenance, and the edges between them) and one step in full (what it was given,
what it returned, every attempt and transition with who and why).

Steps created at run time are read exactly like the others; only their provenance tells them
apart. Timing follows ``views.task_report.step_report``, the rule ``tasker-ctl run`` shows, so
both views of a task agree. ``tasker-ctl inspect task`` renders these models
(``report.inspect_view``) or prints them as JSON (``report.inspect_json``).
"""

from __future__ import annotations

import uuid
from collections import Counter
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from tasker_ctl.engine.errors import StepNotFoundError
from tasker_ctl.engine.store.connection import Store
from tasker_ctl.engine.views.task_report import (
    StepReport,
    row_identity,
    step_report_fields,
    task_not_found,
)

_STRICT = ConfigDict(extra="forbid")


class Provenance(BaseModel):
    """Where a step came from (the step record's provenance fields)."""

    model_config = _STRICT

    created_by: str = Field(description="template, decision_point, batch_spawn or planning_step")
    origin_step: str | None = Field(
        default=None, description="the step whose outcome created this one (run-time steps)"
    )
    planning_step_uuid: uuid.UUID | None = None
    planning_step: str | None = Field(default=None, description="the planner's step name")
    fragment_id: str | None = None
    planning_phase: int | None = None
    planning_reasoning: str | None = None
    handler_type: str = Field(description="application or grammar")
    composition_source: str | None = Field(
        default=None, description="a named pattern, or 'dynamic'; grammar steps only"
    )
    composition_spec: Any = None

    @property
    def at_run_time(self) -> bool:
        return self.created_by != "template"


class InspectedStep(StepReport):
    """A step of the overview: the report ``run`` shows, plus identity and provenance."""

    uuid: uuid.UUID
    template_step_name: str
    step_type: str
    handler: str | None = Field(description="the handler callable, from the template")
    parents: list[str] = Field(description="the steps it depends on, by name")
    provenance: Provenance


class StepEdge(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True, serialize_by_alias=True)

    source: str = Field(alias="from")
    target: str = Field(alias="to")
    name: str = Field(description="provides, batch_dependency, worker_to_convergence, ...")


class Transition(BaseModel):
    """One transition, with who made it and why (from its metadata)."""

    model_config = _STRICT

    from_state: str | None
    to_state: str
    event: str
    attempt: int | None = None
    at: datetime
    by: str | None = Field(description="the operator (--by), or the worker that wrote it")
    reason: str | None = Field(description="the operator's --reason, or what the engine noted")
    metadata: dict[str, Any]


class TaskSummary(BaseModel):
    """The counts behind the overview's summary line."""

    model_config = _STRICT

    steps: int
    by_state: dict[str, int]
    by_origin: dict[str, int] = Field(description="steps by created_by")
    by_handler_type: dict[str, int] = Field(description="application and grammar steps")
    created_at_run_time: int
    planning_phases: int = Field(description="distinct (planning step, phase) pairs that ran")
    attempts: int = Field(description="attempts of every step together")

    def line(self) -> str:
        """``14 steps (12 application, 2 grammar); 10 created at run time (...); ...``."""
        kinds = ", ".join(f"{count} {kind}" for kind, count in self.by_handler_type.items())
        text = f"{self.steps} step{_s(self.steps)}" + (f" ({kinds})" if kinds else "")
        dynamic = {k: v for k, v in self.by_origin.items() if k != "template"}
        if dynamic:
            origins = ", ".join(f"{count} {origin}" for origin, count in dynamic.items())
            text += f"; {self.created_at_run_time} created at run time ({origins})"
        text += f"; {self.planning_phases} planning phase{_s(self.planning_phases)}"
        return text + f"; {self.attempts} attempt{_s(self.attempts)}"


class TaskInspection(BaseModel):
    """Layer 1 of ``inspect task``: the task and every step of it."""

    model_config = _STRICT

    task_uuid: uuid.UUID
    task: str = Field(description="'namespace/name@version'")
    namespace: str
    name: str
    version: str
    status: str
    correlation_id: uuid.UUID
    parent_correlation_id: uuid.UUID | None
    trace_id: str | None
    requested_at: datetime
    completed_at: datetime | None
    duration_ms: int | None = Field(description="request to completion; null until complete")
    initiator: str | None
    source_system: str | None
    reason: str | None
    tags: list[Any]
    environment: str | None
    context: Any
    summary: TaskSummary
    steps: list[InspectedStep] = Field(description="in creation order")
    edges: list[StepEdge]
    transitions: list[Transition] = Field(description="the task's own, oldest first")

    def step(self, name: str) -> InspectedStep | None:
        return next((step for step in self.steps if step.name == name), None)


class Attempt(BaseModel):
    """One attempt of a step, from its claim to its outcome."""

    model_config = _STRICT

    number: int
    started_at: datetime
    ended_at: datetime | None = Field(description="null while the attempt runs")
    duration_ms: int | None
    outcome: str = Field(description="the state the attempt left the step in, or 'running'")
    worker: str | None


class StepDetail(BaseModel):
    """``inspect task --step NAME``: one step in full."""

    model_config = _STRICT

    task_uuid: uuid.UUID
    task: str
    step: InspectedStep
    inputs: Any = Field(description="the handler's initialization, as the step was created")
    dependency_results: dict[str, Any] = Field(
        description="the stored results of its finished parents, as its handler receives them"
    )
    results: Any = Field(description="the whole stored result envelope of the last attempt")
    checkpoint: Any = None
    retryable: bool
    timeout_seconds: int | None
    idempotency_key: str
    claimable_at: datetime | None
    lease_owner: str | None
    lease_expires_at: datetime | None
    attempt_history: list[Attempt]
    transitions: list[Transition]


def inspect_task(store: Store, task_uuid: uuid.UUID) -> TaskInspection:
    """Read a task, its steps, edges and transitions (``TaskNotFoundError`` if unknown)."""
    task = store.fetch_one("inspect_task", task_uuid=task_uuid)
    if task is None:
        raise task_not_found(task_uuid)
    rows = store.fetch_all("inspect_task_steps", task_uuid=task_uuid)
    names = {row["workflow_step_uuid"]: row["name"] for row in rows}
    edges = [
        StepEdge(
            source=names[edge["from_step_uuid"]],
            target=names[edge["to_step_uuid"]],
            name=edge["name"],
        )
        for edge in store.fetch_all("inspect_task_edges", task_uuid=task_uuid)
        if edge["from_step_uuid"] in names and edge["to_step_uuid"] in names
    ]
    order = {row["name"]: index for index, row in enumerate(rows)}
    edges.sort(key=lambda edge: (order[edge.source], order[edge.target]))
    parents: dict[str, list[str]] = {}
    for edge in edges:
        parents.setdefault(edge.target, []).append(edge.source)
    handlers = handler_callables(task["template_steps"])
    steps = [
        InspectedStep(
            **step_report_fields(row),
            planning_step=names.get(row["planning_step_uuid"]),
            uuid=row["workflow_step_uuid"],
            template_step_name=row["template_step_name"],
            step_type=row["step_type"],
            handler=handlers.get(row["template_step_name"]),
            parents=parents.get(row["name"], []),
            provenance=provenance(row, names),
        )
        for row in rows
    ]
    planning_phases = {
        (row["planning_step_uuid"], row["planning_phase"])
        for row in rows
        if row["planning_step_uuid"] is not None
    }
    requested, completed = task["requested_at"], task["completed_at"]
    return TaskInspection(
        task_uuid=task["task_uuid"],
        task=row_identity(task),
        namespace=task["namespace_name"],
        name=task["task_name"],
        version=task["task_version"],
        status=task["current_state"],
        correlation_id=task["correlation_id"],
        parent_correlation_id=task["parent_correlation_id"],
        trace_id=task["trace_id"],
        requested_at=requested,
        completed_at=completed,
        duration_ms=None if completed is None else _milliseconds(requested, completed),
        initiator=task["initiator"],
        source_system=task["source_system"],
        reason=task["reason"],
        tags=task["tags"] if isinstance(task["tags"], list) else [],
        environment=task["environment"],
        context=task["context"],
        summary=TaskSummary(
            steps=len(steps),
            by_state=dict(Counter(step.state for step in steps)),
            by_origin=dict(Counter(step.provenance.created_by for step in steps)),
            by_handler_type=dict(Counter(step.provenance.handler_type for step in steps)),
            created_at_run_time=sum(step.provenance.at_run_time for step in steps),
            planning_phases=len(planning_phases),
            attempts=sum(step.attempts for step in steps),
        ),
        steps=steps,
        edges=edges,
        transitions=[
            transition(row)
            for row in store.fetch_all("inspect_task_transitions", task_uuid=task_uuid)
        ],
    )


def inspect_step(store: Store, task_uuid: uuid.UUID, name: str) -> StepDetail:
    """One step of a task in full (``StepNotFoundError`` naming the task's steps if unknown)."""
    overview = inspect_task(store, task_uuid)
    step = overview.step(name)
    row = store.fetch_one("inspect_step", task_uuid=task_uuid, name=name)
    if step is None or row is None:
        known = sorted(s.name for s in overview.steps)
        close = [s for s in known if name.lower() in s.lower()][:5] or known[:8]
        raise StepNotFoundError(
            f"task {task_uuid} has no step '{name}'",
            hint=f"its steps include: {', '.join(close)}" if close else "the task has no steps",
        )
    transitions = [
        transition(t)
        for t in store.fetch_all("inspect_step_transitions", step_uuid=row["workflow_step_uuid"])
    ]
    return StepDetail(
        task_uuid=task_uuid,
        task=overview.task,
        step=step,
        inputs=row["inputs"],
        dependency_results=row["parent_results"] or {},
        results=row["results"],
        checkpoint=row["checkpoint"],
        retryable=row["retryable"],
        timeout_seconds=row["timeout_seconds"],
        idempotency_key=row["idempotency_key"],
        claimable_at=row["claimable_at"],
        lease_owner=row["lease_owner"],
        lease_expires_at=row["lease_expires_at"],
        attempt_history=attempts(transitions),
        transitions=transitions,
    )


def attempts(transitions: list[Transition]) -> list[Attempt]:
    """A step's attempts from its transitions: each claim (to ``in_progress``) starts one,
    which ends when the step leaves ``in_progress``; its outcome is the state that attempt
    settled the step in (past the orchestration states a result passes through)."""
    found: list[Attempt] = []
    current: dict[str, Any] | None = None
    for item in transitions:
        if item.to_state == "in_progress":
            if current is not None:
                found.append(_attempt(current))
            number = item.attempt or len(found) + 1
            current = {
                "number": number,
                "started_at": item.at,
                "ended_at": None,
                "outcome": "running",
                "worker": item.by,
            }
        elif current is not None and current["outcome"] in _UNSETTLED:
            current["ended_at"] = current["ended_at"] or item.at
            current["outcome"] = item.to_state
    if current is not None:
        found.append(_attempt(current))
    return found


_UNSETTLED = frozenset(
    {"running", "enqueued_for_orchestration", "enqueued_as_error_for_orchestration"}
)


def _attempt(values: dict[str, Any]) -> Attempt:
    ended = values["ended_at"]
    duration = None if ended is None else _milliseconds(values["started_at"], ended)
    return Attempt(**values, duration_ms=duration)


def provenance(row: dict[str, Any], names: dict[Any, str]) -> Provenance:
    return Provenance(
        created_by=row["created_by"],
        origin_step=names.get(row["origin_step_uuid"]),
        planning_step_uuid=row["planning_step_uuid"],
        planning_step=names.get(row["planning_step_uuid"]),
        fragment_id=row["fragment_id"],
        planning_phase=row["planning_phase"],
        planning_reasoning=row["planning_reasoning"],
        handler_type=row["handler_type"],
        composition_source=row["composition_source"],
        composition_spec=row["composition_spec"],
    )


def transition(row: dict[str, Any]) -> Transition:
    metadata = row["metadata"] if isinstance(row["metadata"], dict) else {}
    by = (
        metadata.get("by")
        or metadata.get("worker")
        or metadata.get("worker_id")
        or metadata.get("sweeper")
    )
    reason = metadata.get("reason")
    if reason is None and metadata.get("thresholds"):
        reason = f"stale: {', '.join(map(str, metadata['thresholds']))} exceeded"
    return Transition(
        from_state=row["from_state"],
        to_state=row["to_state"],
        event=row["event"],
        attempt=row.get("attempt"),
        at=row["created_at"],
        by=str(by) if by is not None else None,
        reason=str(reason) if reason is not None else None,
        metadata=metadata,
    )


def handler_callables(template_steps: Any) -> dict[str, str]:
    """Template step name -> handler callable, from a stored template configuration."""
    found: dict[str, str] = {}
    for step in template_steps if isinstance(template_steps, list) else []:
        handler = step.get("handler") if isinstance(step, dict) else None
        if isinstance(handler, dict) and isinstance(handler.get("callable"), str):
            found[str(step.get("name"))] = handler["callable"]
    return found


def _milliseconds(start: datetime, end: datetime) -> int:
    return max(0, int((end - start).total_seconds() * 1000))


def _s(count: int) -> str:
    return "" if count == 1 else "s"
