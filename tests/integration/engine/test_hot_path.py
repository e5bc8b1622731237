"""The worker's hot path: one statement per step, ancestors' results read as far as needed.

A success is recorded together with the worker's next claim; a chain hands each step to the
worker that finished its parent, still recording pending -> enqueued -> in_progress. Handlers
get their parents' results with the claim and every other ancestor's on demand.
"""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

from tasker_ctl.engine.store.connection import Json
from tasker_ctl.engine.worker.attempt import Attempt, Outcome
from tasker_ctl.engine.worker.claimed_step import ClaimedStep
from tasker_ctl.engine.worker.loop import Worker, WorkerOptions
from tasker_ctl.sdk.step_handler.functional import step_handler
from tasker_ctl.sdk.types import StepContext
from tests.integration.engine.conftest import Engine, claim, make_template, step

CHAIN = make_template(
    [
        step("first", "lazy.start"),
        step("second", "lazy.next", "first"),
        step("third", "lazy.next", "second"),
        step("fourth", "lazy.reach_back", "third"),
    ],
    name="lazy_chain",
)


def _register(engine: Engine) -> None:
    @step_handler("lazy.start")
    def start(context: StepContext) -> dict[str, Any]:
        return {"value": 1}

    @step_handler("lazy.next")
    def next_value(context: StepContext) -> dict[str, Any]:
        (parent,) = context.event.task_sequence_step["step_definition"]["dependencies"]
        return {"value": context.get_dependency_field(parent, "value") + 1}

    @step_handler("lazy.reach_back")
    def reach_back(context: StepContext) -> dict[str, Any]:
        # a grandparent's and a great-grandparent's results, then every name
        return {
            "first": context.get_dependency_field("first", "value"),
            "second": context.get_dependency_field("second", "value"),
            "names": sorted(context.dependency_results),
        }

    engine.registry.register("lazy.start", start)
    engine.registry.register("lazy.next", next_value)
    engine.registry.register("lazy.reach_back", reach_back)


def _run(engine: Engine, worker: Worker) -> None:
    while worker.run_once(engine.store):
        pass


def test_only_a_handler_that_looks_past_its_parents_reads_them(engine: Engine) -> None:
    _register(engine)
    loaded: dict[str, bool] = {}

    def seen(attempt: Attempt, outcome: Outcome) -> None:
        assert outcome.success, outcome.envelope
        loaded[attempt.step.name] = attempt.ancestors.complete

    task = engine.submit(CHAIN, {})
    _run(engine, Worker(engine.url, engine.registry, WorkerOptions(), on_outcome=seen))

    results = {name: row["results"]["result"] for name, row in engine.steps(task.task_uuid).items()}
    assert results["third"] == {"value": 3}
    assert results["fourth"] == {"first": 1, "second": 2, "names": ["first", "second", "third"]}
    # first and second have no ancestors beyond their parents; third never looked further
    assert loaded == {"first": True, "second": True, "third": False, "fourth": True}


def test_a_chain_is_handed_from_step_to_step_with_every_transition(engine: Engine) -> None:
    _register(engine)
    leased: dict[str, ClaimedStep] = {}

    def seen(attempt: Attempt, outcome: Outcome) -> None:
        leased[attempt.step.name] = attempt.step

    worker = Worker(
        engine.url, engine.registry, WorkerOptions(worker_id="chain-worker"), on_outcome=seen
    )
    task = engine.submit(CHAIN, {})
    _run(engine, worker)

    # "first" was claimed, the others handed over: both ways lease alike
    for name, claimed in leased.items():
        lease = claimed.lease
        assert claimed.state == "in_progress", name
        assert claimed.in_process, name
        assert lease.owner == "chain-worker", name
        assert lease.claimable_at == lease.expires_at, name
        assert lease.expires_at - lease.last_attempted_at == timedelta(seconds=30), name

    assert engine.task(task.task_uuid)["current_state"] == "complete"
    for name in ("first", "second", "third", "fourth"):
        transitions = engine.step_transitions(task.task_uuid, name)
        assert [row["to_state"] for row in transitions] == [
            "pending",
            "enqueued",
            "in_progress",
            "complete",
        ]
        assert [row["most_recent"] for row in transitions] == [False, False, False, True]
        started = transitions[2]
        assert started["attempt"] == 1
        assert started["metadata"]["worker"] == "chain-worker"
        assert started["event"] == "Start"
    steps = engine.steps(task.task_uuid)
    assert {row["attempts"] for row in steps.values()} == {1}
    assert all(row["lease_owner"] is None and row["claimable_at"] is None for row in steps.values())


def test_a_stopping_worker_records_its_success_without_claiming_more(engine: Engine) -> None:
    _register(engine)
    stop = threading.Event()

    @step_handler("lazy.start")
    def start_then_stop(context: StepContext) -> dict[str, Any]:
        stop.set()  # the stop comes while "first" runs, before its success is recorded
        return {"value": 1}

    engine.registry.register("lazy.start", start_then_stop)
    worker = Worker(engine.url, engine.registry, WorkerOptions(), stop)
    task = engine.submit(CHAIN, {})
    assert worker.run_once(engine.store)  # claims and runs "first"

    steps = engine.steps(task.task_uuid)  # nothing was claimed with the completion
    assert steps["first"]["current_state"] == "complete"
    assert steps["second"]["current_state"] == "enqueued"
    assert steps["second"]["lease_owner"] is None


def test_a_worker_stopped_before_it_starts_gives_its_claim_back(engine: Engine) -> None:
    _register(engine)
    stop = threading.Event()
    worker = Worker(engine.url, engine.registry, WorkerOptions(), stop)
    task = engine.submit(CHAIN, {})
    stop.set()
    assert not worker.run_once(engine.store)

    first = engine.steps(task.task_uuid)["first"]
    assert first["current_state"] == "enqueued"
    assert first["attempts"] == 0
    assert first["lease_owner"] is None


def test_a_worker_stopped_with_a_step_in_hand_gives_it_back_unstarted(engine: Engine) -> None:
    _register(engine)
    stop = threading.Event()
    ran: list[str] = []

    def seen(attempt: Attempt, outcome: Outcome) -> None:
        ran.append(attempt.step.name)
        if attempt.step.name == "second":
            stop.set()  # "third" may be claimed with this completion: it must not start

    worker = Worker(engine.url, engine.registry, WorkerOptions(), stop, on_outcome=seen)
    task = engine.submit(CHAIN, {})
    worker.run()

    assert ran == ["first", "second"]
    steps = engine.steps(task.task_uuid)
    assert steps["second"]["current_state"] == "complete"
    assert steps["third"]["current_state"] == "enqueued"
    assert steps["third"]["attempts"] == 0
    assert steps["third"]["lease_owner"] is None
    assert steps["fourth"]["current_state"] == "pending"


def test_parents_sharing_children_complete_side_by_side(engine: Engine) -> None:
    """Completions that count down the same children lock them in one order (no deadlock),
    and only the last leaf to finish completes the task."""
    _register(engine)
    roots = [f"root_{i}" for i in range(6)]
    joins = [f"join_{i}" for i in range(4)]
    template = make_template(
        [
            *(step(name, "lazy.start") for name in roots),
            *(step(name, "lazy.start", *roots) for name in joins),
        ],
        name="shared_children",
    )
    for _ in range(3):
        task = engine.submit(template, {}, identity="always_unique")
        assert engine.run(task.task_uuid, workers=4) == "complete"
        steps = engine.steps(task.task_uuid)
        assert all(row["current_state"] == "complete" for row in steps.values())
        assert all(steps[name]["pending_parents"] == 0 for name in joins)
        assert engine.task_path(task.task_uuid)[-2:] == ["evaluating_results", "complete"]


def test_a_wide_join_counts_its_parents_in_shards(engine: Engine) -> None:
    _register(engine)
    parents = [f"parent_{i:02d}" for i in range(40)]
    template = make_template(
        [
            *(step(name, "lazy.start") for name in parents),
            step("join", "lazy.start", *parents),
        ],
        name="wide_join",
    )
    task = engine.submit(template, {})
    join = engine.steps(task.task_uuid)["join"]
    shards = engine.rows(
        "SELECT shard, pending FROM tasker.step_parent_counts WHERE workflow_step_uuid = %s",
        join["workflow_step_uuid"],
    )
    assert len(shards) == 5  # runs of eight parents
    assert sum(row["pending"] for row in shards) == 40
    assert join["pending_parents"] == 5  # shards with parents left, not parents
    # runs of eight parents in the template's order (the order workers claim them in) take
    # the shards in turn: a batch of neighbours counts down two or three shards
    by_parent = {
        row["name"]: row["counter_shard"]
        for row in engine.rows(
            "SELECT p.name, e.counter_shard FROM tasker.workflow_step_edges e "
            "JOIN tasker.workflow_steps p ON p.workflow_step_uuid = e.from_step_uuid "
            "WHERE e.to_step_uuid = %s",
            join["workflow_step_uuid"],
        )
    }
    assert [by_parent[name] for name in parents] == [i // 8 for i in range(40)]

    assert engine.run(task.task_uuid, workers=4) == "complete"
    join = engine.steps(task.task_uuid)["join"]
    assert join["attempts"] == 1
    assert join["pending_parents"] == 0
    assert engine.path(task.task_uuid, "join") == ["pending", "enqueued", "in_progress", "complete"]
    assert {
        row["pending"]
        for row in engine.rows(
            "SELECT pending FROM tasker.step_parent_counts WHERE workflow_step_uuid = %s",
            join["workflow_step_uuid"],
        )
    } == {0}


def test_a_claim_drops_a_step_of_a_task_that_takes_no_work(engine: Engine) -> None:
    """A step enqueued just before its task was blocked (the block skips steps another
    transaction holds) is not run: the claim re-checks the task and drops it."""
    _register(engine)
    task = engine.submit(CHAIN, {})
    engine.execute(
        "UPDATE tasker.tasks SET current_state = 'blocked_by_failures' WHERE task_uuid = %s",
        task.task_uuid,
    )
    assert claim(engine.store, task.task_uuid) is None
    first = engine.steps(task.task_uuid)["first"]
    assert (first["current_state"], first["attempts"]) == ("enqueued", 0)
    assert first["claimable_at"] is None


def test_a_claim_with_a_completion_leaves_lost_leases_to_a_plain_claim(engine: Engine) -> None:
    """Recovering a lost attempt takes its task's row, which a completion holding other rows
    must not wait for: the claim made with a completion stops there instead."""
    _register(engine)
    template = make_template([step("lost", "lazy.start"), step("done", "lazy.start")], name="two")
    task = engine.submit(template, {})
    first, second = claim(engine.store, task.task_uuid, "w1"), claim(engine.store, task.task_uuid)
    assert first is not None
    assert second is not None
    lost, done = (first, second) if first["name"] == "lost" else (second, first)
    engine.execute(
        "UPDATE tasker.workflow_steps SET lease_expires_at = now() - interval '1 hour',"
        " claimable_at = now() - interval '1 hour' WHERE workflow_step_uuid = %s",
        lost["workflow_step_uuid"],
    )
    completion = {
        "step_uuid": done["workflow_step_uuid"],
        "attempt": done["attempts"],
        "results": Json({"success": True, "result": {}}),
        "metadata": Json({}),
    }
    nothing = engine.store.fetch_one(
        "claim_attempt",
        **completion,
        worker="w",
        namespaces=None,
        lease_seconds=60,
        task_uuid=task.task_uuid,
        limit=1,
    )
    assert nothing is None
    steps = engine.steps(task.task_uuid)
    assert steps["done"]["current_state"] == "complete"
    assert (steps["lost"]["attempts"], steps["lost"]["lease_owner"]) == (1, lost["lease_owner"])

    recovered = claim(engine.store, task.task_uuid)
    assert recovered is not None
    assert (recovered["name"], recovered["attempts"]) == ("lost", 2)
