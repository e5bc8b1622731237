"""Writing a task's new steps: the transaction that completes a decision step also creates
what it chose (see ``topology.py``), so that either all of it exists or none of it does."""

from __future__ import annotations

from typing import Any

from tasker_ctl.engine.submission import QueryRunner, insert_steps
from tasker_ctl.engine.topology import DecisionSegments


def grow_from_decision(
    store: QueryRunner,
    segments: DecisionSegments,
    step: dict[str, Any],
    chosen: tuple[str, ...],
) -> None:
    """Create the steps and edges that ``step`` (a decision step, still in progress in the
    caller's transaction) chose. The step's completion, in the same transaction, then
    enqueues those of them that wait only on it."""
    existing = {
        row["name"]: row for row in store.fetch_all("task_step_states", task_uuid=step["task_uuid"])
    }
    growth = segments.growth(step["template_step_name"], chosen, set(existing))
    uuids = {name: row["workflow_step_uuid"] for name, row in existing.items()}
    if growth.steps:
        uuids.update(
            insert_steps(
                store, step["namespace_name"], growth.steps, step["task_uuid"], "decision_point"
            )
        )
    # a step created by an earlier pass gains parents only while it has not started
    edges = [
        edge
        for edge in growth.edges
        if edge.child not in existing or existing[edge.child]["current_state"] == "pending"
    ]
    if edges:
        store.execute(
            "insert_step_edges",
            from_step_uuids=[uuids[edge.parent] for edge in edges],
            to_step_uuids=[uuids[edge.child] for edge in edges],
            names=[edge.name for edge in edges],
        )
