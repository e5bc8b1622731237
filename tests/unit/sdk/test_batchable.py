"""Batchable helpers: exact result shapes, cursor ranges, aggregation."""

from __future__ import annotations

from datetime import datetime
from itertools import pairwise
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tasker_ctl.sdk import StepContext, StepHandler, StepHandlerResult
from tasker_ctl.sdk.batch_processing import Batchable, BatchAggregationScenario
from tasker_ctl.sdk.batch_processing.batchable import create_cursor_ranges
from tasker_ctl.sdk.testing import make_context, run_handler
from tasker_ctl.sdk.types import (
    BatchWorkerOutcome,
    CursorConfig,
    FailureStrategy,
    aggregate_batch_results,
)


class Handler(StepHandler, Batchable):
    handler_name = "batch.Handler"

    def call(self, context: StepContext) -> StepHandlerResult:
        return self.success()


H = Handler()

WORKER_INPUTS: dict[str, Any] = {
    "cursor": {"batch_id": "002", "start_cursor": 100, "end_cursor": 200, "batch_size": 100},
    "batch_metadata": {"cursor_field": "id", "failure_strategy": "continue_on_failure"},
    "is_no_op": False,
    "__template_step_name": "process_batch",
    "chunk": 25,
}


class TestCursorRanges:
    def test_exact_ranges(self) -> None:
        ranges = H.create_cursor_ranges(10, 4, step_size=2)
        assert [(r.start_cursor, r.end_cursor, r.step_size) for r in ranges] == [
            (0, 4, 2),
            (4, 8, 2),
            (8, 10, 2),
        ]

    def test_max_batches_grows_the_batch_size(self) -> None:
        ranges = H.create_cursor_ranges(1000, 100, max_batches=3)
        assert [(r.start_cursor, r.end_cursor) for r in ranges] == [
            (0, 334),
            (334, 668),
            (668, 1000),
        ]

    def test_max_batches_not_reached_leaves_batch_size(self) -> None:
        assert len(H.create_cursor_ranges(100, 50, max_batches=5)) == 2

    def test_no_items_no_ranges(self) -> None:
        assert H.create_cursor_ranges(0, 10) == []

    def test_batch_size_must_be_positive(self) -> None:
        with pytest.raises(ValueError, match="batch_size"):
            H.create_cursor_ranges(10, 0)

    @given(
        total=st.integers(min_value=0, max_value=5000),
        batch_size=st.integers(min_value=1, max_value=700),
        max_batches=st.one_of(st.none(), st.integers(min_value=1, max_value=50)),
    )
    def test_ranges_cover_everything_once(
        self, total: int, batch_size: int, max_batches: int | None
    ) -> None:
        ranges = create_cursor_ranges(total, batch_size, max_batches=max_batches)
        covered = [(r.start_cursor, r.end_cursor) for r in ranges]
        if total == 0:
            assert covered == []
            return
        assert covered[0][0] == 0
        assert covered[-1][1] == total
        assert all(start < end for start, end in covered)
        assert all(a[1] == b[0] for a, b in pairwise(covered))
        if max_batches is not None:
            assert len(ranges) <= max_batches
        else:
            assert all(end - start <= batch_size for start, end in covered)

    def test_cursor_configs_for_worker_count(self) -> None:
        configs = H.create_cursor_configs(1000, 3)
        assert [c.to_dict() for c in configs] == [
            {
                "batch_id": "001",
                "cursor_start": 0,
                "cursor_end": 334,
                "row_count": 334,
                "worker_index": 0,
                "total_workers": 3,
            },
            {
                "batch_id": "002",
                "cursor_start": 334,
                "cursor_end": 668,
                "row_count": 334,
                "worker_index": 1,
                "total_workers": 3,
            },
            {
                "batch_id": "003",
                "cursor_start": 668,
                "cursor_end": 1000,
                "row_count": 332,
                "worker_index": 2,
                "total_workers": 3,
            },
        ]
        assert len(H.create_cursor_configs(2, 5)) == 2
        with pytest.raises(ValueError, match="worker_count"):
            H.create_cursor_configs(10, 0)


class TestAnalyzer:
    def test_keyword_form_shape(self) -> None:
        configs = H.create_cursor_ranges(25, 10)
        result = H.batch_analyzer_success(
            cursor_configs=configs,
            total_items=25,
            worker_template_name="process_csv_batch_py",
            batch_metadata={"csv_file_path": "/tmp/x.csv"},
            metadata={"m": 1},
        )
        assert result.is_success
        assert result.result == {
            "batch_processing_outcome": {
                "type": "create_batches",
                "worker_template_name": "process_csv_batch_py",
                "worker_count": 3,
                "cursor_configs": [
                    {"batch_id": "001", "start_cursor": 0, "end_cursor": 10, "batch_size": 10},
                    {"batch_id": "002", "start_cursor": 10, "end_cursor": 20, "batch_size": 10},
                    {"batch_id": "003", "start_cursor": 20, "end_cursor": 25, "batch_size": 5},
                ],
                "total_items": 25,
            },
            "worker_count": 3,
            "total_items": 25,
            "batch_metadata": {"csv_file_path": "/tmp/x.csv"},
        }
        assert result.metadata == {"m": 1, "batch_analyzer": True}

    def test_batch_ids_are_zero_padded(self) -> None:
        result = H.batch_analyzer_success(cursor_configs=H.create_cursor_ranges(12, 1))
        assert result.result is not None
        ids = [c["batch_id"] for c in result.result["batch_processing_outcome"]["cursor_configs"]]
        assert ids == [f"{n:03d}" for n in range(1, 13)]
        assert "batch_metadata" not in result.result
        assert result.result["batch_processing_outcome"]["worker_template_name"] == "batch_worker"

    def test_outcome_form(self) -> None:
        outcome = H.create_batch_outcome(total_items=5, batch_size=5, batch_metadata={"k": 1})
        result = H.batch_analyzer_success(outcome, worker_template_name="w")
        assert result.result is not None
        assert result.result["worker_count"] == 1
        assert result.result["batch_metadata"] == {"k": 1}

    def test_keyword_form_wins_over_outcome(self) -> None:
        outcome = H.create_batch_outcome(total_items=100, batch_size=10)
        result = H.batch_analyzer_success(
            outcome, cursor_configs=[CursorConfig(start_cursor=0, end_cursor=3)], total_items=3
        )
        assert result.result is not None
        assert result.result["worker_count"] == 1

    def test_neither_form_is_no_batches(self) -> None:
        result = H.batch_analyzer_success()
        assert result.result == {
            "batch_processing_outcome": {"type": "no_batches"},
            "reason": "no_cursor_configs_provided",
        }
        assert result.metadata == {"batch_analyzer": True, "no_batches": True}

    def test_empty_configs_merge_batch_metadata_into_result(self) -> None:
        metadata = {"csv_file_path": "/x.csv", "file_exists": False, "reason": "File not found"}
        result = H.batch_analyzer_success(cursor_configs=[], total_items=0, batch_metadata=metadata)
        assert result.result == {
            "batch_processing_outcome": {"type": "no_batches"},
            "reason": "File not found",
            "csv_file_path": "/x.csv",
            "file_exists": False,
        }

    def test_empty_configs_default_reason(self) -> None:
        result = H.batch_analyzer_success(cursor_configs=[], batch_metadata={"a": 1})
        assert result.result == {
            "batch_processing_outcome": {"type": "no_batches"},
            "reason": "empty_dataset",
            "a": 1,
        }

    def test_no_batches_outcome(self) -> None:
        result = H.no_batches_outcome("too small", metadata={"rows": 3})
        assert result.result == {
            "batch_processing_outcome": {"type": "no_batches"},
            "reason": "too small",
            "rows": 3,
        }

    def test_outcome_from_ranges(self) -> None:
        outcome = H.create_batch_outcome_from_ranges([(0, 5), (5, 7)], total_items=7)
        assert [(c.start_cursor, c.end_cursor) for c in outcome.cursor_configs] == [(0, 5), (5, 7)]
        assert outcome.total_items == 7


class TestWorker:
    def test_batch_worker_inputs(self) -> None:
        inputs = H.get_batch_worker_inputs(make_context(step_inputs=WORKER_INPUTS))
        assert inputs is not None
        assert (inputs.cursor.batch_id, inputs.cursor.start_cursor) == ("002", 100)
        assert (inputs.cursor.end_cursor, inputs.cursor.batch_size) == (200, 100)
        assert inputs.batch_metadata.cursor_field == "id"
        assert inputs.batch_metadata.failure_strategy is FailureStrategy.CONTINUE_ON_FAILURE
        assert inputs.is_no_op is False

    def test_batch_worker_inputs_absent_or_invalid(self) -> None:
        assert H.get_batch_worker_inputs(make_context()) is None
        assert H.get_batch_worker_inputs(make_context(step_inputs={"cursor": "bad"})) is None

    def test_no_op_worker(self) -> None:
        assert H.handle_no_op_worker(make_context(step_inputs=WORKER_INPUTS)) is None
        placeholder = {**WORKER_INPUTS, "is_no_op": True, "cursor": {**WORKER_INPUTS["cursor"]}}
        placeholder["cursor"]["batch_id"] = "000"
        result = H.handle_no_op_worker(make_context(step_inputs=placeholder))
        assert result is not None
        assert result.result is not None
        processed_at = result.result.pop("processed_at")
        assert datetime.fromisoformat(processed_at).tzinfo is not None
        assert result.result == {
            "batch_id": "000",
            "no_op": True,
            "processed_count": 0,
            "message": "No batches to process",
        }

    def test_batch_context_from_step_inputs(self) -> None:
        context = make_context(
            step_inputs=WORKER_INPUTS,
            checkpoint={"cursor": 150, "items_processed": 50, "accumulated_results": {"s": 1}},
        )
        batch = H.get_batch_context(context)
        assert batch is not None
        assert (batch.batch_id, batch.start_cursor, batch.end_cursor) == ("002", 100, 200)
        assert batch.step_size == 100
        assert batch.batch_metadata == WORKER_INPUTS["batch_metadata"]
        assert batch.has_checkpoint()
        assert (batch.checkpoint_cursor, batch.checkpoint_items_processed) == (150, 50)
        assert batch.accumulated_results == {"s": 1}

    def test_batch_context_legacy_and_absent(self) -> None:
        legacy = {
            "batch_id": "b1",
            "cursor_config": {"start_cursor": 5, "end_cursor": 9},
            "batch_index": 2,
            "total_batches": 4,
        }
        batch = H.get_batch_context(make_context(step_config={"batch_context": legacy}))
        assert batch is not None
        assert (batch.batch_id, batch.start_cursor, batch.end_cursor) == ("b1", 5, 9)
        assert (batch.batch_index, batch.total_batches, batch.has_checkpoint()) == (2, 4, False)
        assert H.get_batch_context(make_context()) is None

    def test_worker_success_keyword_form(self) -> None:
        result = H.batch_worker_success(
            items_processed=10,
            items_failed=1,
            results=[{"row": 1}],
            last_cursor=200,
            metadata={"batch_id": "002"},
        )
        assert result.result == {
            "items_processed": 10,
            "items_succeeded": 10,
            "items_failed": 1,
            "items_skipped": 0,
            "last_cursor": 200,
            "batch_metadata": {},
            "results": [{"row": 1}],
        }
        assert result.metadata == {"batch_id": "002", "batch_worker": True}

    def test_worker_success_outcome_form(self) -> None:
        outcome = BatchWorkerOutcome(
            items_processed=4, items_succeeded=3, items_failed=1, errors=[{"row": 2}]
        )
        result = H.batch_worker_success(outcome)
        assert result.result == {
            "items_processed": 4,
            "items_succeeded": 3,
            "items_failed": 1,
            "items_skipped": 0,
            "last_cursor": None,
            "batch_metadata": {},
            "errors": [{"row": 2}],
        }

    def test_worker_success_needs_arguments(self) -> None:
        result = H.batch_worker_success()
        assert not result.is_success
        assert (result.error_type, result.retryable) == ("invalid_args", False)

    def test_partial_failure(self) -> None:
        outcome = H.create_worker_outcome(items_processed=5, items_failed=2, errors=[{"e": 1}])
        result = H.batch_worker_partial_failure(outcome, message="2 rows bad")
        assert result.is_success
        assert result.result == {
            "items_processed": 5,
            "items_succeeded": 5,
            "items_failed": 2,
            "items_skipped": 0,
            "last_cursor": None,
            "batch_metadata": {},
            "partial_failure": True,
            "partial_failure_message": "2 rows bad",
            "errors": [{"e": 1}],
        }
        assert result.metadata == {"batch_worker": True, "had_failures": True}

    def test_checkpoint_yield(self) -> None:
        result = H.checkpoint_yield(cursor=50, items_processed=50, accumulated_results={"s": 3})
        assert result.is_success
        assert result.result == {
            "type": "checkpoint_yield",
            "cursor": 50,
            "items_processed": 50,
            "accumulated_results": {"s": 3},
        }
        assert result.metadata == {"checkpoint_yield": True, "batch_worker": True}
        bare = H.checkpoint_yield(cursor="token", items_processed=1)
        assert bare.result == {"type": "checkpoint_yield", "cursor": "token", "items_processed": 1}

    def test_metadata_arguments_are_not_mutated(self) -> None:
        metadata = {"k": 1}
        H.batch_worker_success(items_processed=1, metadata=metadata)
        H.batch_analyzer_success(cursor_configs=H.create_cursor_ranges(2, 1), metadata=metadata)
        assert metadata == {"k": 1}


class TestAggregation:
    def test_with_batches(self) -> None:
        context = make_context(
            dependency_results={
                "analyze": {"batch_processing_outcome": {"type": "create_batches"}},
                "work_001": {"items_processed": 3},
                "work_002": {"items_processed": 4},
            }
        )
        scenario = H.detect_aggregation_scenario(context.dependency_results, "analyze", "work_")
        assert not scenario.is_no_batches
        assert not scenario.no_batches()
        assert scenario.worker_count == 2
        assert scenario.batch_results == {
            "work_001": {"items_processed": 3},
            "work_002": {"items_processed": 4},
        }
        result = H.aggregate_batch_worker_results(
            scenario,
            aggregation_fn=lambda results: {
                "total": sum(r["items_processed"] for r in results.values())
            },
        )
        assert result.result == {"total": 7, "worker_count": 2, "scenario": "with_batches"}
        default = H.aggregate_batch_worker_results(scenario)
        assert default.result is not None
        assert default.result["batch_results"] == scenario.batch_results

    def test_no_batches_ignores_placeholder_worker(self) -> None:
        deps = {
            "analyze": {"batch_processing_outcome": {"type": "no_batches"}, "reason": "empty"},
            "work_000": {"no_op": True},
        }
        scenario = BatchAggregationScenario.detect(deps, "analyze", "work_")
        assert scenario.is_no_batches
        assert (scenario.worker_count, scenario.batch_results) == (0, {})
        assert scenario.batchable_result["reason"] == "empty"
        result = H.aggregate_batch_worker_results(scenario, zero_metrics={"total": 0})
        assert result.result == {"worker_count": 0, "scenario": "no_batches", "total": 0}
        assert H.no_batches_aggregation_result().result == {
            "worker_count": 0,
            "scenario": "no_batches",
        }

    def test_detection_errors(self) -> None:
        with pytest.raises(ValueError, match="missing batchable"):
            H.detect_aggregation_scenario({}, "analyze", "work_")
        with pytest.raises(ValueError, match="no dependency named"):
            H.detect_aggregation_scenario({"analyze": {"result": {}}}, "analyze", "work_")

    def test_aggregate_worker_results(self) -> None:
        summary = H.aggregate_worker_results(
            [
                {"items_processed": 10, "items_succeeded": 8, "items_failed": 2, "errors": ["x"]},
                None,
                {"items_processed": 10, "items_succeeded": 10, "items_skipped": 1},
            ]
        )
        assert summary == {
            "total_processed": 20,
            "total_succeeded": 18,
            "total_failed": 2,
            "total_skipped": 1,
            "batch_count": 3,
            "success_rate": 0.9,
            "errors": ["x"],
            "error_count": 1,
        }

    def test_errors_are_capped(self) -> None:
        errors = [{"n": n} for n in range(150)]
        summary = H.aggregate_worker_results([{"items_processed": 0, "errors": errors}])
        assert len(summary["errors"]) == 100
        assert summary["error_count"] == 150
        assert summary["success_rate"] == 0.0

    def test_aggregate_batch_results_skips_missing_workers(self) -> None:
        result = aggregate_batch_results(
            [{"items_processed": 2, "items_succeeded": 1, "errors": [{"e": 1}]}, None],
            max_errors=0,
        )
        assert (result.batch_count, result.total_processed, result.success_rate) == (1, 2, 0.5)
        assert (result.errors, result.error_count) == ([], 1)


def test_mixin_order_in_class_handler() -> None:
    class Analyzer(StepHandler, Batchable):
        def call(self, context: StepContext) -> StepHandlerResult:
            return self.batch_analyzer_success(
                cursor_configs=self.create_cursor_ranges(3, 2), total_items=3
            )

    result = run_handler(Analyzer, make_context())
    assert result.result is not None
    assert result.result["worker_count"] == 2
