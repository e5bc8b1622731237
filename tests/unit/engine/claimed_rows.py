"""Rows in the claim statements' shape (``claim_attempt``), for tests that run an attempt or
build its dispatch without a database."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from tasker_ctl.engine.worker.claimed_step import ClaimedStep


def claim_row(
    name: str = "only", *, task: dict[str, Any] | None = None, **columns: Any
) -> dict[str, Any]:
    """A claimed attempt 1 of step ``name``; ``task`` and ``columns`` replace the defaults."""
    now = datetime(2026, 1, 1, tzinfo=UTC)
    task_uuid = columns.pop("task_uuid", uuid.uuid4())
    row: dict[str, Any] = {
        "workflow_step_uuid": uuid.uuid4(),
        "task_uuid": task_uuid,
        "named_step_uuid": uuid.uuid4(),
        "name": name,
        "template_step_name": name,
        "namespace_name": "tests",
        "current_state": "in_progress",
        "in_process": True,
        "retryable": True,
        "max_attempts": 3,
        "attempts": 1,
        "lease_owner": "w",
        "lease_expires_at": now + timedelta(seconds=30),
        "claimable_at": now + timedelta(seconds=30),
        "last_attempted_at": now,
        "idempotency_key": "k",
        "inputs": {},
        "results": None,
        "checkpoint": None,
        "created_by": "template",
        "planning_step_uuid": None,
        "fragment_id": None,
        "planning_phase": None,
        "handler_type": "application",
        "composition_source": None,
        "task": {
            "task_uuid": str(task_uuid),
            "task_name": "t",
            "task_version": "1.0.0",
            "namespace_name": "tests",
            "correlation_id": str(uuid.uuid4()),
            "parent_correlation_id": None,
            "context": {},
            **(task or {}),
        },
        "named_task_uuid": uuid.uuid4(),
        "trace_id": None,
        "span_id": None,
        "template_revision": 1,
        "parent_results": {},
        "has_more_ancestors": False,
    }
    row.update(columns)
    return row


def claimed_step(name: str = "only", **columns: Any) -> ClaimedStep:
    return ClaimedStep.from_row(claim_row(name, **columns))
