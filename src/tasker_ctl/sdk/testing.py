"""Run a handler in a unit test: build a realistic ``StepContext`` and call the handler.

``make_context`` produces the same dispatch payload shape the orchestrator sends (task,
step row, step definition, dependency results wrapped in stored result envelopes) and builds
the context from it exactly as a runner does, so accessors behave as in production.
``run_handler`` calls a class handler, a handler instance or a decorated function, sync or
async, and returns the result a runner would record.
"""

from __future__ import annotations

import asyncio
import hashlib
import inspect
import json
from collections.abc import Awaitable, Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any, TypeVar
from uuid import uuid4

from pydantic import BaseModel
from pydantic_core import to_jsonable_python

from tasker_ctl.sdk.contracts import violations
from tasker_ctl.sdk.errors import failure_for_exception
from tasker_ctl.sdk.registry import as_handler_class, instantiate_handler
from tasker_ctl.sdk.step_handler.base import StepHandler
from tasker_ctl.sdk.types import FfiStepEvent, StepContext, StepHandlerResult

__all__ = [
    "DependencyValue",
    "assert_matches_schema",
    "make_context",
    "result_envelope",
    "run_handler",
    "schema_violations",
]

#: What a test may give as an ancestor's result.
DependencyValue = Mapping[str, Any] | BaseModel | StepHandlerResult | None

T = TypeVar("T")


def _now() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


def _json(value: Any) -> Any:
    """``value`` as it comes back from JSON storage (models by alias, dates as strings)."""
    return json.loads(json.dumps(to_jsonable_python(value, by_alias=True), allow_nan=False))


def _result_dict(value: DependencyValue) -> tuple[dict[str, Any], dict[str, Any]]:
    """The handler result and handler metadata a dependency value stands for."""
    if isinstance(value, StepHandlerResult):
        if not value.is_success:
            raise ValueError("a failed result cannot be a dependency: only completed steps are")
        if value.metadata.get("checkpoint_yield"):
            raise ValueError("a checkpoint yield is never stored as a step result")
        return dict(value.result or {}), dict(value.metadata)
    if value is None:
        return {}, {}
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json", by_alias=True, exclude_unset=True), {}
    return dict(value), {}


def result_envelope(
    result: DependencyValue, *, step_uuid: str | None = None, completed_at: str | None = None
) -> dict[str, Any]:
    """The stored form of a completed step's result, as handlers see it in dependencies.

    Of a ``StepHandlerResult``'s metadata only the keys the store keeps are carried over.
    """
    handler_result, handler_metadata = _result_dict(result)
    metadata: dict[str, Any] = {
        "execution_time_ms": 0,
        "handler_version": None,
        "retryable": False,
        "completed_at": completed_at or _now(),
        "worker_id": None,
        "worker_hostname": None,
        "started_at": None,
        "custom": {},
        "error_code": None,
        "error_type": None,
        "context": {},
    }
    metadata.update({k: v for k, v in handler_metadata.items() if k in metadata})
    return {
        "step_uuid": step_uuid or str(uuid4()),
        "success": True,
        "result": handler_result,
        "metadata": metadata,
        "status": "completed",
        "error": None,
        "orchestration_metadata": None,
    }


def make_context(
    *,
    input_data: Mapping[str, Any] | BaseModel | None = None,
    dependency_results: Mapping[str, DependencyValue] | None = None,
    step_config: Mapping[str, Any] | None = None,
    step_inputs: Mapping[str, Any] | None = None,
    retry_count: int = 0,
    max_retries: int = 3,
    handler_name: str = "test",
    step_name: str = "test_step",
    checkpoint: Mapping[str, Any] | None = None,
) -> StepContext:
    """A context for one dispatch of step ``step_name`` to handler ``handler_name``.

    ``input_data`` is the task context; ``dependency_results`` maps ancestor step names to
    their handler results (dicts, models, or results of ``run_handler``), each stored in a
    result envelope so ``get_dependency_result`` unwraps it. ``step_config`` is the template
    step's handler initialization; ``step_inputs`` the step row's inputs, which for an
    ordinary step hold that same initialization (hence the default). ``retry_count`` is the
    number of earlier attempts, ``max_retries`` the total allowed. ``checkpoint`` is the
    step's checkpoint as a re-dispatch after ``checkpoint_yield`` sees it.
    """
    task_uuid, step_uuid, correlation_id = str(uuid4()), str(uuid4()), str(uuid4())
    now = _now()
    context = _json(input_data or {})
    config = _json(step_config or {})
    dependencies = {
        name: result_envelope(value, completed_at=now)
        for name, value in (dependency_results or {}).items()
    }
    payload = {
        "task": {
            "task": {
                "task_uuid": task_uuid,
                "named_task_uuid": str(uuid4()),
                "context": context,
                "correlation_id": correlation_id,
                "parent_correlation_id": None,
                "priority": 0,
                "tags": [],
                "initiator": "tasker-ctl",
                "source_system": "tasker_ctl.sdk.testing",
                "reason": "handler test",
                "identity_hash": hashlib.sha256(
                    json.dumps(context, sort_keys=True).encode()
                ).hexdigest(),
                "complete": False,
                "requested_at": now,
                "created_at": now,
                "updated_at": now,
            },
            "task_name": "test_task",
            "task_version": "1.0.0",
            "namespace_name": "default",
        },
        "workflow_step": {
            "workflow_step_uuid": step_uuid,
            "task_uuid": task_uuid,
            "named_step_uuid": str(uuid4()),
            "name": step_name,
            "template_step_name": step_name,
            "retryable": True,
            "max_attempts": max_retries,
            "attempts": retry_count,
            "in_process": True,
            "processed": False,
            "processed_at": None,
            "last_attempted_at": None,
            "backoff_request_seconds": None,
            "inputs": config if step_inputs is None else _json(step_inputs),
            "results": None,
            "checkpoint": None if checkpoint is None else _json(checkpoint),
            "created_at": now,
            "updated_at": now,
        },
        "dependency_results": dependencies,
        "step_definition": {
            "name": step_name,
            "description": f"test step {step_name}",
            "handler": {
                "callable": handler_name,
                "method": None,
                "resolver": None,
                "initialization": config,
            },
            "type": "standard",
            "dependencies": list(dependencies),
            "retry": {"retryable": True, "max_attempts": max_retries, "backoff": "exponential"},
            "timeout_seconds": 30,
            "publishes_events": [],
            "batch_config": None,
        },
    }
    event = FfiStepEvent(
        event_id=str(uuid4()),
        task_uuid=task_uuid,
        step_uuid=step_uuid,
        correlation_id=correlation_id,
        task_sequence_step=_json(payload),
    )
    return StepContext.from_ffi_event(event, handler_name)


def run_handler(
    handler: StepHandler | type[StepHandler] | Callable[..., Any],
    context: StepContext,
    *,
    raise_errors: bool = False,
) -> StepHandlerResult:
    """Call ``handler`` with ``context`` and return its result.

    ``handler`` is a ``StepHandler`` subclass (instantiated fresh), an instance, or a
    decorated function (its ``_handler_class`` is used). An ``async def call`` is awaited, in
    a separate thread when an event loop is already running. An exception escaping ``call``
    becomes the failure a runner records (``errors.failure_for_exception``), unless
    ``raise_errors`` is set; decorated functions never let exceptions escape.
    """
    instance = _instance_of(handler)
    try:
        outcome = instance.call(context)
        result = _resolve(outcome) if inspect.isawaitable(outcome) else outcome
    except Exception as exc:
        if raise_errors:
            raise
        return failure_for_exception(exc)
    if not isinstance(result, StepHandlerResult):
        raise TypeError(
            f"{type(instance).__name__}.call returned {type(result).__name__}, "
            "not a StepHandlerResult"
        )
    return result


def _instance_of(handler: StepHandler | type[StepHandler] | Callable[..., Any]) -> StepHandler:
    if isinstance(handler, StepHandler):
        return handler
    cls = as_handler_class(handler)
    if cls is None:
        raise TypeError(
            f"{handler!r} is not a StepHandler subclass, instance or decorated handler function"
        )
    return instantiate_handler(cls)


def _resolve(awaitable: Awaitable[T]) -> T:
    async def wait() -> T:
        return await awaitable

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(wait())
    # asyncio.run cannot nest inside a running loop, so the handler gets its own thread.
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, wait()).result()


def schema_violations(value: Any, schema: Mapping[str, Any] | bool) -> list[str]:
    """Every way ``value`` breaks the JSON Schema ``schema``, as ``$.path: message`` lines."""
    return violations(value, schema)


def assert_matches_schema(value: Any, schema: Mapping[str, Any] | bool) -> None:
    """Fail with every violation listed when ``value`` does not satisfy ``schema``."""
    problems = schema_violations(value, schema)
    if problems:
        raise AssertionError("value does not match its schema:\n  " + "\n  ".join(problems))
