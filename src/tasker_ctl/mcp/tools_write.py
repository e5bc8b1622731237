"""The write tools (tier3): submit a task, the operator's repairs, a DLQ entry's resolution.

Each answers the document its command prints with ``--json`` (``tasker_ctl.documents.repairs``).
A call without ``confirm`` is a preview: the change is rehearsed in a transaction that is
rolled back, so the preview names what would change (or the error the change would meet) and
changes nothing; ``state_of`` binds the confirm's token to the target as the preview saw it.
The change is recorded as made by the server's client (``context.actor``, the command's
``--by``) for ``reason``.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, Field

from tasker_ctl.documents.repairs import DlqEntryDocument
from tasker_ctl.documents.writes import WritePreview
from tasker_ctl.mcp.spec import ToolContext, ToolSpec, ToolTier, WriteArguments
from tasker_ctl.report.operator_json import RepairOutput
from tasker_ctl.report.run_json import RunOutput

if TYPE_CHECKING:
    from tasker_ctl.engine.operator import RepairOutcome

_TASK = "the task: its UUID, a unique prefix (8+ hex digits) or 'latest'"
_STEP = "the step's name, as task_show lists it"


class TaskArguments(WriteArguments):
    task: str = Field(min_length=1, max_length=64, description=_TASK)


class StepArguments(TaskArguments):
    step: str = Field(min_length=1, max_length=256, description=_STEP)


class SettleArguments(StepArguments):
    force: bool = Field(default=False, description="also settle a step whose attempt runs")


class CompleteArguments(SettleArguments):
    result: dict[str, Any] = Field(
        max_length=1000, description="the step's result (an object); a fragment for planning"
    )


class SubmitArguments(WriteArguments):
    template: str = Field(min_length=1, max_length=1024, description="the template's YAML file")
    context: dict[str, Any] = Field(
        default_factory=dict, max_length=1000, description="the task's input (an object)"
    )
    environment: str | None = Field(default=None, max_length=64, description="its overrides")
    new: bool = Field(default=False, description="create one even if an identical task exists")
    idempotency_key: str | None = Field(
        default=None, min_length=1, max_length=255, description="a repeat returns the first task"
    )
    parent_correlation_id: uuid.UUID | None = Field(
        default=None, description="join this task's delegation chain"
    )
    chain_max_depth: int | None = Field(default=None, ge=0, le=1000, description="chain limit")
    chain_max_tasks: int | None = Field(default=None, ge=1, le=10**9, description="chain limit")
    chain_max_cost: float | None = Field(default=None, ge=0, le=10**9, description="USD")
    chain_max_tokens: int | None = Field(default=None, ge=1, le=10**15, description="chain limit")
    chain_max_llm_calls: int | None = Field(default=None, ge=1, le=10**9, description="chain")


class DlqResolveArguments(WriteArguments):
    entry: str = Field(min_length=1, max_length=64, description="the DLQ entry's UUID")
    status: Literal["manually_resolved", "permanently_failed", "cancelled"] = Field(
        description="what became of the task; the reason is recorded as the notes"
    )


# -- task_submit ---------------------------------------------------------------------------


def _submit_options(args: SubmitArguments, context: ToolContext) -> dict[str, Any]:
    return {
        "context": args.context,
        "database_url": context.database_url,
        "environment": args.environment,
        "new": args.new,
        "idempotency_key": args.idempotency_key,
    }


def _submit(args: SubmitArguments, context: ToolContext) -> BaseModel:
    from tasker_ctl.documents import submission

    report = submission.submit_task(
        context.path(args.template),
        **_submit_options(args, context),
        parent_correlation_id=args.parent_correlation_id,
        chain_limits={
            "max_depth": args.chain_max_depth,
            "max_tasks": args.chain_max_tasks,
            "max_cost_usd": args.chain_max_cost,
            "max_tokens": args.chain_max_tokens,
            "max_llm_calls": args.chain_max_llm_calls,
        },
        by=context.actor,
        reason=args.reason,
    )
    return submission.submit_document(report)


def _submit_preview(args: SubmitArguments, context: ToolContext) -> BaseModel:
    from tasker_ctl.documents import submission

    return submission.preview_submission(
        context.path(args.template), **_submit_options(args, context)
    )


def _submit_state(args: SubmitArguments, context: ToolContext) -> str:
    from tasker_ctl.documents import submission

    return submission.submission_fingerprint(
        context.path(args.template), **_submit_options(args, context)
    )


# -- repairs -------------------------------------------------------------------------------


def _cancel(args: TaskArguments, context: ToolContext, rehearse: bool) -> RepairOutcome:
    from tasker_ctl.documents import repairs

    return repairs.cancel_task(
        args.task,
        reason=args.reason,
        by=context.actor,
        database_url=context.database_url,
        rehearse=rehearse,
    )


def _retry(args: StepArguments, context: ToolContext, rehearse: bool) -> RepairOutcome:
    from tasker_ctl.documents import repairs

    return repairs.retry_step(
        args.task,
        args.step,
        reason=args.reason,
        by=context.actor,
        database_url=context.database_url,
        rehearse=rehearse,
    )


def _resolve(args: SettleArguments, context: ToolContext, rehearse: bool) -> RepairOutcome:
    from tasker_ctl.documents import repairs

    return repairs.resolve_step(
        args.task,
        args.step,
        reason=args.reason,
        by=context.actor,
        force=args.force,
        database_url=context.database_url,
        rehearse=rehearse,
    )


def _complete(args: CompleteArguments, context: ToolContext, rehearse: bool) -> RepairOutcome:
    from tasker_ctl.documents import repairs

    return repairs.complete_step(
        args.task,
        args.step,
        args.result,
        reason=args.reason,
        by=context.actor,
        force=args.force,
        database_url=context.database_url,
        rehearse=rehearse,
    )


def _decide(approve: bool) -> Any:
    def decide(args: StepArguments, context: ToolContext, rehearse: bool) -> RepairOutcome:
        from tasker_ctl.documents import repairs

        return repairs.decide_gate(
            args.task,
            args.step,
            approve=approve,
            reason=args.reason,
            by=context.actor,
            database_url=context.database_url,
            rehearse=rehearse,
        )

    return decide


def _repair_tool(
    name: str,
    title: str,
    description: str,
    arguments: type[TaskArguments],
    perform: Any,
    cli: str,
    *,
    destructive: bool,
    idempotent: bool = True,
) -> ToolSpec:
    """A repair's tool: ``perform(args, context, rehearse)`` is the operation; the document,
    the preview and the state bound to a confirm all come from it."""

    def run(args: Any, context: ToolContext) -> BaseModel:
        from tasker_ctl.documents.repairs import repair_document

        outcome: RepairOutcome = perform(args, context, False)
        return repair_document(outcome)

    def preview(args: Any, context: ToolContext) -> BaseModel:
        from tasker_ctl.documents.repairs import preview_repair

        current = _current(args, context)[1]
        return preview_repair(perform(args, context, True), current)

    def state_of(args: Any, context: ToolContext) -> str:
        return _current(args, context)[0]

    return ToolSpec(
        name=name,
        title=title,
        description=description,
        tier=ToolTier.WRITE,
        arguments=arguments,
        output=RepairOutput,
        run=run,
        cli=cli,
        read_only=False,
        destructive=destructive,
        idempotent=idempotent,
        preview=preview,
        state_of=state_of,
        tags=("write", "repair"),
    )


def _current(args: TaskArguments, context: ToolContext) -> tuple[str, dict[str, Any]]:
    from tasker_ctl.documents.repairs import task_fingerprint

    return task_fingerprint(
        args.task, getattr(args, "step", None), database_url=context.database_url
    )


# -- dlq_resolve ---------------------------------------------------------------------------


def _dlq_resolve(args: DlqResolveArguments, context: ToolContext) -> BaseModel:
    from tasker_ctl.documents import repairs

    resolved = repairs.resolve_dlq_entry(
        args.entry,
        status=args.status,
        notes=args.reason,
        by=context.actor,
        database_url=context.database_url,
    )
    return repairs.dlq_document(resolved)


def _dlq_preview(args: DlqResolveArguments, context: ToolContext) -> BaseModel:
    from tasker_ctl.documents import repairs

    current = repairs.dlq_fingerprint(args.entry, database_url=context.database_url)[1]
    rehearsed = repairs.resolve_dlq_entry(
        args.entry,
        status=args.status,
        notes=args.reason,
        by=context.actor,
        database_url=context.database_url,
        rehearse=True,
    )
    return repairs.preview_dlq_resolution(rehearsed, current)


def _dlq_state(args: DlqResolveArguments, context: ToolContext) -> str:
    from tasker_ctl.documents.repairs import dlq_fingerprint

    return dlq_fingerprint(args.entry, database_url=context.database_url)[0]


TOOLS: tuple[ToolSpec, ...] = (
    ToolSpec(
        name="task_submit",
        title="Submit a task",
        description="Create a template's task for workers to run (not run here). "
        "An identical task, or one of the same idempotency_key, is returned instead.",
        tier=ToolTier.WRITE,
        arguments=SubmitArguments,
        output=RunOutput,
        run=_submit,
        cli="tasker-ctl task submit TEMPLATE --context JSON --reason TEXT --json",
        read_only=False,
        destructive=False,
        idempotent=False,
        preview=_submit_preview,
        state_of=_submit_state,
        tags=("write", "task"),
    ),
    _repair_tool(
        "task_cancel",
        "Cancel a task",
        "Cancel a task: every unfinished step, then the task, become 'cancelled'.",
        TaskArguments,
        _cancel,
        "tasker-ctl task cancel TASK --reason TEXT --json",
        destructive=True,
    ),
    _repair_tool(
        "step_retry",
        "Retry a failed step",
        "Run a failed step (state error) again, its attempts reset to 0.",
        StepArguments,
        _retry,
        "tasker-ctl task retry-step TASK STEP --reason TEXT --json",
        destructive=False,
        idempotent=False,
    ),
    _repair_tool(
        "step_resolve",
        "Resolve a step by hand",
        "Settle an unfinished step as 'resolved_manually' so its children may run.",
        SettleArguments,
        _resolve,
        "tasker-ctl task resolve-step TASK STEP --reason TEXT --json",
        destructive=True,
    ),
    _repair_tool(
        "step_complete",
        "Complete a step by hand",
        "Complete an unfinished step with a result its children then see "
        "(checked against its result_schema).",
        CompleteArguments,
        _complete,
        "tasker-ctl task complete-step TASK STEP --result JSON --reason TEXT --json",
        destructive=False,
    ),
    _repair_tool(
        "gate_approve",
        "Approve a gate",
        "Approve the gate a step waits at; a worker then runs the step on.",
        StepArguments,
        _decide(True),
        "tasker-ctl task approve TASK STEP --reason TEXT --json",
        destructive=False,
    ),
    _repair_tool(
        "gate_reject",
        "Reject a gate",
        "Reject the gate a step waits at: the step fails for good with the reason.",
        StepArguments,
        _decide(False),
        "tasker-ctl task reject TASK STEP --reason TEXT --json",
        destructive=True,
    ),
    ToolSpec(
        name="dlq_resolve",
        title="Resolve a DLQ entry",
        description="Record what became of a dead-lettered task (once); the task itself "
        "does not change.",
        tier=ToolTier.WRITE,
        arguments=DlqResolveArguments,
        output=DlqEntryDocument,
        run=_dlq_resolve,
        cli="tasker-ctl dlq resolve ENTRY --status STATUS --notes TEXT --json",
        read_only=False,
        destructive=True,
        idempotent=True,
        preview=_dlq_preview,
        state_of=_dlq_state,
        tags=("write", "dlq"),
    ),
)

__all__ = ["TOOLS", "WritePreview"]
