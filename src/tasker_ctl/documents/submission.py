"""``task submit``: a template's task created for workers to run, or the task an identical
submission (the same template and context, or the same idempotency key) made before, and the
JSON document of ``task submit --json``. The MCP tool ``task_submit`` previews it with
``preview_submission`` and binds its confirm to ``submission_fingerprint``.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tasker_ctl.documents.writes import (
    PreviewChange,
    PreviewTarget,
    WritePreview,
    bounded_object,
    database_exists,
    existing_store,
    storable_texts,
)
from tasker_ctl.errors import PathNotFoundError, UsageError
from tasker_ctl.report.run_json import RunOutput, build_output

if TYPE_CHECKING:
    from tasker_ctl.engine.views import TaskReport

__all__ = [
    "LONGEST_IDEMPOTENCY_KEY",
    "preview_submission",
    "submission_fingerprint",
    "submit_document",
    "submit_task",
]

LONGEST_IDEMPOTENCY_KEY = 255


def submit_document(report: TaskReport) -> RunOutput:
    """``task submit --json``: the task as ``run --json`` prints it."""
    return build_output(report)


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
    storable_texts(environment=environment, reason=reason, by=by)
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
    storable_texts(environment=environment)
    payload = bounded_object(context or {}, "the context")
    loaded = load_checked(template, environment=environment).template
    target = PreviewTarget(template=loaded.identifier)
    if not database_exists(database_url):
        found = None
        steps = [step.name for step in loaded.steps]
    else:
        with existing_store(database_url) as store:
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
