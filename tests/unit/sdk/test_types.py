"""StepContext accessors, envelope unwrapping, StepHandlerResult and ErrorType."""

from __future__ import annotations

from uuid import UUID, uuid4

import pytest

from tasker_ctl.sdk.testing import make_context, result_envelope
from tasker_ctl.sdk.types import (
    DecisionPointOutcome,
    DecisionType,
    ErrorType,
    FfiStepEvent,
    StepContext,
    StepHandlerResult,
)


def _event(tss: dict[str, object]) -> FfiStepEvent:
    return FfiStepEvent(
        event_id="e1",
        task_uuid=str(uuid4()),
        step_uuid=str(uuid4()),
        correlation_id=str(uuid4()),
        task_sequence_step=tss,
    )


class TestFromFfiEvent:
    def test_reads_every_field_from_its_payload_location(self) -> None:
        tss = {
            "task": {"task": {"context": {"order": 7}}, "task_name": "t"},
            "dependency_results": {"a": {"result": {"x": 1}}},
            "step_definition": {"handler": {"callable": "h", "initialization": {"rate": 2}}},
            "workflow_step": {"attempts": 2, "max_attempts": 5, "inputs": {"cursor": {}}},
        }
        event = _event(tss)
        context = StepContext.from_ffi_event(event, "h")
        assert context.input_data == {"order": 7}
        assert context.dependency_results == {"a": {"result": {"x": 1}}}
        assert context.step_config == {"rate": 2}
        assert context.step_inputs == {"cursor": {}}
        assert (context.retry_count, context.max_retries) == (2, 5)
        assert context.handler_name == "h"
        assert context.task_uuid == UUID(event.task_uuid)
        assert context.step_uuid == UUID(event.step_uuid)

    def test_flat_task_and_json_nulls_fall_back_to_defaults(self) -> None:
        tss = {
            "task": {"context": {"flat": True}},
            "dependency_results": None,
            "step_definition": {"handler": {"initialization": None}},
            "workflow_step": {"attempts": None, "max_attempts": None, "inputs": None},
        }
        context = StepContext.from_ffi_event(_event(tss), "h")
        assert context.input_data == {"flat": True}
        assert context.dependency_results == {}
        assert context.step_config == {}
        assert context.step_inputs == {}
        assert (context.retry_count, context.max_retries) == (0, 3)

    def test_event_is_frozen(self) -> None:
        event = _event({})
        with pytest.raises(ValueError, match="frozen"):
            event.event_id = "other"  # type: ignore[misc]


class TestAccessors:
    def test_inputs_and_config(self) -> None:
        context = make_context(input_data={"a": 1, "n": None}, step_config={"limit": 5})
        assert context.get_input("a") == 1
        assert context.get_input("missing") is None
        assert context.get_input_or("missing", 9) == 9
        assert context.get_input_or("n", 9) == 9  # null counts as missing
        assert context.get_input_or("a", 9) == 1
        assert context.get_config("limit") == 5
        assert context.get_config("other") is None

    def test_dependency_result_unwraps_the_stored_envelope(self) -> None:
        context = make_context(dependency_results={"fetch": {"rows": [1, 2], "meta": {"n": 2}}})
        assert context.dependency_results["fetch"]["status"] == "completed"
        assert context.get_dependency_result("fetch") == {"rows": [1, 2], "meta": {"n": 2}}
        assert context.get_dependency_result("absent") is None

    def test_dependency_result_without_envelope_is_returned_raw(self) -> None:
        tss = {"dependency_results": {"plain": {"value": 3}, "scalar": 5}}
        context = StepContext.from_ffi_event(_event(tss), "h")
        assert context.get_dependency_result("plain") == {"value": 3}
        assert context.get_dependency_result("scalar") == 5

    def test_dependency_field_walks_nested_keys(self) -> None:
        context = make_context(dependency_results={"s": {"a": {"b": {"c": 1}}, "l": [1]}})
        assert context.get_dependency_field("s", "a", "b", "c") == 1
        assert context.get_dependency_field("s", "a", "missing") is None
        assert context.get_dependency_field("s", "l", "x") is None
        assert context.get_dependency_field("absent", "a") is None
        assert context.get_dependency_field("s") == context.get_dependency_result("s")

    def test_all_dependency_results_by_prefix(self) -> None:
        context = make_context(
            dependency_results={
                "batch_001": {"n": 1},
                "other": {"n": 0},
                "batch_002": {"n": 2},
            }
        )
        assert context.get_all_dependency_results("batch_") == [{"n": 1}, {"n": 2}]
        assert context.get_dependency_result_keys() == ["batch_001", "other", "batch_002"]

    def test_all_dependency_results_skips_nulls(self) -> None:
        tss = {"dependency_results": {"b_1": {"result": None}, "b_2": {"result": {"n": 2}}}}
        context = StepContext.from_ffi_event(_event(tss), "h")
        assert context.get_all_dependency_results("b_") == [{"n": 2}]

    @pytest.mark.parametrize(
        ("retry_count", "max_retries", "is_retry", "is_last"),
        [(0, 3, False, False), (1, 3, True, False), (2, 3, True, True), (0, 1, False, True)],
    )
    def test_retry_accessors(
        self, retry_count: int, max_retries: int, is_retry: bool, is_last: bool
    ) -> None:
        context = make_context(retry_count=retry_count, max_retries=max_retries)
        assert context.is_retry() is is_retry
        assert context.is_last_retry() is is_last

    def test_checkpoint_accessors(self) -> None:
        fresh = make_context()
        assert fresh.checkpoint is None
        assert fresh.checkpoint_cursor is None
        assert fresh.checkpoint_items_processed == 0
        assert fresh.accumulated_results is None
        assert not fresh.has_checkpoint()
        resumed = make_context(
            checkpoint={"cursor": 50, "items_processed": 50, "accumulated_results": {"sum": 9}}
        )
        assert resumed.checkpoint_cursor == 50
        assert resumed.checkpoint_items_processed == 50
        assert resumed.accumulated_results == {"sum": 9}
        assert resumed.has_checkpoint()

    def test_task_sequence_step_view(self) -> None:
        context = make_context(
            input_data={"n": 4},
            dependency_results={"prev": {"v": 1}},
            step_config={"k": "v"},
            handler_name="pkg.Handler",
            step_name="my_step",
        )
        tss = context.task_sequence_step
        assert tss.get_task_field("n") == 4
        assert tss.get_dependency_result("prev") == {"v": 1}
        assert tss.dependency_results.get_result("prev")["success"] is True
        assert "prev" in tss.dependency_results
        assert tss.step_definition.handler.callable == "pkg.Handler"
        assert tss.step_definition.handler.initialization == {"k": "v"}
        assert tss.workflow_step.name == "my_step"
        assert tss.task.task_uuid == str(context.task_uuid)


class TestStepHandlerResult:
    def test_success_and_failure_factories(self) -> None:
        ok = StepHandlerResult.success({"a": 1}, {"m": 2})
        assert ok.is_success
        assert ok.is_success_result()
        assert not ok.is_failure_result()
        assert (ok.result, ok.metadata, ok.error_message) == ({"a": 1}, {"m": 2}, None)
        bad = StepHandlerResult.failure("boom")
        assert bad.is_failure_result()
        assert (bad.error_message, bad.error_type, bad.retryable) == ("boom", "handler_error", True)
        assert bad.result is None

    def test_success_alias_on_input_and_output(self) -> None:
        parsed = StepHandlerResult.model_validate({"success": True, "result": {"x": 1}})
        assert parsed.is_success
        assert StepHandlerResult(is_success=False).is_success is False
        dumped = parsed.model_dump(by_alias=True)
        assert dumped["success"] is True
        assert "is_success" not in dumped

    def test_error_type_enum_becomes_its_value(self) -> None:
        result = StepHandlerResult.failure("t", error_type=ErrorType.TIMEOUT, retryable=True)
        assert result.error_type == "timeout"
        assert type(result.error_type) is str
        direct = StepHandlerResult(is_success=False, error_type=ErrorType.PERMANENT_ERROR)
        assert direct.error_type == "permanent_error"

    def test_error_code_is_kept_and_copied_into_metadata(self) -> None:
        result = StepHandlerResult.failure("x", error_code="CARD_DECLINED", metadata={"a": 1})
        assert result.error_code == "CARD_DECLINED"
        assert result.metadata == {"a": 1, "error_code": "CARD_DECLINED"}
        explicit = StepHandlerResult.failure("x", error_code="A", metadata={"error_code": "B"})
        assert explicit.metadata["error_code"] == "B"

    def test_metadata_argument_is_not_mutated(self) -> None:
        metadata = {"a": 1}
        StepHandlerResult.failure("x", error_code="E", metadata=metadata)
        assert metadata == {"a": 1}

    def test_result_must_be_a_dict(self) -> None:
        with pytest.raises(ValueError, match="dictionary"):
            StepHandlerResult(is_success=True, result=[1, 2])  # type: ignore[arg-type]


class TestErrorType:
    def test_values(self) -> None:
        assert [member.value for member in ErrorType] == [
            "permanent_error",
            "retryable_error",
            "validation_error",
            "timeout",
            "handler_error",
        ]

    def test_classification_helpers(self) -> None:
        assert ErrorType.is_standard("timeout")
        assert not ErrorType.is_standard("PaymentError")
        assert ErrorType.is_typically_retryable("retryable_error")
        assert ErrorType.is_typically_retryable("timeout")
        assert not ErrorType.is_typically_retryable("permanent_error")


class TestDecisionPointOutcome:
    def test_factories(self) -> None:
        create = DecisionPointOutcome.create_steps(["a"], routing_context={"k": 1})
        assert create.decision_type is DecisionType.CREATE_STEPS
        assert (create.next_step_names, create.routing_context) == (["a"], {"k": 1})
        skip = DecisionPointOutcome.no_branches("nothing")
        assert skip.decision_type is DecisionType.NO_BRANCHES
        assert (skip.reason, skip.next_step_names, skip.routing_context) == ("nothing", [], {})

    def test_a_single_string_is_not_a_list_of_steps(self) -> None:
        with pytest.raises(TypeError, match="list of step names"):
            DecisionPointOutcome.create_steps("approve")  # type: ignore[arg-type]


def test_envelope_shape() -> None:
    envelope = result_envelope({"v": 1}, step_uuid="s-1", completed_at="2026-01-01T00:00:00Z")
    assert envelope == {
        "step_uuid": "s-1",
        "success": True,
        "result": {"v": 1},
        "metadata": {
            "execution_time_ms": 0,
            "handler_version": None,
            "retryable": False,
            "completed_at": "2026-01-01T00:00:00Z",
            "worker_id": None,
            "worker_hostname": None,
            "started_at": None,
            "custom": {},
            "error_code": None,
            "error_type": None,
            "context": {},
        },
        "status": "completed",
        "error": None,
        "orchestration_metadata": None,
    }
