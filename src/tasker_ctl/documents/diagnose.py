"""``task diagnose``: one step of a task in one answer: its failure, its attempts, where it
came from up to the planning decision that made it, the steps it reads from, and the repairs
its state admits, each as a command line and as the MCP tool call (``step_diagnose``).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import Field

from tasker_ctl.documents.explain import (
    StepFailure,
    pending_dlq_entry,
    short_json,
    step_failure,
)
from tasker_ctl.documents.next_moves import NextMove, next_moves, settle_moves
from tasker_ctl.documents.writes import existing_store, storable_texts
from tasker_ctl.report.json_output import StrictOutput, ToolOutput, this_tool

__all__ = ["StepDiagnosis", "diagnose_step"]


class StepProvenance(StrictOutput):
    created_by: str
    origin_step: str | None = Field(description="the step whose outcome created it")
    planning_step: str | None
    planning_phase: int | None
    planning_attempt: int | None = Field(description="the planner call that proposed it")
    fragment_id: str | None
    fragment_goal: str | None
    fragment_step: dict[str, Any] | None = Field(
        description="the step as the fragment proposed it: handler, dependencies, inputs"
    )
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


def diagnose_step(task: str, step: str, *, database_url: str | None = None) -> StepDiagnosis:
    """``task diagnose``: one step of the task named by ``task``."""
    from tasker_ctl.engine.views import fragment_layer, inspect_step, inspect_task, resolve_task

    storable_texts(step=step)  # a name no step can have, refused before the query
    with existing_store(database_url) as store:
        detail = inspect_step(store, resolve_task(store, task), step)
        overview = inspect_task(store, detail.task_uuid)
        fragments = {view.fragment_id: view for view in fragment_layer(store, overview).fragments}
        entry = pending_dlq_entry(store, overview)
    found = detail.step
    origin = found.provenance
    fragment = fragments.get(origin.fragment_id) if origin.fragment_id else None
    by_name = {item.name: item for item in overview.steps}
    moves = [move for move in next_moves(overview, entry) if move.concerns(found.name)]
    moves += settle_moves(overview, found)
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
        failure=step_failure(found),
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
            fragment_step=None
            if fragment is None
            else next(
                (
                    item.model_dump(include={"handler", "step_type", "dependencies", "inputs"})
                    for item in fragment.steps
                    if item.name == found.name
                ),
                None,
            ),
            planning_reasoning=origin.planning_reasoning,
            composition_source=origin.composition_source,
        ),
        inputs=[
            InputSource(
                step=parent,
                state=by_name[parent].state if parent in by_name else "unknown",
                result=short_json(by_name[parent].result) if parent in by_name else None,
            )
            for parent in found.parents
        ],
        repairs=moves,
    )
