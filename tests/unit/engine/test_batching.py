"""What a batchable step's outcome creates: the rules of batching.py on templates, and a
property over random outcomes."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tasker_ctl.engine.errors import BatchOutcomeError
from tasker_ctl.engine.graph.submission import initial_steps
from tasker_ctl.engine.rules.batches import (
    MAX_WORKERS,
    BatchOutcome,
    BatchPlanner,
    read_batch_outcome,
)
from tasker_ctl.engine.rules.decisions import NewEdge
from tasker_ctl.template.model import TaskTemplate


def _template(parallelism: int = 3, initialization: dict[str, Any] | None = None) -> TaskTemplate:
    def step(name: str, kind: str, *deps: str, **extra: Any) -> dict[str, Any]:
        return {
            "name": name,
            "type": kind,
            "handler": {"callable": "h", "initialization": extra.pop("init", {})},
            "dependencies": list(deps),
            **extra,
        }

    return TaskTemplate.model_validate(
        {
            "name": "t",
            "namespace_name": "n",
            "version": "1.0.0",
            "steps": [
                step("analyze", "batchable", init=initialization or {}),
                step(
                    "work",
                    "batch_worker",
                    "analyze",
                    init={"mode": "fast"},
                    batch_config={
                        "batch_size": 10,
                        "parallelism": parallelism,
                        "cursor_field": "id",
                        "worker_template": "work",
                        "failure_strategy": "isolate",
                    },
                ),
                step("merge", "deferred_convergence", "work"),
                step("publish", "standard", "merge", "analyze"),
                step("audit", "standard", "work"),
                step("side", "standard"),
            ],
        }
    )


def _outcome(*batch_ids: str, template: str = "work") -> dict[str, Any]:
    return {
        "batch_processing_outcome": {
            "type": "create_batches",
            "worker_template_name": template,
            "worker_count": len(batch_ids),
            "cursor_configs": [
                {"batch_id": b, "start_cursor": i, "end_cursor": i + 1, "batch_size": 1}
                for i, b in enumerate(batch_ids)
            ],
            "total_items": len(batch_ids),
        }
    }


def test_a_result_without_an_outcome_creates_nothing() -> None:
    assert read_batch_outcome({"rows": 3}) is None
    assert read_batch_outcome(None) is None


def test_no_batches() -> None:
    assert read_batch_outcome({"batch_processing_outcome": {"type": "no_batches"}}) == (
        BatchOutcome(None, ())
    )


@pytest.mark.parametrize(
    ("outcome", "code"),
    [
        ({"type": "many"}, "BATCH_OUTCOME_INVALID"),
        ("create_batches", "BATCH_OUTCOME_INVALID"),
        (
            {"type": "create_batches", "cursor_configs": [{"batch_id": "1"}]},
            "BATCH_OUTCOME_INVALID",
        ),
        ({"type": "create_batches", "worker_template_name": "w"}, "BATCH_OUTCOME_INVALID"),
        (
            {"type": "create_batches", "worker_template_name": "w", "cursor_configs": [{}]},
            "BATCH_OUTCOME_INVALID",
        ),
        (
            {
                "type": "create_batches",
                "worker_template_name": "w",
                "cursor_configs": [{"batch_id": "a b"}],
            },
            "BATCH_OUTCOME_INVALID",
        ),
        (
            {
                "type": "create_batches",
                "worker_template_name": "w",
                "cursor_configs": [{"batch_id": str(i)} for i in range(MAX_WORKERS + 1)],
            },
            "BATCH_TOO_MANY_WORKERS",
        ),
    ],
)
def test_malformed_outcomes_are_coded(outcome: Any, code: str) -> None:
    with pytest.raises(BatchOutcomeError) as raised:
        read_batch_outcome({"batch_processing_outcome": outcome})
    assert raised.value.code == code


def test_workers_their_convergence_and_what_follows() -> None:
    planner = BatchPlanner(_template())
    outcome = read_batch_outcome(_outcome("001", "002"))
    assert outcome is not None
    growth = planner.growth("analyze", outcome, {"analyze", "side"})
    assert [s.name for s in growth.steps] == ["work_001", "work_002", "merge", "publish", "audit"]
    worker = growth.steps[0]
    assert worker.definition.name == "work"
    assert worker.inputs["mode"] == "fast"
    assert worker.inputs["batch_metadata"] == {"cursor_field": "id", "failure_strategy": "isolate"}
    assert set(growth.edges) == {
        NewEdge("analyze", "work_001", "batch_dependency"),
        NewEdge("analyze", "work_002", "batch_dependency"),
        NewEdge("work_001", "merge", "worker_to_convergence"),
        NewEdge("work_002", "merge", "worker_to_convergence"),
        NewEdge("merge", "publish"),
        NewEdge("analyze", "publish"),
        NewEdge("work_001", "audit"),
        NewEdge("work_002", "audit"),
    }
    assert growth.slotted == ()
    assert growth.parallelism == 3


def test_what_follows_a_batch_is_not_created_with_the_task() -> None:
    assert [s.name for s in initial_steps(_template())] == ["analyze", "side"]


def test_no_batches_placeholder_needs_the_template_name() -> None:
    none = BatchOutcome(None, ())
    assert BatchPlanner(_template()).growth("analyze", none, {"analyze"}).steps == ()
    planner = BatchPlanner(_template(initialization={"worker_template_name": "work"}))
    growth = planner.growth("analyze", none, {"analyze"})
    placeholder = growth.steps[0]
    assert placeholder.name == "work_000"
    assert placeholder.inputs["is_no_op"] is True
    assert placeholder.inputs["cursor"]["end_cursor"] == 0


@pytest.mark.parametrize("name", ["nope", "side", "merge"])
def test_only_a_worker_template_of_the_step_can_be_named(name: str) -> None:
    outcome = read_batch_outcome(_outcome("001", template=name))
    assert outcome is not None
    with pytest.raises(BatchOutcomeError) as raised:
        BatchPlanner(_template()).check("analyze", outcome)
    assert raised.value.code == "BATCH_WORKER_TEMPLATE_UNKNOWN"


def test_a_worker_name_taken_by_another_step_is_refused() -> None:
    outcome = read_batch_outcome(_outcome("001"))
    assert outcome is not None
    with pytest.raises(BatchOutcomeError, match="work_001"):
        BatchPlanner(_template()).growth("analyze", outcome, {"analyze", "work_001"})


@given(
    workers=st.integers(min_value=1, max_value=40),
    parallelism=st.integers(min_value=1, max_value=12),
)
def test_slots_hold_back_exactly_the_workers_beyond_parallelism(
    workers: int, parallelism: int
) -> None:
    outcome = read_batch_outcome(_outcome(*(f"{i:03d}" for i in range(workers))))
    assert outcome is not None
    growth = BatchPlanner(_template(parallelism)).growth("analyze", outcome, {"analyze"})
    names = [s.name for s in growth.steps if s.definition.name == "work"]
    assert len(names) == workers
    if workers <= parallelism:
        assert growth.slotted == ()
    else:
        assert list(growth.slotted) == names
    assert growth.parallelism == parallelism
    # every worker hangs off the batchable step and feeds the convergence
    for name in names:
        assert NewEdge("analyze", name, "batch_dependency") in growth.edges
        assert NewEdge(name, "merge", "worker_to_convergence") in growth.edges


def test_a_worker_name_longer_than_a_step_name_holds_is_refused() -> None:
    worker = "w" * 230
    template = TaskTemplate.model_validate(
        {
            "name": "t",
            "namespace_name": "n",
            "version": "1.0.0",
            "steps": [
                {"name": "analyze", "type": "batchable", "handler": {"callable": "h"}},
                {
                    "name": worker,
                    "type": "batch_worker",
                    "handler": {"callable": "h"},
                    "dependencies": ["analyze"],
                    "batch_config": {
                        "batch_size": 1,
                        "parallelism": 1,
                        "cursor_field": "id",
                        "worker_template": worker,
                        "failure_strategy": "isolate",
                    },
                },
            ],
        }
    )
    fits = read_batch_outcome(_outcome("x" * 24, template=worker))
    too_long = read_batch_outcome(_outcome("x" * 25, template=worker))
    assert fits is not None
    assert too_long is not None
    BatchPlanner(template).check("analyze", fits)
    with pytest.raises(BatchOutcomeError, match="256 characters") as raised:
        BatchPlanner(template).check("analyze", too_long)
    assert raised.value.code == "BATCH_OUTCOME_INVALID"
