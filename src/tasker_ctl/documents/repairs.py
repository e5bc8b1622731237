"""The writes: ``task submit``, the operator's repairs (``task cancel|retry-step|resolve-step|
complete-step|approve|reject``) and ``dlq resolve``, each as the operation the command runs and
the JSON document its ``--json`` prints (the MCP write tools answer the same documents).

Every write can also be rehearsed (``rehearse=True``): the same operation, with the same
checks, runs in a transaction that is then rolled back, so a preview says exactly what the
change would do, or the coded error it would meet, and changes nothing. ``fingerprint`` says
what the target looks like now, so that a change confirmed after someone else changed the
target is refused (``tasker_ctl.mcp.confirmation``).
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Callable, Mapping
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from pydantic import Field

from tasker_ctl.errors import PathNotFoundError, UsageError
from tasker_ctl.report.json_output import StrictOutput, ToolOutput, this_tool
from tasker_ctl.report.operator_json import RepairOutput, build_repair
from tasker_ctl.report.run_json import RunOutput, build_output

if TYPE_CHECKING:
    from tasker_ctl.engine.operator import DlqEntry, RepairOutcome
    from tasker_ctl.engine.store import Store
    from tasker_ctl.engine.views import TaskReport

__all__ = [
    "DlqEntryDocument",
    "DlqEntryOutput",
    "PreviewChange",
    "PreviewTarget",
    "WritePreview",
    "bounded_object",
    "cancel_task",
    "complete_step",
    "decide_gate",
    "dlq_document",
    "dlq_fingerprint",
    "preview_dlq_resolution",
    "preview_repair",
    "preview_submission",
    "repair_document",
    "resolve_dlq_entry",
    "resolve_step",
    "retry_step",
    "submission_fingerprint",
    "submit_document",
    "submit_task",
    "task_fingerprint",
]

T = TypeVar("T")
LONGEST_IDEMPOTENCY_KEY = 255
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


class PreviewTarget(StrictOutput):
    task: uuid.UUID | None = Field(default=None, description="the task changed")
    step: str | None = Field(default=None, description="the step changed")
    dlq_entry: uuid.UUID | None = Field(default=None, description="the DLQ entry resolved")
    template: str | None = Field(default=None, description="the template submitted")


class PreviewChange(StrictOutput):
    subject: str = Field(description="what changes: 'task', \"step 'charge'\", 'dlq entry'")
    before: str | None = Field(description="its state now; null for what does not exist yet")
    after: str = Field(description="its state once the change is made")


class WritePreview(StrictOutput):
    """What a write would do, computed without changing anything."""

    action: str = Field(description="e.g. 'retry_step', 'submit_task', 'resolve_dlq_entry'")
    target: PreviewTarget
    summary: str = Field(description="one sentence")
    changes: list[PreviewChange] = Field(description="each state that would change")
    current: dict[str, Any] = Field(description="the target as it is now")


def submit_document(report: TaskReport) -> RunOutput:
    """``task submit --json``: the task as ``run --json`` prints it."""
    return build_output(report)


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


# -- task submit ---------------------------------------------------------------------------


def submit_task(
    template: Path,
    *,
    context: Mapping[str, Any] | None = None,
    database_url: str | None = None,
    environment: str | None = None,
    new: bool = False,
    parent_correlation_id: uuid.UUID | None = None,
    chain_limits: Mapping[str, int | float | None] | None = None,
    idempotency_key: str | None = None,
    by: str | None = None,
    reason: str | None = None,
) -> TaskReport:
    """Create ``template``'s task without running it; the existing task when an identical
    one (or one of the same ``idempotency_key``) exists. ``by`` and ``reason`` are recorded
    with the task (``by`` defaults to the operator's name when only ``reason`` is given)."""
    from tasker_ctl.engine import submit_template

    _template_file(template)
    _check_idempotency_key(idempotency_key)
    if reason is not None and by is None:
        from tasker_ctl.engine.operator import default_actor

        by = default_actor()
    return submit_template(
        template,
        context=bounded_object(context or {}, "the context"),
        database_url=database_url,
        environment=environment,
        new_task=new,
        parent_correlation_id=parent_correlation_id,
        chain_limits=chain_limits,
        idempotency_key=idempotency_key,
        by=by,
        reason=reason,
    )


def preview_submission(
    template: Path,
    *,
    context: Mapping[str, Any] | None = None,
    database_url: str | None = None,
    environment: str | None = None,
    new: bool = False,
    idempotency_key: str | None = None,
) -> WritePreview:
    """What ``submit_task`` would do: the task it would create, or the one it would return."""
    from tasker_ctl.engine import preview_submission as preview
    from tasker_ctl.template.validator import load_checked

    _template_file(template)
    _check_idempotency_key(idempotency_key)
    payload = bounded_object(context or {}, "the context")
    loaded = load_checked(template, environment=environment).template
    target = PreviewTarget(template=loaded.identifier)
    if not _database_exists(database_url):
        found = None
        steps = [step.name for step in loaded.steps]
    else:
        with _store(database_url) as store:
            planned = preview(store, loaded, payload, new_task=new, idempotency_key=idempotency_key)
        found, steps = planned, planned.steps
    if found is not None and found.existing_task is not None:
        return WritePreview(
            action="submit_task",
            target=target.model_copy(update={"task": found.existing_task}),
            summary=f"task {found.existing_task} of {loaded.identifier} exists already "
            f"({found.existing_state}); submitting returns it and creates nothing",
            changes=[],
            current={"existing_task": str(found.existing_task), "state": found.existing_state},
        )
    return WritePreview(
        action="submit_task",
        target=target,
        summary=f"creates a task of {loaded.identifier} with {len(steps)} initial step(s); "
        "a worker then runs it",
        changes=[PreviewChange(subject="task", before=None, after="steps_in_process")],
        current={"existing_task": None, "initial_steps": steps},
    )


def submission_fingerprint(
    template: Path, *, context: Mapping[str, Any] | None, database_url: str | None, **preview: Any
) -> str:
    """The template file's digest and the task a submission would return (if any)."""
    digest = hashlib.sha256(_template_file(template).read_bytes()).hexdigest()
    found = preview_submission(
        template, context=context, database_url=database_url, **preview
    ).target.task
    return json.dumps([digest, None if found is None else str(found)])


def _template_file(path: Path) -> Path:
    if not path.is_file():
        raise PathNotFoundError(
            f"'{path}' does not exist or is not a file", hint="name a TaskTemplate YAML file"
        )
    return path


def _check_idempotency_key(key: str | None) -> None:
    if key is None:
        return
    if not key.strip() or len(key) > LONGEST_IDEMPOTENCY_KEY or not key.isprintable():
        raise UsageError(
            f"the idempotency key must be 1 to {LONGEST_IDEMPOTENCY_KEY} printable characters",
            hint="use an id of the request, e.g. a UUID or 'order-1234-refund'",
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

    with _store(database_url) as store:
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

    with _store(database_url) as store:
        key = resolve_task(store, task)
        return _run(store, lambda: act(store, key), rehearse)


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
    with _store(database_url) as store:
        return _run(
            store,
            lambda: resolve(store, key, status=status, notes=notes, resolved_by=by),
            rehearse,
        )


def dlq_fingerprint(entry: str, *, database_url: str | None = None) -> tuple[str, dict[str, Any]]:
    from tasker_ctl.engine.operator import dlq_entry, parse_entry_uuid

    with _store(database_url) as store:
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


# -- shared --------------------------------------------------------------------------------


def bounded_object(value: Mapping[str, Any], what: str) -> dict[str, Any]:
    """A JSON object a client gave as a value (not text), held to the limits ``--context``
    and ``--result`` text is held to (depth, numbers, what jsonb stores)."""
    from tasker_ctl.bounded_json import loads
    from tasker_ctl.errors import JsonInputError

    try:
        text = json.dumps(value, ensure_ascii=False, allow_nan=True)
    except (RecursionError, TypeError, ValueError):
        raise JsonInputError(
            "JSON_INVALID", f"{what} is not a JSON object tasker-ctl can store"
        ) from None
    loaded = loads(text)
    if not isinstance(loaded, dict):
        raise JsonInputError("JSON_INVALID", f"{what} must be a JSON object")
    return loaded


class _Rehearsed(Exception):
    """Carries a rehearsed operation's answer out of the transaction it rolls back."""

    def __init__(self, answer: Any) -> None:
        super().__init__("rehearsal")
        self.answer = answer


def _run(store: Store, operation: Callable[[], T], rehearse: bool) -> T:
    """``operation()``; when rehearsing, inside a transaction that is rolled back."""
    if not rehearse:
        return operation()
    try:
        with store.transaction():
            raise _Rehearsed(operation())
    except _Rehearsed as rehearsed:
        answer: T = rehearsed.answer
        return answer


def _store(database_url: str | None) -> Store:
    """The store of a command that reads or changes existing tasks: never creates a
    database (``DATABASE_NOT_FOUND``)."""
    from tasker_ctl.db.settings import require_database
    from tasker_ctl.engine.store import open_store

    require_database(database_url)
    return open_store(database_url)


def _database_exists(database_url: str | None) -> bool:
    from tasker_ctl.db.settings import require_database
    from tasker_ctl.errors import DatabaseNotFoundError

    try:
        require_database(database_url)
    except DatabaseNotFoundError:
        return False
    return True
