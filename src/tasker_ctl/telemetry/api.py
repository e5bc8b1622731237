"""What the engine tells telemetry, as plain records, and the interface that receives them.

The engine depends on this module only; ``tasker_ctl.telemetry.otel`` implements
``Telemetry`` with OpenTelemetry and is imported only when telemetry is on. Every field is a
plain value (strings, numbers, datetimes), so that this layer knows nothing of the engine.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol


@dataclass(frozen=True, slots=True)
class AttemptInfo:
    """One step attempt, as the worker that claimed it knows it.

    ``trace_id`` and ``task_span_id`` are the task's trace context (hex; None for a task
    created before tasks carried one): the attempt's span is a child of the task's span.
    The provenance fields are the step's (``workflow_steps``), None when not set.
    """

    task_uuid: str
    namespace: str
    task_name: str
    task_version: str
    step_name: str
    step_uuid: str
    attempt: int
    max_attempts: int
    handler: str | None
    worker_id: str
    trace_id: str | None = None
    task_span_id: str | None = None
    created_by: str | None = None
    handler_type: str | None = None
    planning_step_uuid: str | None = None
    fragment_id: str | None = None
    planning_phase: int | None = None
    composition_source: str | None = None


@dataclass(frozen=True, slots=True)
class AttemptResult:
    """How an attempt ended. ``recorded`` is False when its outcome was refused because
    another worker had taken the step over (its lease had expired)."""

    success: bool
    duration_ms: int
    error_type: str | None = None
    error_message: str | None = None
    retryable: bool = False
    recorded: bool = True


@dataclass(frozen=True, slots=True)
class FinishedTask:
    """A task that has just reached a terminal state (complete, error, cancelled), reported
    once, by the process whose transaction put it there."""

    task_uuid: str
    namespace: str
    task_name: str
    task_version: str
    state: str
    step_count: int
    requested_at: datetime
    finished_at: datetime
    trace_id: str | None = None
    span_id: str | None = None
    correlation_id: str | None = None


class AttemptSpan(Protocol):
    """The telemetry of one running attempt."""

    def activate(self) -> AbstractContextManager[object]:
        """Make the attempt's span the current one while the handler runs, so that spans the
        handler starts (with the global tracer) are its children."""
        ...

    def end(self, result: AttemptResult) -> None:
        """Record the outcome: span attributes and status, metrics. Called once."""
        ...


class Telemetry(Protocol):
    """Where workers send attempts and finished tasks."""

    def start_attempt(self, info: AttemptInfo) -> AttemptSpan: ...

    def task_finished(self, task: FinishedTask) -> None: ...

    def flush(self) -> None:
        """Export what is buffered now (at the end of ``run_template``, say)."""
        ...
