"""What the engine tells telemetry, as plain records, and the interface that receives them.

The engine depends on this module only; ``tasker_ctl.telemetry.otel`` implements
``Telemetry`` with OpenTelemetry and is imported only when telemetry is on. Every field is a
plain value (strings, numbers, datetimes), so that this layer knows nothing of the engine.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
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


@dataclass(frozen=True)
class PlannerCallInfo:
    """One call of a planning step's model, as the worker making it knows it.

    ``trace_id`` and ``span_id`` are the task's trace context (hex; None for a task created
    before tasks carried one): the call's span joins the task's trace. ``attempt`` counts the
    planning step's calls across its retries; ``max_output_tokens`` is what the call asks
    the model for at most.
    """

    task_uuid: str
    step_uuid: str
    step_name: str
    namespace: str
    provider: str
    model: str
    attempt: int
    planning_phase: int
    max_output_tokens: int
    trace_id: str | None
    span_id: str | None


@dataclass(frozen=True)
class PlannerCallResult:
    """How a model call ended. ``accepted`` is None when no fragment was validated (the call
    failed); ``error_type`` names the failure (an exception's class, ``timeout``, ...) and
    is None when the model answered; token counts are None when the provider reported none.
    """

    tokens_in: int | None
    tokens_out: int | None
    response_model: str | None
    accepted: bool | None
    findings: int
    cost_usd: Decimal | None
    error_type: str | None = None


class PlannerCallSpan(Protocol):
    """The telemetry of one model call."""

    def end(self, result: PlannerCallResult) -> None:
        """Record the outcome: span attributes and status, token metrics. Called once."""
        ...


class _NoPlannerCallSpan:
    def end(self, result: PlannerCallResult) -> None:
        return None


NO_PLANNER_CALL_SPAN: PlannerCallSpan = _NoPlannerCallSpan()


def start_planner_call(telemetry: Telemetry | None, info: PlannerCallInfo) -> PlannerCallSpan:
    """The span of one model call, or one that records nothing while telemetry is off."""
    if telemetry is None:
        return NO_PLANNER_CALL_SPAN
    return telemetry.start_planner_call(info)


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

    def start_planner_call(self, info: PlannerCallInfo) -> PlannerCallSpan:
        """A ``chat {model}`` span around one model call of a planning step."""
        ...

    def task_finished(self, task: FinishedTask) -> None: ...

    def flush(self) -> None:
        """Export what is buffered now (at the end of ``run_template``, say)."""
        ...
