"""Finished tasks told to ``tasker_ctl.telemetry``: a task's own span and metrics.

A task's span is emitted by whoever moved it to a terminal state. For a worker that is the one
whose recorded outcome finished it: after a success that handed the worker no further step of
the same task, or after a failure, the worker asks the database whether its transaction was
the one that moved the task to a terminal state (see ``fetch_task_finished_by_attempt``). An
operator's repair and the staleness sweep report the task they finished themselves.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tasker_ctl.telemetry import FinishedTask, Telemetry, current_telemetry

if TYPE_CHECKING:
    from tasker_ctl.engine.store.connection import Store


def report_if_finished(
    store: Store, telemetry: Telemetry, step_uuid: Any, attempt: int
) -> FinishedTask | None:
    """Report the task to ``telemetry`` when recording this attempt's outcome finished it."""
    row = store.fetch_one("fetch_task_finished_by_attempt", step_uuid=step_uuid, attempt=attempt)
    return _report(telemetry, row)


def report_final_task(store: Store, task_uuid: Any) -> FinishedTask | None:
    """Report a task that an operator or the staleness sweep moved to a terminal state
    (no attempt finished it, so no worker reports it); nothing while telemetry is off."""
    telemetry = current_telemetry()
    if telemetry is None:
        return None
    return _report(telemetry, store.fetch_one("fetch_final_task", task_uuid=task_uuid))


def _report(telemetry: Telemetry, row: dict[str, Any] | None) -> FinishedTask | None:
    if row is None:
        return None
    finished = FinishedTask(
        task_uuid=str(row["task_uuid"]),
        namespace=str(row["namespace_name"]),
        task_name=str(row["task_name"]),
        task_version=str(row["task_version"]),
        state=str(row["state"]),
        step_count=int(row["step_count"]),
        requested_at=row["requested_at"],
        finished_at=row["finished_at"],
        trace_id=row["trace_id"],
        span_id=row["span_id"],
        correlation_id=_text(row["correlation_id"]),
    )
    telemetry.task_finished(finished)
    return finished


def _text(value: Any) -> str | None:
    return None if value is None else str(value)
