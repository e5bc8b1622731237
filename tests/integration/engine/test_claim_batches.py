"""Claims and successes in batches: a worker whose handlers are quick claims several steps
at once and records their successes together with its next claim."""

from __future__ import annotations

import threading
import time
import uuid
from datetime import timedelta
from typing import Any

from tasker_ctl.engine.running import serve
from tasker_ctl.engine.store.connection import Json
from tasker_ctl.engine.worker.attempt import Attempt, Outcome
from tasker_ctl.engine.worker.loop import Worker, WorkerOptions
from tests.integration.engine.conftest import Engine, claim, claim_at, make_template, step
from tests.integration.engine.handlers import Recorder, failures
from tests.integration.engine.handlers.failures import RELEASE


def wide(width: int, handler: str = "ok.noop", **settings: Any) -> Any:
    children = [step(f"c{i:03d}", handler, "root", **settings) for i in range(width)]
    join = step("join", "ok.noop", *(child["name"] for child in children))
    return make_template([step("root", "ok.noop"), *children, join], name=f"wide_{width}")


def independent(count: int, name: str = "independent", **settings: Any) -> Any:
    steps = [step(f"s{i}", "ok.noop", **settings) for i in range(count)]
    return make_template(steps, name=name)


def transactions(engine: Engine, task_uuid: uuid.UUID, to_state: str) -> int:
    """How many transactions wrote the task's step transitions into ``to_state``."""
    row = engine.one(
        "SELECT count(DISTINCT xmin::text) AS n FROM tasker.workflow_step_transitions"
        " WHERE task_uuid = %s AND to_state = %s",
        task_uuid,
        to_state,
    )
    return int(row["n"])


def claim_many(
    engine: Engine,
    task_uuid: uuid.UUID,
    *,
    limit: int,
    worker: str = "w",
    successes: list[dict[str, Any]] = (),  # type: ignore[assignment]
) -> list[dict[str, Any]]:
    return engine.store.fetch_all(
        "claim_attempts",
        steps=[row["workflow_step_uuid"] for row in successes],
        attempts=[row["attempts"] for row in successes],
        results=[Json({"success": True, "result": {"name": row["name"]}}) for row in successes],
        metadata=[Json({"worker": worker}) for _ in successes],
        worker=worker,
        namespaces=None,
        lease_seconds=60,
        task_uuid=task_uuid,
        limit=limit,
    )


def run_to_rest(engine: Engine, worker: Worker) -> None:
    while worker.run_once(engine.store):
        pass


def test_quick_steps_are_claimed_and_recorded_in_batches(engine: Engine) -> None:
    task = engine.submit(wide(40), {})
    worker = Worker(engine.url, engine.registry, WorkerOptions(task_uuid=task.task_uuid))
    run_to_rest(engine, worker)

    assert engine.task(task.task_uuid)["current_state"] == "complete"
    steps = engine.steps(task.task_uuid)
    assert {row["attempts"] for row in steps.values()} == {1}
    for name in steps:
        assert engine.path(task.task_uuid, name) == [
            "pending",
            "enqueued",
            "in_progress",
            "complete",
        ], name
    # 42 steps started and completed in far fewer transactions
    assert transactions(engine, task.task_uuid, "in_progress") <= 10
    assert transactions(engine, task.task_uuid, "complete") <= 10
    # the join ran once, after every child had completed
    children_done = max(
        row["created_at"]
        for row in engine.step_transitions(task.task_uuid)
        if row["to_state"] == "complete" and row["name"].startswith("c")
    )
    join_started = [
        row["created_at"]
        for row in engine.step_transitions(task.task_uuid, "join")
        if row["to_state"] == "in_progress"
    ]
    assert len(join_started) == 1
    assert join_started[0] >= children_done


def test_a_claim_batch_of_one_takes_one_step_per_transaction(engine: Engine) -> None:
    task = engine.submit(wide(12), {})
    options = WorkerOptions(task_uuid=task.task_uuid, claim_batch=1)
    run_to_rest(engine, Worker(engine.url, engine.registry, options))

    assert engine.task(task.task_uuid)["current_state"] == "complete"
    assert transactions(engine, task.task_uuid, "in_progress") == 14
    assert transactions(engine, task.task_uuid, "complete") == 14


def served(engine: Engine, task_uuid: uuid.UUID, **options: Any) -> None:
    """Run ``serve`` (what ``tasker-ctl worker`` calls) until the task rests."""
    stop = threading.Event()
    thread = threading.Thread(
        target=serve,
        kwargs={"handlers": [failures], "database_url": engine.url, "stop": stop, **options},
        daemon=True,
    )
    thread.start()
    try:
        deadline = time.monotonic() + 20
        while not engine.resting(task_uuid):
            assert time.monotonic() < deadline, "the task did not come to rest"
            time.sleep(0.01)
    finally:
        stop.set()
        thread.join(timeout=10)


def test_the_worker_command_s_claim_batch_reaches_its_workers(engine: Engine) -> None:
    one = engine.submit(wide(12), {"run": "one at a time"})
    served(engine, one.task_uuid, claim_batch=1)
    batched = engine.submit(wide(12), {"run": "batched"})
    served(engine, batched.task_uuid)

    assert engine.task(one.task_uuid)["current_state"] == "complete"
    assert engine.task(batched.task_uuid)["current_state"] == "complete"
    assert transactions(engine, one.task_uuid, "in_progress") == 14
    assert transactions(engine, batched.task_uuid, "in_progress") < 14


def test_several_workers_batching_into_one_join_complete_it_once(engine: Engine) -> None:
    task = engine.submit(wide(300), {})
    assert engine.run(task.task_uuid, workers=4) == "complete"

    steps = engine.steps(task.task_uuid)
    assert {row["attempts"] for row in steps.values()} == {1}
    assert steps["join"]["pending_parents"] == 0
    completions = [
        row["name"]
        for row in engine.step_transitions(task.task_uuid)
        if row["to_state"] == "complete"
    ]
    assert sorted(completions) == sorted(steps)


def test_a_batch_claim_takes_only_steps_with_attempts_to_spare(engine: Engine) -> None:
    last = engine.submit(independent(3, "last", retry={"max_attempts": 1}), {})
    spare = engine.submit(independent(3, "spare", retry={"max_attempts": 2}), {})

    # the first step of a claim may be on its last attempt, as any single claim's; steps
    # claimed ahead of their run must not be: a worker dying with them in hand would cost
    # them an attempt they never ran
    assert len(claim_many(engine, last.task_uuid, limit=3)) == 1
    assert len(claim_many(engine, spare.task_uuid, limit=3)) == 3


def test_a_taken_over_success_is_refused_and_the_others_recorded(engine: Engine) -> None:
    task = engine.submit(independent(3), {})
    held = {row["name"]: row for row in claim_many(engine, task.task_uuid, limit=3)}
    assert sorted(held) == ["s0", "s1", "s2"]
    assert {row["refused_step"] for row in held.values()} == {None}
    # s1's lease runs out and another worker takes it over
    engine.execute(
        "UPDATE tasker.workflow_steps SET lease_expires_at = now() - interval '1 hour',"
        " claimable_at = now() - interval '1 hour' WHERE workflow_step_uuid = %s",
        held["s1"]["workflow_step_uuid"],
    )
    retried = claim(engine.store, task.task_uuid, worker="other")
    assert retried is not None
    assert (retried["name"], retried["attempts"]) == ("s1", 2)

    rows = claim_many(engine, task.task_uuid, limit=0, successes=list(held.values()))

    assert [row["refused_step"] for row in rows] == [held["s1"]["workflow_step_uuid"]]
    steps = engine.steps(task.task_uuid)
    assert steps["s0"]["current_state"] == steps["s2"]["current_state"] == "complete"
    assert steps["s0"]["results"] == {"success": True, "result": {"name": "s0"}}
    assert (steps["s1"]["current_state"], steps["s1"]["attempts"]) == ("in_progress", 2)
    assert steps["s1"]["lease_owner"] == "other"
    assert "complete" not in engine.path(task.task_uuid, "s1")


def test_a_stopping_worker_gives_back_the_steps_in_hand_and_claims_no_more(
    engine: Engine,
) -> None:
    task = engine.submit(wide(60), {})
    stop = threading.Event()
    ran: list[str] = []

    def seen(attempt: Attempt, outcome: Outcome) -> None:
        ran.append(attempt.step.name)
        if attempt.step.name != "root":
            stop.set()  # steps claimed with this success are in hand

    options = WorkerOptions(task_uuid=task.task_uuid, claim_batch=8)
    worker = Worker(engine.url, engine.registry, options, stop, on_outcome=seen)
    worker.run()

    steps = engine.steps(task.task_uuid)
    done = sorted(name for name, row in steps.items() if row["current_state"] == "complete")
    # root and the children of its batch that ran before the stop: each was recorded; the
    # rest of the batch, and any claimed with the success that stopped it, were given back
    # unstarted (enqueued, no attempt counted), and nothing more was claimed
    assert sorted(ran) == done
    assert 2 <= len(done) <= 1 + 8
    assert {row["current_state"] for row in steps.values()} == {"complete", "enqueued", "pending"}
    assert steps["join"]["current_state"] == "pending"
    assert all(row["lease_owner"] is None for row in steps.values())
    assert all(row["attempts"] == (name in done) for name, row in steps.items())


def in_progress(engine: Engine, task_uuid: uuid.UUID) -> dict[str, Any]:
    """The task's steps in progress, by name, with the ends of their leases."""
    rows = engine.rows(
        "SELECT name, lease_expires_at FROM tasker.workflow_steps"
        " WHERE task_uuid = %s AND current_state = 'in_progress'",
        task_uuid,
    )
    return {row["name"]: row["lease_expires_at"] for row in rows}


def test_leases_of_steps_in_hand_are_renewed_while_a_slow_handler_runs(
    engine: Engine, calls: Recorder
) -> None:
    # the quick children wait in hand (or as successes not yet recorded) while the slow one
    # runs for longer than a lease: the heartbeat renews them all
    children = [step("slow", "ok.slow", "root", config={"seconds": 10})]
    children += [step(f"quick{i}", "ok.noop", "root") for i in range(5)]
    template = make_template([step("root", "ok.noop"), *children], name="slow_in_batch")
    task = engine.submit(template, {})
    stop = threading.Event()
    # a wide window: the quick successes are not recorded before the slow step ends
    options = WorkerOptions(task_uuid=task.task_uuid, lease_seconds=2, batch_window=5.0)
    worker = Worker(engine.url, engine.registry, options, stop)
    thread = threading.Thread(target=worker.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while not any(call.step == "slow" for call in calls.calls):
            assert time.monotonic() < deadline, "the slow step never started"
            time.sleep(0.01)
        claimed = in_progress(engine, task.task_uuid)
        assert len(claimed) >= 2  # the slow step, and quick ones claimed with it
        # the moment every lease taken with the claim has run out, on the database's clock:
        # the test waits for the heartbeat's renewals (every third of a lease), then looks at
        # that moment through the clock (tasker.fake_now) instead of sleeping until it comes
        ran_out = max(claimed.values())

        def renewed() -> bool:
            now = in_progress(engine, task.task_uuid)
            return all(name in now and now[name] > ran_out for name in claimed)

        deadline = time.monotonic() + 10
        while not renewed():
            assert time.monotonic() < deadline, "the heartbeat did not renew every lease"
            time.sleep(0.01)
        past = ran_out + timedelta(milliseconds=1)
        held = engine.rows(
            "SELECT name, lease_owner, lease_expires_at > %s AS leased, claimable_at > %s AS kept"
            " FROM tasker.workflow_steps WHERE task_uuid = %s AND current_state = 'in_progress'",
            past,
            past,
            task.task_uuid,
        )
        assert {row["name"] for row in held} == set(claimed)
        assert all(row["leased"] and row["kept"] for row in held), held
        assert {row["lease_owner"] for row in held} == {options.worker_id}
        # and no other worker takes one over at that moment (its claim is rolled back)
        taken = claim_at(engine.url, task.task_uuid, past)
        assert taken is None or taken["name"] not in {row["name"] for row in held}, taken
    finally:
        RELEASE.set()
        deadline = time.monotonic() + 10
        while not engine.resting(task.task_uuid) and time.monotonic() < deadline:
            time.sleep(0.01)
        stop.set()
        thread.join(timeout=10)

    assert engine.task(task.task_uuid)["current_state"] == "complete"
    assert {row["attempts"] for row in engine.steps(task.task_uuid).values()} == {1}
