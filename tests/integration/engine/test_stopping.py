"""A worker asked to stop starts nothing more: the attempt running finishes and is recorded,
and steps it claimed but had not started are given back as if never claimed, for a resumed
run to start.

The stop comes at the worst moment, deterministically: from the hook called once the running
step's success is recorded, which is the statement that also claims the steps after it.
"""

from __future__ import annotations

import threading
import uuid
from typing import Any

from tasker_ctl.engine.store.connection import Json
from tasker_ctl.engine.worker.attempt import Attempt, Outcome
from tasker_ctl.engine.worker.loop import Worker, WorkerOptions
from tests.integration.engine.conftest import Engine, claim, make_template, step
from tests.integration.engine.handlers import Recorder

CHAIN = make_template(
    [
        step("first", "ok.noop"),
        step("second", "ok.noop", "first"),
        step("third", "ok.noop", "second"),
    ],
    name="stop_chain",
)
FAN_OUT = make_template(
    [step("root", "ok.noop"), *(step(f"leaf{i}", "ok.noop", "root") for i in range(6))],
    name="stop_fan_out",
)
REPETITIONS = 5


def stopping_after(engine: Engine, task_uuid: uuid.UUID, step_name: str) -> Worker:
    """A worker of the task that is asked to stop once ``step_name``'s outcome is recorded."""
    stop = threading.Event()

    def hook(attempt: Attempt, outcome: Outcome) -> None:
        if attempt.step.name == step_name:
            stop.set()

    options = WorkerOptions(task_uuid=task_uuid, worker_id=f"stopping-{task_uuid.hex[:8]}")
    return Worker(engine.url, engine.registry, options, stop, on_outcome=hook)


def assert_untouched(engine: Engine, task_uuid: uuid.UUID, name: str) -> None:
    row = engine.steps(task_uuid)[name]
    assert (row["current_state"], row["attempts"], row["in_process"]) == ("enqueued", 0, False)
    assert (row["lease_owner"], row["lease_expires_at"], row["last_attempted_at"]) == (
        None,
        None,
        None,
    )
    assert engine.path(task_uuid, name) == ["pending", "enqueued"]


def test_a_step_claimed_as_the_stop_comes_is_given_back_not_started(
    engine: Engine, calls: Recorder
) -> None:
    for repetition in range(REPETITIONS):
        task = engine.submit(CHAIN, {"repetition": repetition})
        stop_after_first = stopping_after(engine, task.task_uuid, "first")
        stop_after_first.run()

        steps = engine.steps(task.task_uuid)
        assert (steps["first"]["current_state"], steps["first"]["attempts"]) == ("complete", 1)
        assert_untouched(engine, task.task_uuid, "second")
        assert steps["third"]["current_state"] == "pending"
        assert engine.task(task.task_uuid)["current_state"] == "steps_in_process"
    assert [call.step for call in calls.calls] == ["first"] * REPETITIONS

    # resumed, each task completes, each step having run once
    for row in engine.rows("SELECT task_uuid FROM tasker.tasks"):
        assert engine.run(row["task_uuid"]) == "complete"
        steps = engine.steps(row["task_uuid"])
        assert {name: r["attempts"] for name, r in steps.items()} == {
            "first": 1,
            "second": 1,
            "third": 1,
        }
        assert engine.path(row["task_uuid"], "second") == [
            "pending",
            "enqueued",
            "in_progress",
            "complete",
        ]
    assert sorted(call.step for call in calls.calls).count("second") == REPETITIONS


def test_a_batch_claimed_as_the_stop_comes_is_given_back_whole(
    engine: Engine, calls: Recorder
) -> None:
    task = engine.submit(FAN_OUT, {})
    worker = stopping_after(engine, task.task_uuid, "root")
    worker.claims.timed(0.0)  # quick handlers: the root's success claims a batch of leaves
    worker.run()

    for i in range(6):
        assert_untouched(engine, task.task_uuid, f"leaf{i}")
    assert [call.step for call in calls.calls] == ["root"]
    assert worker.claims.in_hand == type(worker.claims.in_hand)()
    assert engine.run(task.task_uuid) == "complete"
    assert {r["attempts"] for r in engine.steps(task.task_uuid).values()} == {1}


def test_a_retry_given_back_keeps_the_attempts_it_had(engine: Engine) -> None:
    task = engine.submit(CHAIN, {"retry": True})
    first = claim(engine.store, task.task_uuid, worker="w")
    assert first is not None
    engine.store.fetch_one(
        "fail_step",
        step_uuid=first["workflow_step_uuid"],
        attempt=1,
        results=Json({"success": False}),
        retryable=True,
        backoff_seconds=0,
        metadata=Json({}),
    )
    again = claim(engine.store, task.task_uuid, worker="w")
    assert again is not None
    assert again["attempts"] == 2
    step_uuid = again["workflow_step_uuid"]

    def release(worker: str, attempt: int) -> list[dict[str, Any]]:
        return engine.store.fetch_all(
            "release_unstarted_attempts", steps=[step_uuid], attempts=[attempt], worker=worker
        )

    # only the worker's current attempt is given back
    assert release("someone-else", 2) == []
    assert release("w", 1) == []
    assert len(release("w", 2)) == 1
    assert release("w", 2) == []  # once
    row = engine.steps(task.task_uuid)["first"]
    assert (row["current_state"], row["attempts"], row["lease_owner"]) == ("enqueued", 1, None)
    assert row["last_attempted_at"] is not None
    assert engine.path(task.task_uuid, "first")[-2:] == ["waiting_for_retry", "enqueued"]
    latest = engine.rows(
        "SELECT to_state FROM tasker.workflow_step_transitions"
        " WHERE workflow_step_uuid = %s AND most_recent",
        step_uuid,
    )
    assert latest == [{"to_state": "enqueued"}]
    retried = claim(engine.store, task.task_uuid, worker="w")
    assert retried is not None
    assert retried["attempts"] == 2
