"""The database reads (tier2): tasks, steps and their trails, the DLQ, staleness, the dashboard,
events, budgets and planning.

Each tool answers the document its command prints with ``--json`` for the same input, from the
same function (``tasker_ctl.documents.tasks`` and ``.operations``), on the server's database
(``context.database_url``; None: the CLI's usual default). None changes anything:
``staleness_check`` is ``dlq sweep --dry-run`` and never sweeps for real.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, StringConstraints, field_validator

from tasker_ctl.documents.operations import (
    BudgetReportDocument,
    DlqListOutput,
    DlqStatsOutput,
    EventsOutput,
    SweepOutput,
)
from tasker_ctl.documents.repairs import DlqEntryDocument
from tasker_ctl.documents.tasks import TaskViewDocument
from tasker_ctl.mcp.spec import ToolArguments, ToolContext, ToolSpec, ToolTier
from tasker_ctl.report.inspect_json import PlanningDocument, StepDocument
from tasker_ctl.report.operator_json import TaskListOutput
from tasker_ctl.report.stats_json import StatsOutput
from tasker_ctl.report.step_audit import StepAuditOutput
from tasker_ctl.report.task_graph import TaskGraph

__all__ = ["TOOLS"]

_TASK = "task UUID, its first 8+ hex digits, or 'latest'"
_NAMESPACE = "with 'latest': its namespace"
_STEP = "the step's name"
_SINCE = "a duration back (10m, 2h, 1d) or an ISO 8601 time"
_Name = Annotated[str, StringConstraints(min_length=1, max_length=128)]


class ReadArguments(ToolArguments):
    """Names and values a client gives are looked up in PostgreSQL, whose text holds no NUL:
    one is refused here, naming the argument, rather than by the database."""

    @field_validator("*")
    @classmethod
    def _storable(cls, value: Any) -> Any:
        texts = value if isinstance(value, list) else [value]
        if any(isinstance(text, str) and "\x00" in text for text in texts):
            raise ValueError("holds a NUL character, which no name in the database can")
        return value


class TaskArguments(ReadArguments):
    task: str = Field(min_length=1, max_length=64, description=_TASK)
    namespace: str | None = Field(
        default=None, min_length=1, max_length=128, description=_NAMESPACE
    )


class StepArguments(TaskArguments):
    step: str = Field(min_length=1, max_length=256, description=_STEP)


class TaskGraphArguments(ReadArguments):
    task: str = Field(min_length=1, max_length=64, description=_TASK)


class TaskListArguments(ReadArguments):
    status: list[_Name] = Field(default_factory=list, max_length=12, description="task states")
    namespace: str | None = Field(default=None, min_length=1, max_length=128)
    template: str | None = Field(
        default=None, min_length=1, max_length=300, description="[NAMESPACE/]NAME[@VERSION]"
    )
    since: str | None = Field(default=None, min_length=1, max_length=64, description=_SINCE)
    limit: int = Field(default=50, ge=1, le=500)
    after: str | None = Field(
        default=None, min_length=1, max_length=512, description="a listing's next_cursor"
    )


class TaskInspectArguments(TaskArguments):
    view: Literal["overview", "fragment", "composition", "lineage"] = Field(default="overview")
    full: bool = Field(default=False, description="texts whole, not cut")


class PlanningArguments(TaskArguments):
    full: bool = Field(default=False, description="texts whole, not cut")


class BudgetArguments(TaskArguments):
    lineage: bool = False


class DlqListArguments(ReadArguments):
    status: str | None = Field(
        default=None,
        min_length=1,
        max_length=64,
        description="pending, manually_resolved, permanently_failed, cancelled",
    )
    limit: int = Field(default=50, ge=1, le=1000)


class DlqEntryArguments(ReadArguments):
    entry: str = Field(min_length=1, max_length=64, description="the DLQ entry's UUID")


class NoArguments(ReadArguments):
    pass


class StalenessArguments(ReadArguments):
    limit: int = Field(default=100, ge=1, le=1000)
    namespaces: list[_Name] = Field(default_factory=list, max_length=20)


class StatsArguments(ReadArguments):
    since: str = Field(
        default="24h", min_length=1, max_length=64, description=f"{_SINCE}, or 'all'"
    )
    namespace: str | None = Field(default=None, min_length=1, max_length=128)


class EventsArguments(ReadArguments):
    task: str | None = Field(default=None, min_length=1, max_length=64, description=_TASK)
    since: str | None = Field(default=None, min_length=1, max_length=64, description=_SINCE)
    limit: int | None = Field(default=None, ge=1, le=10000, description="the first N")
    tail: int | None = Field(default=None, ge=1, le=10000, description="the last N instead")
    domain: bool = Field(default=False, description="domain events, not transitions")
    name: str | None = Field(
        default=None, min_length=1, max_length=256, description="with domain: this event"
    )


# -- the functions -----------------------------------------------------------------------------


def _task_list(args: TaskListArguments, context: ToolContext) -> BaseModel:
    from tasker_ctl.documents.tasks import TaskListOptions, task_list_document

    options = TaskListOptions(
        statuses=args.status,
        namespace=args.namespace,
        template=args.template,
        since=args.since,
        limit=args.limit,
        after=args.after,
    )
    return task_list_document(context.database_url, options)


def _task_inspect(args: TaskInspectArguments, context: ToolContext) -> BaseModel:
    from tasker_ctl.documents.tasks import inspect_task_document

    return inspect_task_document(
        context.database_url, args.task, view=args.view, full=args.full, namespace=args.namespace
    )


def _task_graph(args: TaskGraphArguments, context: ToolContext) -> BaseModel:
    from tasker_ctl.documents.tasks import task_graph_document

    return task_graph_document(context.database_url, args.task)


def _step_inspect(args: StepArguments, context: ToolContext) -> BaseModel:
    from tasker_ctl.documents.tasks import inspect_step_document

    return inspect_step_document(
        context.database_url, args.task, args.step, namespace=args.namespace
    )


def _step_audit(args: StepArguments, context: ToolContext) -> BaseModel:
    from tasker_ctl.documents.tasks import step_audit_document

    return step_audit_document(context.database_url, args.task, args.step, namespace=args.namespace)


def _planning(args: PlanningArguments, context: ToolContext) -> BaseModel:
    from tasker_ctl.documents.tasks import planning_document

    return planning_document(
        context.database_url, args.task, full=args.full, namespace=args.namespace
    )


def _budget(args: BudgetArguments, context: ToolContext) -> BaseModel:
    from tasker_ctl.documents.operations import budget_document

    return budget_document(
        context.database_url, args.task, lineage=args.lineage, namespace=args.namespace
    )


def _dlq_list(args: DlqListArguments, context: ToolContext) -> BaseModel:
    from tasker_ctl.documents.operations import dlq_list_document

    return dlq_list_document(context.database_url, status=args.status, limit=args.limit)


def _dlq_inspect(args: DlqEntryArguments, context: ToolContext) -> BaseModel:
    from tasker_ctl.documents.operations import dlq_entry_document

    return dlq_entry_document(context.database_url, args.entry)


def _dlq_stats(args: NoArguments, context: ToolContext) -> BaseModel:
    from tasker_ctl.documents.operations import dlq_stats_document

    return dlq_stats_document(context.database_url)


def _staleness(args: StalenessArguments, context: ToolContext) -> BaseModel:
    from tasker_ctl.documents.operations import sweep_document

    # a dry run, always: this tool reports, the sweep itself is an operator's command
    return sweep_document(
        context.database_url, dry_run=True, limit=args.limit, namespaces=args.namespaces or None
    )


def _stats(args: StatsArguments, context: ToolContext) -> BaseModel:
    from tasker_ctl.documents.operations import stats_document

    return stats_document(context.database_url, since=args.since, namespace=args.namespace)


def _events(args: EventsArguments, context: ToolContext) -> BaseModel:
    from tasker_ctl.documents.operations import events_document

    return events_document(
        context.database_url,
        task=args.task,
        since=args.since,
        limit=args.limit,
        tail=args.tail,
        domain=args.domain,
        name=args.name,
    )


def _read(
    name: str,
    title: str,
    description: str,
    arguments: type[ToolArguments],
    output: type[BaseModel],
    run: Callable[[Any, ToolContext], BaseModel],
    cli: str,
    pages: str | None = None,
) -> ToolSpec:
    return ToolSpec(
        name=name,
        title=title,
        description=description,
        tier=ToolTier.READ,
        arguments=arguments,
        output=output,
        run=run,
        cli=cli,
        read_only=True,
        destructive=False,
        idempotent=True,
        open_world=False,
        pages=pages,
    )


TOOLS: tuple[ToolSpec, ...] = (
    _read(
        "task_list",
        "List tasks",
        "Tasks newest first: status, template, steps by state.",
        TaskListArguments,
        TaskListOutput,
        _task_list,
        "tasker-ctl task list --json",
        pages="tasks",
    ),
    _read(
        "task_inspect",
        "Inspect a task",
        "A task's steps, provenance, edges and transitions; or its fragments, compositions "
        "or lineage.",
        TaskInspectArguments,
        TaskViewDocument,
        _task_inspect,
        "tasker-ctl inspect task TASK --json",
    ),
    _read(
        "task_graph",
        "A task's DAG as it ran",
        "The task's steps as nodes (state, attempts) and their edges.",
        TaskGraphArguments,
        TaskGraph,
        _task_graph,
        "tasker-ctl task graph TASK --json",
    ),
    _read(
        "step_inspect",
        "Inspect a step",
        "One step in full: inputs, parents' results, result or error, attempts, lease.",
        StepArguments,
        StepDocument,
        _step_inspect,
        "tasker-ctl inspect task TASK --step STEP --json",
    ),
    _read(
        "step_audit",
        "A step's audit trail",
        "A step's transitions with who and why, and its attempts with their errors.",
        StepArguments,
        StepAuditOutput,
        _step_audit,
        "tasker-ctl task audit TASK STEP --json",
    ),
    _read(
        "planning_attempts",
        "A task's planner calls",
        "Planner calls (prompt, answer, usage) and the fragments they added.",
        PlanningArguments,
        PlanningDocument,
        _planning,
        "tasker-ctl inspect task TASK --planning --json",
    ),
    _read(
        "budget_report",
        "A task's budget",
        "Budget used, reserved and left per resource; lineage: the chain's.",
        BudgetArguments,
        BudgetReportDocument,
        _budget,
        "tasker-ctl report budget TASK --json",
    ),
    _read(
        "dlq_list",
        "List DLQ entries",
        "Dead-letter entries newest first.",
        DlqListArguments,
        DlqListOutput,
        _dlq_list,
        "tasker-ctl dlq list --json",
        pages="entries",
    ),
    _read(
        "dlq_inspect",
        "Inspect a DLQ entry",
        "One dead-letter entry with the task's snapshot.",
        DlqEntryArguments,
        DlqEntryDocument,
        _dlq_inspect,
        "tasker-ctl dlq show ENTRY --json",
    ),
    _read(
        "dlq_stats",
        "DLQ counts",
        "Dead-letter entries by reason and status.",
        NoArguments,
        DlqStatsOutput,
        _dlq_stats,
        "tasker-ctl dlq stats --json",
    ),
    _read(
        "staleness_check",
        "Find stale tasks",
        "Stale tasks and what a sweep would do; a dry run, changes nothing.",
        StalenessArguments,
        SweepOutput,
        _staleness,
        "tasker-ctl dlq sweep --dry-run --json",
    ),
    _read(
        "stats",
        "Dashboard",
        "Figures of tasks, steps, handlers, DLQ, budgets, planning; alerts.",
        StatsArguments,
        StatsOutput,
        _stats,
        "tasker-ctl stats --json",
    ),
    _read(
        "events",
        "Transition events",
        "Task and step transitions oldest first; domain: the outbox's events.",
        EventsArguments,
        EventsOutput,
        _events,
        "tasker-ctl events --json",
        pages="events",
    ),
)
