"""A task's budget: the limits it is created with, and how its ledger adds up (no database).

Limits come from the template's planning steps when the task is created (``tasks.
budget_limits``): planners are what a budget bounds, so a task without planning steps has
none and its report shows usage without limits. Every reservation, commitment and release
is a row of ``task_budget_entries``: a fragment reserves at validation, commits at
materialization and releases what it did not use. ``budget_report`` reads both.

Resources (the ledger's names): ``steps`` (steps added by planners), ``phases`` (planning
rounds), ``llm_calls``, ``tokens``, ``cost_usd`` and ``wall_seconds`` (time spent planning).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from tasker_ctl.template.model import StepType, TaskTemplate

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
LedgerKind = Literal["reserve", "commit", "release"]
LEDGER_KINDS: tuple[LedgerKind, ...] = ("reserve", "commit", "release")
_STRICT = ConfigDict(extra="forbid")


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
    kind: LedgerKind
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
