"""The decorator API: injection, result wrapping, exception classification, decisions."""

from __future__ import annotations

import inspect
from typing import Any

import pytest
from pydantic import BaseModel, ConfigDict, Field

from tasker_ctl.sdk import StepContext, StepHandler, StepHandlerResult
from tasker_ctl.sdk.batch_processing import Batchable
from tasker_ctl.sdk.errors import (
    NotFoundError,
    PermanentError,
    RetryableError,
    TaskerError,
    ValidationError,
)
from tasker_ctl.sdk.step_handler.functional import (
    BatchConfig,
    Decision,
    batch_analyzer,
    batch_worker,
    decision_handler,
    depends_on,
    handler_class,
    inputs,
    step_handler,
)
from tasker_ctl.sdk.step_handler.mixins import DecisionMixin
from tasker_ctl.sdk.testing import make_context, run_handler
from tasker_ctl.sdk.types import BatchWorkerContext


class Cart(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    total_amount: float = Field(alias="totalAmount")
    item_count: int = Field(alias="itemCount")


class OrderInput(BaseModel):
    order_id: str = Field(alias="orderId")
    priority: int = 0


def run(fn: Any, **context: Any) -> StepHandlerResult:
    return run_handler(fn, make_context(**context))


class TestGeneratedClass:
    def test_function_is_returned_unchanged_and_callable(self) -> None:
        def add(a: int, b: int) -> int:
            return a + b

        decorated = step_handler("math.add", version="2.0.0")(add)
        assert decorated is add
        assert add(1, 2) == 3
        cls = handler_class(add)
        assert issubclass(cls, StepHandler)
        assert (cls.handler_name, cls.handler_version) == ("math.add", "2.0.0")
        assert (cls.__name__, cls.__qualname__) == ("add", add.__qualname__)
        assert cls.__module__ == __name__
        assert cls().name == "math.add"

    def test_docstring_is_copied(self) -> None:
        @step_handler("documented")
        def documented() -> None:
            """Does a thing."""

        assert handler_class(documented).__doc__ == "Does a thing."

    def test_async_function_gives_async_call(self) -> None:
        @step_handler("async")
        async def fetch(context: StepContext) -> dict[str, Any]:
            return {"step": str(context.step_uuid)}

        assert inspect.iscoroutinefunction(handler_class(fetch).call)
        result = run(fetch)
        assert result.is_success
        assert set(result.result or {}) == {"step"}

    def test_handler_class_rejects_plain_functions(self) -> None:
        with pytest.raises(TypeError, match="not decorated"):
            handler_class(lambda: None)

    def test_specialised_classes_mix_in_their_helpers(self) -> None:
        @decision_handler("d")
        def decide() -> Decision:
            return Decision.skip("x")

        @batch_analyzer("a", worker_template="w")
        def analyze() -> BatchConfig:
            return BatchConfig(total_items=0, batch_size=1)

        @batch_worker("w")
        def work() -> None:
            return None

        assert issubclass(handler_class(decide), DecisionMixin)
        assert issubclass(handler_class(analyze), Batchable)
        assert issubclass(handler_class(work), Batchable)


class TestInjection:
    def test_dependencies_inputs_and_context(self) -> None:
        seen: dict[str, Any] = {}

        @step_handler("inject")
        @depends_on(cart="fetch_cart", missing="never_ran")
        @inputs("customer_id", "absent")
        def handler(
            cart: Any, missing: Any, customer_id: Any, absent: Any, context: StepContext
        ) -> None:
            seen.update(cart=cart, missing=missing, customer_id=customer_id, absent=absent)
            seen["context"] = context

        context = make_context(
            input_data={"customer_id": "c-1"},
            dependency_results={"fetch_cart": {"total": 12}},
        )
        assert run_handler(handler, context).is_success
        assert seen == {
            "cart": {"total": 12},
            "missing": None,
            "customer_id": "c-1",
            "absent": None,
            "context": context,
        }

    def test_underscore_context(self) -> None:
        @step_handler("ctx")
        def handler(_context: StepContext) -> dict[str, str]:
            return {"handler": _context.handler_name}

        assert run(handler, handler_name="ctx").result == {"handler": "ctx"}

    def test_context_not_passed_to_functions_without_it(self) -> None:
        @step_handler("noctx")
        @inputs("a")
        def handler(a: int) -> dict[str, int]:
            return {"a": a}

        assert run(handler, input_data={"a": 1}).result == {"a": 1}

    def test_underscore_parameter_receives_declared_name(self) -> None:
        @step_handler("mapped")
        @depends_on(validation="validate")
        @inputs("refund_reason", "amount")
        def handler(
            _validation: Any, amount: int, _refund_reason: str, _context: StepContext
        ) -> dict[str, Any]:
            return {"validation": _validation, "amount": amount, "reason": _refund_reason}

        result = run(
            handler,
            input_data={"refund_reason": "broken", "amount": 5},
            dependency_results={"validate": {"ok": True}},
        )
        assert result.result == {"validation": {"ok": True}, "amount": 5, "reason": "broken"}

    def test_exact_name_wins_over_underscore_name(self) -> None:
        @step_handler("both")
        @inputs("x")
        def handler(x: int, _x: int = -1) -> dict[str, int]:
            return {"x": x, "_x": _x}

        assert run(handler, input_data={"x": 3}).result == {"x": 3, "_x": -1}

    def test_var_keyword_receives_declared_names(self) -> None:
        @step_handler("kwargs")
        @inputs("a")
        @depends_on(b="step_b")
        def handler(**kwargs: Any) -> dict[str, Any]:
            return dict(kwargs)

        result = run(handler, input_data={"a": 1}, dependency_results={"step_b": {"v": 2}})
        assert result.result == {"a": 1, "b": {"v": 2}}

    def test_unaccepted_declaration_is_a_retryable_type_error(self) -> None:
        @step_handler("broken")
        @inputs("unknown")
        def handler() -> None:
            return None

        result = run(handler)
        assert not result.is_success
        assert (result.error_type, result.retryable) == ("handler_error", True)
        assert result.metadata["exception_type"] == "TypeError"

    def test_decorator_order_does_not_matter(self) -> None:
        @inputs("a")
        @step_handler("outer_inputs")
        @depends_on(b="step_b")
        def handler(a: int, b: dict[str, int]) -> dict[str, int]:
            return {"sum": a + b["v"]}

        result = run(handler, input_data={"a": 1}, dependency_results={"step_b": {"v": 2}})
        assert result.result == {"sum": 3}

    def test_repeated_decorators_accumulate(self) -> None:
        @step_handler("acc")
        @inputs("a")
        @inputs("b")
        @depends_on(x="sx")
        @depends_on(y="sy")
        def handler(a: int, b: int, x: Any, y: Any) -> dict[str, Any]:
            return {"values": [a, b, x, y]}

        result = run(
            handler,
            input_data={"a": 1, "b": 2},
            dependency_results={"sx": {"v": 3}, "sy": {"v": 4}},
        )
        assert result.result == {"values": [1, 2, {"v": 3}, {"v": 4}]}

    def test_dependency_model_is_validated_by_alias(self) -> None:
        @step_handler("typed_dep")
        @depends_on(cart=("fetch_cart", Cart), other=("absent", Cart))
        def handler(cart: Cart, other: Cart | None) -> dict[str, Any]:
            return {"total": cart.total_amount, "other": other}

        stored = {"fetch_cart": {"totalAmount": 9.5, "itemCount": 2}}
        result = run(handler, dependency_results=stored)
        assert result.result == {"total": 9.5, "other": None}

    def test_dependency_model_validation_failure_is_a_failure(self) -> None:
        @step_handler("typed_dep_bad")
        @depends_on(cart=("fetch_cart", Cart))
        def handler(cart: Cart) -> None:
            return None

        result = run(handler, dependency_results={"fetch_cart": {"unexpected": 1}})
        assert not result.is_success
        assert result.metadata["exception_type"] == "ValidationError"

    def test_input_model_validates_whole_input_data(self) -> None:
        @step_handler("typed_inputs")
        @inputs(OrderInput)
        def handler(inputs: OrderInput) -> dict[str, Any]:
            return {"order": inputs.order_id, "priority": inputs.priority}

        assert run(handler, input_data={"orderId": "o-1", "extra": 1}).result == {
            "order": "o-1",
            "priority": 0,
        }

    def test_input_model_with_underscore_parameter(self) -> None:
        @step_handler("typed_inputs_underscore")
        @inputs(OrderInput)
        def handler(_inputs: OrderInput) -> dict[str, str]:
            return {"order": _inputs.order_id}

        assert run(handler, input_data={"orderId": "o-2"}).result == {"order": "o-2"}

    def test_inputs_rejects_mixed_arguments(self) -> None:
        with pytest.raises(TypeError, match="input keys"):
            inputs("a", OrderInput)


class TestResultWrapping:
    @pytest.mark.parametrize(
        ("value", "expected"),
        [
            ({"a": 1}, {"a": 1}),
            (None, {}),
            (42, {"result": 42}),
            ("text", {"result": "text"}),
            ([1, 2], {"result": [1, 2]}),
        ],
    )
    def test_plain_values(self, value: Any, expected: dict[str, Any]) -> None:
        @step_handler("wrap")
        def handler() -> Any:
            return value

        result = run(handler)
        assert result.is_success
        assert result.result == expected
        assert result.metadata == {}

    def test_model_is_dumped_as_json_by_alias(self) -> None:
        @step_handler("model")
        def handler() -> Cart:
            return Cart(total_amount=1.5, item_count=2)

        assert run(handler).result == {"totalAmount": 1.5, "itemCount": 2}

    def test_step_handler_result_passes_through(self) -> None:
        expected = StepHandlerResult.failure("nope", error_type="custom", retryable=False)

        @step_handler("passthrough")
        def handler() -> StepHandlerResult:
            return expected

        assert run(handler) is expected

    def test_duck_typed_model_dump(self) -> None:
        class Dumpable:
            def model_dump(self, mode: str) -> dict[str, str]:
                return {"mode": mode}

        @step_handler("duck")
        def handler() -> Dumpable:
            return Dumpable()

        assert run(handler).result == {"mode": "json"}


class TestExceptionClassification:
    @pytest.mark.parametrize(
        ("exc", "error_type", "retryable"),
        [
            (PermanentError("p"), "permanent_error", False),
            (ValidationError("v"), "permanent_error", False),
            (RetryableError("r"), "retryable_error", True),
            (TaskerError("t"), "handler_error", True),
            (TaskerError("t", retryable=False), "handler_error", False),
        ],
    )
    def test_tasker_errors(self, exc: TaskerError, error_type: str, retryable: bool) -> None:
        @step_handler("raises")
        def handler() -> None:
            raise exc

        result = run(handler)
        assert not result.is_success
        assert (result.error_type, result.retryable) == (error_type, retryable)
        assert result.error_message == str(exc)
        assert result.metadata == exc.metadata

    def test_error_code_and_context_reach_metadata(self) -> None:
        @step_handler("coded")
        def handler() -> None:
            raise NotFoundError(message="cart empty", error_code="EMPTY", context={"cart": "c"})

        result = run(handler)
        assert result.metadata == {"error_code": "EMPTY", "cart": "c"}
        assert result.error_code == "EMPTY"

    def test_other_exceptions_are_retryable_handler_errors(self) -> None:
        @step_handler("bug")
        def handler() -> None:
            raise KeyError("missing")

        result = run(handler)
        assert (result.error_type, result.retryable) == ("handler_error", True)
        assert result.error_message == "'missing'"
        assert result.metadata["exception_type"] == "KeyError"
        assert "KeyError" in result.metadata["traceback"]

    def test_async_exceptions_are_classified_too(self) -> None:
        @step_handler("async_raises")
        async def handler() -> None:
            raise PermanentError("async permanent")

        result = run(handler)
        assert (result.error_type, result.retryable) == ("permanent_error", False)

    def test_base_exceptions_propagate(self) -> None:
        @step_handler("interrupt")
        def handler() -> None:
            raise KeyboardInterrupt

        with pytest.raises(KeyboardInterrupt):
            run(handler)


class TestDecisionHandler:
    def test_route_shape(self) -> None:
        @decision_handler("route", version="3.0.0")
        @inputs("amount")
        def handler(amount: int) -> Decision:
            return Decision.route(["manager_approval"], amount=amount, tier="mid")

        result = run(handler, input_data={"amount": 3000})
        assert result.result == {
            "decision_point_outcome": {"type": "create_steps", "step_names": ["manager_approval"]},
            "routing_context": {"amount": 3000, "tier": "mid"},
        }
        assert result.metadata == {"decision_handler": "route", "decision_version": "3.0.0"}

    def test_route_without_context(self) -> None:
        @decision_handler("route_plain")
        def handler() -> Decision:
            return Decision.route(["a", "b"])

        assert run(handler).result == {
            "decision_point_outcome": {"type": "create_steps", "step_names": ["a", "b"]}
        }

    def test_skip_shape(self) -> None:
        @decision_handler("skip")
        def handler() -> Decision:
            return Decision.skip("nothing to do", checked=3)

        assert run(handler).result == {
            "decision_point_outcome": {"type": "no_branches"},
            "reason": "nothing to do",
            "routing_context": {"checked": 3},
        }

    def test_empty_skip_reason_defaults(self) -> None:
        @decision_handler("skip_empty")
        def handler() -> Decision:
            return Decision.skip("")

        assert run(handler).result == {
            "decision_point_outcome": {"type": "no_branches"},
            "reason": "No branches",
        }

    def test_result_fields_are_merged_beside_the_outcome(self) -> None:
        @decision_handler("with_result")
        def handler() -> Decision:
            return Decision.route(
                ["big"],
                result=Cart(total_amount=2.0, item_count=1),
                tier="big",
            )

        assert run(handler).result == {
            "decision_point_outcome": {"type": "create_steps", "step_names": ["big"]},
            "routing_context": {"tier": "big"},
            "totalAmount": 2.0,
            "itemCount": 1,
        }

    def test_decision_keys_win_over_result_fields(self) -> None:
        @decision_handler("clash")
        def handler() -> Decision:
            return Decision.skip(
                "real", result={"reason": "fake", "decision_point_outcome": {}, "n": 1}
            )

        assert run(handler).result == {
            "decision_point_outcome": {"type": "no_branches"},
            "reason": "real",
            "n": 1,
        }

    def test_non_mapping_result_stays_routing_context(self) -> None:
        decision = Decision.route(["a"], result="approved")  # type: ignore[arg-type]
        assert decision.outcome.routing_context == {"result": "approved"}
        assert decision.extra_result == {}

    def test_other_return_values_use_plain_wrapping(self) -> None:
        @decision_handler("plain")
        def handler() -> dict[str, int]:
            return {"a": 1}

        assert run(handler).result == {"a": 1}

    def test_async_decision(self) -> None:
        @decision_handler("async_decision")
        async def handler() -> Decision:
            return Decision.route(["x"])

        assert run(handler).result == {
            "decision_point_outcome": {"type": "create_steps", "step_names": ["x"]}
        }


class TestBatchDecorators:
    def test_batch_analyzer_creates_batches(self) -> None:
        @batch_analyzer("analyze", worker_template="process_batch")
        @inputs("rows")
        def handler(rows: int) -> BatchConfig:
            return BatchConfig(total_items=rows, batch_size=4, metadata={"file": "f.csv"})

        result = run(handler, input_data={"rows": 10})
        assert result.result == {
            "batch_processing_outcome": {
                "type": "create_batches",
                "worker_template_name": "process_batch",
                "worker_count": 3,
                "cursor_configs": [
                    {"batch_id": "001", "start_cursor": 0, "end_cursor": 4, "batch_size": 4},
                    {"batch_id": "002", "start_cursor": 4, "end_cursor": 8, "batch_size": 4},
                    {"batch_id": "003", "start_cursor": 8, "end_cursor": 10, "batch_size": 2},
                ],
                "total_items": 10,
            },
            "worker_count": 3,
            "total_items": 10,
            "batch_metadata": {"file": "f.csv"},
        }
        assert result.metadata == {"batch_analyzer": True}

    def test_batch_analyzer_result_fields_sit_beside_the_outcome(self) -> None:
        class Summary(BaseModel):
            source: str
            worker_count: int = 0

        @batch_analyzer("analyze_summary", worker_template="w")
        def handler() -> BatchConfig:
            return BatchConfig(
                total_items=3, batch_size=5, result=Summary(source="s3", worker_count=99)
            )

        result = run(handler).result
        assert result is not None
        assert result["source"] == "s3"
        assert result["worker_count"] == 1  # the outcome wins on a clash
        assert result["batch_processing_outcome"]["type"] == "create_batches"

    def test_batch_analyzer_with_no_items(self) -> None:
        @batch_analyzer("analyze_empty", worker_template="w")
        def handler() -> BatchConfig:
            return BatchConfig(total_items=0, batch_size=10)

        result = run(handler)
        assert result.result == {
            "batch_processing_outcome": {"type": "no_batches"},
            "reason": "empty_dataset",
        }
        assert result.metadata == {"batch_analyzer": True, "no_batches": True}

    def test_batch_analyzer_passes_other_values(self) -> None:
        @batch_analyzer("analyze_other", worker_template="w")
        def handler() -> StepHandlerResult:
            return StepHandlerResult.failure("no file", retryable=False)

        assert run(handler).error_message == "no file"

    def test_batch_worker_receives_batch_context(self) -> None:
        @batch_worker("worker")
        async def handler(batch_context: BatchWorkerContext | None) -> dict[str, Any]:
            assert batch_context is not None
            return {"range": [batch_context.start_cursor, batch_context.end_cursor]}

        cursor = {"batch_id": "002", "start_cursor": 10, "end_cursor": 20, "batch_size": 10}
        result = run(handler, step_inputs={"cursor": cursor})
        assert result.result == {"range": [10, 20]}

    def test_batch_worker_without_batch_context_parameter(self) -> None:
        @batch_worker("worker_plain")
        def handler(_context: StepContext) -> dict[str, bool]:
            return {"ran": True}

        assert run(handler).result == {"ran": True}

    def test_batch_worker_outside_a_batch_gets_none(self) -> None:
        @batch_worker("worker_none")
        def handler(batch_context: BatchWorkerContext | None) -> dict[str, bool]:
            return {"none": batch_context is None}

        assert run(handler).result == {"none": True}
