"""A task's budget as people and scripts read it: its lines, its ledger, its steps by origin.

The accounting (what a budget is made of, how the ledger adds up) is in
``tasker_ctl.engine.rules.budget``; ``graph.budget_ledger`` appends to the ledger.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, Field

from tasker_ctl.engine.rules.budget import BudgetLine, LedgerEntry, budget_lines, ledger_totals
from tasker_ctl.engine.store.clock import database_now
from tasker_ctl.engine.views.task_report import row_identity, task_not_found

if TYPE_CHECKING:
    from tasker_ctl.engine.store.connection import Store

_STRICT = ConfigDict(extra="forbid")


class TaskBudget(BaseModel):
    """A task's budget lines and ledger, with its steps counted by origin."""

    model_config = _STRICT

    task_uuid: uuid.UUID
    task: str = Field(description="'namespace/name@version'")
    status: str
    limited: bool = Field(description="whether the task was created with any limit")
    lines: list[BudgetLine] = Field(description="one per resource, in a fixed order")
    steps_by_origin: dict[str, int] = Field(
        description="the task's steps counted by created_by (template, decision_point, ...)"
    )
    elapsed_seconds: float | None = Field(
        description="from the task's request to its completion (or to now, while it runs)"
    )
    entries: list[LedgerEntry]


def task_budget(store: Store, task_uuid: uuid.UUID) -> TaskBudget:
    """A task's budget lines from its limits and ledger (``TaskNotFoundError`` if unknown)."""
    task = store.fetch_one("inspect_task", task_uuid=task_uuid)
    if task is None:
        raise task_not_found(task_uuid)
    entries = [
        LedgerEntry(
            resource=row["resource"],
            kind=row["kind"],
            amount=float(row["amount"]),
            step=row["step_name"],
            note=row["note"],
            created_at=row["created_at"],
        )
        for row in store.fetch_all("task_ledger", task_uuid=task_uuid)
    ]
    limits = task["budget_limits"] if isinstance(task["budget_limits"], dict) else {}
    origins = {
        row["created_by"]: int(row["steps"])
        for row in store.fetch_all("task_steps_by_origin", task_uuid=task_uuid)
    }
    end = task["completed_at"] or database_now(store)
    return TaskBudget(
        task_uuid=task["task_uuid"],
        task=row_identity(task),
        status=task["current_state"],
        limited=bool(limits),
        lines=budget_lines(limits, ledger_totals(entries)),
        steps_by_origin=origins,
        elapsed_seconds=max(0.0, (end - task["requested_at"]).total_seconds()),
        entries=entries,
    )
