"""The worker's telemetry: what an attempt and a finished task tell ``tasker_ctl.telemetry``.

Workers call into this module only when telemetry is on. An attempt's span starts before its
handler runs and ends once its outcome is recorded. A task's own span is emitted by
``tasker_ctl.engine.views.finished_tasks``.
"""

from __future__ import annotations

import logging
from typing import Any

from tasker_ctl.engine.store.connection import Store
from tasker_ctl.engine.views.finished_tasks import report_if_finished
from tasker_ctl.engine.worker.attempt import Attempt, Outcome
from tasker_ctl.engine.worker.claimed_step import ClaimedStep
from tasker_ctl.errors import DatabaseError
from tasker_ctl.telemetry import (
    AttemptInfo,
    AttemptResult,
    AttemptSpan,
    Telemetry,
)

logger = logging.getLogger("tasker_ctl.engine.worker")


def attempt_info(step: ClaimedStep, handler: str | None, worker_id: str) -> AttemptInfo:
    """The span's view of a claimed attempt."""
    task, provenance = step.task, step.provenance
    return AttemptInfo(
        task_uuid=str(step.task_uuid),
        namespace=task.namespace,
        task_name=task.name,
        task_version=task.version,
        step_name=step.name,
        step_uuid=str(step.step_uuid),
        attempt=step.attempt,
        max_attempts=step.max_attempts,
        handler=handler,
        worker_id=worker_id,
        trace_id=step.trace_id,
        task_span_id=step.span_id,
        created_by=provenance.created_by,
        handler_type=provenance.handler_type,
        planning_step_uuid=_text(provenance.planning_step_uuid),
        fragment_id=provenance.fragment_id,
        planning_phase=provenance.planning_phase,
        composition_source=provenance.composition_source,
    )


def info_of(attempt: Attempt, worker_id: str) -> AttemptInfo:
    return attempt_info(attempt.step, attempt.definition.handler.callable, worker_id)


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


def end_span(
    store: Store,
    telemetry: Telemetry,
    span: AttemptSpan,
    result: AttemptResult,
    step: ClaimedStep,
    *,
    may_finish: bool,
) -> None:
    """End the span of an attempt of ``step``; then, when its recorded outcome may have
    finished the task, emit the task's span if it did."""
    span.end(result)
    if not (may_finish and result.recorded):
        return
    try:
        report_if_finished(store, telemetry, step.step_uuid, step.attempt)
    except DatabaseError as error:  # telemetry never stops the work
        logger.warning("cannot tell whether task %s finished: %s", step.task_uuid, error)
