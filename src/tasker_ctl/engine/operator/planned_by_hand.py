"""A fragment an operator supplies for a planning step (``task complete-step --result
@fragment.yaml``): held to the same nine stages as a planner's answer and written the same
way, so a person is the final gate when no model gives a valid plan.

The fragment is recorded as a planning attempt of its own (planner ``operator:<by>``, no
model call, no tokens), its steps and phase reserved and committed in the ledger, and its
steps and edges written, all in the transaction that completes the step; a fragment with
errors changes nothing (``FragmentRejectedError`` lists every finding).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from tasker_ctl.engine.errors import FragmentRejectedError
from tasker_ctl.engine.graph.fragments import materialize_fill
from tasker_ctl.engine.graph.growth import StepOrigin
from tasker_ctl.engine.graph.planning_ledger import read_budget, write_entries
from tasker_ctl.engine.store.connection import Json, Store
from tasker_ctl.template.model import StepDefinition, TaskTemplate

_FINDINGS_SHOWN = 5


@dataclass(frozen=True)
class SuppliedFill:
    """What completing the planning step with the operator's fragment stores."""

    result: dict[str, Any]


def complete_with_fragment(
    store: Store,
    task: dict[str, Any],
    step: dict[str, Any],
    template: TaskTemplate,
    definition: StepDefinition,
    data: Any,
    by: str,
) -> SuppliedFill:
    """Check ``data`` as the planning step's fragment and, when it has no error, record it
    and write its fill (in the caller's transaction); raises ``FragmentRejectedError``."""
    from tasker_ctl.planning.frame import FragmentFrame
    from tasker_ctl.planning.plan import phase_of_planner, plan_fill
    from tasker_ctl.planning.validator import check_fragment

    block = definition.planning
    assert block is not None  # the caller checked the step is a planning step
    task_uuid = task["task_uuid"]
    remaining = read_budget(store, task_uuid, lock=True).remaining("steps")
    results = store.fetch_one("ancestor_results", step_uuid=step["workflow_step_uuid"])
    ancestors = (results or {}).get("results") or {}
    rows = store.fetch_all("task_planned_definitions", task_uuid=task_uuid)
    nested = step.get("created_by") == "planning_step"
    phase = phase_of_planner(step.get("created_by"), step.get("planning_phase"))
    frame = FragmentFrame(
        template=template,
        planning_step=definition.name,
        context=task.get("context"),
        results={name: (envelope or {}).get("result") for name, envelope in ancestors.items()},
        remaining_steps=None if remaining is None else max(0, int(remaining)),
        existing_steps=frozenset(row["name"] for row in rows),
        planning_definition=definition if nested else None,
        nesting=phase - 1,
        planned_steps={
            row["name"]: StepDefinition.model_validate(row["step_definition"])
            for row in rows
            if row["step_definition"] is not None
        },
    )
    check = check_fragment(data, frame, source="--result")
    findings = [finding.model_dump(mode="json") for finding in check.findings]
    if not check.accepted or check.fragment is None:
        errors = [f for f in check.findings if f.severity.value == "error"]
        shown = "; ".join(f"{f.code} at {f.path}: {f.message}" for f in errors[:_FINDINGS_SHOWN])
        raise FragmentRejectedError(
            f"the fragment for planning step '{definition.name}' has {len(errors)} error(s): "
            f"{shown}",
            findings,
            hint="fix the fragment (`tasker-ctl fragment validate FILE --template T --step "
            f"{definition.name}` checks it offline); nothing was changed",
        )
    row = store.fetch_one(
        "insert_supplied_fragment",
        task_uuid=task_uuid,
        step_uuid=step["workflow_step_uuid"],
        phase=phase,
        planner=f"operator:{by}"[:255],
        fragment=Json(check.fragment.model_dump(mode="json")),
        findings=Json(findings),
    )
    assert row is not None  # an INSERT ... RETURNING
    attempt_uuid = row["planning_attempt_uuid"]
    fill = plan_fill(
        check.fragment,
        fragment_id=str(attempt_uuid),
        planning_step=definition.name,
        convergence=block.convergence,
        phase=phase,
        attempt_uuid=str(attempt_uuid),
        planning_definition=definition,
    )
    write_entries(
        store,
        task_uuid,
        step["workflow_step_uuid"],
        attempt_uuid,
        "reserve",
        {"steps": Decimal(len(fill.steps)), "phases": Decimal(1)},
        note=f"fragment {fill.fragment_id} supplied by {by}",
    )
    materialize_fill(store, StepOrigin.of_row(step), fill)
    return SuppliedFill(
        {
            "fragment_id": fill.fragment_id,
            "steps": list(fill.step_names),
            "planning_attempts": int(row["attempt"]),
            "supplied_by": by,
        }
    )
