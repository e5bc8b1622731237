"""``Batchable``: helpers for batch analyzers, batch workers and their aggregators.

Mirrors ``tasker_core.batch_processing.batchable``. An analyzer (template ``type:
batchable``) returns ``result.batch_processing_outcome``; the orchestrator then creates one
worker per cursor config, named ``<worker_template>_<batch_id>``, and a convergence step that
aggregates them. Metadata dictionaries passed to these helpers are copied, never mutated.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError

from tasker_ctl.sdk.batch_processing.ranges import (
    BatchWorkerConfig,
    create_cursor_ranges,
    divide_among_workers,
    format_batch_id,
)
from tasker_ctl.sdk.batch_processing.scenario import BatchAggregationScenario
from tasker_ctl.sdk.types import (
    BatchAnalyzerOutcome,
    BatchWorkerContext,
    BatchWorkerOutcome,
    CursorConfig,
    RustBatchWorkerInputs,
    RustCursorConfig,
    StepContext,
    StepHandlerResult,
    create_batches,
    no_batches,
    summarize_worker_results,
)

__all__ = [
    "BatchAggregationScenario",
    "BatchWorkerConfig",
    "Batchable",
    "create_cursor_ranges",
]

_MAX_AGGREGATED_ERRORS = 100


class Batchable:
    """Batch-processing helpers, mixed into a handler: ``class X(StepHandler, Batchable)``."""

    # -- analyzer side -------------------------------------------------------------------

    def create_cursor_config(
        self, start: int, end: int, step_size: int = 1, metadata: dict[str, Any] | None = None
    ) -> CursorConfig:
        return CursorConfig(
            start_cursor=start, end_cursor=end, step_size=step_size, metadata=dict(metadata or {})
        )

    def create_cursor_ranges(
        self,
        total_items: int,
        batch_size: int,
        step_size: int = 1,
        max_batches: int | None = None,
    ) -> list[CursorConfig]:
        """See the module-level ``create_cursor_ranges``."""
        return create_cursor_ranges(total_items, batch_size, step_size, max_batches)

    def create_cursor_configs(self, total_items: int, worker_count: int) -> list[BatchWorkerConfig]:
        """Divide ``total_items`` among at most ``worker_count`` workers (ceiling division)."""
        return divide_among_workers(total_items, worker_count)

    def create_batch_outcome(
        self,
        total_items: int,
        batch_size: int,
        step_size: int = 1,
        batch_metadata: dict[str, Any] | None = None,
    ) -> BatchAnalyzerOutcome:
        """An analyzer outcome with ranges of ``batch_size`` items (no ``max_batches``)."""
        return BatchAnalyzerOutcome(
            cursor_configs=create_cursor_ranges(total_items, batch_size, step_size),
            total_items=total_items,
            batch_metadata=dict(batch_metadata or {}),
        )

    def create_batch_outcome_from_ranges(
        self,
        ranges: list[tuple[int, int]],
        step_size: int = 1,
        total_items: int | None = None,
        batch_metadata: dict[str, Any] | None = None,
    ) -> BatchAnalyzerOutcome:
        return BatchAnalyzerOutcome.from_ranges(ranges, step_size, total_items, batch_metadata)

    def batch_analyzer_success(
        self,
        outcome: BatchAnalyzerOutcome | None = None,
        metadata: dict[str, Any] | None = None,
        worker_template_name: str = "batch_worker",
        cursor_configs: list[CursorConfig] | None = None,
        total_items: int | None = None,
        batch_metadata: dict[str, Any] | None = None,
    ) -> StepHandlerResult:
        """The analyzer's result: create one worker per cursor config.

        ``cursor_configs`` (keyword form) wins over ``outcome``. Neither given: no batches
        (reason ``no_cursor_configs_provided``); an empty list: no batches, with the batch
        metadata merged into the result and its ``reason`` (default ``empty_dataset``).
        """
        if cursor_configs is not None:
            configs, total, shared = cursor_configs, total_items or 0, dict(batch_metadata or {})
        elif outcome is not None:
            configs = outcome.cursor_configs
            total, shared = outcome.total_items or 0, dict(outcome.batch_metadata)
        else:
            return self.no_batches_outcome(reason="no_cursor_configs_provided")
        if not configs:
            return self.no_batches_outcome(
                reason=str(shared.get("reason", "empty_dataset")), metadata=shared
            )
        planned = create_batches(
            worker_template_name=worker_template_name,
            worker_count=len(configs),
            cursor_configs=[
                RustCursorConfig(
                    batch_id=format_batch_id(index),
                    start_cursor=config.start_cursor,
                    end_cursor=config.end_cursor,
                    batch_size=config.end_cursor - config.start_cursor,
                )
                for index, config in enumerate(configs)
            ],
            total_items=total,
        )
        result: dict[str, Any] = {
            "batch_processing_outcome": planned.model_dump(mode="json"),
            "worker_count": len(configs),
            "total_items": total,
        }
        if shared:
            result["batch_metadata"] = shared
        return StepHandlerResult.success(result, {**(metadata or {}), "batch_analyzer": True})

    def no_batches_outcome(
        self, reason: str, metadata: dict[str, Any] | None = None
    ) -> StepHandlerResult:
        """The analyzer's result when there is nothing to fan out.

        The keys of ``metadata`` are merged into the *result* (top level, after ``reason``,
        so they may replace it), as Tasker Core does.
        """
        result: dict[str, Any] = {
            "batch_processing_outcome": no_batches().model_dump(mode="json"),
            "reason": reason,
            **(metadata or {}),
        }
        return StepHandlerResult.success(result, {"batch_analyzer": True, "no_batches": True})

    # -- worker side ---------------------------------------------------------------------

    def get_batch_worker_inputs(self, context: StepContext) -> RustBatchWorkerInputs | None:
        """The worker's cursor, batch metadata and no-op flag; None if this is not a worker."""
        if not context.step_inputs:
            return None
        try:
            return RustBatchWorkerInputs.model_validate(context.step_inputs)
        except ValidationError:
            return None

    def handle_no_op_worker(self, context: StepContext) -> StepHandlerResult | None:
        """A success result for the placeholder worker of a no-batches outcome, else None."""
        inputs = self.get_batch_worker_inputs(context)
        if inputs is None or not inputs.is_no_op:
            return None
        return StepHandlerResult.success(
            {
                "batch_id": inputs.cursor.batch_id,
                "no_op": True,
                "processed_count": 0,
                "message": "No batches to process",
                "processed_at": datetime.now(UTC).isoformat(),
            }
        )

    def get_batch_context(self, context: StepContext) -> BatchWorkerContext | None:
        return BatchWorkerContext.from_step_context(context)

    def create_batch_context(
        self,
        cursor_config: CursorConfig,
        batch_index: int,
        total_batches: int,
        batch_metadata: dict[str, Any] | None = None,
        batch_id: str | None = None,
    ) -> BatchWorkerContext:
        """A batch context built by hand (tests, local experiments)."""
        return BatchWorkerContext(
            batch_id=batch_id if batch_id is not None else format_batch_id(batch_index),
            cursor_config=cursor_config,
            batch_index=batch_index,
            total_batches=total_batches,
            batch_metadata=dict(batch_metadata or {}),
        )

    def create_worker_outcome(
        self,
        items_processed: int,
        items_succeeded: int = 0,
        items_failed: int = 0,
        items_skipped: int = 0,
        results: list[dict[str, Any]] | None = None,
        errors: list[dict[str, Any]] | None = None,
        last_cursor: int | None = None,
        batch_metadata: dict[str, Any] | None = None,
    ) -> BatchWorkerOutcome:
        """A worker outcome; ``items_succeeded`` defaults to ``items_processed`` when 0."""
        return BatchWorkerOutcome(
            items_processed=items_processed,
            items_succeeded=items_succeeded or items_processed,
            items_failed=items_failed,
            items_skipped=items_skipped,
            results=list(results or []),
            errors=list(errors or []),
            last_cursor=last_cursor,
            batch_metadata=dict(batch_metadata or {}),
        )

    def batch_worker_success(
        self,
        outcome: BatchWorkerOutcome | None = None,
        metadata: dict[str, Any] | None = None,
        items_processed: int | None = None,
        items_succeeded: int | None = None,
        items_failed: int = 0,
        items_skipped: int = 0,
        results: list[Any] | None = None,
        errors: list[Any] | None = None,
        last_cursor: Any = None,
        batch_metadata: dict[str, Any] | None = None,
    ) -> StepHandlerResult:
        """A worker's result; the keyword form (``items_processed=...``) wins over ``outcome``.

        ``items_succeeded`` defaults to ``items_processed``; ``results`` / ``errors`` appear
        only when non-empty. Neither form given is a programming error: a permanent
        ``invalid_args`` failure.
        """
        if items_processed is not None:
            result = _worker_counts(
                items_processed,
                items_processed if items_succeeded is None else items_succeeded,
                items_failed,
                items_skipped,
                last_cursor,
                batch_metadata or {},
            )
            _add_details(result, results, errors)
        elif outcome is not None:
            result = _outcome_counts(outcome)
            _add_details(result, outcome.results, outcome.errors)
        else:
            return StepHandlerResult.failure(
                message="batch_worker_success needs an outcome or items_processed",
                error_type="invalid_args",
                retryable=False,
            )
        return StepHandlerResult.success(result, {**(metadata or {}), "batch_worker": True})

    def batch_worker_partial_failure(
        self,
        outcome: BatchWorkerOutcome,
        message: str | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> StepHandlerResult:
        """A *successful* worker result that flags failed items (``partial_failure: true``)."""
        result = {**_outcome_counts(outcome), "partial_failure": True}
        if message:
            result["partial_failure_message"] = message
        _add_details(result, outcome.results, outcome.errors)
        return StepHandlerResult.success(
            result, {**(metadata or {}), "batch_worker": True, "had_failures": True}
        )

    def checkpoint_yield(
        self,
        cursor: Any,
        items_processed: int,
        accumulated_results: dict[str, Any] | None = None,
    ) -> StepHandlerResult:
        """Persist progress and be dispatched again at once, instead of completing the step.

        The runner recognises the yield by ``metadata.checkpoint_yield``; the result is never
        stored as the step's result. On the next dispatch ``context.checkpoint_cursor``,
        ``checkpoint_items_processed`` and ``accumulated_results`` return these values.
        """
        result: dict[str, Any] = {
            "type": "checkpoint_yield",
            "cursor": cursor,
            "items_processed": items_processed,
        }
        if accumulated_results is not None:
            result["accumulated_results"] = accumulated_results
        return StepHandlerResult.success(result, {"checkpoint_yield": True, "batch_worker": True})

    # -- aggregator side -----------------------------------------------------------------

    def detect_aggregation_scenario(
        self,
        dependency_results: dict[str, Any],
        batchable_step_name: str,
        batch_worker_prefix: str,
    ) -> BatchAggregationScenario:
        return BatchAggregationScenario.detect(
            dependency_results, batchable_step_name, batch_worker_prefix
        )

    def no_batches_aggregation_result(
        self, zero_metrics: dict[str, Any] | None = None
    ) -> StepHandlerResult:
        """The aggregator's result when no workers ran: ``zero_metrics`` merged last."""
        return StepHandlerResult.success(
            {"worker_count": 0, "scenario": "no_batches", **(zero_metrics or {})}
        )

    def aggregate_batch_worker_results(
        self,
        scenario: BatchAggregationScenario,
        zero_metrics: dict[str, Any] | None = None,
        aggregation_fn: Callable[[dict[str, dict[str, Any]]], dict[str, Any]] | None = None,
    ) -> StepHandlerResult:
        """The aggregator's result for either scenario.

        With batches, ``aggregation_fn`` receives ``{worker step name: result}`` (default:
        the results under ``batch_results``); ``worker_count`` and ``scenario`` are added.
        """
        if scenario.is_no_batches:
            return self.no_batches_aggregation_result(zero_metrics)
        aggregated = (
            aggregation_fn(scenario.batch_results)
            if aggregation_fn is not None
            else {"batch_results": scenario.batch_results}
        )
        return StepHandlerResult.success(
            {**aggregated, "worker_count": scenario.worker_count, "scenario": "with_batches"}
        )

    @staticmethod
    def aggregate_worker_results(worker_results: list[dict[str, Any] | None]) -> dict[str, Any]:
        """Totals over worker results; ``batch_count`` is the length of the list given."""
        return summarize_worker_results(worker_results, max_errors=_MAX_AGGREGATED_ERRORS)


def _worker_counts(
    processed: int,
    succeeded: int,
    failed: int,
    skipped: int,
    last_cursor: Any,
    batch_metadata: dict[str, Any],
) -> dict[str, Any]:
    return {
        "items_processed": processed,
        "items_succeeded": succeeded,
        "items_failed": failed,
        "items_skipped": skipped,
        "last_cursor": last_cursor,
        "batch_metadata": dict(batch_metadata),
    }


def _outcome_counts(outcome: BatchWorkerOutcome) -> dict[str, Any]:
    return _worker_counts(
        outcome.items_processed,
        outcome.items_succeeded,
        outcome.items_failed,
        outcome.items_skipped,
        outcome.last_cursor,
        outcome.batch_metadata,
    )


def _add_details(
    result: dict[str, Any], results: list[Any] | None, errors: list[Any] | None
) -> None:
    # Omitted when empty, as in Tasker Core, so stored results keep the same shape.
    if results:
        result["results"] = list(results)
    if errors:
        result["errors"] = list(errors)
