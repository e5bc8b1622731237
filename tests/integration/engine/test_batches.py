"""Batches: a batchable step's outcome creates its workers ``{template}_{batch_id}`` with
their cursors, the convergence step over all of them and what follows it, in the
transaction that completes it; the worker template's parallelism and failure strategy are
enforced; a worker's checkpoint survives a retry."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest

from tests.integration.engine.conftest import Engine, make_template, step
from tests.integration.engine.handlers import CALLS

QUICK = {"max_attempts": 3, "backoff": "linear", "backoff_base_ms": 20, "max_backoff_ms": 100}


def batch_template(
    *,
    parallelism: int = 10,
    strategy: str = "continue_on_failure",
    worker: str = "batch.work",
    analyzer_config: dict[str, Any] | None = None,
    name: str = "batching",
) -> Any:
    return make_template(
        [
            step(
                "analyze",
                "batch.analyze",
                type="batchable",
                config=analyzer_config
                if analyzer_config is not None
                else {"worker": "proc", "worker_template_name": "proc"},
            ),
            step(
                "proc",
                worker,
                "analyze",
                type="batch_worker",
                retry=QUICK,
                config={"operation": "sum"},
                batch_config={
                    "batch_size": 10,
                    "parallelism": parallelism,
                    "cursor_field": "row",
                    "worker_template": "proc",
                    "failure_strategy": strategy,
                },
            ),
            step("aggregate", "batch.aggregate", "proc", type="deferred_convergence"),
            step("report", "ok.noop", "aggregate"),
        ],
        name=name,
    )


def _edges(engine: Engine, task_uuid: Any) -> set[tuple[str, str, str]]:
    rows = engine.rows(
        "SELECT p.name AS parent, c.name AS child, e.name FROM tasker.workflow_step_edges e"
        " JOIN tasker.workflow_steps p ON p.workflow_step_uuid = e.from_step_uuid"
        " JOIN tasker.workflow_steps c ON c.workflow_step_uuid = e.to_step_uuid"
        " WHERE c.task_uuid = %s",
        task_uuid,
    )
    return {(row["parent"], row["child"], row["name"]) for row in rows}


def _result(row: dict[str, Any]) -> Any:
    return row["results"]["result"]


def test_many_batches_create_named_workers_and_a_convergence_over_all(engine: Engine) -> None:
    CALLS.clear()
    task = engine.submit(batch_template(), {"items": 35, "batch_size": 10})
    # what follows the batch is created with it, not with the task
    assert set(engine.steps(task.task_uuid)) == {"analyze"}
    assert engine.run(task.task_uuid, workers=3) == "complete"
    steps = engine.steps(task.task_uuid)
    workers = [f"proc_{n:03d}" for n in range(1, 5)]
    assert set(steps) == {"analyze", *workers, "aggregate", "report"}
    assert all(steps[name]["current_state"] == "complete" for name in steps)
    assert {steps[name]["created_by"] for name in (*workers, "aggregate", "report")} == {
        "batch_spawn"
    }
    first = steps["proc_001"]
    assert first["template_step_name"] == "proc"
    assert first["inputs"] == {
        "operation": "sum",
        "cursor": {"batch_id": "001", "start_cursor": 0, "end_cursor": 10, "batch_size": 10},
        "batch_metadata": {"cursor_field": "row", "failure_strategy": "continue_on_failure"},
        "is_no_op": False,
        "__template_step_name": "proc",
    }
    assert steps["proc_004"]["inputs"]["cursor"]["end_cursor"] == 35
    edges = _edges(engine, task.task_uuid)
    assert {("analyze", w, "batch_dependency") for w in workers} <= edges
    assert {(w, "aggregate", "worker_to_convergence") for w in workers} <= edges
    assert ("aggregate", "report", "provides") in edges
    assert _result(steps["aggregate"]) == {
        "workers": workers,
        "items": 35,
        "sum": sum(range(35)),
        "handed": ["analyze", *workers],
    }


def test_a_batch_of_one(engine: Engine) -> None:
    task = engine.submit(batch_template(), {"items": 4})
    assert engine.run(task.task_uuid) == "complete"
    steps = engine.steps(task.task_uuid)
    assert set(steps) == {"analyze", "proc_001", "aggregate", "report"}
    assert _result(steps["aggregate"])["items"] == 4


def test_no_batches_creates_a_no_op_placeholder_so_the_convergence_runs(engine: Engine) -> None:
    CALLS.clear()
    task = engine.submit(batch_template(), {"items": 0})
    assert engine.run(task.task_uuid) == "complete"
    steps = engine.steps(task.task_uuid)
    assert set(steps) == {"analyze", "proc_000", "aggregate", "report"}
    placeholder = steps["proc_000"]
    assert placeholder["inputs"]["is_no_op"] is True
    assert placeholder["inputs"]["cursor"] == {
        "batch_id": "000",
        "start_cursor": 0,
        "end_cursor": 0,
        "batch_size": 0,
    }
    assert _result(placeholder)["no_op"] is True
    assert _result(steps["aggregate"])["items"] == 0
    assert [call.step for call in CALLS.calls] == ["analyze", "proc_000", "aggregate", "report"]


def test_no_batches_without_a_worker_template_name_creates_nothing(engine: Engine) -> None:
    """As in Tasker Core: the placeholder needs the batchable step to name its template."""
    task = engine.submit(batch_template(analyzer_config={"worker": "proc"}), {"items": 0})
    assert engine.run(task.task_uuid) == "complete"
    assert set(engine.steps(task.task_uuid)) == {"analyze"}


def _running_at_once(engine: Engine, task_uuid: Any) -> int:
    """The most workers in progress at one moment, from their transitions' timestamps."""
    rows = engine.rows(
        "SELECT tr.created_at, tr.from_state, tr.to_state FROM tasker.workflow_step_transitions tr"
        " JOIN tasker.workflow_steps s USING (workflow_step_uuid)"
        " WHERE s.task_uuid = %s AND s.template_step_name = 'proc'"
        "   AND (tr.to_state = 'in_progress' OR tr.from_state = 'in_progress')",
        task_uuid,
    )
    events: list[tuple[datetime, int]] = [
        (row["created_at"], 1 if row["to_state"] == "in_progress" else -1) for row in rows
    ]
    running = peak = 0
    # at equal times an end comes before a start: a slot passed on in one transaction
    for _, change in sorted(events, key=lambda event: (event[0], event[1])):
        running += change
        peak = max(peak, running)
    return peak


@pytest.mark.parametrize("parallelism", [1, 3])
def test_parallelism_is_never_exceeded(engine: Engine, parallelism: int) -> None:
    task = engine.submit(
        batch_template(parallelism=parallelism), {"items": 80, "batch_size": 10, "sleep": 0.05}
    )
    assert engine.run(task.task_uuid, workers=5, timeout=60) == "complete"
    steps = engine.steps(task.task_uuid)
    assert len([name for name in steps if name.startswith("proc_")]) == 8
    assert _running_at_once(engine, task.task_uuid) == parallelism
    slots = engine.rows("SELECT state, count(*) AS n FROM tasker.batch_worker_slots GROUP BY state")
    assert [(row["state"], row["n"]) for row in slots] == [("released", 8)]


def test_parallelism_holds_across_retries(engine: Engine) -> None:
    task = engine.submit(
        batch_template(parallelism=2),
        {"items": 60, "batch_size": 10, "sleep": 0.03, "flaky": ["001", "002", "004"]},
    )
    assert engine.run(task.task_uuid, workers=4, timeout=60) == "complete"
    steps = engine.steps(task.task_uuid)
    assert steps["proc_001"]["attempts"] == 2
    assert _running_at_once(engine, task.task_uuid) <= 2


def test_fail_fast_blocks_the_task_at_the_first_failed_worker(engine: Engine) -> None:
    task = engine.submit(
        batch_template(parallelism=1, strategy="fail_fast"),
        {"items": 40, "fail": ["002"]},
    )
    assert engine.run(task.task_uuid, workers=2) == "blocked_by_failures"
    states = {name: row["current_state"] for name, row in engine.steps(task.task_uuid).items()}
    assert states["proc_001"] == "complete"
    assert states["proc_002"] == "error"
    assert states["proc_003"] == states["proc_004"] == "pending"  # never started
    assert states["aggregate"] == "pending"


def test_continue_on_failure_tolerates_a_failed_worker(engine: Engine) -> None:
    task = engine.submit(batch_template(), {"items": 40, "fail": ["002"]})
    assert engine.run(task.task_uuid, workers=2) == "complete"
    steps = engine.steps(task.task_uuid)
    failed = steps["proc_002"]
    assert (failed["current_state"], failed["processed"]) == ("error", True)
    assert failed["results"]["error"]["message"] == "batch 002 is broken"
    aggregate = _result(steps["aggregate"])
    # the convergence is handed the failed worker's result too
    assert "proc_002" in aggregate["handed"]
    assert aggregate["workers"] == ["proc_001", "proc_003", "proc_004"]
    assert aggregate["items"] == 30
    transition = engine.step_transitions(task.task_uuid, "proc_002")[-1]
    assert transition["metadata"]["failure_tolerated"] is True


def test_isolate_lets_the_other_workers_finish_then_waits_for_an_operator(
    engine: Engine,
) -> None:
    task = engine.submit(
        batch_template(parallelism=2, strategy="isolate"),
        {"items": 50, "fail": ["002"], "sleep": 0.02},
    )
    assert engine.run(task.task_uuid, workers=3) == "blocked_by_failures"
    states = {name: row["current_state"] for name, row in engine.steps(task.task_uuid).items()}
    assert states.pop("proc_002") == "error"
    assert states.pop("aggregate") == states.pop("report") == "pending"
    assert set(states.values()) == {"complete"}
    assert _running_at_once(engine, task.task_uuid) <= 2


def test_isolate_with_one_slot_holds_the_slot_for_the_operator(engine: Engine) -> None:
    task = engine.submit(
        batch_template(parallelism=1, strategy="isolate"), {"items": 30, "fail": ["001"]}
    )
    assert engine.run(task.task_uuid, workers=2) == "blocked_by_failures"
    states = {name: row["current_state"] for name, row in engine.steps(task.task_uuid).items()}
    assert (states["proc_001"], states["proc_002"], states["proc_003"]) == (
        "error",
        "pending",
        "pending",
    )


def test_a_checkpointed_worker_resumes_from_its_checkpoint_after_a_failure(
    engine: Engine,
) -> None:
    CALLS.clear()
    task = engine.submit(
        batch_template(worker="batch.checkpointed"),
        {"items": 20, "batch_size": 20, "per_checkpoint": 5, "fail_after": 12},
    )
    assert engine.run(task.task_uuid) == "complete"
    worker = engine.steps(task.task_uuid)["proc_001"]
    # yields are not attempts: two attempts, the second resuming at cursor 10
    assert worker["attempts"] == 2
    assert _result(worker)["items_processed"] == 20
    assert _result(worker)["batch_metadata"]["sum"] == sum(range(20))
    calls = [(call.attempt, call.step) for call in CALLS.of("proc_001")]
    assert calls == [(1, "proc_001")] * 3 + [(2, "proc_001")] * 2
    history = [entry["cursor"] for entry in worker["checkpoint"]["history"]]
    assert history == [5, 10, 15]
    assert worker["checkpoint"]["accumulated_results"] == {"sum": sum(range(15))}
    transitions = [t["to_state"] for t in engine.step_transitions(task.task_uuid, "proc_001")]
    assert transitions.count("in_progress") == 2


@pytest.mark.parametrize(
    ("outcome", "code"),
    [
        (
            {
                "type": "create_batches",
                "worker_template_name": "nope",
                "cursor_configs": [
                    {"batch_id": "001", "start_cursor": 0, "end_cursor": 1, "batch_size": 1}
                ],
            },
            "BATCH_WORKER_TEMPLATE_UNKNOWN",
        ),
        (
            {
                "type": "create_batches",
                "worker_template_name": "report",
                "cursor_configs": [
                    {"batch_id": "001", "start_cursor": 0, "end_cursor": 1, "batch_size": 1}
                ],
            },
            "BATCH_WORKER_TEMPLATE_UNKNOWN",
        ),
        (
            {"type": "create_batches", "worker_template_name": "proc", "cursor_configs": []},
            "BATCH_OUTCOME_INVALID",
        ),
        (
            {
                "type": "create_batches",
                "worker_template_name": "proc",
                "cursor_configs": [{"batch_id": "001"}, {"batch_id": "001"}],
            },
            "BATCH_OUTCOME_INVALID",
        ),
        ({"type": "fan_out"}, "BATCH_OUTCOME_INVALID"),
    ],
)
def test_an_outcome_that_cannot_be_carried_out_fails_and_creates_nothing(
    engine: Engine, outcome: dict[str, Any], code: str
) -> None:
    template = make_template(
        [
            step("analyze", "batch.malformed", type="batchable"),
            step("proc", "batch.work", "analyze", type="batch_worker"),
            step("aggregate", "batch.aggregate", "proc", type="deferred_convergence"),
            step("report", "ok.noop", "analyze"),
        ],
        name="malformed_batches",
    )
    task = engine.submit(template, {"outcome": outcome})
    assert engine.run(task.task_uuid) == "blocked_by_failures"
    steps = engine.steps(task.task_uuid)
    assert set(steps) == {"analyze", "report"}
    error = steps["analyze"]["results"]
    assert error["metadata"]["error_code"] == code
    assert error["error"]["error_type"] == "invalid_batch_outcome"
    assert steps["analyze"]["attempts"] == 1


def test_a_decision_chooses_a_batch(engine: Engine) -> None:
    """rust/diamond_decision_batch in small: the decision routes to one of two batches."""
    template = make_template(
        [
            step("start", "ok.noop"),
            step("decide", "decide.route", "start", type="decision"),
            step("even", "batch.analyze", "decide", type="batchable", config={"worker": "even_w"}),
            step("even_w", "batch.work", "even", type="batch_worker"),
            step("even_sum", "batch.aggregate", "even_w", type="deferred_convergence"),
            step("odd", "batch.analyze", "decide", type="batchable", config={"worker": "odd_w"}),
            step("odd_w", "batch.work", "odd", type="batch_worker"),
            step("odd_sum", "batch.aggregate", "odd_w", type="deferred_convergence"),
        ],
        name="decision_batches",
    )
    task = engine.submit(template, {"route": ["even"], "items": 25})
    assert set(engine.steps(task.task_uuid)) == {"start", "decide"}
    assert engine.run(task.task_uuid, workers=2) == "complete"
    steps = engine.steps(task.task_uuid)
    assert set(steps) == {
        "start",
        "decide",
        "even",
        "even_w_001",
        "even_w_002",
        "even_w_003",
        "even_sum",
    }
    assert steps["even"]["created_by"] == "decision_point"
    assert steps["even_w_001"]["created_by"] == "batch_spawn"
    assert _result(steps["even_sum"])["items"] == 25


def test_repairing_an_isolated_worker_lets_the_batch_run_on(engine: Engine, store: Any) -> None:
    """With one slot and two isolated failures, each repair frees the slot for the next
    workers; the task is blocked again while a failure is left, and completes after both."""
    from tasker_ctl.engine.operator.repairs import Actor, resolve_step

    operator = Actor(by="ops", reason="rows fixed by hand")
    task = engine.submit(
        batch_template(parallelism=1, strategy="isolate"),
        {"items": 40, "fail": ["001", "003"]},
    )
    assert engine.run(task.task_uuid) == "blocked_by_failures"
    states = {name: row["current_state"] for name, row in engine.steps(task.task_uuid).items()}
    assert (states["proc_001"], states["proc_002"]) == ("error", "pending")

    outcome = resolve_step(store, task.task_uuid, "proc_001", operator)
    assert outcome.task_state_after == "steps_in_process"
    assert engine.run(task.task_uuid) == "blocked_by_failures"
    states = {name: row["current_state"] for name, row in engine.steps(task.task_uuid).items()}
    assert [states[f"proc_{n:03d}"] for n in range(1, 5)] == [
        "resolved_manually",
        "complete",
        "error",
        "pending",
    ]

    resolve_step(store, task.task_uuid, "proc_003", operator)
    assert engine.run(task.task_uuid) == "complete"
    states = {name: row["current_state"] for name, row in engine.steps(task.task_uuid).items()}
    assert states["proc_004"] == states["aggregate"] == states["report"] == "complete"
    assert _running_at_once(engine, task.task_uuid) == 1


def test_a_tolerated_failure_counts_as_a_finished_parent_for_an_operator(
    engine: Engine, store: Any
) -> None:
    """The convergence step failed; an operator may resolve it although one of its parents,
    a worker whose failure the batch tolerated, is in error."""
    from tasker_ctl.engine.operator.repairs import Actor, resolve_step

    template = make_template(
        [
            step("analyze", "batch.analyze", type="batchable", config={"worker": "proc"}),
            step("proc", "batch.work", "analyze", type="batch_worker", retry=QUICK),
            step("aggregate", "fail.permanent", "proc", type="deferred_convergence"),
        ],
        name="tolerated_parent",
    )
    task = engine.submit(template, {"items": 20, "fail": ["001"]})
    assert engine.run(task.task_uuid) == "blocked_by_failures"
    outcome = resolve_step(
        store, task.task_uuid, "aggregate", Actor(by="ops", reason="aggregated by hand")
    )
    assert outcome.task_state_after == "complete"
    states = {name: row["current_state"] for name, row in engine.steps(task.task_uuid).items()}
    assert states == {
        "analyze": "complete",
        "proc_001": "error",
        "proc_002": "complete",
        "aggregate": "resolved_manually",
    }
