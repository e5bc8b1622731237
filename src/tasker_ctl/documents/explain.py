"""``task explain``: a task in one answer: what ran, what was planned and why, what failed,
what waits, and what would move it on (``task diagnose``, in ``documents.diagnose``, answers
the same for one step, with the helpers below).

It composes the read models (``engine.views``: the inspection, the planning and fragment
layers, the budget) and stays compact: results are summarized, never dumped. Each next move is
given as the command line a person runs and as the MCP tool call an agent makes
(``documents.next_moves``).
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field

from tasker_ctl.documents.next_moves import NextMove, next_moves
from tasker_ctl.documents.writes import existing_store
from tasker_ctl.report.json_output import StrictOutput, ToolOutput, this_tool

if TYPE_CHECKING:
    from tasker_ctl.engine.store import Store
    from tasker_ctl.engine.views import InspectedStep, TaskInspection

__all__ = [
    "StepFailure",
    "TaskExplanation",
    "explain_task",
    "pending_dlq_entry",
    "short_json",
    "step_failure",
]

_RESULT_SHOWN = 160  # characters of a step's result shown in an explanation
_ERROR_SHOWN = 600  # characters of an error message
_UNSETTLED_STEP = frozenset({"pending", "enqueued", "waiting_for_retry", "in_progress"})


class StepFailure(StrictOutput):
    step: str
    state: str
    error_type: str
    error_code: str | None
    message: str
    retryable: bool
    attempts: int


class RanStep(StrictOutput):
    name: str
    state: str
    attempts: int
    max_attempts: int
    created_by: str = Field(description="template, decision_point, batch_spawn, planning_step")
    started_at: datetime | None
    duration_ms: int | None
    result: str | None = Field(description="the result as compact JSON, cut short")


class PlanningDecision(StrictOutput):
    planning_step: str
    state: str
    goal: str | None
    planner_calls: int
    fragment_id: str | None
    rationale: str | None = Field(description="the accepted fragment's reasoning")
    planned_steps: list[str]
    budget_used: str | None = Field(description="what its calls spent, against its bounds")


class WaitingGate(StrictOutput):
    step: str
    prompt: str
    approvers: list[str]
    summary: Any
    approve_command: str
    reject_command: str = Field(description="a reason is needed")


class ExplainedTask(StrictOutput):
    uuid: uuid.UUID
    template: str = Field(description="namespace/name@version")
    status: str
    requested_at: datetime
    completed_at: datetime | None
    duration_ms: int | None
    initiator: str | None
    reason: str | None
    summary: str = Field(description="steps by kind and origin, planning phases, attempts")


class TaskExplanation(StrictOutput):
    """The whole document of ``tasker-ctl task explain --json``."""

    version: Literal[1] = Field(description="format version; bumped on breaking changes")
    tool: ToolOutput
    task: ExplainedTask
    ran: list[RanStep] = Field(description="every step, in the order they started")
    planned: list[PlanningDecision] = Field(description="each planning step's decision")
    budget: str | None = Field(description="the task's budget sentence; null without one")
    failed: list[StepFailure]
    waiting: list[WaitingGate]
    next: list[NextMove] = Field(description="what would move the task on")

    def text_lines(self) -> list[str]:
        """The explanation for people, one line each."""
        task = self.task
        lines = [f"task {task.uuid} ({task.template}): {task.status}", f"  {task.summary}"]
        if task.initiator or task.reason:
            lines.append(f"  submitted by {task.initiator or 'unknown'}: {task.reason or '-'}")
        lines.append("ran:")
        lines += [
            f"  {step.name}: {step.state}, {step.attempts}/{step.max_attempts} attempt(s)"
            + ("" if step.duration_ms is None else f", {step.duration_ms} ms")
            + ("" if step.created_by == "template" else f" ({step.created_by})")
            for step in self.ran
        ]
        for decision in self.planned:
            lines.append(
                f"planned by '{decision.planning_step}' ({decision.state}, "
                f"{decision.planner_calls} call(s)): {decision.goal or 'no goal recorded'}"
            )
            if decision.rationale:
                lines.append(f"  why: {decision.rationale}")
            if decision.planned_steps:
                lines.append(f"  steps: {', '.join(decision.planned_steps)}")
            if decision.budget_used:
                lines.append(f"  spent: {decision.budget_used}")
        if self.budget:
            lines.append(f"budget: {self.budget}")
        lines += [
            f"failed: {item.step} ({item.state}): {item.error_code or item.error_type}: "
            f"{item.message}"
            for item in self.failed
        ]
        lines += [f"waits: {gate.step}: {gate.prompt}" for gate in self.waiting]
        lines.append("next:" if self.next else "next: nothing; the task rests")
        lines += [f"  {move.command}  # {move.why}" for move in self.next]
        return lines


def explain_task(task: str, *, database_url: str | None = None) -> TaskExplanation:
    """``task explain``: the task named by ``task`` (UUID, prefix or 'latest')."""
    from tasker_ctl.engine.views import (
        fragment_layer,
        inspect_task,
        planning_layer,
        resolve_task,
        task_budget,
    )
    from tasker_ctl.report.budget_view import budget_sentence
    from tasker_ctl.report.run_json import decide_commands

    with existing_store(database_url) as store:
        overview = inspect_task(store, resolve_task(store, task))
        planning = planning_layer(store, overview)
        fragments = {view.fragment_id: view for view in fragment_layer(store, overview).fragments}
        budget = task_budget(store, overview.task_uuid)
        entry = pending_dlq_entry(store, overview)
    spent = {item.step: budget_sentence(item.lines) for item in budget.planning_steps}
    failed = [failure for step in overview.steps if (failure := step_failure(step)) is not None]
    return TaskExplanation(
        version=1,
        tool=this_tool(),
        task=ExplainedTask(
            uuid=overview.task_uuid,
            template=overview.task,
            status=overview.status,
            requested_at=overview.requested_at,
            completed_at=overview.completed_at,
            duration_ms=overview.duration_ms,
            initiator=overview.initiator,
            reason=overview.reason,
            summary=overview.summary.line(),
        ),
        ran=[
            RanStep(
                name=step.name,
                state=step.state,
                attempts=step.attempts,
                max_attempts=step.max_attempts,
                created_by=step.created_by,
                started_at=step.started_at,
                duration_ms=step.duration_ms,
                result=short_json(step.result),
            )
            for step in _in_order_run(overview.steps)
        ],
        planned=[
            PlanningDecision(
                planning_step=view.step,
                state=view.state,
                goal=view.goal,
                planner_calls=len(view.attempts),
                fragment_id=view.fragment_id,
                rationale=fragments[view.fragment_id].reasoning
                if view.fragment_id in fragments
                else None,
                planned_steps=view.planned_steps,
                budget_used=spent.get(view.step),
            )
            for view in planning.planning_steps
        ],
        budget=budget_sentence(budget.lines) if budget.limited else None,
        failed=failed,
        waiting=[
            WaitingGate(
                step=step.name,
                prompt=step.approval.prompt,
                approvers=step.approval.approvers,
                summary=step.approval.summary,
                approve_command=commands[0],
                reject_command=commands[1],
            )
            for step in overview.steps
            if step.approval is not None and (commands := decide_commands(overview.task_uuid, step))
        ],
        next=next_moves(overview, entry),
    )


# -- shared --------------------------------------------------------------------------------


def step_failure(step: InspectedStep) -> StepFailure | None:
    error = step.error
    if not isinstance(error, dict) or step.state not in {"error", *_UNSETTLED_STEP}:
        return None
    message = str(error.get("message") or "unknown error")
    return StepFailure(
        step=step.name,
        state=step.state,
        error_type=str(error.get("error_type") or "unknown"),
        error_code=None if error.get("error_code") is None else str(error["error_code"]),
        message=message if len(message) <= _ERROR_SHOWN else message[:_ERROR_SHOWN] + "…",
        retryable=bool(error.get("retryable")),
        attempts=step.attempts,
    )


def _in_order_run(steps: list[InspectedStep]) -> list[InspectedStep]:
    """The steps in the order they started; those that have not, after, as created."""
    started = sorted(
        ((step.started_at, index) for index, step in enumerate(steps) if step.started_at),
    )
    return [steps[index] for _, index in started] + [s for s in steps if s.started_at is None]


def short_json(value: Any) -> str | None:
    if value is None:
        return None
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)
    if len(text) <= _RESULT_SHOWN:
        return text
    return f"{text[:_RESULT_SHOWN]}… ({len(text)} characters)"


def pending_dlq_entry(store: Store, overview: TaskInspection) -> str | None:
    """The task's DLQ entry awaiting resolution, if it is in one (only a task in error is)."""
    if overview.status != "error":
        return None
    from tasker_ctl.engine.operator import list_dlq_entries

    entries = list_dlq_entries(store, status="pending", limit=1000)
    return next((str(e.dlq_entry_uuid) for e in entries if e.task_uuid == overview.task_uuid), None)
