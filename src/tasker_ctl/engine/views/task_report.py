"""What a task looks like to people and scripts: its state and every step's outcome.

``task_report`` reads a task from the store into a ``TaskReport``; ``tasker-ctl run --json``
and ``task show`` print it and the live view renders it.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, computed_field

from tasker_ctl.engine.errors import TaskNotFoundError
from tasker_ctl.engine.rules.budget import BudgetLine, budget_lines
from tasker_ctl.engine.rules.states import TERMINAL_TASK_STATES, TaskState
from tasker_ctl.engine.store.connection import Store

RESTING_STATES = TERMINAL_TASK_STATES | {TaskState.BLOCKED_BY_FAILURES}
_MOVING_STEP_STATES = frozenset(
    {"enqueued", "in_progress", "enqueued_for_orchestration", "enqueued_as_error_for_orchestration"}
)
# How reports name a step parked at a gate. The store keeps Tasker Core's waiting_for_retry
# (with the gate in the checkpoint), but nothing is retried: a person must decide.
WAITING_FOR_APPROVAL = "waiting_for_approval"


class ApprovalRequest(BaseModel):
    """What a step waiting at a gate asks of its approver."""

    model_config = ConfigDict(extra="forbid")

    prompt: str
    approvers: list[str]  # who may decide; anyone when empty
    summary: Any = None  # the gate's summary: the facts the approver needs


class StepReport(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    state: str
    attempts: int
    max_attempts: int
    created_by: str
    result: Any = None
    # the last failure: message, error_type, error_code, retryable, metadata
    error: Any = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    # a grammar step waiting at a gate: what the approver is asked (the prompt), and in full
    awaiting_approval: str | None = None
    approval: ApprovalRequest | None = None
    # provenance a report shows beside the state: application or grammar; the planning step
    # that planned it and the fragment it came from (null for steps not planned)
    handler_type: str | None = None
    planning_step: str | None = None
    fragment_id: str | None = None

    @computed_field  # type: ignore[prop-decorator]
    @property
    def duration_ms(self) -> int | None:
        """finished_at - started_at (retries included); null until both are known."""
        if self.started_at is None or self.finished_at is None:
            return None
        return _milliseconds(self.started_at, self.finished_at)


class TaskReport(BaseModel):
    """A task and its steps, as ``tasker-ctl run --json`` prints them."""

    model_config = ConfigDict(extra="forbid")

    task_uuid: uuid.UUID
    status: str
    namespace: str
    name: str
    version: str
    correlation_id: uuid.UUID
    requested_at: datetime | None = None
    completed_at: datetime | None = None
    resumed: bool = False
    steps: list[StepReport]
    # the task's budget lines when it was created with limits (planning steps); empty otherwise
    budget: list[BudgetLine] = Field(default_factory=list)

    @property
    def identity(self) -> str:
        """``namespace/name@version``, as templates are named everywhere."""
        return f"{self.namespace}/{self.name}@{self.version}"

    @property
    def succeeded(self) -> bool:
        return self.status == TaskState.COMPLETE

    @property
    def resting(self) -> bool:
        """Nothing more happens to the task without a person (or it is complete)."""
        return self.status in RESTING_STATES or self.waiting_for_approval

    @property
    def waiting_for_approval(self) -> bool:
        """Some step waits at a gate and no other step can move until someone decides."""
        waiting = [step for step in self.steps if step.awaiting_approval is not None]
        return bool(waiting) and not any(
            step.state in _MOVING_STEP_STATES
            or (step.state == "waiting_for_retry" and step.awaiting_approval is None)
            for step in self.steps
        )

    @property
    def duration_ms(self) -> int | None:
        if self.requested_at is None or self.completed_at is None:
            return None
        return _milliseconds(self.requested_at, self.completed_at)

    @property
    def failed_steps(self) -> list[StepReport]:
        return [step for step in self.steps if step.state == "error"]


def task_rests(store: Store, task_uuid: uuid.UUID) -> bool:
    """``task_report(...).resting`` in one row, without reading every step: what a command
    waiting for the task to rest asks while it moves."""
    row = store.fetch_one("task_rest", task_uuid=task_uuid)
    if row is None:
        raise task_not_found(task_uuid)
    return row["current_state"] in RESTING_STATES or (row["gated"] and not row["moving"])


def task_report(store: Store, task_uuid: uuid.UUID, *, resumed: bool = False) -> TaskReport:
    task = store.fetch_one("fetch_task", task_uuid=task_uuid)
    if task is None:
        raise task_not_found(task_uuid)
    rows = store.fetch_all("fetch_task_steps", task_uuid=task_uuid)
    names = {row["workflow_step_uuid"]: row["name"] for row in rows}
    steps = [
        StepReport(**step_report_fields(row), planning_step=names.get(row["planning_step_uuid"]))
        for row in rows
    ]
    limits = task.get("budget_limits")
    budget = []
    if isinstance(limits, dict) and limits:
        totals = {
            (row["resource"], row["kind"]): row["amount"]
            for row in store.fetch_all("task_budget_totals", task_uuid=task_uuid)
        }
        budget = budget_lines(limits, totals)
    return TaskReport(
        task_uuid=task["task_uuid"],
        status=task["current_state"],
        namespace=task["namespace_name"],
        name=task["task_name"],
        version=task["task_version"],
        correlation_id=task["correlation_id"],
        requested_at=task["requested_at"],
        completed_at=task["completed_at"],
        resumed=resumed,
        steps=steps,
        budget=budget,
    )


def step_report(row: dict[str, Any]) -> StepReport:
    """A step as reports show it, from a row of ``fetch_task_steps`` (or a query with its
    columns): every view of a task times its steps with this one rule."""
    return StepReport(**step_report_fields(row))


def step_report_fields(row: dict[str, Any]) -> dict[str, Any]:
    results = row["results"] or {}
    approval = _approval(row.get("pending_gate"))
    return {
        "name": row["name"],
        "state": WAITING_FOR_APPROVAL if approval is not None else row["current_state"],
        "attempts": row["attempts"],
        "max_attempts": row["max_attempts"],
        "created_by": row["created_by"],
        "result": results.get("result") if results.get("success") else None,
        "error": None if results.get("success", True) else _error(results),
        "started_at": row["first_started_at"],
        "finished_at": row["processed_at"]
        or (_failed_at(results) if row["current_state"] == "error" else None),
        "awaiting_approval": approval.prompt if approval is not None else None,
        "approval": approval,
        "handler_type": row.get("handler_type"),
        "fragment_id": row.get("fragment_id"),
    }


def _approval(pending: Any) -> ApprovalRequest | None:
    """The gate a step waits at, from its checkpoint's ``pending_gate`` (None: no gate)."""
    if not isinstance(pending, dict):
        return None
    approvers = pending.get("approvers")
    return ApprovalRequest(
        prompt=str(pending.get("prompt") or ""),
        approvers=[str(name) for name in approvers] if isinstance(approvers, list) else [],
        summary=pending.get("summary"),
    )


def row_identity(row: dict[str, Any]) -> str:
    """``namespace/name@version`` of a task row with ``namespace_name``, ``task_name`` and
    ``task_version`` (``fetch_task`` and the inspection queries)."""
    return f"{row['namespace_name']}/{row['task_name']}@{row['task_version']}"


def task_not_found(task_uuid: uuid.UUID) -> TaskNotFoundError:
    return TaskNotFoundError(
        f"task {task_uuid} does not exist",
        hint="check the UUID and the database (--database-url / TASKER_DATABASE_URL)",
    )


def _error(results: dict[str, Any]) -> dict[str, Any] | None:
    error, envelope = results.get("error"), results.get("metadata") or {}
    if not isinstance(error, dict):
        return None
    metadata = error.get("metadata") if isinstance(error.get("metadata"), dict) else {}
    # the SDK files a failure's code in either place, depending on how it was raised
    code = metadata.get("error_code") or envelope.get("error_code")  # type: ignore[union-attr]
    keys = ("message", "error_type", "retryable")
    return {**{key: error.get(key) for key in keys}, "error_code": code, "metadata": metadata}


def _failed_at(results: dict[str, Any]) -> datetime | None:
    """When the last attempt failed (the store keeps no settle time for failed steps)."""
    stamp = (results.get("metadata") or {}).get("completed_at")
    try:
        return datetime.fromisoformat(stamp) if isinstance(stamp, str) else None
    except ValueError:
        return None


def _milliseconds(start: datetime, end: datetime) -> int:
    return max(0, int((end - start).total_seconds() * 1000))
