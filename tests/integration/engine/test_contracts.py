"""What the engine enforces at its edges: timeouts, result schemas, task input, identity,
and handler resolution."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from tasker_ctl.engine.errors import (
    DependencyCycleError,
    DuplicateTaskError,
    InvalidContextError,
)
from tasker_ctl.engine.graph.submission import register_template, submit_task
from tasker_ctl.engine.store.connection import Store
from tests.integration.engine.conftest import Engine, make_template, step
from tests.integration.engine.handlers import Recorder

ORDER_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["order_id", "items"],
    "properties": {
        "order_id": {"type": "string"},
        "items": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["sku", "quantity"],
                "properties": {"quantity": {"type": "integer", "minimum": 1}},
            },
        },
    },
}


def _count(engine: Engine, table: str) -> int:
    return int(engine.one(f"SELECT count(*) AS n FROM tasker.{table}")["n"])


def test_timeout_fails_the_attempt_as_retryable(engine: Engine, calls: Recorder) -> None:
    template = make_template(
        [
            step(
                "only",
                "fail.sleepy",
                timeout_seconds=1,
                retry={"max_attempts": 1},
                config={"seconds": 30},
            )
        ]
    )
    task = engine.submit(template, {})
    started = time.monotonic()
    assert engine.run(task.task_uuid, timeout=10) == "blocked_by_failures"
    assert time.monotonic() - started < 5

    row = engine.steps(task.task_uuid)["only"]
    envelope = row["results"]
    assert envelope["error"]["error_type"] == "timeout"
    assert envelope["error"]["retryable"] is True
    assert envelope["metadata"]["retryable"] is True
    assert envelope["status"] == "retryable_error"
    assert "timed out after 1 s" in envelope["error"]["message"]
    assert 1000 <= envelope["metadata"]["execution_time_ms"] < 3000
    assert row["attempts"] == 1  # retryable, but max_attempts 1 leaves no retry
    assert len(calls.of("only")) == 1


def test_timed_out_attempt_is_retried(engine: Engine, calls: Recorder) -> None:
    template = make_template(
        [
            step(
                "only",
                "fail.sleepy",
                timeout_seconds=1,
                retry={"max_attempts": 2, "backoff": "none"},
                config={"seconds": 30},
            )
        ]
    )
    task = engine.submit(template, {})
    assert engine.run(task.task_uuid, timeout=10) == "blocked_by_failures"
    assert engine.steps(task.task_uuid)["only"]["attempts"] == 2
    assert [c.attempt for c in calls.of("only")] == [1, 2]


def test_a_handler_raising_timeout_error_is_not_a_step_timeout(engine: Engine) -> None:
    template = make_template(
        [step("only", "fail.raises_timeout", timeout_seconds=30, retry={"max_attempts": 1})]
    )
    task = engine.submit(template, {"x": 1})
    engine.run(task.task_uuid)
    error = engine.steps(task.task_uuid)["only"]["results"]["error"]
    assert error["error_type"] == "handler_error"
    assert error["message"] == "upstream timed out"


def test_result_schema_violation_is_permanent(engine: Engine, calls: Recorder) -> None:
    schema = {
        "type": "object",
        "required": ["total"],
        "properties": {"total": {"type": "number"}, "items": ORDER_SCHEMA["properties"]["items"]},
    }
    template = make_template([step("only", "fail.bad_result", result_schema=schema)])
    task = engine.submit(template, {})
    assert engine.run(task.task_uuid) == "blocked_by_failures"

    row = engine.steps(task.task_uuid)["only"]
    assert (row["current_state"], row["attempts"]) == ("error", 1)
    envelope = row["results"]
    assert envelope["status"] == "permanent_error"
    assert envelope["error"]["error_type"] == "result_schema_violation"
    assert envelope["metadata"]["error_code"] == "RESULT_SCHEMA_VIOLATION"
    message = envelope["error"]["message"]
    assert "$.items[0].quantity: -1 is less than the minimum of 1" in message
    assert "$.total: 'not a number' is not of type 'number'" in message
    assert envelope["error"]["metadata"]["violations"] == [
        "$.items[0].quantity: -1 is less than the minimum of 1",
        "$.total: 'not a number' is not of type 'number'",
    ]
    assert len(calls.of("only")) == 1


def test_valid_result_passes_its_schema(engine: Engine) -> None:
    schema = {"type": "object", "required": ["step"], "properties": {"step": {"const": "only"}}}
    task = engine.submit(make_template([step("only", "ok.noop", result_schema=schema)]), {})
    assert engine.run(task.task_uuid) == "complete"


@pytest.mark.parametrize(
    ("context", "expected"),
    [
        ({"order_id": 7, "items": []}, "$.order_id: 7 is not of type 'string'"),
        ({"order_id": "o-1"}, "$: 'items' is a required property"),
        (
            {"order_id": "o-1", "items": [{"sku": "a", "quantity": 0}]},
            "$.items[0].quantity: 0 is less than the minimum of 1",
        ),
        (["not", "an", "object"], "$: an array is not of type 'object'"),
    ],
)
def test_invalid_context_creates_nothing(engine: Engine, context: Any, expected: str) -> None:
    template = make_template([step("only", "ok.noop")], input_schema=ORDER_SCHEMA)
    with pytest.raises(InvalidContextError) as caught:
        engine.submit(template, context)
    assert caught.value.code == "INVALID_CONTEXT"
    assert expected in caught.value.violations
    assert expected in caught.value.message or "must be a JSON object" in caught.value.message
    for table in ("tasks", "workflow_steps", "task_transitions", "workflow_step_transitions"):
        assert _count(engine, table) == 0


def test_context_must_be_an_object_even_without_schema(engine: Engine) -> None:
    with pytest.raises(InvalidContextError, match="must be a JSON object, not a string"):
        engine.submit(make_template([step("only", "ok.noop")]), "hello")


def test_duplicate_submission_is_detected(engine: Engine) -> None:
    template = make_template([step("only", "ok.noop")], input_schema=ORDER_SCHEMA)
    context = {"order_id": "o-1", "items": [{"sku": "a", "quantity": 1}]}
    first = engine.submit(template, context)
    # same context, keys in another order: same identity
    with pytest.raises(DuplicateTaskError) as caught:
        engine.submit(template, {"items": [{"quantity": 1, "sku": "a"}], "order_id": "o-1"})
    assert caught.value.code == "DUPLICATE_TASK"
    assert caught.value.task_uuid == str(first.task_uuid)
    assert _count(engine, "tasks") == 1
    # another context, or identity always_unique, makes a new task
    engine.submit(template, {**context, "order_id": "o-2"})
    engine.submit(template, context, identity="always_unique")
    assert _count(engine, "tasks") == 3


def test_concurrent_duplicate_submission_is_detected(
    engine: Engine, store: Store, session: Store
) -> None:
    """Two submissions racing: the loser gets DUPLICATE_TASK, not a unique violation."""
    template = make_template([step("a", "ok.noop"), step("b", "ok.noop", "a")])
    named = engine.register(template)
    outcome: list[BaseException | str] = []
    with store.transaction():
        first = submit_task(store, template, named, {"same": True})

        def second() -> None:
            try:
                with session.transaction():
                    submit_task(session, template, named, {"same": True})
                outcome.append("created")
            except BaseException as error:
                outcome.append(error)

        racer = threading.Thread(target=second)
        racer.start()
        time.sleep(0.3)  # the racer now waits for our uncommitted task row
        assert outcome == []
    racer.join(timeout=10)
    assert len(outcome) == 1
    assert isinstance(outcome[0], DuplicateTaskError)
    assert outcome[0].task_uuid == str(first.task_uuid)
    assert _count(engine, "tasks") == 1


def test_submissions_sharing_step_names_in_any_order(
    engine: Engine, store: Store, session: Store
) -> None:
    """Step names are shared by all templates; two new ones created at once do not deadlock."""
    forward = make_template([step(f"shared_{i}", "ok.noop") for i in range(20)], name="fwd")
    backward = make_template(
        [step(f"shared_{i}", "ok.noop") for i in reversed(range(20))], name="bwd"
    )
    errors: list[BaseException] = []

    def submit(target: Store, template: Any) -> None:
        try:
            with target.transaction():
                named = register_template(target, template, "x")
                submit_task(target, template, named, {})
                time.sleep(0.2)
        except BaseException as error:
            errors.append(error)

    threads = [
        threading.Thread(target=submit, args=(store, forward)),
        threading.Thread(target=submit, args=(session, backward)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=20)
    assert errors == []
    assert _count(engine, "named_steps") == 20
    assert _count(engine, "workflow_steps") == 40


def test_handler_not_found_is_permanent(engine: Engine) -> None:
    template = make_template([step("only", "no.such.Handler", retry={"max_attempts": 3})])
    task = engine.submit(template, {})
    assert engine.run(task.task_uuid) == "blocked_by_failures"
    row = engine.steps(task.task_uuid)["only"]
    assert (row["current_state"], row["attempts"]) == ("error", 1)
    error = row["results"]["error"]
    assert error["message"].startswith("Handler not found: no.such.Handler; ")
    assert error == {
        "message": error["message"],
        "error_type": "handler_not_found",
        "retryable": False,
        "metadata": {},
    }


def test_a_cyclic_template_creates_nothing(engine: Engine) -> None:
    template = make_template(
        [step("a", "ok.noop", "c"), step("b", "ok.noop", "a"), step("c", "ok.noop", "b")],
        name="cyclic",
    )
    with pytest.raises(DependencyCycleError, match="in a cycle: a -> c -> b -> a") as caught:
        engine.submit(template, {})
    assert caught.value.code == "CYCLE_DETECTED"
    assert _count(engine, "tasks") == 0
