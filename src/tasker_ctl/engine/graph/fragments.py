"""Writing an accepted fragment into its task: the planned steps with their provenance and
definition, the edges that hang them between the planning step and the frame's convergence,
and the ledger's commitment of the steps and the phase, all in the transaction that completes
the planning step (or, for an operator's fragment, that completes it by hand): either the fill
exists with the planning step's completion, or neither does."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from tasker_ctl.engine.graph.growth import StepOrigin
from tasker_ctl.engine.graph.planning_ledger import write_entries
from tasker_ctl.engine.graph.submission import QueryRunner, insert_steps
from tasker_ctl.engine.rules.decisions import NewStep
from tasker_ctl.engine.store.connection import Json

if TYPE_CHECKING:
    from tasker_ctl.planning.plan import PlannedFill


def materialize_fill(
    store: QueryRunner,
    origin: StepOrigin,
    fill: PlannedFill,
) -> dict[str, Any]:
    """Create ``fill``'s steps and edges below ``origin`` (the planning step, in progress in
    the caller's transaction), and commit its steps and phase in the ledger; the new steps'
    uuids by name."""
    # the planning package's models load only when a plan is materialized
    from tasker_ctl.planning.plan import definition_json

    existing = {
        row["name"]: row for row in store.fetch_all("task_step_states", task_uuid=origin.task_uuid)
    }
    steps = [
        NewStep(
            planned.definition,
            planned.name,
            dict(planned.inputs),
            "planning_step",
            provenance={
                "planning_step_uuid": str(origin.step_uuid),
                "fragment_id": fill.fragment_id,
                "planning_phase": fill.phase,
                "planning_reasoning": planned.reasoning,
                "step_definition": definition_json(planned),
            },
        )
        for planned in fill.steps
    ]
    uuids: dict[str, Any] = {name: row["workflow_step_uuid"] for name, row in existing.items()}
    if steps:
        uuids.update(
            insert_steps(
                store,
                origin.namespace_name,
                steps,
                origin.task_uuid,
                origin_step_uuid=origin.step_uuid,
            )
        )
    edges = [edge for edge in fill.edges if edge.parent in uuids and edge.child in uuids]
    if edges:
        store.execute(
            "insert_step_edges",
            from_step_uuids=[uuids[edge.parent] for edge in edges],
            to_step_uuids=[uuids[edge.child] for edge in edges],
            names=["provides"] * len(edges),
        )
    if fill.exhausted is not None:
        # the emergency convergence: nothing planned, nothing committed; the convergence
        # step (waiting only for the planning step now) runs next and can read why
        store.execute(
            "note_planning_exhausted",
            task_uuid=origin.task_uuid,
            name=fill.convergence,
            diagnostic=Json(fill.exhausted),
        )
        return {}
    write_entries(
        store,
        origin.task_uuid,
        origin.step_uuid,
        uuid.UUID(fill.attempt_uuid) if fill.attempt_uuid else None,
        "commit",
        {"steps": Decimal(len(fill.steps)), "phases": Decimal(1)},
        note=f"fragment {fill.fragment_id}",
    )
    return {name: uuids[name] for name in fill.step_names}
