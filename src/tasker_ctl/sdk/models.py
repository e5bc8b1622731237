"""Attribute-style views over the dispatch payload (``StepContext.task_sequence_step``).

The payload is a plain dict; these read-only wrappers give ``tss.task.context``,
``tss.step_definition.handler.callable`` and friends, as ``tasker_core.models`` does.
Missing keys and JSON nulls become empty values, never exceptions.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "DependencyResultsWrapper",
    "HandlerWrapper",
    "StepDefinitionWrapper",
    "TaskSequenceStepWrapper",
    "TaskWrapper",
    "WorkflowStepWrapper",
    "unwrap_result",
]


def unwrap_result(entry: Any) -> Any:
    """The handler result inside a stored result envelope (the entry itself if no envelope)."""
    if isinstance(entry, dict) and "result" in entry:
        return entry["result"]
    return entry


def _mapping(value: Any) -> dict[str, Any]:
    return dict(value) if isinstance(value, Mapping) else {}


@dataclass(frozen=True)
class HandlerWrapper:
    """A step definition's ``handler`` block (``method`` is exposed as ``handler_method``)."""

    callable: str = ""
    initialization: dict[str, Any] = field(default_factory=dict)
    handler_method: str | None = None
    resolver: str | None = None

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> HandlerWrapper:
        raw = _mapping(data)
        return cls(
            callable=str(raw.get("callable") or ""),
            initialization=_mapping(raw.get("initialization")),
            handler_method=raw.get("method"),
            resolver=raw.get("resolver"),
        )


@dataclass(frozen=True)
class StepDefinitionWrapper:
    """The template step being executed."""

    name: str = ""
    description: str = ""
    handler: HandlerWrapper = field(default_factory=HandlerWrapper)
    dependencies: list[str] = field(default_factory=list)
    retry: dict[str, Any] = field(default_factory=dict)
    timeout_seconds: int | None = None
    publishes_events: list[Any] = field(default_factory=list)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> StepDefinitionWrapper:
        raw = _mapping(data)
        return cls(
            name=str(raw.get("name") or ""),
            description=str(raw.get("description") or ""),
            handler=HandlerWrapper.from_dict(raw.get("handler")),
            dependencies=list(raw.get("dependencies") or []),
            retry=_mapping(raw.get("retry")),
            timeout_seconds=raw.get("timeout_seconds"),
            publishes_events=list(raw.get("publishes_events") or []),
        )


@dataclass(frozen=True)
class DependencyResultsWrapper:
    """Results of completed ancestor steps, keyed by step name."""

    results: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> DependencyResultsWrapper:
        return cls(results=_mapping(data))

    def get_result(self, step_name: str) -> Any:
        """The whole stored envelope of ``step_name``."""
        return self.results.get(step_name)

    def get_results(self, step_name: str) -> Any:
        """The handler result of ``step_name`` (the envelope's ``result``)."""
        return unwrap_result(self.results.get(step_name))

    def keys(self) -> list[str]:
        return list(self.results)

    def __getitem__(self, step_name: str) -> Any:
        return self.results.get(step_name)

    def __iter__(self) -> Iterator[str]:
        return iter(self.results)

    def __contains__(self, step_name: object) -> bool:
        return step_name in self.results


@dataclass(frozen=True)
class WorkflowStepWrapper:
    """The step row: identity, attempt counters, inputs and stored results."""

    workflow_step_uuid: str = ""
    task_uuid: str = ""
    name: str = ""
    named_step_uuid: str | None = None
    template_step_name: str | None = None
    retryable: bool = True
    max_attempts: int = 3
    attempts: int = 0
    in_process: bool = False
    processed: bool = False
    inputs: dict[str, Any] = field(default_factory=dict)
    results: dict[str, Any] = field(default_factory=dict)
    checkpoint: dict[str, Any] | None = None

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> WorkflowStepWrapper:
        raw = _mapping(data)
        checkpoint = raw.get("checkpoint")
        return cls(
            workflow_step_uuid=str(raw.get("workflow_step_uuid") or ""),
            task_uuid=str(raw.get("task_uuid") or ""),
            name=str(raw.get("name") or ""),
            named_step_uuid=raw.get("named_step_uuid"),
            template_step_name=raw.get("template_step_name"),
            retryable=bool(raw.get("retryable", True)),
            max_attempts=int(raw.get("max_attempts") or 3),
            attempts=int(raw.get("attempts") or 0),
            in_process=bool(raw.get("in_process", False)),
            processed=bool(raw.get("processed", False)),
            inputs=_mapping(raw.get("inputs")),
            results=_mapping(raw.get("results")),
            checkpoint=dict(checkpoint) if isinstance(checkpoint, Mapping) else None,
        )


@dataclass(frozen=True)
class TaskWrapper:
    """The task; the payload nests the task row under ``task.task``."""

    task_uuid: str = ""
    context: dict[str, Any] = field(default_factory=dict)
    namespace_name: str = ""
    task_name: str = ""
    task_version: str = ""
    correlation_id: str | None = None
    parent_correlation_id: str | None = None

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> TaskWrapper:
        outer = _mapping(data)
        inner = _mapping(outer.get("task")) or outer
        return cls(
            task_uuid=str(inner.get("task_uuid") or ""),
            context=_mapping(inner.get("context")),
            namespace_name=str(outer.get("namespace_name") or inner.get("namespace_name") or ""),
            task_name=str(outer.get("task_name") or inner.get("task_name") or ""),
            task_version=str(outer.get("task_version") or inner.get("task_version") or ""),
            correlation_id=inner.get("correlation_id"),
            parent_correlation_id=inner.get("parent_correlation_id"),
        )


@dataclass(frozen=True)
class TaskSequenceStepWrapper:
    """The whole dispatch payload: task, step row, dependency results, step definition."""

    task: TaskWrapper
    workflow_step: WorkflowStepWrapper
    dependency_results: DependencyResultsWrapper
    step_definition: StepDefinitionWrapper

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> TaskSequenceStepWrapper:
        raw = _mapping(data)
        return cls(
            task=TaskWrapper.from_dict(raw.get("task")),
            workflow_step=WorkflowStepWrapper.from_dict(raw.get("workflow_step")),
            dependency_results=DependencyResultsWrapper.from_dict(raw.get("dependency_results")),
            step_definition=StepDefinitionWrapper.from_dict(raw.get("step_definition")),
        )

    def get_task_field(self, field_name: str) -> Any:
        """A key of the task context."""
        return self.task.context.get(field_name)

    def get_dependency_result(self, step_name: str) -> Any:
        """The unwrapped result of an ancestor step."""
        return self.dependency_results.get_results(step_name)

    def get_results(self, step_name: str) -> Any:
        return self.dependency_results.get_results(step_name)
