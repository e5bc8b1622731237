"""A task's budget as people and scripts read it: its lines, its ledger, its steps by origin,
the reservations of planner calls still in flight, and under the task each planning step
with its own configured bounds and what its attempts and fills used (the hierarchy: the
task's limits cap the sum, each step gets at most its bound and what the task has left).

The accounting (what a budget is made of, how the ledger adds up) is in
``tasker_ctl.engine.rules.budget``; the worker's planning attempts append to the ledger.
Amounts are exact decimals throughout (``rules.budget.Amount``).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from tasker_ctl.engine.rules.budget import (
    RESOURCES,
    Amount,
    BudgetLine,
    LedgerEntry,
    budget_lines,
    exact,
    ledger_totals,
    planning_step_limits,
)
from tasker_ctl.engine.store.clock import database_now
from tasker_ctl.engine.views.task_report import row_identity, task_not_found
from tasker_ctl.template.model import PlanningBlock

if TYPE_CHECKING:
    from tasker_ctl.engine.store.connection import Store

_STRICT = ConfigDict(extra="forbid")


class InFlightReservation(BaseModel):
    """A planner call under way: what its attempt reserved before calling."""

    model_config = _STRICT

    planning_attempt_uuid: uuid.UUID
    step: str = Field(description="the planning step calling")
    attempt: int
    planning_phase: int
    model: str | None = Field(description="'provider/model' when known")
    since: datetime = Field(description="when the attempt was written, just before its call")
    reserved: dict[str, Amount] = Field(description="resource -> amount reserved")


class PlanningStepBudget(BaseModel):
    """One planning step under its task's budget: its own bounds and what it used."""

    model_config = _STRICT

    step: str
    workflow_step_uuid: uuid.UUID
    state: str
    created_by: str = Field(description="'template', or 'planning_step' for a nested one")
    attempts: int = Field(description="its planner calls (planning_attempts)")
    fills: int = Field(description="fragments it materialized (one committed phase each)")
    lines: list[BudgetLine] = Field(
        description="one per resource: the step's configured bound as the limit (null when "
        "its template gives none) and its own ledger entries as the use"
    )


class TaskBudget(BaseModel):
    """A task's budget lines and ledger, with its steps counted by origin."""

    model_config = _STRICT

    task_uuid: uuid.UUID
    task: str = Field(description="'namespace/name@version'")
    status: str
    limited: bool = Field(description="whether the task was created with any limit")
    lines: list[BudgetLine] = Field(description="one per resource, in a fixed order")
    in_flight: list[InFlightReservation] = Field(
        default_factory=list,
        description="planner calls under way, whose reservations are open in the lines",
    )
    steps_by_origin: dict[str, int] = Field(
        description="the task's steps counted by created_by (template, decision_point, ...)"
    )
    elapsed_seconds: float | None = Field(
        description="from the task's request to its completion (or to now, while it runs)"
    )
    planning_steps: list[PlanningStepBudget] = Field(
        default_factory=list, description="the task's planning steps, in creation order"
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
            amount=row["amount"],
            step=row["step_name"],
            planning_attempt=row["planning_attempt"],
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
        in_flight=[
            _in_flight(row) for row in store.fetch_all("budget_in_flight", task_uuid=task_uuid)
        ],
        steps_by_origin=origins,
        elapsed_seconds=max(0.0, (end - task["requested_at"]).total_seconds()),
        planning_steps=[
            _planning_step(row)
            for row in store.fetch_all("budget_planning_steps", task_uuid=task_uuid)
        ],
        entries=entries,
    )


def _planning_step(row: dict[str, Any]) -> PlanningStepBudget:
    limits: dict[str, Decimal] = {}
    if isinstance(row["planning"], dict):
        try:
            limits = planning_step_limits(PlanningBlock.model_validate(row["planning"]))
        except ValidationError:  # a block an older version stored: its use, without bounds
            limits = {}
    totals: dict[tuple[str, str], Decimal] = {}
    for key, amount in (row["ledger_totals"] or {}).items():
        resource, _, kind = str(key).partition(":")
        value = exact(amount)
        if value is not None:
            totals[(resource, kind)] = value
    return PlanningStepBudget(
        step=row["name"],
        workflow_step_uuid=row["workflow_step_uuid"],
        state=row["current_state"],
        created_by=row["created_by"],
        attempts=int(row["attempts"]),
        fills=int(row["fills"]),
        lines=budget_lines(limits, totals),
    )


def reserved_amounts(raw: Any) -> dict[str, Decimal]:
    """A stored reservation ({resource: amount}, amounts as text or numbers) in decimals;
    members that are not numbers are left out."""
    found: dict[str, Decimal] = {}
    for key, value in (raw if isinstance(raw, dict) else {}).items():
        amount = exact(value)
        if amount is not None:
            found[str(key)] = amount
    order: dict[str, int] = {resource: index for index, resource in enumerate(RESOURCES)}
    return dict(sorted(found.items(), key=lambda item: order.get(item[0], len(order))))


def _in_flight(row: dict[str, Any]) -> InFlightReservation:
    model = row["model"]
    if model and row["provider"]:
        model = f"{row['provider']}/{model}"
    return InFlightReservation(
        planning_attempt_uuid=row["planning_attempt_uuid"],
        step=row["step_name"],
        attempt=row["attempt"],
        planning_phase=row["planning_phase"],
        model=model,
        since=row["created_at"],
        reserved=reserved_amounts(row["reserved"]),
    )
