"""Approving or rejecting a grammar step that waits at a gate (``tasker-ctl task approve``).

The decision is written into the step's checkpoint and the step is enqueued again; when a
worker runs it, the composition resumes at the gate, which lets an approved step go on and
fails a rejected one (permanently: retrying would ask the same question again).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from tasker_ctl.engine.errors import (
    ApproverNotAllowedError,
    NotAwaitingApprovalError,
    StepNotFoundError,
)
from tasker_ctl.engine.operator.repairs import (
    Action,
    Actor,
    RepairOutcome,
    holding_task,
    repair_outcome,
)
from tasker_ctl.engine.store.clock import database_now
from tasker_ctl.engine.store.connection import Json, Store


@dataclass(frozen=True)
class PendingGate:
    """A step waiting at a gate, with what the approver is asked."""

    step: str
    index: int
    prompt: str
    approvers: list[str]


def pending_gates(store: Store, task_uuid: uuid.UUID) -> list[PendingGate]:
    """Every step of the task that waits for a decision."""
    return [
        _pending(row["name"], row["pending_gate"])
        for row in store.fetch_all("list_pending_gates", task_uuid=task_uuid)
    ]


def decide_gate(
    store: Store, task_uuid: uuid.UUID, step_name: str, *, approve: bool, actor: Actor
) -> RepairOutcome:
    """Record the decision for the gate ``step_name`` waits at and wake the step."""
    action = Action.APPROVE_STEP if approve else Action.REJECT_STEP

    def decide(task: dict[str, Any]) -> RepairOutcome:
        step = store.fetch_one("fetch_gate_step", task_uuid=task_uuid, step_name=step_name)
        if step is None:
            raise StepNotFoundError(
                f"task {task_uuid} has no step '{step_name}'",
                hint=f"'tasker-ctl inspect task {task_uuid}' lists its steps",
            )
        if step["pending_gate"] is None:
            waiting = ", ".join(gate.step for gate in pending_gates(store, task_uuid))
            raise NotAwaitingApprovalError(
                f"step '{step_name}' is {step['current_state']}, not waiting for approval",
                hint=f"steps waiting for approval: {waiting}"
                if waiting
                else "no step of this task waits for approval",
            )
        gate = _pending(step_name, step["pending_gate"])
        if gate.approvers and actor.by not in gate.approvers:
            raise ApproverNotAllowedError(
                f"'{actor.by}' may not decide the gate of step '{step_name}'",
                hint=f"approvers: {', '.join(gate.approvers)} (pass --by NAME)",
            )
        decision = {
            "decision": "approved" if approve else "rejected",
            "by": actor.by,
            "reason": actor.reason,
            "at": database_now(store).isoformat(),
        }
        row = store.fetch_one(
            "decide_gate",
            step_uuid=step["workflow_step_uuid"],
            decision=Json(decision),
            metadata=Json(actor.metadata(action)),
        )
        assert row is not None
        return repair_outcome(
            store,
            action,
            actor,
            task,
            row["task_state"],
            step=step_name,
            step_state_before=step["current_state"],
            step_state_after=row["step_state"],
            enqueued=1,
        )

    return holding_task(store, task_uuid, decide)


def _pending(step: str, raw: Any) -> PendingGate:
    data = raw if isinstance(raw, dict) else {}
    approvers = data.get("approvers")
    return PendingGate(
        step=step,
        index=int(data.get("index") or 0),
        prompt=str(data.get("prompt") or ""),
        approvers=[str(name) for name in approvers] if isinstance(approvers, list) else [],
    )
