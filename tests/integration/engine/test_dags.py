"""DAG shapes run to completion with the right values, in dependency order.

The handlers compute from their inputs and their ancestors' results (Tasker Core's linear and
diamond workflows, and a tree), so a wrong or missing dependency result shows up as a wrong
number. Each handler also records what it was handed.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from tasker_ctl.engine.worker.loop import Worker, WorkerOptions
from tests.integration.engine.conftest import Engine, make_template, step
from tests.integration.engine.handlers import Recorder

LINEAR = make_template(
    [
        step("linear_1", "arith.square"),
        step("linear_2", "arith.add", "linear_1", config={"addend": 10}),
        step("linear_3", "arith.multiply", "linear_2", config={"factor": 3}),
        step("linear_4", "arith.divide", "linear_3"),
    ],
    name="linear",
)

DIAMOND = make_template(
    [
        step("diamond_start", "diamond.start"),
        step("diamond_branch_b", "diamond.branch_b", "diamond_start"),
        step("diamond_branch_c", "diamond.branch_c", "diamond_start"),
        step("diamond_end", "diamond.end", "diamond_branch_b", "diamond_branch_c"),
    ],
    name="diamond",
)


def _combine(name: str, *parents: str, of: list[str], add: int = 0, times: int = 1) -> Any:
    return step(name, "tree.combine", *parents, config={"of": of, "add": add, "times": times})


TREE = make_template(
    [
        step("tree_root", "tree.root"),
        _combine("branch_left", "tree_root", of=["tree_root"], add=1),  # 37
        _combine("branch_right", "tree_root", of=["tree_root"], times=2),  # 72
        _combine("leaf_left_a", "branch_left", of=["branch_left"], times=2),  # 74
        # tree_root is a grandparent: visible all the same
        _combine("leaf_left_b", "branch_left", of=["branch_left", "tree_root"]),  # 73
        _combine("leaf_right_a", "branch_right", of=["branch_right"], add=-2),  # 70
        step("tree_end", "tree.sum_leaves", "leaf_left_a", "leaf_left_b", "leaf_right_a"),
    ],
    name="tree",
)


def _results(engine: Engine, task_uuid: uuid.UUID) -> dict[str, Any]:
    return {name: row["results"]["result"] for name, row in engine.steps(task_uuid).items()}


def _assert_parents_first(engine: Engine, task_uuid: uuid.UUID) -> None:
    """No step started before every one of its parents had completed."""
    late = engine.rows(
        "SELECT c.name AS child, p.name AS parent FROM tasker.workflow_step_edges e"
        " JOIN tasker.workflow_steps c ON c.workflow_step_uuid = e.to_step_uuid"
        " JOIN tasker.workflow_steps p ON p.workflow_step_uuid = e.from_step_uuid"
        " WHERE c.task_uuid = %s AND (SELECT min(created_at) FROM tasker.workflow_step_transitions"
        "   WHERE workflow_step_uuid = c.workflow_step_uuid AND to_state = 'in_progress')"
        " < (SELECT max(created_at) FROM tasker.workflow_step_transitions"
        "   WHERE workflow_step_uuid = p.workflow_step_uuid AND to_state = 'complete')",
        task_uuid,
    )
    assert late == []


@pytest.mark.parametrize("workers", [1, 3])
def test_linear(engine: Engine, calls: Recorder, workers: int) -> None:
    task = engine.submit(LINEAR, {"even_number": 6})
    assert engine.run(task.task_uuid, workers=workers) == "complete"

    results = _results(engine, task.task_uuid)
    assert [results[f"linear_{i}"]["result"] for i in range(1, 5)] == [36, 46, 138, 69]
    assert results["linear_4"]["first"] == 36
    # every ancestor's result, unwrapped: linear_4 sees linear_1..3, not only linear_3
    assert calls.of("linear_4")[0].dependencies == {
        "linear_1": {"result": 36, "operation": "square"},
        "linear_2": {"result": 46, "operation": "add"},
        "linear_3": {"result": 138, "operation": "multiply"},
    }
    assert calls.of("linear_1")[0].dependencies == {}
    assert [call.step for call in calls.calls] == ["linear_1", "linear_2", "linear_3", "linear_4"]
    assert engine.task(task.task_uuid)["complete"] is True
    _assert_parents_first(engine, task.task_uuid)


@pytest.mark.parametrize("workers", [1, 3])
def test_diamond(engine: Engine, calls: Recorder, workers: int) -> None:
    task = engine.submit(DIAMOND, {"even_number": 6})
    assert engine.run(task.task_uuid, workers=workers) == "complete"

    results = _results(engine, task.task_uuid)
    assert {name: value["result"] for name, value in results.items()} == {
        "diamond_start": 36,
        "diamond_branch_b": 61,
        "diamond_branch_c": 72,
        "diamond_end": 66.5,
    }
    assert calls.of("diamond_end")[0].dependencies == {
        "diamond_start": {"result": 36},
        "diamond_branch_b": {"result": 61},
        "diamond_branch_c": {"result": 72},
    }
    assert set(calls.of("diamond_branch_b")[0].dependencies) == {"diamond_start"}
    assert len(calls.calls) == 4
    _assert_parents_first(engine, task.task_uuid)


def test_tree(engine: Engine, calls: Recorder) -> None:
    task = engine.submit(TREE, {"even_number": 6})
    assert engine.run(task.task_uuid, workers=3) == "complete"

    values = {name: value["value"] for name, value in _results(engine, task.task_uuid).items()}
    assert values == {
        "tree_root": 36,
        "branch_left": 37,
        "branch_right": 72,
        "leaf_left_a": 74,
        "leaf_left_b": 73,
        "leaf_right_a": 70,
        "tree_end": 217,
    }
    # the sink sees all six ancestors; a leaf sees its own line only
    assert set(calls.of("tree_end")[0].dependencies) == {
        "tree_root",
        "branch_left",
        "branch_right",
        "leaf_left_a",
        "leaf_left_b",
        "leaf_right_a",
    }
    assert set(calls.of("leaf_right_a")[0].dependencies) == {"tree_root", "branch_right"}
    _assert_parents_first(engine, task.task_uuid)


def test_stored_envelope_has_tasker_core_shape(engine: Engine) -> None:
    task = engine.submit(LINEAR, {"even_number": 2})
    engine.run(task.task_uuid)

    stored = engine.steps(task.task_uuid)["linear_2"]
    envelope = stored["results"]
    assert envelope["step_uuid"] == str(stored["workflow_step_uuid"])
    assert envelope["success"] is True
    assert envelope["status"] == "completed"
    assert envelope["error"] is None
    assert envelope["result"] == {"result": 14, "operation": "add"}
    assert envelope["metadata"]["retryable"] is False
    assert envelope["metadata"]["attempt"] == 1
    assert envelope["metadata"]["worker_id"] == "test-worker-0"
    assert isinstance(envelope["metadata"]["execution_time_ms"], int)


def test_task_path_and_counters(engine: Engine) -> None:
    task = engine.submit(DIAMOND, {"even_number": 4})
    engine.run(task.task_uuid, workers=2)

    assert engine.task_path(task.task_uuid) == [
        "pending",
        "initializing",
        "enqueuing_steps",
        "steps_in_process",
        "evaluating_results",
        "complete",
    ]
    row = engine.task(task.task_uuid)
    assert row["completed_at"] is not None
    for name in ("diamond_start", "diamond_end"):
        assert engine.path(task.task_uuid, name) == [
            "pending",
            "enqueued",
            "in_progress",
            "complete",
        ]
    # only the root was enqueued at submission; nothing is claimable once all is done
    assert (
        engine.rows(
            "SELECT name FROM tasker.workflow_steps WHERE claimable_at IS NOT NULL OR NOT processed"
        )
        == []
    )


def test_template_without_steps_completes_at_submission(engine: Engine) -> None:
    task = engine.submit(make_template([], name="empty"), {})
    assert task.step_count == 0
    assert engine.task_path(task.task_uuid) == ["pending", "initializing", "complete"]


def test_a_re_registered_template_is_read_again(engine: Engine, calls: Recorder) -> None:
    """Workers keep parsed templates, but not past a re-registration that changes them."""
    worker = Worker(engine.url, engine.registry, WorkerOptions())
    first = engine.submit(LINEAR, {"even_number": 2})
    while worker.run_once(engine.store):
        pass
    assert engine.steps(first.task_uuid)["linear_2"]["results"]["result"]["result"] == 14

    changed = LINEAR.model_copy(deep=True)
    changed.steps[1].handler.initialization["addend"] = 1000
    second = engine.submit(changed, {"even_number": 3})
    assert engine.one("SELECT revision FROM tasker.named_tasks")["revision"] == 2
    engine.register(changed)  # the same configuration again: same revision
    assert engine.one("SELECT revision FROM tasker.named_tasks")["revision"] == 2
    while worker.run_once(engine.store):
        pass
    assert engine.steps(second.task_uuid)["linear_2"]["results"]["result"]["result"] == 1009
    assert calls.of("linear_2")[-1].config == {"addend": 1000}


def test_a_step_missing_from_its_template_fails_permanently(engine: Engine) -> None:
    task = engine.submit(LINEAR, {"even_number": 2})
    # the template is re-registered without the task's first step
    engine.register(make_template([step("renamed", "arith.square")], name="linear"))
    assert engine.run(task.task_uuid) == "blocked_by_failures"
    row = engine.steps(task.task_uuid)["linear_1"]
    assert (row["current_state"], row["attempts"]) == ("error", 1)
    assert row["results"]["error"]["error_type"] == "template_error"
    assert "has no step 'linear_1'" in row["results"]["error"]["message"]
