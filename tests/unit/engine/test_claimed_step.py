"""A claimed step is read from its claim row once, into types."""

from __future__ import annotations

import dataclasses
import uuid

import pytest

from tasker_ctl.engine.graph.growth import StepOrigin
from tasker_ctl.engine.worker.claimed_step import ClaimedStep
from tests.unit.engine.claimed_rows import claim_row


def test_every_field_is_read_from_the_row() -> None:
    planning = uuid.uuid4()
    row = claim_row(
        "fetch",
        attempts=2,
        max_attempts=5,
        retryable=False,
        inputs={"n": 1},
        results={"old": True},
        checkpoint={"cursor": 3},
        planning_step_uuid=planning,
        planning_phase=1,
        fragment_id="f1",
        trace_id="0" * 32,
        span_id="1" * 16,
        parent_results={"root": {"result": 1}},
        has_more_ancestors=True,
        task={"parent_correlation_id": "parent", "context": {"a": 1}},
    )
    step = ClaimedStep.from_row(row)

    assert (step.step_uuid, step.task_uuid, step.named_step_uuid) == (
        row["workflow_step_uuid"],
        row["task_uuid"],
        row["named_step_uuid"],
    )
    assert (step.name, step.template_step_name, step.namespace_name) == ("fetch", "fetch", "tests")
    assert (step.attempt, step.max_attempts, step.retryable) == (2, 5, False)
    assert (step.inputs, step.results, step.checkpoint) == ({"n": 1}, {"old": True}, {"cursor": 3})
    assert step.idempotency_key == "k"
    assert (step.state, step.in_process) == ("in_progress", True)
    assert step.lease.owner == "w"
    assert step.lease.expires_at == row["lease_expires_at"]
    assert step.lease.claimable_at == row["claimable_at"]
    assert step.lease.last_attempted_at == row["last_attempted_at"]
    assert (step.named_task_uuid, step.template_revision) == (row["named_task_uuid"], 1)
    assert step.parent_results == {"root": {"result": 1}}
    assert step.has_more_ancestors
    assert (step.trace_id, step.span_id) == ("0" * 32, "1" * 16)
    assert step.provenance.planning_step_uuid == planning
    assert (step.provenance.planning_phase, step.provenance.fragment_id) == (1, "f1")
    assert (step.provenance.created_by, step.provenance.handler_type) == (
        "template",
        "application",
    )
    task = step.task
    assert (task.name, task.version, task.namespace) == ("t", "1.0.0", "tests")
    assert task.correlation_id == row["task"]["correlation_id"]
    assert (task.parent_correlation_id, task.context) == ("parent", {"a": 1})
    assert task.payload is row["task"]


@pytest.mark.parametrize(
    "column", ["workflow_step_uuid", "attempts", "lease_owner", "task", "template_revision"]
)
def test_a_row_without_a_claim_column_is_refused_at_the_claim(column: str) -> None:
    row = claim_row()
    del row[column]
    with pytest.raises(KeyError, match=column):
        ClaimedStep.from_row(row)


def test_the_origin_of_the_steps_it_creates_is_the_step() -> None:
    step = ClaimedStep.from_row(claim_row("decide"))
    assert step.origin == StepOrigin(step.step_uuid, step.task_uuid, "decide", "tests")


def test_a_kept_checkpoint_makes_a_new_claimed_step() -> None:
    step = ClaimedStep.from_row(claim_row())
    resumed = step.resumed_from({"cursor": 1})
    assert (step.checkpoint, resumed.checkpoint) == (None, {"cursor": 1})
    assert dataclasses.replace(resumed, checkpoint=None) == step
    with pytest.raises(dataclasses.FrozenInstanceError):
        step.checkpoint = {}  # type: ignore[misc]
