"""Whole questions about a task in one document: ``task explain`` (what ran, what was planned
and why, what failed, what waits, what would move it on) and ``task diagnose`` (one step's
failure, attempts, provenance up to the planning decision, inputs, and the repairs that apply).

Both compose the read models (``engine.views``: the inspection, the planning and fragment
layers, the budget) and stay compact: results are summarized, never dumped. Each next move is
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
from tasker_ctl.report.json_output import StrictOutput, ToolOutput, this_tool

if TYPE_CHECKING:
    from tasker_ctl.engine.store import Store
    from tasker_ctl.engine.views import InspectedStep, TaskInspection

__all__ = ["StepDiagnosis", "TaskExplanation", "diagnose_step", "explain_task"]

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


class StepProvenance(StrictOutput):
    created_by: str
    origin_step: str | None = Field(description="the step whose outcome created it")
    planning_step: str | None
    planning_phase: int | None
    planning_attempt: int | None = Field(description="the planner call that proposed it")
    fragment_id: str | None
    fragment_goal: str | None
    planning_reasoning: str | None = Field(description="the planner's reason for this step")
    composition_source: str | None


class InputSource(StrictOutput):
    step: str = Field(description="a step this one depends on")
    state: str
    result: str | None = Field(description="its result as compact JSON, cut short")


class DiagnosedStep(StrictOutput):
    name: str
    state: str
    step_type: str
    handler: str | None
    attempts: int
    max_attempts: int
    retryable: bool
    started_at: datetime | None
    finished_at: datetime | None
    awaiting_approval: str | None


class AttemptLine(StrictOutput):
    number: int
    started_at: datetime
    duration_ms: int | None
    outcome: str
    worker: str | None


class StepDiagnosis(StrictOutput):
    """The whole document of ``tasker-ctl task diagnose --json``."""

    version: Literal[1] = Field(description="format version; bumped on breaking changes")
    tool: ToolOutput
    task: uuid.UUID
    template: str
    task_status: str
    step: DiagnosedStep
    failure: StepFailure | None = Field(description="its last failure; null if none")
    attempts: list[AttemptLine]
    provenance: StepProvenance
    inputs: list[InputSource]
    repairs: list[NextMove] = Field(description="the repairs its state admits")

    def text_lines(self) -> list[str]:
        """The diagnosis for people, one line each."""
        step, origin = self.step, self.provenance
        lines = [
            f"step '{step.name}' of task {self.task} ({self.template}, {self.task_status}): "
            f"{step.state}, {step.attempts}/{step.max_attempts} attempt(s)"
        ]
        if self.failure is not None:
            failure = self.failure
            lines.append(
                f"  failure: {failure.error_code or failure.error_type}"
                f"{' (retryable)' if failure.retryable else ''}: {failure.message}"
            )
        lines += [
            f"  attempt {attempt.number}: {attempt.outcome}"
            + ("" if attempt.duration_ms is None else f" after {attempt.duration_ms} ms")
            + ("" if attempt.worker is None else f" ({attempt.worker})")
            for attempt in self.attempts
        ]
        made = f"  made by: {origin.created_by}"
        if origin.origin_step:
            made += f" (from '{origin.origin_step}')"
        if origin.planning_step:
            made += (
                f"; planned by '{origin.planning_step}', phase {origin.planning_phase}, "
                f"call {origin.planning_attempt}, fragment {origin.fragment_id}"
            )
        lines.append(made)
        if origin.planning_reasoning:
            lines.append(f"  why: {origin.planning_reasoning}")
        lines += [f"  input: {item.step} ({item.state})" for item in self.inputs]
        lines.append("repairs:" if self.repairs else "repairs: none apply to its state")
        lines += [f"  {move.command}  # {move.why}" for move in self.repairs]
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

    with _store(database_url) as store:
        overview = inspect_task(store, resolve_task(store, task))
        planning = planning_layer(store, overview)
        fragments = {view.fragment_id: view for view in fragment_layer(store, overview).fragments}
        budget = task_budget(store, overview.task_uuid)
        entry = _pending_dlq_entry(store, overview)
    spent = {item.step: budget_sentence(item.lines) for item in budget.planning_steps}
    failed = [failure for step in overview.steps if (failure := _failure(step)) is not None]
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
                result=_short(step.result),
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
            )
            for step in overview.steps
            if step.approval is not None
        ],
        next=next_moves(overview, entry),
    )


def diagnose_step(task: str, step: str, *, database_url: str | None = None) -> StepDiagnosis:
    """``task diagnose``: one step of the task named by ``task``."""
    from tasker_ctl.engine.views import fragment_layer, inspect_step, resolve_task

    with _store(database_url) as store:
        detail = inspect_step(store, resolve_task(store, task), step)
        overview = _overview(store, detail.task_uuid)
        fragments = {view.fragment_id: view for view in fragment_layer(store, overview).fragments}
        entry = _pending_dlq_entry(store, overview)
    found = detail.step
    origin = found.provenance
    fragment = fragments.get(origin.fragment_id) if origin.fragment_id else None
    by_name = {item.name: item for item in overview.steps}
    moves = [move for move in next_moves(overview, entry) if move.concerns(found.name)]
    return StepDiagnosis(
        version=1,
        tool=this_tool(),
        task=detail.task_uuid,
        template=detail.task,
        task_status=overview.status,
        step=DiagnosedStep(
            name=found.name,
            state=found.state,
            step_type=found.step_type,
            handler=found.handler or origin.composition_source,
            attempts=found.attempts,
            max_attempts=found.max_attempts,
            retryable=detail.retryable,
            started_at=found.started_at,
            finished_at=found.finished_at,
            awaiting_approval=found.awaiting_approval,
        ),
        failure=_failure(found),
        attempts=[
            AttemptLine(
                number=attempt.number,
                started_at=attempt.started_at,
                duration_ms=attempt.duration_ms,
                outcome=attempt.outcome,
                worker=attempt.worker,
            )
            for attempt in detail.attempt_history
        ],
        provenance=StepProvenance(
            created_by=origin.created_by,
            origin_step=origin.origin_step,
            planning_step=origin.planning_step,
            planning_phase=origin.planning_phase,
            planning_attempt=None if fragment is None else fragment.accepted_attempt,
            fragment_id=origin.fragment_id,
            fragment_goal=None if fragment is None else fragment.goal,
            planning_reasoning=origin.planning_reasoning,
            composition_source=origin.composition_source,
        ),
        inputs=[
            InputSource(
                step=parent,
                state=by_name[parent].state if parent in by_name else "unknown",
                result=_short(by_name[parent].result) if parent in by_name else None,
            )
            for parent in found.parents
        ],
        repairs=moves,
    )


# -- shared --------------------------------------------------------------------------------


def _failure(step: InspectedStep) -> StepFailure | None:
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


def _short(value: Any) -> str | None:
    if value is None:
        return None
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)
    if len(text) <= _RESULT_SHOWN:
        return text
    return f"{text[:_RESULT_SHOWN]}… ({len(text)} characters)"


def _pending_dlq_entry(store: Store, overview: TaskInspection) -> str | None:
    """The task's DLQ entry awaiting resolution, if it is in one (only a task in error is)."""
    if overview.status != "error":
        return None
    from tasker_ctl.engine.operator import list_dlq_entries

    entries = list_dlq_entries(store, status="pending", limit=1000)
    return next((str(e.dlq_entry_uuid) for e in entries if e.task_uuid == overview.task_uuid), None)


def _overview(store: Store, task_uuid: uuid.UUID) -> TaskInspection:
    from tasker_ctl.engine.views import inspect_task

    return inspect_task(store, task_uuid)


def _store(database_url: str | None) -> Store:
    from tasker_ctl.db.settings import require_database
    from tasker_ctl.engine.store import open_store

    require_database(database_url)
    return open_store(database_url)
