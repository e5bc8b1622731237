"""Several workers on one task: every attempt runs once, every step completes once, and a
result that comes back after its lease was taken over is refused (fencing)."""

from __future__ import annotations

import random
import threading
import time
import uuid
from collections import Counter
from datetime import timedelta
from typing import Any

import pytest

from tasker_ctl.engine.store.connection import Json, Store
from tasker_ctl.engine.worker.ancestors import AncestorResults
from tasker_ctl.engine.worker.attempt import Attempt, PreparedTemplate
from tasker_ctl.engine.worker.claimed_step import ClaimedStep
from tasker_ctl.engine.worker.executor import build_context
from tasker_ctl.errors import StaleAttemptError
from tasker_ctl.template.model import TaskTemplate
from tests.integration.engine.conftest import (
    Engine,
    claim,
    claim_at,
    clocked_store,
    make_template,
    step,
)
from tests.integration.engine.handlers import Recorder
from tests.integration.engine.handlers.failures import ENDED, RELEASE


def layered_dag(layers: int, width: int, handler: str, seed: int = 7, **settings: Any) -> Any:
    """``layers`` x ``width`` steps; each step past the first layer depends on 1-3 steps of
    the layer before, chosen at random (seeded)."""
    rng = random.Random(seed)
    steps = []
    for layer in range(layers):
        for index in range(width):
            parents = (
                sorted(rng.sample([f"s{layer - 1}_{i}" for i in range(width)], rng.randint(1, 3)))
                if layer
                else []
            )
            steps.append(step(f"s{layer}_{index}", handler, *parents, **settings))
    return make_template(steps, name=f"layered_{layers}x{width}")


def test_many_workers_run_each_attempt_once(engine: Engine, calls: Recorder) -> None:
    ENDED.clear()
    template = layered_dag(8, 15, "ok.jitter", config={"max_ms": 4})
    task = engine.submit(template, {})
    assert engine.run(task.task_uuid, workers=8, timeout=60) == "complete"

    recorded = calls.calls
    assert len(recorded) == 120
    assert len({(call.step, call.attempt) for call in recorded}) == 120
    assert {call.attempt for call in recorded} == {1}
    assert len({call.thread for call in recorded}) > 1  # the work was shared
    # exactly one completion per step
    completions = Counter(
        row["name"]
        for row in engine.step_transitions(task.task_uuid)
        if row["to_state"] == "complete"
    )
    assert set(completions.values()) == {1}
    assert len(completions) == 120
    # every handler saw its parents' results, so none started before its parents ended
    edges = engine.rows(
        "SELECT p.name AS parent, c.name AS child FROM tasker.workflow_step_edges e"
        " JOIN tasker.workflow_steps p ON p.workflow_step_uuid = e.from_step_uuid"
        " JOIN tasker.workflow_steps c ON c.workflow_step_uuid = e.to_step_uuid"
    )
    started = {call.step: call for call in recorded}
    for edge in edges:
        child = started[edge["child"]]
        assert edge["parent"] in child.dependencies
        assert ENDED[(edge["parent"], 1)] <= child.started


def test_heartbeat_keeps_a_long_attempt_its_own(engine: Engine, calls: Recorder) -> None:
    """A handler running longer than the lease keeps it: no second worker takes the step.

    The handler runs until released. Once the heartbeat has renewed the lease, the moment the
    lease taken with the claim ran out is looked at through the engine clock (a claim at that
    moment, rolled back) instead of letting the handler sleep past it."""
    template = make_template([step("long", "ok.slow", config={"seconds": 30})], name="long")
    task = engine.submit(template, {})
    ended: list[str] = []
    runner = threading.Thread(
        target=lambda: ended.append(
            engine.run(task.task_uuid, workers=2, lease_seconds=2, poll_interval=0.2)
        ),
        daemon=True,
    )
    runner.start()
    try:
        deadline = time.monotonic() + 10
        while not calls.of("long"):
            assert time.monotonic() < deadline, "the long step never started"
            time.sleep(0.01)
        claimed = engine.steps(task.task_uuid)["long"]["lease_expires_at"]
        while engine.steps(task.task_uuid)["long"]["lease_expires_at"] <= claimed:
            assert time.monotonic() < deadline, "the heartbeat never renewed the lease"
            time.sleep(0.01)
        taken = claim_at(engine.url, task.task_uuid, claimed + timedelta(milliseconds=1))
        assert taken is None, taken
    finally:
        RELEASE.set()
        runner.join(timeout=40)
    assert ended == ["complete"]
    assert engine.steps(task.task_uuid)["long"]["attempts"] == 1
    assert len(calls.of("long")) == 1


def _claim(store: Store, task_uuid: uuid.UUID, worker: str, lease: int) -> dict[str, Any]:
    claimed = claim(store, task_uuid, worker, lease)
    assert claimed is not None
    return claimed


def _complete(store: Store, claimed: dict[str, Any], value: str) -> Any:
    return store.fetch_one(
        "complete_step",
        step_uuid=claimed["workflow_step_uuid"],
        attempt=claimed["attempts"],
        results=Json({"success": True, "result": {"by": value}}),
        metadata=Json({}),
    )


def test_late_result_after_lease_expiry_is_refused(
    engine: Engine, store: Store, database_url: str
) -> None:
    template = make_template([step("only", "ok.noop")], name="fenced")
    task = engine.submit(template, {})
    first = _claim(store, task.task_uuid, "slow-worker", lease=5)
    assert first["attempts"] == 1

    # 10 s later (on the engine clock) the lease has run out: another worker takes over
    with clocked_store(database_url, engine.db_now() + timedelta(seconds=10)) as other:
        second = _claim(other, task.task_uuid, "fast-worker", lease=5)
        assert (second["workflow_step_uuid"], second["attempts"]) == (
            first["workflow_step_uuid"],
            2,
        )
        assert second["lease_owner"] == "fast-worker"
        # the first worker's heartbeat no longer renews anything
        assert not store.fetch_value(
            "extend_lease",
            step_uuid=first["workflow_step_uuid"],
            attempt=1,
            worker="slow-worker",
            lease_seconds=5,
        )
        with pytest.raises(StaleAttemptError, match=r"attempt 1 of step .* is no longer current"):
            _complete(store, first, "slow-worker")
        assert _complete(other, second, "fast-worker") == {"task_state": "complete", "enqueued": 0}
        # once complete, neither attempt can record anything
        with pytest.raises(StaleAttemptError):
            _complete(other, second, "fast-worker")

    row = engine.steps(task.task_uuid)["only"]
    assert row["results"]["result"] == {"by": "fast-worker"}
    assert engine.path(task.task_uuid, "only") == [
        "pending",
        "enqueued",
        "in_progress",
        "waiting_for_retry",  # the lost attempt, recorded as a retryable failure
        "enqueued",
        "in_progress",
        "complete",
    ]
    lost = engine.step_transitions(task.task_uuid, "only")[3]
    assert lost["metadata"] == {"reason": "lease_expired", "worker": "slow-worker"}

    # both attempts saw the same idempotency key
    prepared = PreparedTemplate(TaskTemplate.model_validate(template.model_dump())).step("only")
    keys = {
        build_context(
            Attempt(
                step=ClaimedStep.from_row(claimed), prepared=prepared, ancestors=AncestorResults({})
            ),
            "h",
        ).idempotency_key
        for claimed in (first, second)
    }
    assert keys == {row["idempotency_key"]}


def test_a_late_result_is_accepted_while_nobody_took_over(engine: Engine, store: Store) -> None:
    """An expired lease is only lost once another worker claims the step."""
    template = make_template([step("only", "ok.noop")], name="late_ok")
    task = engine.submit(template, {})
    claimed = _claim(store, task.task_uuid, "w", lease=1)
    engine.execute(
        "UPDATE tasker.workflow_steps SET lease_expires_at = now() - interval '1 hour',"
        " claimable_at = now() - interval '1 hour'"
    )
    assert _complete(store, claimed, "w")["task_state"] == "complete"


def test_idempotency_keys_differ_between_steps_and_tasks(engine: Engine) -> None:
    template = make_template([step("a", "ok.noop"), step("b", "ok.noop")], name="keys")
    first = engine.submit(template, {"n": 1})
    second = engine.submit(template, {"n": 2})
    keys = [
        row["idempotency_key"]
        for task in (first, second)
        for row in engine.steps(task.task_uuid).values()
    ]
    assert len(set(keys)) == 4
