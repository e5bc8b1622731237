"""Writing a task's new steps: the transaction that completes a decision or batchable step
also creates what it chose (see ``rules/decisions.py`` and ``rules/batches.py``), so that
either all of it exists or none of it does."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from tasker_ctl.engine.graph.submission import QueryRunner, insert_steps
from tasker_ctl.engine.rules.batches import BatchOutcome, BatchPlanner
from tasker_ctl.engine.rules.decisions import DecisionSegments, NewEdge, NewStep


@dataclass(frozen=True)
class StepOrigin:
    """The step that creates new steps: they are created in its task and namespace and
    name it as their origin."""

    step_uuid: uuid.UUID
    task_uuid: uuid.UUID
    template_step_name: str
    namespace_name: str

    @classmethod
    def of_row(cls, row: Mapping[str, Any]) -> StepOrigin:
        """The origin of a ``workflow_steps`` row."""
        return cls(
            step_uuid=row["workflow_step_uuid"],
            task_uuid=row["task_uuid"],
            template_step_name=str(row["template_step_name"]),
            namespace_name=str(row["namespace_name"]),
        )


def grow_from_decision(
    store: QueryRunner,
    segments: DecisionSegments,
    step: StepOrigin,
    chosen: tuple[str, ...],
) -> None:
    """Create the steps and edges that ``step`` (a decision step, still in progress in the
    caller's transaction) chose. The step's completion, in the same transaction, then
    enqueues those of them that wait only on it."""
    existing = _existing_steps(store, step)
    growth = segments.growth(step.template_step_name, chosen, set(existing))
    _write(
        store,
        step,
        [NewStep.of(definition, "decision_point") for definition in growth.steps],
        growth.edges,
        existing,
    )


def grow_from_batch(
    store: QueryRunner,
    planner: BatchPlanner,
    step: StepOrigin,
    outcome: BatchOutcome,
) -> None:
    """Create the workers, convergence steps and edges of ``step``'s (a batchable step,
    still in progress in the caller's transaction) outcome, and the slots that hold the
    workers beyond the template's parallelism back."""
    existing = _existing_steps(store, step)
    growth = planner.growth(step.template_step_name, outcome, set(existing))
    uuids = _write(store, step, growth.steps, growth.edges, existing)
    if growth.slotted:
        store.execute(
            "insert_batch_slots",
            batch_step_uuid=step.step_uuid,
            worker_step_uuids=[uuids[name] for name in growth.slotted],
            parallelism=growth.parallelism,
        )


def _existing_steps(store: QueryRunner, step: StepOrigin) -> dict[str, dict[str, Any]]:
    rows = store.fetch_all("task_step_states", task_uuid=step.task_uuid)
    return {row["name"]: row for row in rows}


def _write(
    store: QueryRunner,
    step: StepOrigin,
    steps: Sequence[NewStep],
    edges: Sequence[NewEdge],
    existing: dict[str, dict[str, Any]],
) -> dict[str, Any]:
    uuids = {name: row["workflow_step_uuid"] for name, row in existing.items()}
    if steps:
        uuids.update(
            insert_steps(
                store,
                step.namespace_name,
                steps,
                step.task_uuid,
                origin_step_uuid=step.step_uuid,
            )
        )
    # a step created by an earlier pass gains parents only while it has not started
    kept = [
        edge
        for edge in edges
        if edge.child not in existing or existing[edge.child]["current_state"] == "pending"
    ]
    if kept:
        store.execute(
            "insert_step_edges",
            from_step_uuids=[uuids[edge.parent] for edge in kept],
            to_step_uuids=[uuids[edge.child] for edge in kept],
            names=[edge.name for edge in kept],
        )
    return uuids
