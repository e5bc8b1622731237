"""Operator commands that repair tasks: cancel a task; retry, resolve or complete a step.

Each command is one transaction. It first holds the task (every unfinished step, then the
task row: see lock_task_for_operator in sql/schema.sql), so its checks and its change see
the same task and no engine call of the task runs half done underneath it; when a worker
holds one of the rows for a moment, the command tries again. Every transition it causes,
of a step or of the task, records who (``Actor.by``), why (``Actor.reason``) and the
action's name.

A task blocked by failures resumes once its failed step is repaired (Tasker Core leaves it
blocked): see ``docs/operations.md``.
"""

from __future__ import annotations

import getpass
import os
import socket
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict

from tasker_ctl.engine.errors import MissingReasonError, TaskNotFoundError
from tasker_ctl.engine.graph.growth import StepOrigin, grow_from_decision
from tasker_ctl.engine.operator.checks import (
    require_unfinished,
    retryable_step,
    settleable_step,
)
from tasker_ctl.engine.operator.manual_results import (
    check_manual_result,
    manual_envelope,
    planning_definition,
)
from tasker_ctl.engine.operator.planned_by_hand import complete_with_fragment
from tasker_ctl.engine.rules.states import TERMINAL_TASK_STATES, StepState, TaskState
from tasker_ctl.engine.store.connection import Json, Store
from tasker_ctl.engine.views.task_report import TaskReport, task_report
from tasker_ctl.errors import TransactionConflictError, UsageError

ACTOR_VARIABLE = "TASKER_ACTOR"
# A worker holds a step row only for the few milliseconds of an engine call, so a command
# that found one held tries again: this many times, pausing a little longer each time, for
# about five seconds in all.
_LOCK_ATTEMPTS = 30
_FIRST_PAUSE_SECONDS = 0.005
_LONGEST_PAUSE_SECONDS = 0.25

T = TypeVar("T")


class Action(StrEnum):
    """The operator actions, as transition metadata names them."""

    CANCEL_TASK = "cancel_task"
    RETRY_STEP = "retry_step"
    RESOLVE_STEP = "resolve_step"
    COMPLETE_STEP = "complete_step"
    APPROVE_STEP = "approve_step"
    REJECT_STEP = "reject_step"

    @property
    def command(self) -> str:
        named = {"cancel_task": "cancel", "approve_step": "approve", "reject_step": "reject"}
        return named.get(self.value, self.value.replace("_", "-"))


def default_actor() -> str:
    """Who acts when ``--by`` is not given: ``$TASKER_ACTOR``, else ``user@host``."""
    configured = os.environ.get(ACTOR_VARIABLE, "").strip()
    if configured:
        return configured
    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # no login name (a container without a passwd entry)
        user = "unknown"
    return f"{user}@{socket.gethostname()}"


@dataclass(frozen=True)
class Actor:
    """Who makes an operator's change, and why; both are recorded with every transition."""

    by: str
    reason: str

    @classmethod
    def of(cls, reason: str | None, by: str | None = None) -> Actor:
        """Checked: a reason is required, and ``by`` defaults to ``default_actor()``."""
        if reason is None or not reason.strip():
            raise MissingReasonError(
                "an operator's change needs a reason",
                hint="say why with --reason TEXT; it is recorded with every transition",
            )
        if by is not None and not by.strip():
            raise UsageError(
                "--by is empty", hint=f"name who acts, or leave --by out (${ACTOR_VARIABLE})"
            )
        return cls(by=(by or default_actor()).strip(), reason=reason.strip())

    def metadata(self, action: Action) -> dict[str, Any]:
        return {"action": action.value, "by": self.by, "reason": self.reason}


class RepairOutcome(BaseModel):
    """What an operator command changed, and the task afterwards."""

    model_config = ConfigDict(extra="forbid")

    action: str
    by: str
    reason: str
    task_uuid: uuid.UUID
    task_state_before: str
    task_state_after: str
    step: str | None = None
    step_state_before: str | None = None
    step_state_after: str | None = None
    cancelled_steps: list[str] = []
    enqueued: int = 0  # steps made ready to claim by the change
    blocking_steps: list[str] = []  # failed steps that still hold the task blocked
    report: TaskReport

    @property
    def resumed(self) -> bool:
        """The change let a task blocked by failures run (or complete) again."""
        blocked = TaskState.BLOCKED_BY_FAILURES
        return self.task_state_before == blocked and self.task_state_after != blocked


def cancel_task(store: Store, task_uuid: uuid.UUID, actor: Actor) -> RepairOutcome:
    """Cancel every unfinished step, then the task. A running attempt's later result is
    refused (its step is no longer in progress)."""

    def cancel(task: dict[str, Any]) -> RepairOutcome:
        require_unfinished(task, Action.CANCEL_TASK.command)
        row = _returned(
            store.fetch_one(
                "cancel_task_by_operator",
                task_uuid=task_uuid,
                metadata=Json(actor.metadata(Action.CANCEL_TASK)),
            )
        )
        return repair_outcome(
            store,
            Action.CANCEL_TASK,
            actor,
            task,
            row["task_state"],
            cancelled_steps=list(row["cancelled_steps"]),
        )

    return holding_task(store, task_uuid, cancel)


def retry_step(store: Store, task_uuid: uuid.UUID, step_name: str, actor: Actor) -> RepairOutcome:
    """Tasker Core's reset_for_retry: a failed step goes back to pending with its attempts
    reset to 0, and is enqueued when its parents are done and the task takes work."""

    def retry(task: dict[str, Any]) -> RepairOutcome:
        step = retryable_step(store, task, step_name, Action.RETRY_STEP.command)
        row = _returned(
            store.fetch_one(
                "retry_failed_step",
                step_uuid=step["workflow_step_uuid"],
                metadata=Json(actor.metadata(Action.RETRY_STEP)),
            )
        )
        return _step_outcome(store, Action.RETRY_STEP, actor, task, step, row)

    return holding_task(store, task_uuid, retry)


def resolve_step(
    store: Store, task_uuid: uuid.UUID, step_name: str, actor: Actor, *, force: bool = False
) -> RepairOutcome:
    """Settle a step as ``resolved_manually``: it satisfies its children as a completion
    does, and keeps whatever result it had stored. A step with an attempt running needs
    ``force`` (that attempt's result is then refused)."""

    def resolve(task: dict[str, Any]) -> RepairOutcome:
        step = settleable_step(store, task, step_name, Action.RESOLVE_STEP.command, force=force)
        row = _returned(
            store.fetch_one(
                "settle_step_by_operator",
                step_uuid=step["workflow_step_uuid"],
                to_state=StepState.RESOLVED_MANUALLY.value,
                results=None,
                metadata=Json(actor.metadata(Action.RESOLVE_STEP)),
                force=force,
            )
        )
        return _step_outcome(store, Action.RESOLVE_STEP, actor, task, step, row)

    return holding_task(store, task_uuid, resolve)


def complete_step(
    store: Store,
    task_uuid: uuid.UUID,
    step_name: str,
    result: Any,
    actor: Actor,
    *,
    force: bool = False,
) -> RepairOutcome:
    """Complete a step with ``result`` (checked against its ``result_schema`` first: a
    violation changes nothing). Its children see the result as any parent's; a decision
    step's result creates the steps it chooses, as its handler's would."""

    def complete(task: dict[str, Any]) -> RepairOutcome:
        step = settleable_step(store, task, step_name, Action.COMPLETE_STEP.command, force=force)
        template = _returned(
            store.fetch_one("fetch_template", named_task_uuid=task["named_task_uuid"])
        )
        planning = planning_definition(template["configuration"], step)
        if planning is not None:  # the result is a fragment: checked, recorded and written
            supplied = complete_with_fragment(
                store, task, step, planning[0], planning[1], result, actor.by
            )
            stored = supplied.result
        else:
            checked = check_manual_result(
                template["configuration"],
                step["template_step_name"],
                step_name,
                result,
                step.get("step_definition"),
            )
            if checked.segments is not None and checked.chosen:
                origin = StepOrigin.of_row(step)
                grow_from_decision(store, checked.segments, origin, checked.chosen)
            stored = checked.result
        envelope = manual_envelope(
            step["workflow_step_uuid"],
            step["attempts"],
            stored,
            by=actor.by,
            reason=actor.reason,
        )
        row = _returned(
            store.fetch_one(
                "settle_step_by_operator",
                step_uuid=step["workflow_step_uuid"],
                to_state=StepState.COMPLETE.value,
                results=Json(envelope),
                metadata=Json(actor.metadata(Action.COMPLETE_STEP)),
                force=force,
            )
        )
        return _step_outcome(store, Action.COMPLETE_STEP, actor, task, step, row)

    return holding_task(store, task_uuid, complete)


# -- holding the task --------------------------------------------------------------------


def _report_if_final(store: Store, task_uuid: uuid.UUID, state_before: str) -> None:
    """A change that finished the task is the task span's end: no worker reports it. Only
    once it is committed: a change made inside an outer transaction (a preview's rehearsal,
    rolled back) may never happen."""
    if state_before not in TERMINAL_TASK_STATES and not store.in_transaction:
        from tasker_ctl.engine.views.finished_tasks import report_final_task

        report_final_task(store, task_uuid)


def holding_task(store: Store, task_uuid: uuid.UUID, change: Callable[[dict[str, Any]], T]) -> T:
    """Run ``change(task)`` in one transaction that holds the task (the row of
    ``fetch_task``, its state read under the lock); again when a worker held one of its
    rows."""
    for attempt in range(1, _LOCK_ATTEMPTS + 1):
        try:
            with store.transaction():
                task = store.fetch_one("fetch_task", task_uuid=task_uuid)
                if task is None:
                    raise TaskNotFoundError(
                        f"task {task_uuid} does not exist",
                        hint="'tasker-ctl task list' shows the tasks of this database "
                        "(--database-url / TASKER_DATABASE_URL)",
                    )
                task["current_state"] = store.fetch_value(
                    "lock_task_for_operator", task_uuid=task_uuid
                )
                changed = change(task)
            _report_if_final(store, task_uuid, task["current_state"])
            return changed
        except TransactionConflictError as error:
            if attempt == _LOCK_ATTEMPTS:
                raise TransactionConflictError(
                    f"task {task_uuid} stayed busy: {error.message}",
                    hint="workers are changing it right now; run the command again",
                    sqlstate=error.sqlstate,
                ) from error
            time.sleep(min(_FIRST_PAUSE_SECONDS * 1.5**attempt, _LONGEST_PAUSE_SECONDS))
    raise AssertionError("unreachable")


# -- outcomes ------------------------------------------------------------------------------


def _returned(row: dict[str, Any] | None) -> dict[str, Any]:
    """The row of a query that always returns one (or raises)."""
    if row is None:
        raise AssertionError("a query that always returns a row returned none")
    return row


def _step_outcome(
    store: Store,
    action: Action,
    actor: Actor,
    task: dict[str, Any],
    step: dict[str, Any],
    row: dict[str, Any],
) -> RepairOutcome:
    return repair_outcome(
        store,
        action,
        actor,
        task,
        row["task_state"],
        step=step["name"],
        step_state_before=step["current_state"],
        step_state_after=row["step_state"],
        enqueued=row["enqueued"] or 0,
    )


def repair_outcome(
    store: Store,
    action: Action,
    actor: Actor,
    task: dict[str, Any],
    task_state_after: str,
    **changes: Any,
) -> RepairOutcome:
    task_uuid = task["task_uuid"]
    blocking: list[str] = []
    if task_state_after == TaskState.BLOCKED_BY_FAILURES:
        rows = store.fetch_all("fetch_blocking_steps", task_uuid=task_uuid)
        blocking = [row["name"] for row in rows]
    return RepairOutcome(
        action=action.value,
        by=actor.by,
        reason=actor.reason,
        task_uuid=task_uuid,
        task_state_before=task["current_state"],
        task_state_after=task_state_after,
        blocking_steps=blocking,
        report=task_report(store, task_uuid),
        **changes,
    )
