"""The operator's writes: the repairs (``task cancel|retry-step|resolve-step|complete-step|
approve|reject``) and ``dlq resolve``, each as the operation the command runs and the JSON
document its ``--json`` prints (the MCP write tools answer the same documents).

Every write can also be rehearsed (``rehearse=True``): the same operation, with the same
checks, runs in a transaction that is then rolled back (``documents.writes.rehearsed``), so a
preview says exactly what the change would do, or the coded error it would meet, and changes
nothing. ``task_fingerprint`` and ``dlq_fingerprint`` say what the target looks like now, so
that a change confirmed after someone else changed the target is refused
(``tasker_ctl.mcp.confirmation``).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field

from tasker_ctl.documents.writes import (
    PreviewChange,
    PreviewTarget,
    WritePreview,
    bounded_object,
    existing_store,
    rehearsed,
    storable_texts,
)
from tasker_ctl.report.json_output import StrictOutput, ToolOutput, this_tool
from tasker_ctl.report.operator_json import RepairOutput, build_repair

if TYPE_CHECKING:
    from tasker_ctl.engine.operator import DlqEntry, RepairOutcome
    from tasker_ctl.engine.store import Store

__all__ = [
    "DlqEntryDocument",
    "DlqEntryOutput",
    "cancel_task",
    "complete_step",
    "decide_gate",
    "dlq_document",
    "dlq_fingerprint",
    "preview_dlq_resolution",
    "preview_repair",
    "repair_document",
    "resolve_dlq_entry",
    "resolve_step",
    "retry_step",
    "task_fingerprint",
]

ResolutionStatus = Literal["manually_resolved", "permanently_failed", "cancelled"]


# -- documents -----------------------------------------------------------------------------


class DlqEntryOutput(StrictOutput):
    """A DLQ entry as ``dlq show|resolve --json`` print it (the fields of
    ``engine.operator.DlqEntry``, in its order; a unit test keeps the two alike)."""

    dlq_entry_uuid: uuid.UUID
    task_uuid: uuid.UUID
    namespace: str
    task_name: str
    task_version: str
    task_state: str = Field(description="the task's state now")
    original_state: str = Field(description="the task's state when the entry was made")
    reason: str = Field(description="e.g. 'staleness_timeout'")
    dlq_timestamp: datetime
    resolution_status: str = Field(description="pending or how it was resolved")
    resolution_timestamp: datetime | None
    resolved_by: str | None
    thresholds: list[str] = Field(description="the staleness thresholds the task was past")
    workflow_step_uuid: uuid.UUID | None
    resolution_notes: str | None
    metadata: dict[str, Any] = Field(description="why the entry was made (docs/dlq.md)")
    task_snapshot: dict[str, Any] = Field(description="the task and its steps when it was made")
    created_at: datetime
    updated_at: datetime


class DlqEntryDocument(StrictOutput):
    """The whole document of ``tasker-ctl dlq resolve --json``."""

    version: Literal[1] = Field(description="format version; bumped on breaking changes")
    tool: ToolOutput
    entry: DlqEntryOutput


def repair_document(outcome: RepairOutcome) -> RepairOutput:
    """A repair's ``--json``: the action, then the task as ``run --json`` prints it."""
    return build_repair(outcome)


def dlq_document(entry: DlqEntry) -> DlqEntryDocument:
    """``dlq resolve --json`` (and ``dlq show --json``): the entry under the shared header."""
    return DlqEntryDocument(
        version=1,
        tool=this_tool(),
        entry=DlqEntryOutput.model_validate(entry.model_dump()),
    )


# -- repairs -------------------------------------------------------------------------------


def cancel_task(
    task: str,
    *,
    reason: str | None,
    by: str | None = None,
    database_url: str | None = None,
    rehearse: bool = False,
) -> RepairOutcome:
    """``task cancel``: every unfinished step, then the task, move to 'cancelled'."""
    from tasker_ctl.engine.operator import Actor
    from tasker_ctl.engine.operator import cancel_task as cancel

    storable_texts(reason=reason, by=by)
    actor = Actor.of(reason, by)
    return _repair(task, lambda store, key: cancel(store, key, actor), database_url, rehearse)


def retry_step(
    task: str,
    step: str,
    *,
    reason: str | None,
    by: str | None = None,
    database_url: str | None = None,
    rehearse: bool = False,
) -> RepairOutcome:
    """``task retry-step``: a failed step runs again, its attempts reset."""
    from tasker_ctl.engine.operator import Actor
    from tasker_ctl.engine.operator import retry_step as retry

    storable_texts(reason=reason, by=by, step=step)
    actor = Actor.of(reason, by)
    return _repair(task, lambda store, key: retry(store, key, step, actor), database_url, rehearse)


def resolve_step(
    task: str,
    step: str,
    *,
    reason: str | None,
    by: str | None = None,
    force: bool = False,
    database_url: str | None = None,
    rehearse: bool = False,
) -> RepairOutcome:
    """``task resolve-step``: the step is settled by hand as 'resolved_manually'."""
    from tasker_ctl.engine.operator import Actor
    from tasker_ctl.engine.operator import resolve_step as resolve

    storable_texts(reason=reason, by=by, step=step)
    actor = Actor.of(reason, by)
    return _repair(
        task,
        lambda store, key: resolve(store, key, step, actor, force=force),
        database_url,
        rehearse,
    )


def complete_step(
    task: str,
    step: str,
    result: Mapping[str, Any],
    *,
    reason: str | None,
    by: str | None = None,
    force: bool = False,
    database_url: str | None = None,
    rehearse: bool = False,
) -> RepairOutcome:
    """``task complete-step``: the step completes with ``result`` (checked against its
    result_schema; for a planning step, a fragment checked in nine stages)."""
    from tasker_ctl.engine.operator import Actor
    from tasker_ctl.engine.operator import complete_step as complete

    storable_texts(reason=reason, by=by, step=step)
    actor = Actor.of(reason, by)
    value = bounded_object(result, f"the result for step '{step}'")
    return _repair(
        task,
        lambda store, key: complete(store, key, step, value, actor, force=force),
        database_url,
        rehearse,
    )


def decide_gate(
    task: str,
    step: str,
    *,
    approve: bool,
    reason: str | None,
    by: str | None = None,
    database_url: str | None = None,
    rehearse: bool = False,
) -> RepairOutcome:
    """``task approve|reject``: decide the gate ``step`` waits at."""
    from tasker_ctl.engine.operator import Actor
    from tasker_ctl.engine.operator import decide_gate as decide

    storable_texts(reason=reason, by=by, step=step)
    actor = Actor.of(reason, by)
    return _repair(
        task,
        lambda store, key: decide(store, key, step, approve=approve, actor=actor),
        database_url,
        rehearse,
    )


def preview_repair(outcome: RepairOutcome, current: dict[str, Any]) -> WritePreview:
    """A rehearsed repair's outcome as a preview: what it would change, and the target now."""
    changes = []
    if outcome.step is not None:
        changes.append(
            PreviewChange(
                subject=f"step '{outcome.step}'",
                before=outcome.step_state_before,
                after=str(outcome.step_state_after),
            )
        )
    before = current.get("steps") or {}
    changes += [
        PreviewChange(subject=f"step '{name}'", before=before.get(name), after="cancelled")
        for name in outcome.cancelled_steps
    ]
    if outcome.task_state_before != outcome.task_state_after:
        changes.append(
            PreviewChange(
                subject="task", before=outcome.task_state_before, after=outcome.task_state_after
            )
        )
    what = "the task" if outcome.step is None else f"step '{outcome.step}'"
    summary = f"{outcome.action.replace('_', ' ')} on {what} of task {outcome.task_uuid}"
    summary += f", recorded as by {outcome.by}: {outcome.reason}"
    return WritePreview(
        action=outcome.action,
        target=PreviewTarget(task=outcome.task_uuid, step=outcome.step),
        summary=summary,
        changes=changes,
        current=current,
    )


def task_fingerprint(
    task: str, step: str | None = None, *, database_url: str | None = None
) -> tuple[str, dict[str, Any]]:
    """What the task (and ``step``) look like now, as the state a confirm is bound to, and
    as the preview's ``current``. A task or step that is not there is a state too: the
    confirm meets the same error as the preview."""
    from tasker_ctl.engine.views import inspect_task, resolve_task

    with existing_store(database_url) as store:
        inspected = inspect_task(store, resolve_task(store, task))
    current: dict[str, Any] = {"task": str(inspected.task_uuid), "task_state": inspected.status}
    moments: list[list[Any]]
    if step is None:
        current["steps"] = {item.name: item.state for item in inspected.steps}
        moments = [[item.name, item.attempts, str(item.finished_at)] for item in inspected.steps]
    else:
        found = inspected.step(step)
        if found is not None:
            current.update(
                step=found.name,
                step_state=found.state,
                attempts=found.attempts,
                max_attempts=found.max_attempts,
                error=None if not isinstance(found.error, dict) else found.error.get("message"),
                awaiting_approval=found.awaiting_approval,
            )
        moments = [] if found is None else [[str(found.started_at), str(found.finished_at)]]
    return json.dumps([current, moments], sort_keys=True, default=str), current


def _repair(
    task: str,
    act: Callable[[Store, uuid.UUID], RepairOutcome],
    database_url: str | None,
    rehearse: bool,
) -> RepairOutcome:
    from tasker_ctl.engine.views import resolve_task

    with existing_store(database_url) as store:
        key = resolve_task(store, task)
        return rehearsed(store, lambda: act(store, key), rehearse)


# -- dlq resolve ---------------------------------------------------------------------------


def resolve_dlq_entry(
    entry: str,
    *,
    status: str,
    notes: str,
    by: str | None = None,
    database_url: str | None = None,
    rehearse: bool = False,
) -> DlqEntry:
    """``dlq resolve``: record what became of a pending entry's task (once)."""
    from tasker_ctl.engine.operator import parse_entry_uuid
    from tasker_ctl.engine.operator import resolve_dlq_entry as resolve

    key = parse_entry_uuid(entry)
    storable_texts(notes=notes, by=by)
    with existing_store(database_url) as store:
        return rehearsed(
            store,
            lambda: resolve(store, key, status=status, notes=notes, resolved_by=by),
            rehearse,
        )


def dlq_fingerprint(entry: str, *, database_url: str | None = None) -> tuple[str, dict[str, Any]]:
    from tasker_ctl.engine.operator import dlq_entry, parse_entry_uuid

    with existing_store(database_url) as store:
        found = dlq_entry(store, parse_entry_uuid(entry))
    current = {
        "dlq_entry": str(found.dlq_entry_uuid),
        "task": str(found.task_uuid),
        "task_state": found.task_state,
        "resolution_status": found.resolution_status,
        "resolved_by": found.resolved_by,
        "reason": found.reason,
    }
    return json.dumps([current, str(found.updated_at)], sort_keys=True), current


def preview_dlq_resolution(resolved: DlqEntry, current: dict[str, Any]) -> WritePreview:
    return WritePreview(
        action="resolve_dlq_entry",
        target=PreviewTarget(task=resolved.task_uuid, dlq_entry=resolved.dlq_entry_uuid),
        summary=f"records DLQ entry {resolved.dlq_entry_uuid} as {resolved.resolution_status} "
        f"by {resolved.resolved_by}; task {resolved.task_uuid} stays {resolved.task_state}",
        changes=[
            PreviewChange(
                subject="dlq entry",
                before=str(current.get("resolution_status")),
                after=str(resolved.resolution_status),
            )
        ],
        current=current,
    )
