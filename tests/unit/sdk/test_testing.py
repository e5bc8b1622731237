"""make_context and run_handler: realistic payloads, async handlers, error capture."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import pytest
from pydantic import BaseModel, Field

from tasker_ctl.sdk import StepContext, StepHandler, StepHandlerResult
from tasker_ctl.sdk.batch_processing import Batchable
from tasker_ctl.sdk.errors import PermanentError
from tasker_ctl.sdk.step_handler.functional import depends_on, step_handler
from tasker_ctl.sdk.testing import make_context, run_handler


class Payload(BaseModel):
    order_id: str = Field(alias="orderId")
    placed_at: datetime


class AsyncHandler(StepHandler):
    handler_name = "async.Handler"

    async def call(self, context: StepContext) -> StepHandlerResult:
        await asyncio.sleep(0)
        return self.success({"n": context.get_input("n")})


class Raising(StepHandler):
    def call(self, context: StepContext) -> StepHandlerResult:
        raise PermanentError("bad data", error_code="BAD")


class Broken(StepHandler):
    def call(self, context: StepContext) -> StepHandlerResult:
        raise ConnectionError("db down")


class WrongReturn(StepHandler):
    def call(self, context: StepContext) -> StepHandlerResult:
        return {"not": "a result"}  # type: ignore[return-value]


class TestMakeContext:
    def test_payload_shape(self) -> None:
        context = make_context(
            input_data={"n": 1},
            step_config={"rate": 2},
            retry_count=1,
            max_retries=4,
            handler_name="pkg.Handler",
            step_name="compute",
        )
        tss = context.event.task_sequence_step
        assert set(tss) == {"task", "workflow_step", "dependency_results", "step_definition"}
        assert tss["task"]["task"]["context"] == {"n": 1}
        assert tss["task"]["task"]["task_uuid"] == str(context.task_uuid)
        assert tss["workflow_step"]["workflow_step_uuid"] == str(context.step_uuid)
        assert (tss["workflow_step"]["attempts"], tss["workflow_step"]["max_attempts"]) == (1, 4)
        assert tss["workflow_step"]["name"] == "compute"
        assert tss["step_definition"]["handler"] == {
            "callable": "pkg.Handler",
            "method": None,
            "resolver": None,
            "initialization": {"rate": 2},
        }
        assert context.handler_name == "pkg.Handler"
        assert (context.retry_count, context.max_retries) == (1, 4)
        assert UUID(context.event.event_id)
        assert json.loads(json.dumps(tss)) == tss

    def test_step_inputs_default_to_initialization(self) -> None:
        assert make_context(step_config={"a": 1}).step_inputs == {"a": 1}
        explicit = make_context(step_config={"a": 1}, step_inputs={"cursor": {"batch_id": "001"}})
        assert explicit.step_inputs == {"cursor": {"batch_id": "001"}}

    def test_values_arrive_as_stored_json(self) -> None:
        placed = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
        context = make_context(
            input_data=Payload(orderId="o-1", placed_at=placed),
            dependency_results={"prev": {"when": placed, "pair": (1, 2)}},
        )
        assert context.input_data == {"orderId": "o-1", "placed_at": "2026-01-02T03:04:05Z"}
        assert context.get_dependency_result("prev") == {
            "when": "2026-01-02T03:04:05Z",
            "pair": [1, 2],
        }

    def test_inputs_are_copied(self) -> None:
        data: dict[str, Any] = {"items": [1]}
        context = make_context(input_data=data)
        context.input_data["items"].append(2)
        assert data == {"items": [1]}

    def test_dependency_envelopes(self) -> None:
        upstream = StepHandlerResult.success({"v": 1}, {"custom": {"k": 1}, "batch_worker": True})
        context = make_context(
            dependency_results={"a": upstream, "b": None, "c": Payload(orderId="x", placed_at=0)}
        )
        envelope = context.dependency_results["a"]
        assert envelope["success"] is True
        assert envelope["status"] == "completed"
        assert envelope["error"] is None
        assert envelope["metadata"]["custom"] == {"k": 1}
        assert "batch_worker" not in envelope["metadata"]
        assert context.get_dependency_result("a") == {"v": 1}
        assert context.get_dependency_result("b") == {}
        assert context.get_dependency_result("c") == {
            "orderId": "x",
            "placed_at": "1970-01-01T00:00:00Z",
        }
        assert context.event.task_sequence_step["step_definition"]["dependencies"] == [
            "a",
            "b",
            "c",
        ]

    def test_failed_results_and_yields_are_not_dependencies(self) -> None:
        with pytest.raises(ValueError, match="failed result"):
            make_context(dependency_results={"a": StepHandlerResult.failure("x")})

        class Yielder(StepHandler, Batchable):
            def call(self, context: StepContext) -> StepHandlerResult:
                return self.checkpoint_yield(cursor=1, items_processed=1)

        yielded = run_handler(Yielder, make_context())
        with pytest.raises(ValueError, match="checkpoint yield"):
            make_context(dependency_results={"a": yielded})

    def test_chaining_results(self) -> None:
        @step_handler("first")
        def first() -> dict[str, int]:
            return {"value": 20}

        @step_handler("second")
        @depends_on(first_result="first")
        def second(first_result: dict[str, int]) -> dict[str, int]:
            return {"value": first_result["value"] + 1}

        upstream = run_handler(first, make_context())
        downstream = run_handler(second, make_context(dependency_results={"first": upstream}))
        assert downstream.result == {"value": 21}


class TestRunHandler:
    def test_class_instance_and_function(self) -> None:
        context = make_context(input_data={"n": 3})
        assert run_handler(AsyncHandler, context).result == {"n": 3}
        assert run_handler(AsyncHandler(), context).result == {"n": 3}

    def test_async_handler_inside_a_running_loop(self) -> None:
        async def main() -> StepHandlerResult:
            return run_handler(AsyncHandler, make_context(input_data={"n": 5}))

        assert asyncio.run(main()).result == {"n": 5}

    def test_escaping_permanent_error_is_permanent(self) -> None:
        result = run_handler(Raising, make_context())
        assert not result.is_success
        assert (result.error_type, result.retryable, result.error_code) == (
            "PermanentError",
            False,
            "BAD",
        )
        assert result.error_message == "bad data"
        assert "traceback" in result.metadata

    def test_escaping_connection_error_is_retryable(self) -> None:
        result = run_handler(Broken, make_context())
        assert (result.error_type, result.retryable) == ("ConnectionError", True)

    def test_raise_errors(self) -> None:
        with pytest.raises(PermanentError, match="bad data"):
            run_handler(Raising, make_context(), raise_errors=True)

    def test_wrong_return_type(self) -> None:
        with pytest.raises(TypeError, match="not a StepHandlerResult"):
            run_handler(WrongReturn, make_context())

    def test_rejects_non_handlers(self) -> None:
        with pytest.raises(TypeError, match="not a StepHandler"):
            run_handler(len, make_context())


def test_schema_violations_lists_every_problem_with_its_path() -> None:
    from tasker_ctl.sdk.testing import assert_matches_schema, schema_violations

    schema = {
        "type": "object",
        "required": ["total", "items"],
        "properties": {
            "total": {"type": "number"},
            "items": {"type": "array", "items": {"type": "string"}},
        },
    }
    assert schema_violations({"total": 1.5, "items": ["a"]}, schema) == []
    problems = schema_violations({"total": "x", "items": [1]}, schema)
    assert problems == [
        "$.items[0]: 1 is not of type 'string'",
        "$.total: 'x' is not of type 'number'",
    ]
    with pytest.raises(AssertionError, match=r"\$\.total"):
        assert_matches_schema({"total": "x", "items": []}, schema)
