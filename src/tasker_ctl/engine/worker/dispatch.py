"""The dispatch payload of one attempt, and the handler's ``StepContext`` built from it.

The payload has the shape Tasker Core's worker hands to Python handlers: the task, the step
row, the template step definition and every completed ancestor's stored result. It is plain
data (it crosses a pipe when the handler runs in a process of its own), and both ways of
running a handler build their context from it here, so a handler sees the same thing
wherever it runs.
"""

from __future__ import annotations

import json
import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from tasker_ctl.sdk.step_handler.base import StepHandler
from tasker_ctl.sdk.types import FfiStepEvent, StepContext

if TYPE_CHECKING:  # a handler process imports this module without the engine's graph
    from tasker_ctl.engine.worker.claimed_step import ClaimedStep

_TASK_FIELDS = (
    "task_uuid",
    "named_task_uuid",
    "context",
    "correlation_id",
    "parent_correlation_id",
    "priority",
    "tags",
    "initiator",
    "source_system",
    "reason",
    "identity_hash",
    "complete",
    "requested_at",
)


@dataclass(frozen=True)
class Dispatch:
    """One attempt's event, without the ancestors' results (handed over separately: in a
    thread they are read lazily, in a handler process they are sent in full)."""

    event_id: str
    task_uuid: str
    step_uuid: str
    correlation_id: str
    parent_correlation_id: str | None
    task_sequence_step: dict[str, Any]


def dispatch_of(step: ClaimedStep, definition_json: str) -> Dispatch:
    """The dispatch of the claimed ``step``; ``definition_json`` is the template step
    definition as JSON (decoded afresh: handlers may mutate the payload)."""
    task = step.task
    payload = {
        "task": {
            # the task's own fields as the database wrote them, passed through
            "task": {key: task.payload.get(key) for key in _TASK_FIELDS},
            "task_name": task.name,
            "task_version": task.version,
            "namespace_name": task.namespace,
        },
        "workflow_step": {
            "workflow_step_uuid": str(step.step_uuid),
            "task_uuid": str(step.task_uuid),
            "named_step_uuid": str(step.named_step_uuid),
            "name": step.name,
            "template_step_name": step.template_step_name,
            "retryable": step.retryable,
            "max_attempts": step.max_attempts,
            # attempts before this one, as Tasker Core's payload is read before its claim
            "attempts": step.attempt - 1,
            "in_process": True,
            "processed": False,
            "inputs": step.inputs,
            "results": step.results,
            "checkpoint": step.checkpoint,
            "idempotency_key": step.idempotency_key,
        },
        # set once the context is built: validating would copy the mapping, reading it all
        "dependency_results": {},
        "step_definition": json.loads(definition_json),
    }
    return Dispatch(
        event_id=_event_id(),
        task_uuid=str(step.task_uuid),
        step_uuid=str(step.step_uuid),
        correlation_id=task.correlation_id,
        parent_correlation_id=task.parent_correlation_id,
        task_sequence_step=payload,
    )


def step_context(
    dispatch: Dispatch, handler_name: str, dependency_results: dict[str, Any]
) -> StepContext:
    """The context a handler named ``handler_name`` is called with."""
    event = FfiStepEvent(
        event_id=dispatch.event_id,
        task_uuid=dispatch.task_uuid,
        step_uuid=dispatch.step_uuid,
        correlation_id=dispatch.correlation_id,
        task_sequence_step=dispatch.task_sequence_step,
        parent_correlation_id=dispatch.parent_correlation_id,
    )
    context = StepContext.from_ffi_event(event, handler_name)
    event.task_sequence_step["dependency_results"] = dependency_results
    context.dependency_results = dependency_results
    return context


def entry_point(handler: StepHandler, method: str | None) -> Callable[[StepContext], Any]:
    """What to call: the template's ``handler.method`` when the handler has it, else ``call``
    (Tasker Core ignores ``method`` at run time)."""
    if method and method != "call" and callable(getattr(handler, method, None)):
        return getattr(handler, method)  # type: ignore[no-any-return]
    return handler.call


def _event_id() -> str:
    # only unique, not secret: random's generator (reseeded in forked children) spares the
    # system call os.urandom makes per uuid4
    return str(uuid.UUID(int=random.getrandbits(128), version=4))
