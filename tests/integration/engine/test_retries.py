"""Retries: how often a step runs, when it runs again, and when its task gives up.

Backoff is checked two ways: with real workers and tiny ``backoff_base_ms`` (the gaps between
attempts are at least the policy's delays), and exactly, with the engine clock moved through
``tasker.fake_now`` instead of waiting.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from tasker_ctl.engine.store.connection import Json
from tasker_ctl.engine.worker.loop import Worker, WorkerOptions
from tests.integration.engine.conftest import Engine, claim, clocked_store, make_template, step
from tests.integration.engine.handlers import Recorder

# how much later than the failure a transition row may be stamped, on a loaded machine
STAMP_SLACK = 0.02
QUICK = {"backoff": "linear", "backoff_base_ms": 50, "max_backoff_ms": 1000}


def _single(handler: str, retry: dict[str, Any] | None = None, **config: Any) -> Any:
    settings: dict[str, Any] = {"config": config}
    if retry is not None:
        settings["retry"] = retry
    return make_template([step("only", handler, **settings)], name=handler.replace(".", "_"))


def _gaps(engine: Engine, task_uuid: Any) -> list[float]:
    """Seconds from each retryable failure to the next claim of the step."""
    rows = engine.step_transitions(task_uuid, "only")
    failed = [r["created_at"] for r in rows if r["to_state"] == "waiting_for_retry"]
    started = [r["created_at"] for r in rows if r["to_state"] == "in_progress"][1:]
    return [(start - fail).total_seconds() for fail, start in zip(failed, started, strict=True)]


def test_retry_then_success(engine: Engine, calls: Recorder) -> None:
    template = _single("fail.flaky", {**QUICK, "max_attempts": 3}, fail_times=2)
    task = engine.submit(template, {})
    # a long poll interval: the worker must sleep exactly until each retry is due
    assert engine.run(task.task_uuid, poll_interval=30, timeout=10) == "complete"

    row = engine.steps(task.task_uuid)["only"]
    assert row["attempts"] == 3
    assert row["current_state"] == "complete"
    assert row["results"]["result"]["attempt"] == 3
    assert [(c.attempt, c.retry_count) for c in calls.of("only")] == [(1, 0), (2, 1), (3, 2)]
    # one key for every attempt, the step's own
    assert {c.idempotency_key for c in calls.of("only")} == {row["idempotency_key"]}
    assert engine.path(task.task_uuid, "only") == [
        "pending",
        "enqueued",
        "in_progress",
        "waiting_for_retry",
        "enqueued",
        "in_progress",
        "waiting_for_retry",
        "enqueued",
        "in_progress",
        "complete",
    ]
    attempts = [r["attempt"] for r in engine.step_transitions(task.task_uuid, "only")]
    assert attempts == [0, 0, 1, 1, 1, 2, 2, 2, 3, 3]
    # linear backoff of 50 ms: at least 50 ms, then 100 ms (plus up to 10 % jitter). The
    # backoff counts from the moment the failure is recorded; the transition row is stamped a
    # little later in the same call (by the clock, not the transaction), so allow for that.
    first, second = _gaps(engine, task.task_uuid)
    assert 0.05 - STAMP_SLACK <= first < 1.0
    assert 0.10 - STAMP_SLACK <= second < 1.0
    assert engine.task(task.task_uuid)["current_state"] == "complete"


def test_exhausted_retries_block_the_task(engine: Engine, calls: Recorder) -> None:
    template = _single("fail.flaky", {**QUICK, "max_attempts": 3}, fail_times=99)
    task = engine.submit(template, {})
    assert engine.run(task.task_uuid, timeout=10) == "blocked_by_failures"

    row = engine.steps(task.task_uuid)["only"]
    assert (row["current_state"], row["attempts"]) == ("error", 3)
    assert len(calls.of("only")) == 3
    assert row["claimable_at"] is None
    envelope = row["results"]
    assert envelope["success"] is False
    assert envelope["error"]["error_type"] == "retryable_error"
    assert envelope["error"]["message"] == "attempt 3 failed"
    assert envelope["metadata"]["attempt"] == 3
    assert engine.path(task.task_uuid, "only")[-2:] == ["in_progress", "error"]
    assert engine.task_path(task.task_uuid)[-2:] == ["evaluating_results", "blocked_by_failures"]


@pytest.mark.parametrize(
    ("handler", "error_type"),
    [
        ("fail.permanent", "permanent_error"),  # decorator style
        ("fail.permanent_class", "PermanentError"),  # raised out of a class handler's call
        ("fail.returned", "business_rule"),  # StepHandlerResult.failure(retryable=False)
    ],
)
def test_permanent_failure_is_not_retried(
    engine: Engine, calls: Recorder, handler: str, error_type: str
) -> None:
    task = engine.submit(_single(handler, {**QUICK, "max_attempts": 5}), {})
    assert engine.run(task.task_uuid) == "blocked_by_failures"

    row = engine.steps(task.task_uuid)["only"]
    assert (row["current_state"], row["attempts"]) == ("error", 1)
    assert len(calls.of("only")) == 1
    assert row["results"]["status"] == "permanent_error"
    assert row["results"]["error"]["error_type"] == error_type
    assert row["results"]["error"]["retryable"] is False


def test_permanent_error_code_reaches_the_stored_result(engine: Engine) -> None:
    task = engine.submit(_single("fail.permanent"), {})
    engine.run(task.task_uuid)
    envelope = engine.steps(task.task_uuid)["only"]["results"]
    assert envelope["metadata"]["error_code"] == "BROKEN_FOR_GOOD"


def test_class_handler_retryable_error_is_retried(engine: Engine, calls: Recorder) -> None:
    task = engine.submit(_single("fail.retryable_class", {**QUICK, "max_attempts": 2}), {})
    assert engine.run(task.task_uuid) == "blocked_by_failures"
    assert engine.steps(task.task_uuid)["only"]["attempts"] == 2
    assert len(calls.of("only")) == 2


def test_template_retryable_false_runs_once(engine: Engine, calls: Recorder) -> None:
    template = _single("fail.flaky", {**QUICK, "retryable": False, "max_attempts": 5}, fail_times=1)
    task = engine.submit(template, {})
    assert engine.run(task.task_uuid) == "blocked_by_failures"
    row = engine.steps(task.task_uuid)["only"]
    assert (row["current_state"], row["attempts"], row["retryable"]) == ("error", 1, False)
    assert len(calls.of("only")) == 1


@pytest.mark.parametrize("retryable", [True, False])
def test_max_attempts_zero_still_runs_once(
    engine: Engine, calls: Recorder, retryable: bool
) -> None:
    # Tasker Core's rule: the first attempt is always eligible
    ok = _single("ok.noop", {"max_attempts": 0, "retryable": retryable})
    task = engine.submit(ok, {})
    assert engine.run(task.task_uuid) == "complete"
    assert engine.steps(task.task_uuid)["only"]["attempts"] == 1

    failing = _single("fail.flaky", {**QUICK, "max_attempts": 0}, fail_times=5)
    task = engine.submit(failing, {"second": True})
    assert engine.run(task.task_uuid) == "blocked_by_failures"
    assert engine.steps(task.task_uuid)["only"]["attempts"] == 1


def test_backoff_is_honoured_on_the_engine_clock(engine: Engine, database_url: str) -> None:
    """A failed attempt with 30 s of backoff is claimable at +30 s, not a moment before."""
    task = engine.submit(_single("ok.noop"), {})
    start = engine.db_now()

    with clocked_store(database_url, start) as store:
        first = claim(store, task.task_uuid)
        assert first is not None
        state = store.fetch_one(
            "fail_step",
            step_uuid=first["workflow_step_uuid"],
            attempt=1,
            results=Json({"success": False}),
            retryable=True,
            backoff_seconds=30.0,
            metadata=Json({}),
        )
        assert state == {"step_state": "waiting_for_retry", "task_state": "steps_in_process"}
        row = engine.steps(task.task_uuid)["only"]
        assert row["claimable_at"] == start + timedelta(seconds=30)
        assert row["backoff_request_seconds"] == 30
    for seconds, claimable in [(29.9, False), (30, True)]:
        with clocked_store(database_url, start + timedelta(seconds=seconds)) as store:
            assert (claim(store, task.task_uuid) is not None) is claimable
    row = engine.steps(task.task_uuid)["only"]
    assert (row["current_state"], row["attempts"]) == ("in_progress", 2)


def test_retry_after_from_the_handler_sets_the_delay(engine: Engine) -> None:
    template = _single(
        "fail.retry_after", {"max_attempts": 2, "max_backoff_ms": 60_000}, seconds=45
    )
    task = engine.submit(template, {})
    # one attempt only: the retry is 45 s away
    worker = Worker(engine.url, engine.registry, WorkerOptions(task_uuid=task.task_uuid))
    assert worker.run_once(engine.store)
    row = engine.steps(task.task_uuid)["only"]
    assert row["current_state"] == "waiting_for_retry"
    assert row["backoff_request_seconds"] == 45
    wait = (row["claimable_at"] - row["last_attempted_at"]).total_seconds()
    assert 45 <= wait < 46
    assert not worker.run_once(engine.store)
