"""A task report as JSON: the documented, versioned output of ``run --json`` and ``task ...``.

The shape is fixed by the ``RunOutput`` model below and documented field by field in
``docs/cli/run.md``. Adding a key is a minor change; renaming or removing one bumps
``version``. Keys keep model order; times are ISO 8601 in UTC.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal
from uuid import UUID

from pydantic import Field

from tasker_ctl.report.json_output import StrictOutput, ToolOutput, this_tool

if TYPE_CHECKING:
    from tasker_ctl.engine.views import StepReport, TaskReport

__all__ = [
    "FORMAT_VERSION",
    "ApprovalOutput",
    "RunOutput",
    "StepErrorOutput",
    "StepOutput",
    "TaskOutput",
    "build_output",
    "decide_commands",
    "render_json",
]

FORMAT_VERSION = 1


class TaskOutput(StrictOutput):
    uuid: UUID
    status: str = Field(description="the task's state, e.g. 'complete', 'blocked_by_failures'")
    namespace: str
    name: str
    version: str = Field(description="the template's version")
    correlation_id: UUID
    requested_at: datetime | None
    completed_at: datetime | None = Field(description="null until the task completes")
    duration_ms: int | None = Field(description="completed_at - requested_at, else null")
    resumed: bool = Field(description="an identical task existed and was picked up")


class StepErrorOutput(StrictOutput):
    message: str
    error_type: str = Field(description="e.g. 'permanent_error', 'retryable_error', 'timeout'")
    error_code: str | None = Field(description="the handler's error code, if it gave one")
    retryable: bool
    metadata: dict[str, Any]


class ApprovalOutput(StrictOutput):
    prompt: str = Field(description="the question the approver answers")
    approvers: list[str] = Field(description="who may decide (--by); anyone when empty")
    summary: Any = Field(description="the gate's summary: the facts needed to decide, or null")
    approve_command: str = Field(description="the command line that approves")
    reject_command: str = Field(description="the command line that rejects (a reason needed)")


class StepOutput(StrictOutput):
    name: str
    state: str = Field(description="the step's state, e.g. 'complete', 'error', 'pending'")
    attempts: int = Field(description="attempts started so far")
    max_attempts: int
    created_by: str = Field(
        description="template, decision_point, batch_spawn or planning_step: what created it"
    )
    handler_type: str | None = Field(
        default=None, description="application or grammar (a composition runs it)"
    )
    planning_step: str | None = Field(
        default=None, description="the planning step that planned it; null if not planned"
    )
    fragment_id: str | None = Field(
        default=None, description="the accepted fragment it came from; null if not planned"
    )
    started_at: datetime | None = Field(description="when the first attempt started")
    finished_at: datetime | None = Field(description="when the step settled")
    duration_ms: int | None = Field(description="finished_at - started_at (retries included)")
    result: Any = Field(description="what the handler returned, null unless it succeeded")
    error: StepErrorOutput | None = Field(description="the last failure, null if none")
    awaiting_approval: str | None = Field(
        default=None,
        description="a grammar step waiting at a gate: what the approver is asked "
        "('tasker-ctl task approve|reject'); null otherwise",
    )
    approval: ApprovalOutput | None = Field(
        default=None,
        description="a step waiting at a gate (state 'waiting_for_approval'): what the "
        "approver must know and the commands that decide; null otherwise",
    )


class RunOutput(StrictOutput):
    """The whole document written by ``tasker-ctl run --json``."""

    version: Literal[1] = Field(description="format version; bumped on breaking changes")
    tool: ToolOutput
    task: TaskOutput
    steps: list[StepOutput]
    budget: str | None = Field(
        default=None,
        description="the budget sentence ('7/10 steps, 2/3 calls, $0.04/$1.00, ...') of a "
        "task created with limits; null otherwise (report budget --json has the amounts)",
    )


def build_output(report: TaskReport) -> RunOutput:
    return RunOutput(
        version=FORMAT_VERSION,
        tool=this_tool(),
        task=TaskOutput(
            uuid=report.task_uuid,
            status=report.status,
            namespace=report.namespace,
            name=report.name,
            version=report.version,
            correlation_id=report.correlation_id,
            requested_at=report.requested_at,
            completed_at=report.completed_at,
            duration_ms=report.duration_ms,
            resumed=report.resumed,
        ),
        steps=[_step(step, report.task_uuid) for step in report.steps],
        budget=_budget(report),
    )


def render_json(report: TaskReport) -> str:
    """The report as indented JSON text, ending with a newline (written by Pydantic's
    serializer: the standard library's indents in Python, 4-5x slower, 0.03 s for 2,000
    steps)."""
    return build_output(report).model_dump_json(indent=2) + "\n"


def decide_commands(task_uuid: UUID, step: StepReport) -> tuple[str, str]:
    """The command lines that approve and reject the gate ``step`` waits at."""
    approvers = step.approval.approvers if step.approval is not None else []
    by = f" --by {approvers[0]}" if len(approvers) == 1 else " --by NAME" if approvers else ""
    base = f"{task_uuid} {step.name}"
    return (
        f"tasker-ctl task approve {base}{by}",
        f"tasker-ctl task reject {base} --reason TEXT{by}",
    )


def _step(step: StepReport, task_uuid: UUID) -> StepOutput:
    approval = None
    if step.approval is not None:
        approve, reject = decide_commands(task_uuid, step)
        approval = ApprovalOutput(
            prompt=step.approval.prompt,
            approvers=step.approval.approvers,
            summary=step.approval.summary,
            approve_command=approve,
            reject_command=reject,
        )
    return StepOutput(
        name=step.name,
        state=step.state,
        attempts=step.attempts,
        max_attempts=step.max_attempts,
        created_by=step.created_by,
        handler_type=step.handler_type,
        planning_step=step.planning_step,
        fragment_id=step.fragment_id,
        started_at=step.started_at,
        finished_at=step.finished_at,
        duration_ms=step.duration_ms,
        result=step.result,
        error=_error(step.error),
        awaiting_approval=step.awaiting_approval,
        approval=approval,
    )


def _budget(report: TaskReport) -> str | None:
    if not report.budget:
        return None
    from tasker_ctl.report.budget_view import budget_sentence

    return budget_sentence(report.budget)


def _error(error: Any) -> StepErrorOutput | None:
    if not isinstance(error, dict):
        return None
    metadata = error.get("metadata")
    return StepErrorOutput(
        message=str(error.get("message") or "unknown error"),
        error_type=str(error.get("error_type") or "unknown"),
        error_code=None if error.get("error_code") is None else str(error["error_code"]),
        retryable=bool(error.get("retryable")),
        metadata=metadata if isinstance(metadata, dict) else {},
    )
