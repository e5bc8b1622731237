"""The documents of the commands that read tasks: ``task list``, ``task graph``, ``task audit``,
``inspect task`` (each view) and ``report provenance``.

Each function opens the database the way the command does (``database_url`` None: the usual
default), names the task as the command does (a UUID, a unique prefix of 8+ characters, or
``latest``, of ``namespace`` when given) and returns the model the command's ``--json`` writes.
The text views are drawn from the same models, so what a person reads and what a script or an
MCP client reads come from one place.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import Field, RootModel

from tasker_ctl.engine.views import StepDetail, TaskInspection, TaskPage, Transition
from tasker_ctl.report.inspect_json import (
    CompositionDocument,
    FragmentDocument,
    LineageDocument,
    OverviewDocument,
    PlanningDocument,
    ProvenanceDocument,
    StepDocument,
    provenance_document,
)
from tasker_ctl.report.json_output import this_tool
from tasker_ctl.report.operator_json import TaskListOutput, build_task_list
from tasker_ctl.report.step_audit import (
    AUDIT_FORMAT_VERSION,
    AuditAttempt,
    AuditTransition,
    StepAuditOutput,
)
from tasker_ctl.report.task_graph import TaskGraph

__all__ = [
    "TASK_VIEWS",
    "TaskListOptions",
    "TaskView",
    "TaskViewDocument",
    "inspect_step_document",
    "inspect_task_document",
    "inspected_task",
    "planning_document",
    "provenance_report",
    "require_reader",
    "step_audit_document",
    "task_graph_document",
    "task_list_document",
    "task_page",
]

TaskView = Literal["overview", "fragment", "composition", "lineage"]
TASK_VIEWS: tuple[TaskView, ...] = ("overview", "fragment", "composition", "lineage")


class TaskViewDocument(
    RootModel[
        Annotated[
            OverviewDocument | FragmentDocument | CompositionDocument | LineageDocument,
            Field(discriminator="view"),
        ]
    ]
):
    """``inspect task --json`` with ``--fragment``, ``--composition``, ``--lineage`` or none:
    the document of the view asked for, told apart by its ``view``."""


def require_reader(database_url: str | None) -> None:
    """What a command that only reads checks first: a database is configured, or the
    embedded one exists (``DATABASE_NOT_FOUND`` otherwise), so that a read never creates
    one. The commands check it as they parse ``--database-url``; the tools, here."""
    from tasker_ctl.db.settings import require_database

    require_database(database_url)


# -- task list -------------------------------------------------------------------------------


@dataclass(frozen=True)
class TaskListOptions:
    """``task list``'s filters and page, as typed: checked when the list is read."""

    statuses: Sequence[str] = ()
    namespace: str | None = None
    template: str | None = None
    since: str | None = None
    limit: int = 50
    after: str | None = None


def task_list_document(
    database_url: str | None, options: TaskListOptions = TaskListOptions()
) -> TaskListOutput:
    """``task list --json``: tasks newest first, one page of ``limit`` from ``after`` on."""
    return build_task_list(task_page(database_url, options))


def task_page(database_url: str | None, options: TaskListOptions = TaskListOptions()) -> TaskPage:
    """The page ``task list`` shows (its text view draws it). A bad status, template filter
    or ``since`` is a coded error raised before the database is opened; a bad cursor, after."""
    require_reader(database_url)
    from tasker_ctl.engine.store import open_store, parse_since
    from tasker_ctl.engine.views import TemplateFilter, check_task_status, list_task_page

    statuses = [check_task_status(value) for value in options.statuses]
    template = None if options.template is None else TemplateFilter.parse(options.template)
    window = None if options.since is None else parse_since(options.since)
    with open_store(database_url) as store:
        return list_task_page(
            store,
            statuses=statuses,
            namespace=options.namespace,
            template=template,
            since=window,
            after=options.after,
            limit=options.limit,
        )


# -- inspect task ----------------------------------------------------------------------------


def inspect_task_document(
    database_url: str | None,
    reference: str,
    *,
    view: TaskView = "overview",
    full: bool = False,
    namespace: str | None = None,
) -> OverviewDocument | FragmentDocument | CompositionDocument | LineageDocument:
    """``inspect task TASK --json`` in one ``view``; ``full`` keeps the fragments' texts whole."""
    require_reader(database_url)
    from tasker_ctl.engine.store import open_store
    from tasker_ctl.engine.views import (
        composition_layer,
        fragment_layer,
        inspect_task,
        resolve_task,
        task_lineage,
    )

    with open_store(database_url) as store:
        task_uuid = resolve_task(store, reference, namespace=namespace)
        if view == "lineage":
            return LineageDocument(lineage=task_lineage(store, task_uuid))
        overview = inspect_task(store, task_uuid)
        if view == "fragment":
            return FragmentDocument(fragment=fragment_layer(store, overview, full=full))
        if view == "composition":
            return CompositionDocument(composition=composition_layer(store, overview))
        return OverviewDocument(task=overview)


def planning_document(
    database_url: str | None,
    reference: str,
    *,
    full: bool = False,
    namespace: str | None = None,
) -> PlanningDocument:
    """``inspect task TASK --planning --json``: every planner call (prompt, answer, usage)
    and the fragments they added; ``full`` keeps prompts and answers whole."""
    require_reader(database_url)
    from tasker_ctl.engine.store import open_store
    from tasker_ctl.engine.views import inspect_task, planning_layer, resolve_task

    with open_store(database_url) as store:
        overview = inspect_task(store, resolve_task(store, reference, namespace=namespace))
        return PlanningDocument(planning=planning_layer(store, overview, full=full))


def inspect_step_document(
    database_url: str | None, reference: str, step: str, *, namespace: str | None = None
) -> StepDocument:
    """``inspect task TASK --step NAME --json``: one step in full."""
    return StepDocument(step=_step_detail(database_url, reference, step, namespace))


def _step_detail(
    database_url: str | None, reference: str, step: str, namespace: str | None
) -> StepDetail:
    require_reader(database_url)
    from tasker_ctl.engine.store import open_store
    from tasker_ctl.engine.views import inspect_step, resolve_task

    with open_store(database_url) as store:
        return inspect_step(store, resolve_task(store, reference, namespace=namespace), step)


def provenance_report(
    database_url: str | None, reference: str, *, namespace: str | None = None
) -> ProvenanceDocument:
    """``report provenance TASK --json``: where each step came from."""
    return provenance_document(inspected_task(database_url, reference, namespace=namespace))


def inspected_task(
    database_url: str | None, reference: str, *, namespace: str | None = None
) -> TaskInspection:
    """The overview of the task ``reference`` names (``report provenance`` draws its text)."""
    require_reader(database_url)
    from tasker_ctl.engine.store import open_store
    from tasker_ctl.engine.views import inspect_task, resolve_task

    with open_store(database_url) as store:
        return inspect_task(store, resolve_task(store, reference, namespace=namespace))


# -- task graph ------------------------------------------------------------------------------


def task_graph_document(database_url: str | None, reference: str) -> TaskGraph:
    """``task graph TASK --json``: the DAG as it ran, each step with its state."""
    require_reader(database_url)
    from tasker_ctl.engine.store import open_store
    from tasker_ctl.engine.views import inspect_task, resolve_task
    from tasker_ctl.report.task_graph import build_task_graph

    with open_store(database_url) as store:
        inspected = inspect_task(store, resolve_task(store, reference))
    return build_task_graph(inspected)


# -- task audit ------------------------------------------------------------------------------


def step_audit_document(
    database_url: str | None, reference: str, step: str, *, namespace: str | None = None
) -> StepAuditOutput:
    """``task audit TASK STEP --json``: the step's trail: every transition with who and why,
    and every attempt with how it ended and, where its result was kept, its error."""
    detail = _step_detail(database_url, reference, step, namespace)
    transitions = [_audit_transition(item) for item in detail.transitions]
    kept_error = _stored_error(detail.results)
    history = detail.attempt_history
    attempts = [
        AuditAttempt(
            number=attempt.number,
            started_at=attempt.started_at,
            ended_at=attempt.ended_at,
            duration_ms=attempt.duration_ms,
            outcome=attempt.outcome,
            worker=attempt.worker,
            error=_attempt_error(
                attempt.outcome,
                _failure_metadata(detail.transitions, attempt.number),
                kept_error if index == len(history) - 1 else None,
            ),
        )
        for index, attempt in enumerate(history)
    ]
    return StepAuditOutput(
        version=AUDIT_FORMAT_VERSION,
        tool=this_tool(),
        task_uuid=detail.task_uuid,
        task=detail.task,
        step=detail.step.name,
        state=detail.step.state,
        attempts=detail.step.attempts,
        max_attempts=detail.step.max_attempts,
        operator_actions=sum(1 for item in transitions if item.action is not None),
        attempt_history=attempts,
        transitions=transitions,
    )


_FAILED_OUTCOMES = frozenset({"error", "waiting_for_retry"})


def _audit_transition(item: Transition) -> AuditTransition:
    action = item.metadata.get("action")
    return AuditTransition(
        at=item.at,
        from_state=item.from_state,
        to_state=item.to_state,
        event=item.event,
        attempt=item.attempt,
        action=str(action) if action is not None else None,
        by=item.by,
        reason=item.reason,
        metadata=item.metadata,
    )


def _stored_error(results: Any) -> Any:
    """The failure in the step's stored result envelope (the last attempt's), if any."""
    if isinstance(results, dict) and results.get("success") is False:
        return results.get("error")
    return None


def _failure_metadata(transitions: list[Transition], number: int) -> Any:
    """The error the failure's transition noted for attempt ``number`` (the worker notes
    each failure's type, code and message there), if it did."""
    for item in transitions:
        if item.attempt == number and item.from_state == "in_progress":
            return item.metadata.get("error")
    return None


def _attempt_error(outcome: str, recorded: Any, kept: Any) -> Any:
    if outcome not in _FAILED_OUTCOMES:
        return None
    return recorded if recorded is not None else kept
