"""A task's budget: the limits it was created with, and its ledger of what was spent.

Limits come from the template's planning steps when the task is created (``tasks.
budget_limits``): planners are what a budget bounds, so a task without planning steps has
none and its report shows usage without limits. Every reservation, commitment and release
is a row of ``task_budget_entries``: a fragment reserves at validation, commits at
materialization and releases what it did not use. ``budget_report`` reads both.

Resources (the ledger's names): ``steps`` (steps added by planners), ``phases`` (planning
rounds), ``llm_calls``, ``tokens``, ``cost_usd`` and ``wall_seconds`` (time spent planning).
"""

from __future__ import annotations

import math
import uuid
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from tasker_ctl.engine.store.clock import database_now
from tasker_ctl.engine.views.task_report import row_identity, task_not_found
from tasker_ctl.errors import UsageError
from tasker_ctl.template.model import StepType, TaskTemplate

if TYPE_CHECKING:
    from tasker_ctl.engine.store.connection import Store

Resource = Literal["steps", "phases", "llm_calls", "tokens", "cost_usd", "wall_seconds"]
RESOURCES: tuple[Resource, ...] = (
    "steps",
    "phases",
    "llm_calls",
    "tokens",
    "cost_usd",
    "wall_seconds",
)

_KINDS = ("reserve", "commit", "release")
_STRICT = ConfigDict(extra="forbid")


class InvalidLedgerEntryError(UsageError):
    """A ledger entry names an unknown resource or kind, or a negative amount."""

    code = "INVALID_LEDGER_ENTRY"


def task_budget_limits(template: TaskTemplate) -> dict[str, float | int]:
    """The budget a task of ``template`` gets: the sum of its planning steps' bounds.

    Steps: each planning round may add ``bounds.max_steps``, for ``bounds.max_phases``
    rounds.
    """
    planners = [
        step.planning
        for step in template.steps
        if step.step_type is StepType.PLANNING and step.planning is not None
    ]
    if not planners:
        return {}
    return {
        "steps": sum(p.bounds.max_steps * p.bounds.max_phases for p in planners),
        "phases": sum(p.bounds.max_phases for p in planners),
        "llm_calls": sum(p.budget.max_llm_calls for p in planners),
        "tokens": sum(p.budget.max_tokens for p in planners),
        "cost_usd": sum(float(p.budget.max_cost_usd) for p in planners),
        "wall_seconds": sum(float(p.budget.max_wall_seconds) for p in planners),
    }


class LedgerEntry(BaseModel):
    """One row of the ledger."""

    model_config = _STRICT

    resource: Resource
    kind: Literal["reserve", "commit", "release"]
    amount: float
    step: str | None = Field(description="the step the entry is for, if any")
    note: str | None = None
    created_at: datetime


class BudgetLine(BaseModel):
    """One resource of a task's (or a chain's) budget."""

    model_config = _STRICT

    resource: Resource
    limit: float | None = Field(description="null: the task has no limit on this resource")
    used: float = Field(description="committed, less what was released after commitment")
    reserved: float = Field(description="reserved and neither committed nor released yet")
    remaining: float | None = Field(description="limit - used - reserved; null without a limit")
    fraction: float | None = Field(description="used / limit; null without a limit (or limit 0)")

    @property
    def exhausted(self) -> bool:
        return self.limit is not None and self.used + self.reserved >= self.limit


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


def budget_lines(limits: dict[str, Any], totals: dict[tuple[str, str], float]) -> list[BudgetLine]:
    """Budget lines from limits and ledger sums keyed by (resource, kind)."""
    lines = []
    for resource in RESOURCES:
        committed = totals.get((resource, "commit"), 0.0)
        reserved_total = totals.get((resource, "reserve"), 0.0)
        released = totals.get((resource, "release"), 0.0)
        # a release frees a reservation first; what it frees beyond that was committed
        reserved = max(0.0, reserved_total - committed - released)
        over_release = max(0.0, released - max(0.0, reserved_total - committed))
        used = max(0.0, committed - over_release)
        raw_limit = limits.get(resource)
        limit = float(raw_limit) if isinstance(raw_limit, int | float | Decimal) else None
        lines.append(
            BudgetLine(
                resource=resource,
                limit=limit,
                used=used,
                reserved=reserved,
                remaining=None if limit is None else limit - used - reserved,
                fraction=None if not limit else used / limit,
            )
        )
    return lines


def ledger_totals(entries: list[LedgerEntry]) -> dict[tuple[str, str], float]:
    totals: dict[tuple[str, str], float] = {}
    for entry in entries:
        key = (entry.resource, entry.kind)
        totals[key] = totals.get(key, 0.0) + entry.amount
    return totals


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


def record_ledger_entry(
    store: Store,
    task_uuid: uuid.UUID,
    resource: Resource,
    kind: Literal["reserve", "commit", "release"],
    amount: float,
    *,
    step_uuid: uuid.UUID | None = None,
    note: str | None = None,
) -> None:
    """Append one entry to a task's ledger (planners reserve, commit and release)."""
    if resource not in RESOURCES:
        raise InvalidLedgerEntryError(
            f"unknown budget resource {resource!r}", hint=f"use one of: {', '.join(RESOURCES)}"
        )
    if kind not in _KINDS:
        raise InvalidLedgerEntryError(
            f"unknown ledger entry kind {kind!r}", hint=f"use one of: {', '.join(_KINDS)}"
        )
    if not math.isfinite(amount) or amount < 0:
        raise InvalidLedgerEntryError(
            f"a ledger amount must be a finite number, 0 or more, not {amount!r}",
            hint="record what was reserved, committed or released, as a positive amount",
        )
    store.execute(
        "insert_ledger_entry",
        task_uuid=task_uuid,
        step_uuid=step_uuid,
        resource=resource,
        kind=kind,
        amount=amount,
        note=note,
    )
