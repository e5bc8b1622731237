"""Data types of batch processing: cursor ranges, worker inputs, outcomes, aggregation.

Import them from ``tasker_ctl.sdk.types`` (which re-exports every name here, as
``tasker_core.types`` defines them); they live apart only to keep modules small.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import Enum
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, Field

if TYPE_CHECKING:
    from tasker_ctl.sdk.types import StepContext

__all__ = [
    "BatchAggregationResult",
    "BatchAnalyzerOutcome",
    "BatchMetadata",
    "BatchWorkerContext",
    "BatchWorkerOutcome",
    "CreateBatchesOutcome",
    "CursorConfig",
    "FailureStrategy",
    "NoBatchesOutcome",
    "RustBatchWorkerInputs",
    "RustCursorConfig",
    "aggregate_batch_results",
    "create_batches",
    "no_batches",
    "summarize_worker_results",
]


class CursorConfig(BaseModel):
    """One batch's half-open range ``[start_cursor, end_cursor)`` as an analyzer plans it."""

    start_cursor: int
    end_cursor: int
    step_size: int = 1
    metadata: dict[str, Any] = Field(default_factory=dict)


class BatchAnalyzerOutcome(BaseModel):
    """What a batch analyzer decided: the ranges to hand to workers, and shared metadata."""

    cursor_configs: list[CursorConfig] = Field(default_factory=list)
    total_items: int | None = None
    batch_metadata: dict[str, Any] = Field(default_factory=dict)

    @classmethod
    def from_ranges(
        cls,
        ranges: list[tuple[int, int]],
        step_size: int = 1,
        total_items: int | None = None,
        batch_metadata: dict[str, Any] | None = None,
    ) -> BatchAnalyzerOutcome:
        """An outcome with one cursor config per ``(start, end)`` pair."""
        return cls(
            cursor_configs=[
                CursorConfig(start_cursor=start, end_cursor=end, step_size=step_size)
                for start, end in ranges
            ],
            total_items=total_items,
            batch_metadata=dict(batch_metadata or {}),
        )


class BatchWorkerOutcome(BaseModel):
    """A batch worker's counts and per-item details, before they become a result."""

    items_processed: int = 0
    items_succeeded: int = 0
    items_failed: int = 0
    items_skipped: int = 0
    results: list[dict[str, Any]] = Field(default_factory=list)
    errors: list[dict[str, Any]] = Field(default_factory=list)
    last_cursor: int | None = None
    batch_metadata: dict[str, Any] = Field(default_factory=dict)


class BatchWorkerContext(BaseModel):
    """The range a batch worker must process, plus the checkpoint of an earlier yield."""

    batch_id: str
    cursor_config: CursorConfig
    batch_index: int = 0
    total_batches: int = 1
    batch_metadata: dict[str, Any] = Field(default_factory=dict)
    checkpoint: dict[str, Any] = Field(default_factory=dict)

    @property
    def start_cursor(self) -> int:
        return self.cursor_config.start_cursor

    @property
    def end_cursor(self) -> int:
        return self.cursor_config.end_cursor

    @property
    def step_size(self) -> int:
        return self.cursor_config.step_size

    @property
    def checkpoint_cursor(self) -> Any:
        """Where the previous yield stopped, or None on a fresh start."""
        return self.checkpoint.get("cursor")

    @property
    def accumulated_results(self) -> dict[str, Any] | None:
        value = self.checkpoint.get("accumulated_results")
        return value if isinstance(value, dict) else None

    @property
    def checkpoint_items_processed(self) -> int:
        return int(self.checkpoint.get("items_processed", 0) or 0)

    def has_checkpoint(self) -> bool:
        return self.checkpoint.get("cursor") is not None

    @classmethod
    def from_step_context(cls, step_context: StepContext) -> BatchWorkerContext | None:
        """The batch context of a worker step, or None if the step is not a batch worker.

        Reads ``step_inputs.cursor`` (what the orchestrator writes for workers); failing that,
        a legacy ``batch_context`` entry of ``step_config`` or ``input_data``.
        """
        checkpoint = step_context.checkpoint or {}
        cursor = step_context.step_inputs.get("cursor")
        if isinstance(cursor, dict):
            batch_metadata = step_context.step_inputs.get("batch_metadata")
            return cls(
                batch_id=str(cursor.get("batch_id", "")),
                cursor_config=CursorConfig(
                    start_cursor=cursor.get("start_cursor", 0),
                    end_cursor=cursor.get("end_cursor", 0),
                    step_size=cursor.get("step_size", cursor.get("batch_size", 1)),
                    metadata=cursor.get("metadata") or {},
                ),
                batch_metadata=batch_metadata if isinstance(batch_metadata, dict) else {},
                checkpoint=checkpoint,
            )
        legacy = step_context.step_config.get("batch_context")
        if legacy is None:
            legacy = step_context.input_data.get("batch_context")
        if not isinstance(legacy, dict):
            return None
        legacy_cursor = legacy.get("cursor_config") or {}
        return cls(
            batch_id=str(legacy.get("batch_id", "")),
            cursor_config=CursorConfig(
                start_cursor=legacy_cursor.get("start_cursor", 0),
                end_cursor=legacy_cursor.get("end_cursor", 0),
                step_size=legacy_cursor.get("step_size", 1),
                metadata=legacy_cursor.get("metadata") or {},
            ),
            batch_index=legacy.get("batch_index", 0),
            total_batches=legacy.get("total_batches", 1),
            batch_metadata=legacy.get("batch_metadata") or {},
            checkpoint=checkpoint,
        )


class FailureStrategy(str, Enum):  # noqa: UP042 - str mixin kept for tasker_core parity
    """How a batch worker treats failing items (from the template's batch config)."""

    CONTINUE_ON_FAILURE = "continue_on_failure"
    FAIL_FAST = "fail_fast"
    ISOLATE = "isolate"


class RustCursorConfig(BaseModel):
    """A worker's cursor as the orchestrator stores it: cursors may be ints, strings or maps."""

    batch_id: str
    start_cursor: Any
    end_cursor: Any
    batch_size: int


class BatchMetadata(BaseModel):
    """The batch settings a worker receives from the template."""

    cursor_field: str
    failure_strategy: FailureStrategy


class RustBatchWorkerInputs(BaseModel):
    """The ``workflow_step.inputs`` of a batch worker (extra initialization keys ignored)."""

    cursor: RustCursorConfig
    batch_metadata: BatchMetadata
    is_no_op: bool


class NoBatchesOutcome(BaseModel):
    """``{"type": "no_batches"}``: the analyzer found nothing to fan out."""

    type: str = "no_batches"


class CreateBatchesOutcome(BaseModel):
    """``{"type": "create_batches", ...}``: one worker per cursor config."""

    type: str = "create_batches"
    worker_template_name: str
    worker_count: int
    cursor_configs: list[RustCursorConfig]
    total_items: int


def no_batches() -> NoBatchesOutcome:
    return NoBatchesOutcome()


def create_batches(
    worker_template_name: str,
    worker_count: int,
    cursor_configs: list[RustCursorConfig],
    total_items: int,
) -> CreateBatchesOutcome:
    """A create-batches outcome; ``worker_count`` must equal the number of cursor configs."""
    if len(cursor_configs) != worker_count:
        raise ValueError(
            f"worker_count is {worker_count} but {len(cursor_configs)} cursor configs were given"
        )
    return CreateBatchesOutcome(
        worker_template_name=worker_template_name,
        worker_count=worker_count,
        cursor_configs=cursor_configs,
        total_items=total_items,
    )


class BatchAggregationResult(BaseModel):
    """Totals over the results of a set of batch workers."""

    total_processed: int
    total_succeeded: int
    total_failed: int
    total_skipped: int
    batch_count: int
    success_rate: float
    errors: list[dict[str, Any]] = Field(default_factory=list)
    error_count: int


def aggregate_batch_results(
    worker_results: list[dict[str, Any] | None],
    max_errors: int = 100,
) -> BatchAggregationResult:
    """Sum worker counts; None entries (workers without a result) are skipped, not counted.

    ``errors`` keeps at most ``max_errors`` entries; ``error_count`` counts all of them.
    """
    present = [result for result in worker_results if result is not None]
    return BatchAggregationResult.model_validate(summarize_worker_results(present, max_errors))


def summarize_worker_results(
    worker_results: Sequence[dict[str, Any] | None], max_errors: int = 100
) -> dict[str, Any]:
    """Totals over worker results as a plain dict; ``batch_count`` is the list's length.

    Kept free of validation so that results with unusual ``errors`` entries (strings, say)
    aggregate as they do in Tasker Core.
    """
    keys = ("items_processed", "items_succeeded", "items_failed", "items_skipped")
    totals = dict.fromkeys(keys, 0)
    errors: list[Any] = []
    for result in worker_results:
        if result is None:
            continue
        for key in keys:
            totals[key] += result.get(key, 0) or 0
        found = result.get("errors")
        if isinstance(found, list):
            errors.extend(found)
    processed, succeeded = totals["items_processed"], totals["items_succeeded"]
    return {
        "total_processed": processed,
        "total_succeeded": succeeded,
        "total_failed": totals["items_failed"],
        "total_skipped": totals["items_skipped"],
        "batch_count": len(worker_results),
        "success_rate": succeeded / processed if processed > 0 else 0.0,
        "errors": errors[:max_errors],
        "error_count": len(errors),
    }
