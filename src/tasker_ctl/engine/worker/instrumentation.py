"""The worker's telemetry: what an attempt and a finished task tell ``tasker_ctl.telemetry``.

Workers call into this module only when telemetry is on. An attempt's span starts before its
handler runs and ends once its outcome is recorded. A task's own span is emitted by
``tasker_ctl.engine.views.finished_tasks``.
"""

from __future__ import annotations

from typing import Any

from tasker_ctl.engine.worker.executor import Attempt, Outcome
from tasker_ctl.telemetry import (
    AttemptInfo,
    AttemptResult,
)


def attempt_info(
    row: dict[str, Any], task: dict[str, Any], handler: str | None, worker_id: str
) -> AttemptInfo:
    """The span's view of a claimed attempt: ``row`` is the claim (``claim_attempt``)."""
    return AttemptInfo(
        task_uuid=str(row["task_uuid"]),
        namespace=str(task["namespace_name"]),
        task_name=str(task["task_name"]),
        task_version=str(task["task_version"]),
        step_name=str(row["name"]),
        step_uuid=str(row["workflow_step_uuid"]),
        attempt=int(row["attempts"]),
        max_attempts=int(row["max_attempts"]),
        handler=handler,
        worker_id=worker_id,
        trace_id=row.get("trace_id"),
        task_span_id=row.get("span_id"),
        created_by=row.get("created_by"),
        handler_type=row.get("handler_type"),
        planning_step_uuid=_text(row.get("planning_step_uuid")),
        fragment_id=row.get("fragment_id"),
        planning_phase=row.get("planning_phase"),
        composition_source=row.get("composition_source"),
    )


def info_of(attempt: Attempt, worker_id: str) -> AttemptInfo:
    return attempt_info(attempt.step, attempt.task, attempt.definition.handler.callable, worker_id)


def attempt_result(outcome: Outcome | None, *, recorded: bool) -> AttemptResult:
    """``outcome`` None: the attempt was taken over before it had one (a refused checkpoint)."""
    if outcome is None:
        return AttemptResult(
            success=False, duration_ms=0, error_type="attempt_taken_over", recorded=False
        )
    error = outcome.envelope.get("error") or {}
    return AttemptResult(
        success=outcome.success,
        duration_ms=outcome.duration_ms,
        error_type=None if outcome.success else str(error.get("error_type") or "unknown"),
        error_message=None if outcome.success else str(error.get("message") or "failed"),
        retryable=outcome.retryable,
        recorded=recorded,
    )


def _text(value: Any) -> str | None:
    return None if value is None else str(value)
