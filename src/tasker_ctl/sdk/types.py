"""The data a handler receives (``StepContext``) and returns (``StepHandlerResult``).

Mirrors ``tasker_core.types``: same class names, fields, defaults and accessors, so a handler
module written for Tasker Core's Python worker reads its context and builds its results the
same way here. Batch-processing types are re-exported from here as well.
"""

from __future__ import annotations

from enum import Enum
from typing import Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from tasker_ctl.sdk._batch_types import (
    BatchAggregationResult,
    BatchAnalyzerOutcome,
    BatchMetadata,
    BatchWorkerContext,
    BatchWorkerOutcome,
    CreateBatchesOutcome,
    CursorConfig,
    FailureStrategy,
    NoBatchesOutcome,
    RustBatchWorkerInputs,
    RustCursorConfig,
    aggregate_batch_results,
    create_batches,
    no_batches,
    summarize_worker_results,
)
from tasker_ctl.sdk.models import TaskSequenceStepWrapper, unwrap_result

__all__ = [
    "BatchAggregationResult",
    "BatchAnalyzerOutcome",
    "BatchMetadata",
    "BatchWorkerContext",
    "BatchWorkerOutcome",
    "CreateBatchesOutcome",
    "CursorConfig",
    "DecisionPointOutcome",
    "DecisionType",
    "ErrorType",
    "FailureStrategy",
    "FfiStepEvent",
    "NoBatchesOutcome",
    "RustBatchWorkerInputs",
    "RustCursorConfig",
    "StepContext",
    "StepHandlerResult",
    "aggregate_batch_results",
    "create_batches",
    "no_batches",
    "summarize_worker_results",
]


# The str mixin (rather than StrEnum) keeps str(member) and repr identical to tasker_core.
class ErrorType(str, Enum):  # noqa: UP042
    """Standard ``error_type`` values; any other string is allowed too."""

    PERMANENT_ERROR = "permanent_error"
    RETRYABLE_ERROR = "retryable_error"
    VALIDATION_ERROR = "validation_error"
    TIMEOUT = "timeout"
    HANDLER_ERROR = "handler_error"

    @classmethod
    def is_standard(cls, error_type: str) -> bool:
        """Whether ``error_type`` is one of the values above."""
        return error_type in {member.value for member in cls}

    @classmethod
    def is_typically_retryable(cls, error_type: str) -> bool:
        """Whether errors of this type are usually worth retrying."""
        return error_type in {cls.RETRYABLE_ERROR.value, cls.TIMEOUT.value}


class FfiStepEvent(BaseModel):
    """One dispatch of a step: identifiers plus the full ``task_sequence_step`` payload."""

    model_config = ConfigDict(frozen=True)

    event_id: str
    task_uuid: str
    step_uuid: str
    correlation_id: str
    task_sequence_step: dict[str, Any]
    task_correlation_id: str | None = None
    parent_correlation_id: str | None = None
    trace_id: str | None = None
    span_id: str | None = None


def _dict_at(data: Any, key: str) -> dict[str, Any]:
    """``data[key]`` when both are dicts, else an empty dict (JSON nulls included)."""
    value = data.get(key) if isinstance(data, dict) else None
    return value if isinstance(value, dict) else {}


class StepContext(BaseModel):
    """Everything a handler may read about the step it executes."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    event: FfiStepEvent
    task_uuid: UUID
    step_uuid: UUID
    correlation_id: UUID
    handler_name: str
    input_data: dict[str, Any] = Field(default_factory=dict)
    dependency_results: dict[str, Any] = Field(default_factory=dict)
    step_config: dict[str, Any] = Field(default_factory=dict)
    step_inputs: dict[str, Any] = Field(default_factory=dict)
    retry_count: int = 0
    max_retries: int = 3

    @classmethod
    def from_ffi_event(cls, event: FfiStepEvent, handler_name: str) -> StepContext:
        """Build the context from a dispatch payload.

        ``input_data`` is the task context, ``step_config`` the template step's handler
        ``initialization``, ``step_inputs`` the step row's ``inputs``, ``retry_count`` the
        attempts made before this one and ``max_retries`` the total attempts allowed.
        """
        tss = event.task_sequence_step
        task = _dict_at(tss, "task")
        inner_task = _dict_at(task, "task") or task
        workflow_step = _dict_at(tss, "workflow_step")
        handler = _dict_at(_dict_at(tss, "step_definition"), "handler")
        return cls(
            event=event,
            task_uuid=UUID(event.task_uuid),
            step_uuid=UUID(event.step_uuid),
            correlation_id=UUID(event.correlation_id),
            handler_name=handler_name,
            input_data=_dict_at(inner_task, "context"),
            dependency_results=_dict_at(tss, "dependency_results"),
            step_config=_dict_at(handler, "initialization"),
            step_inputs=_dict_at(workflow_step, "inputs"),
            retry_count=workflow_step.get("attempts") or 0,
            max_retries=workflow_step.get("max_attempts") or 3,
        )

    @property
    def idempotency_key(self) -> str:
        """A key that is the same for every attempt of this step (a tasker-ctl addition).

        Handlers with side effects pass it to the systems they call so that a retried attempt,
        or one re-run after a worker died, does not act twice.
        """
        workflow_step = _dict_at(self.event.task_sequence_step, "workflow_step")
        key = workflow_step.get("idempotency_key")
        return str(key) if key else str(self.step_uuid)

    def get_input(self, key: str) -> Any:
        """A task-context value, or None."""
        return self.input_data.get(key)

    def get_input_or(self, key: str, default: Any = None) -> Any:
        """A task-context value, or ``default`` when it is missing or null."""
        value = self.input_data.get(key)
        return default if value is None else value

    def get_config(self, key: str) -> Any:
        """A value of the step's handler initialization, or None."""
        return self.step_config.get(key)

    def get_dependency_result(self, step_name: str) -> Any:
        """What the handler of ancestor ``step_name`` returned (unwrapped), or None."""
        return unwrap_result(self.dependency_results.get(step_name))

    def get_dependency_field(self, step_name: str, *path: str) -> Any:
        """A nested key of an ancestor's result; None as soon as a key or dict is missing."""
        value = self.get_dependency_result(step_name)
        for key in path:
            if not isinstance(value, dict):
                return None
            value = value.get(key)
        return value

    def get_dependency_result_keys(self) -> list[str]:
        """Names of all completed ancestors."""
        return list(self.dependency_results)

    def get_all_dependency_results(self, prefix: str) -> list[Any]:
        """Unwrapped results of ancestors whose name starts with ``prefix``, nulls skipped."""
        results: list[Any] = []
        for name in self.dependency_results:
            if name.startswith(prefix):
                value = self.get_dependency_result(name)
                if value is not None:
                    results.append(value)
        return results

    def is_retry(self) -> bool:
        """Whether an earlier attempt of this step failed."""
        return self.retry_count > 0

    def is_last_retry(self) -> bool:
        """Whether this is the last attempt the step is allowed."""
        return self.retry_count >= self.max_retries - 1

    @property
    def checkpoint(self) -> dict[str, Any] | None:
        """The step's checkpoint (left by a ``checkpoint_yield``), or None."""
        workflow_step = _dict_at(self.event.task_sequence_step, "workflow_step")
        value = workflow_step.get("checkpoint")
        return value if isinstance(value, dict) else None

    @property
    def checkpoint_cursor(self) -> Any:
        checkpoint = self.checkpoint
        return checkpoint.get("cursor") if checkpoint else None

    @property
    def checkpoint_items_processed(self) -> int:
        checkpoint = self.checkpoint
        return int(checkpoint.get("items_processed", 0) or 0) if checkpoint else 0

    @property
    def accumulated_results(self) -> Any:
        checkpoint = self.checkpoint
        return checkpoint.get("accumulated_results") if checkpoint else None

    def has_checkpoint(self) -> bool:
        return self.checkpoint_cursor is not None

    @property
    def task_sequence_step(self) -> TaskSequenceStepWrapper:
        """Attribute-style view of the raw dispatch payload."""
        return TaskSequenceStepWrapper.from_dict(self.event.task_sequence_step)


class StepHandlerResult(BaseModel):
    """What a handler returns: success with a result dict, or failure with an error.

    The field ``is_success`` is read from and written as ``success`` (``by_alias=True``).
    ``error_code`` is kept on the result and, when set, also copied into
    ``metadata["error_code"]`` (unless the metadata already has one): Tasker Core drops the
    field when it submits a result and only the metadata key reaches storage, so the copy
    makes the code survive either way.
    """

    model_config = ConfigDict(populate_by_name=True)

    is_success: bool = Field(validation_alias="success", serialization_alias="success")
    result: dict[str, Any] | None = None
    error_message: str | None = None
    error_type: str | None = None
    error_code: str | None = None
    retryable: bool = True
    metadata: dict[str, Any] = Field(default_factory=dict)

    @field_validator("error_type", mode="before")
    @classmethod
    def _enum_to_value(cls, value: Any) -> Any:
        return value.value if isinstance(value, Enum) else value

    @model_validator(mode="after")
    def _copy_error_code(self) -> StepHandlerResult:
        if self.error_code is not None and "error_code" not in self.metadata:
            self.metadata = {**self.metadata, "error_code": self.error_code}
        return self

    @classmethod
    def success(
        cls, result: dict[str, Any], metadata: dict[str, Any] | None = None
    ) -> StepHandlerResult:
        """A successful result."""
        return cls(is_success=True, result=result, metadata=dict(metadata or {}))

    @classmethod
    def failure(
        cls,
        message: str,
        error_type: str | ErrorType = ErrorType.HANDLER_ERROR,
        retryable: bool = True,
        metadata: dict[str, Any] | None = None,
        error_code: str | None = None,
    ) -> StepHandlerResult:
        """A failed result; ``retryable`` decides whether the step may run again."""
        return cls(
            is_success=False,
            error_message=message,
            error_type=error_type.value if isinstance(error_type, ErrorType) else error_type,
            error_code=error_code,
            retryable=retryable,
            metadata=dict(metadata or {}),
        )

    def is_success_result(self) -> bool:
        return self.is_success

    def is_failure_result(self) -> bool:
        return not self.is_success


# Same reasoning as ErrorType: keep the str mixin for parity.
class DecisionType(str, Enum):  # noqa: UP042
    """Whether a decision point creates steps or none."""

    CREATE_STEPS = "create_steps"
    NO_BRANCHES = "no_branches"


class DecisionPointOutcome(BaseModel):
    """A decision: which declared branch steps to create, or why none."""

    decision_type: DecisionType
    next_step_names: list[str] = Field(default_factory=list)
    dynamic_steps: list[dict[str, Any]] | None = None
    reason: str | None = None
    routing_context: dict[str, Any] = Field(default_factory=dict)

    @classmethod
    def create_steps(
        cls,
        step_names: list[str],
        dynamic_steps: list[dict[str, Any]] | None = None,
        routing_context: dict[str, Any] | None = None,
    ) -> DecisionPointOutcome:
        if isinstance(step_names, str):
            # list("a_step") would silently route to one step per character.
            raise TypeError(f"step_names must be a list of step names, got {step_names!r}")
        return cls(
            decision_type=DecisionType.CREATE_STEPS,
            next_step_names=list(step_names),
            dynamic_steps=dynamic_steps,
            routing_context=dict(routing_context or {}),
        )

    @classmethod
    def no_branches(
        cls, reason: str, routing_context: dict[str, Any] | None = None
    ) -> DecisionPointOutcome:
        return cls(
            decision_type=DecisionType.NO_BRANCHES,
            reason=reason,
            routing_context=dict(routing_context or {}),
        )
