"""A permanently failed step blocks its task: attempts in flight finish and are recorded, but
nothing new of the task starts: no child of a later completion, no retry, no lost attempt."""

from __future__ import annotations

import threading
import time
import uuid
from datetime import timedelta
from typing import Any

import psycopg

from tasker_ctl.engine.store.connection import Json, Store
from tests.integration.engine.conftest import Engine, claim, clocked_store, make_template, step
from tests.integration.engine.handlers import Recorder
from tests.integration.engine.handlers.failures import GATE

TWO_ROOTS = make_template(
    [
        step("doomed", "fail.permanent"),
        step("survivor", "ok.noop", retry={"max_attempts": 3, "backoff": "none"}),
        step("after_survivor", "ok.noop", "survivor"),
    ],
    name="two_roots",
)


def _claim(store: Store, task_uuid: uuid.UUID, worker: str = "w") -> dict[str, Any]:
    claimed = claim(store, task_uuid, worker, 60)
    assert claimed is not None
    return claimed


def _fail(store: Store, claimed: dict[str, Any], *, retryable: bool) -> Any:
    return store.fetch_one(
        "fail_step",
        step_uuid=claimed["workflow_step_uuid"],
        attempt=claimed["attempts"],
        results=Json({"success": False}),
        retryable=retryable,
        backoff_seconds=0.0,
        metadata=Json({}),
    )


def _claim_both(store: Store, task_uuid: uuid.UUID) -> dict[str, dict[str, Any]]:
    claimed = [_claim(store, task_uuid), _claim(store, task_uuid)]
    return {row["name"]: row for row in claimed}


def test_a_completion_after_the_block_enqueues_nothing(engine: Engine, calls: Recorder) -> None:
    template = make_template(
        [
            # fails once the survivor runs; the survivor finishes once the task is blocked
            step("doomed", "fail.permanent_after", config={"after": "survivor"}),
            step("survivor", "ok.gated"),
            step("after_survivor", "ok.noop", "survivor"),
        ],
        name="slow_sibling",
    )
    task = engine.submit(template, {})

    def open_gate_when_blocked() -> None:
        with psycopg.connect(engine.url, autocommit=True) as watcher:
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                row = watcher.execute(
                    "SELECT current_state FROM tasker.tasks WHERE task_uuid = %s",
                    [task.task_uuid],
                ).fetchone()
                if row and row[0] == "blocked_by_failures":
                    break
                time.sleep(0.01)
        GATE.set()

    watcher = threading.Thread(target=open_gate_when_blocked)
    watcher.start()
    assert engine.run(task.task_uuid, workers=2) == "blocked_by_failures"
    watcher.join()

    steps = engine.steps(task.task_uuid)
    assert steps["doomed"]["current_state"] == "error"
    assert steps["survivor"]["current_state"] == "complete"  # in flight: finished, recorded
    assert steps["after_survivor"]["current_state"] == "pending"
    assert steps["after_survivor"]["claimable_at"] is None
    assert calls.of("after_survivor") == []
    # counted down though not enqueued: the count stays true for when the task resumes
    assert steps["after_survivor"]["pending_parents"] == 0
    assert not steps["doomed"]["processed"]
    assert not steps["after_survivor"]["processed"]


def test_a_retry_after_the_block_is_not_scheduled(
    engine: Engine, store: Store, session: Store
) -> None:
    task = engine.submit(TWO_ROOTS, {})
    claimed = _claim_both(store, task.task_uuid)
    assert _fail(store, claimed["doomed"], retryable=False) == {
        "step_state": "error",
        "task_state": "blocked_by_failures",
    }
    assert _fail(session, claimed["survivor"], retryable=True) == {
        "step_state": "waiting_for_retry",
        "task_state": "blocked_by_failures",
    }
    survivor = engine.steps(task.task_uuid)["survivor"]
    assert survivor["current_state"] == "waiting_for_retry"
    assert survivor["claimable_at"] is None
    assert claim(store, task.task_uuid, "w", 60) is None


def test_waiting_steps_are_frozen_by_the_block(engine: Engine, store: Store) -> None:
    task = engine.submit(TWO_ROOTS, {})
    claimed = _claim_both(store, task.task_uuid)
    _fail(store, claimed["survivor"], retryable=True)  # waiting, claimable at once
    assert engine.steps(task.task_uuid)["survivor"]["claimable_at"] is not None
    _fail(store, claimed["doomed"], retryable=False)
    assert engine.steps(task.task_uuid)["survivor"]["claimable_at"] is None


def test_a_lost_attempt_of_a_blocked_task_is_not_run_again(
    engine: Engine, store: Store, database_url: str
) -> None:
    task = engine.submit(TWO_ROOTS, {})
    claimed = _claim_both(store, task.task_uuid)
    _fail(store, claimed["doomed"], retryable=False)
    # the survivor's worker dies; half an hour later another worker looks for work
    later = engine.db_now() + timedelta(minutes=30)
    with clocked_store(database_url, later) as other:
        assert claim(other, task.task_uuid, "x", 60) is None
    survivor = engine.steps(task.task_uuid)["survivor"]
    assert survivor["current_state"] == "waiting_for_retry"
    assert survivor["claimable_at"] is None
    assert survivor["lease_owner"] is None
    assert survivor["results"]["error"]["error_type"] == "lease_expired"
    assert engine.path(task.task_uuid, "survivor")[-2:] == ["in_progress", "waiting_for_retry"]


def test_a_lost_last_attempt_fails_the_step(
    engine: Engine, store: Store, database_url: str
) -> None:
    template = make_template([step("only", "ok.noop", retry={"max_attempts": 1})], name="one")
    task = engine.submit(template, {})
    _claim(store, task.task_uuid)
    later = engine.db_now() + timedelta(minutes=30)
    with clocked_store(database_url, later) as other:
        assert claim(other, task.task_uuid, "x", 60) is None
    row = engine.steps(task.task_uuid)["only"]
    assert (row["current_state"], row["attempts"]) == ("error", 1)
    assert row["results"]["status"] == "permanent_error"
    assert row["results"]["error"]["message"].startswith("attempt 1 lost: worker w ")
    assert engine.task(task.task_uuid)["current_state"] == "blocked_by_failures"
