"""What ``task submit`` would do, read without writing: the steps a new task would start
with, or the task an identical (or same-key) submission returns instead. A write tool's
preview shows it before anything changes.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from tasker_ctl.engine.graph.submission import (
    QueryRunner,
    check_context,
    check_same_request,
    identity_hash,
    initial_steps,
)
from tasker_ctl.template.model import TaskTemplate


@dataclass(frozen=True)
class SubmissionPreview:
    """What submitting would do, read without writing: the steps a new task starts with,
    or the existing task a submission would return instead."""

    steps: list[str]
    existing_task: uuid.UUID | None
    existing_state: str | None


def preview_submission(
    store: QueryRunner,
    template: TaskTemplate,
    context: Any,
    *,
    new_task: bool = False,
    idempotency_key: str | None = None,
) -> SubmissionPreview:
    """``submit_task``'s checks (context, cycles, a reused key) and its identity lookup,
    writing nothing."""
    check_context(template, context)
    steps = [step.name for step in initial_steps(template)]
    if new_task and idempotency_key is None:
        return SubmissionPreview(steps, None, None)
    digest = identity_hash(template, context, "strict", idempotency_key)
    existing = store.fetch_one("find_task_by_identity", identity_hash=digest)
    if existing is None:
        return SubmissionPreview(steps, None, None)
    if idempotency_key is not None:
        check_same_request(existing, context, idempotency_key)
    return SubmissionPreview(
        steps, uuid.UUID(str(existing["task_uuid"])), str(existing["current_state"])
    )
