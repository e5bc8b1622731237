"""Running one claimed attempt: build the handler's context, call it, judge the outcome.

The dispatch payload has the shape Tasker Core's worker hands to Python handlers (task, step
row, template step definition, every completed ancestor's stored result), so handler modules
written for it see what they expect. Outcomes are turned into Tasker Core's stored result
envelope; a success whose result breaks the step's ``result_schema`` is a permanent failure.
"""

from __future__ import annotations

import asyncio
import inspect
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from tasker_ctl.engine.contracts import violations
from tasker_ctl.sdk.errors import failure_for_exception
from tasker_ctl.sdk.registry import HandlerRegistry
from tasker_ctl.sdk.step_handler.base import StepHandler
from tasker_ctl.sdk.types import FfiStepEvent, StepContext, StepHandlerResult
from tasker_ctl.template.model import StepDefinition, TaskTemplate


@dataclass(frozen=True)
class Attempt:
    """What a worker needs to run one claimed attempt."""

    step: dict[str, Any]  # the claimed workflow_steps row
    task: dict[str, Any]  # the task row with task_name, task_version, configuration
    template: TaskTemplate
    ancestors: dict[str, Any]  # step name -> stored result envelope

    @property
    def number(self) -> int:
        return int(self.step["attempts"])

    @property
    def definition(self) -> StepDefinition:
        found = self.template.step(str(self.step["template_step_name"]))
        if found is None:
            raise LookupError(f"template has no step '{self.step['template_step_name']}'")
        return found


@dataclass(frozen=True)
class Outcome:
    success: bool
    envelope: dict[str, Any]  # what is stored in workflow_steps.results
    retryable: bool
    retry_after: float | None
    duration_ms: int


def build_context(attempt: Attempt, handler_name: str) -> StepContext:
    step, task = attempt.step, attempt.task
    definition = attempt.definition
    payload = {
        "task": {
            "task": {
                "task_uuid": str(task["task_uuid"]),
                "named_task_uuid": str(task["named_task_uuid"]),
                "context": task["context"],
                "correlation_id": str(task["correlation_id"]),
                "parent_correlation_id": _text(task.get("parent_correlation_id")),
                "priority": task["priority"],
                "tags": task["tags"],
                "initiator": task.get("initiator"),
                "source_system": task.get("source_system"),
                "reason": task.get("reason"),
                "identity_hash": task["identity_hash"],
                "complete": task["complete"],
                "requested_at": _text(task.get("requested_at")),
            },
            "task_name": task["task_name"],
            "task_version": task["task_version"],
            "namespace_name": task["namespace_name"],
        },
        "workflow_step": {
            "workflow_step_uuid": str(step["workflow_step_uuid"]),
            "task_uuid": str(step["task_uuid"]),
            "named_step_uuid": str(step["named_step_uuid"]),
            "name": step["name"],
            "template_step_name": step["template_step_name"],
            "retryable": step["retryable"],
            "max_attempts": step["max_attempts"],
            # attempts before this one, as Tasker Core's payload is read before its claim
            "attempts": attempt.number - 1,
            "in_process": True,
            "processed": False,
            "inputs": step["inputs"],
            "results": step.get("results"),
            "checkpoint": step.get("checkpoint"),
            "idempotency_key": step["idempotency_key"],
        },
        "dependency_results": attempt.ancestors,
        "step_definition": definition.model_dump(mode="json", by_alias=True),
    }
    event = FfiStepEvent(
        event_id=str(uuid.uuid4()),
        task_uuid=str(step["task_uuid"]),
        step_uuid=str(step["workflow_step_uuid"]),
        correlation_id=str(task["correlation_id"]),
        task_sequence_step=payload,
        parent_correlation_id=_text(task.get("parent_correlation_id")),
    )
    return StepContext.from_ffi_event(event, handler_name)


def execute(attempt: Attempt, registry: HandlerRegistry, worker_id: str) -> Outcome:
    """Run the attempt's handler and return its outcome (never raises for handler problems)."""
    definition = attempt.definition
    started = time.perf_counter()
    handler = registry.resolve(definition.handler.callable)
    if handler is None:
        failure = StepHandlerResult.failure(
            f"Handler not found: {definition.handler.callable}",
            error_type="handler_not_found",
            retryable=False,
        )
        return _outcome(attempt, failure, started, worker_id)
    context = build_context(attempt, handler.name)
    call = _entry_point(handler, definition.handler.method)
    try:
        result = _run(call, context, definition.timeout_seconds)
    except FutureTimeout:
        result = StepHandlerResult.failure(
            f"step '{definition.name}' timed out after {definition.timeout_seconds} s",
            error_type="timeout",
            retryable=True,
        )
    except Exception as exc:  # a class handler's own exception, classified as intended
        result = failure_for_exception(exc)
    if not isinstance(result, StepHandlerResult):
        result = StepHandlerResult.failure(
            f"handler returned {type(result).__name__}, not a StepHandlerResult",
            error_type="invalid_result",
            retryable=False,
        )
    if result.is_success and definition.result_schema is not None:
        problems = violations(result.result or {}, definition.result_schema)
        if problems:
            result = StepHandlerResult.failure(
                f"result of step '{definition.name}' does not match its result_schema: "
                + "; ".join(problems[:5]),
                error_type="result_schema_violation",
                retryable=False,
                error_code="RESULT_SCHEMA_VIOLATION",
                metadata={"violations": problems},
            )
    return _outcome(attempt, result, started, worker_id)


def _entry_point(handler: StepHandler, method: str | None) -> Callable[[StepContext], Any]:
    # Tasker Core ignores `method` at run time; honour it when the handler has it.
    if method and method != "call" and callable(getattr(handler, method, None)):
        return getattr(handler, method)  # type: ignore[no-any-return]
    return handler.call


def _run(call: Callable[[StepContext], Any], context: StepContext, timeout: int | None) -> Any:
    def invoke() -> Any:
        value = call(context)
        return asyncio.run(value) if inspect.isawaitable(value) else value  # type: ignore[arg-type]

    if timeout is None:
        return invoke()
    # The thread cannot be killed: on timeout the attempt fails and the thread is abandoned.
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="tasker-step")
    try:
        return pool.submit(invoke).result(timeout=timeout)
    finally:
        pool.shutdown(wait=False, cancel_futures=True)


def _outcome(attempt: Attempt, result: StepHandlerResult, started: float, worker: str) -> Outcome:
    duration_ms = int((time.perf_counter() - started) * 1000)
    metadata = dict(result.metadata)
    retry_after = metadata.get("retry_after")
    stored_metadata = {
        "execution_time_ms": duration_ms,
        "handler_version": None,
        "retryable": bool(result.retryable) if not result.is_success else False,
        "completed_at": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
        "worker_id": worker,
        "attempt": attempt.number,
        "error_code": result.error_code or metadata.get("error_code"),
        "error_type": None if result.is_success else result.error_type,
        "custom": {k: v for k, v in metadata.items() if k not in ("error_code",)},
    }
    envelope: dict[str, Any] = {
        "step_uuid": str(attempt.step["workflow_step_uuid"]),
        "success": result.is_success,
        "result": (result.result or {}) if result.is_success else None,
        "metadata": stored_metadata,
        "status": "completed"
        if result.is_success
        else ("retryable_error" if result.retryable else "permanent_error"),
        "error": None
        if result.is_success
        else {
            "message": result.error_message or "Unknown error",
            "error_type": result.error_type or "unknown",
            "retryable": result.retryable,
            "metadata": metadata,
        },
    }
    return Outcome(
        success=result.is_success,
        envelope=envelope,
        retryable=bool(result.retryable) and not result.is_success,
        retry_after=float(retry_after) if isinstance(retry_after, int | float) else None,
        duration_ms=duration_ms,
    )


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)
