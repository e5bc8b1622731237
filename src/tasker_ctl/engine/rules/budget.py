"""A task's budget: the limits it is created with, and how its ledger adds up (no database).

Limits come from the template's planning steps when the task is created (``tasks.
budget_limits``): planners are what a budget bounds, so a task without planning steps has
none and its report shows usage without limits. Every reservation, commitment and release
is a row of ``task_budget_entries``: a planning attempt reserves its worst case before its
model call, commits what the call used and releases the rest; an accepted fragment commits
its steps and its phase. ``budget_report`` reads both.

Resources (the ledger's names): ``steps`` (steps added by planners), ``phases`` (planning
rounds), ``llm_calls``, ``tokens``, ``cost_usd`` and ``wall_seconds`` (time spent planning).

Amounts are exact: the ledger's ``numeric`` arrives as ``Decimal`` and stays one through the
views; a document prints each amount as a decimal string (``Amount``), never a float.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer

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
_ZERO = Decimal(0)


def decimal_text(value: Decimal) -> str:
    """A decimal as plain digits, without trailing zeros or an exponent: ``0.000384``,
    ``10``, ``2.5``."""
    text = format(value.normalize(), "f")
    return "0" if text in ("-0", "") else text


Amount = Annotated[
    Decimal,
    PlainSerializer(decimal_text, return_type=str, when_used="json"),
    Field(description="an exact decimal amount, written as a string of digits in JSON"),
]


def exact(value: Any) -> Decimal | None:
    """A number read from the database or JSON as an exact decimal (a float by its shortest
    text, so 2.5 stays 2.5); None for anything that is not a finite number."""
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal | str):
        return None
    try:
        found = value if isinstance(value, Decimal) else Decimal(str(value))
    except InvalidOperation:
        return None
    return found if found.is_finite() else None


def task_budget_limits(template: TaskTemplate) -> dict[str, float | int]:
    """The budget a task of ``template`` gets: the sum of its planning steps' bounds.

    Steps: each planning round may add ``bounds.max_steps``, for ``bounds.max_phases``
    rounds. Money and time are added as decimals, so that 0.1 + 0.2 is stored as 0.3.
    """
    planners = [
        step.planning
        for step in template.steps
        if step.step_type is StepType.PLANNING and step.planning is not None
    ]
    if not planners:
        return {}
    cost = sum((Decimal(str(p.budget.max_cost_usd)) for p in planners), _ZERO)
    seconds = sum((Decimal(str(p.budget.max_wall_seconds)) for p in planners), _ZERO)
    return {
        "steps": sum(p.bounds.max_steps * p.bounds.max_phases for p in planners),
        "phases": sum(p.bounds.max_phases for p in planners),
        "llm_calls": sum(p.budget.max_llm_calls for p in planners),
        "tokens": sum(p.budget.max_tokens for p in planners),
        "cost_usd": float(cost),
        "wall_seconds": float(seconds),
    }


class LedgerEntry(BaseModel):
    """One row of the ledger."""

    model_config = _STRICT

    resource: Resource
    kind: LedgerKind
    amount: Amount
    step: str | None = Field(description="the step the entry is for, if any")
    planning_attempt: int | None = Field(
        default=None, description="the number of the planning attempt that made it, if any"
    )
    note: str | None = None
    created_at: datetime


class BudgetLine(BaseModel):
    """One resource of a task's (or a chain's) budget."""

    model_config = _STRICT

    resource: Resource
    limit: Amount | None = Field(description="null: the task has no limit on this resource")
    used: Amount = Field(description="committed, less what was released after commitment")
    reserved: Amount = Field(description="reserved and neither committed nor released yet")
    remaining: Amount | None = Field(description="limit - used - reserved; null without a limit")
    fraction: float | None = Field(description="used / limit; null without a limit (or limit 0)")

    @property
    def exhausted(self) -> bool:
        return self.limit is not None and self.used + self.reserved >= self.limit


LedgerTotals = Mapping[tuple[str, str], Decimal | float | int]


def budget_lines(limits: Mapping[str, Any], totals: LedgerTotals) -> list[BudgetLine]:
    """Budget lines from limits and ledger sums keyed by (resource, kind)."""
    lines = []
    for resource in RESOURCES:
        committed = exact(totals.get((resource, "commit"), 0)) or _ZERO
        reserved_total = exact(totals.get((resource, "reserve"), 0)) or _ZERO
        released = exact(totals.get((resource, "release"), 0)) or _ZERO
        # a release frees a reservation first; what it frees beyond that was committed
        reserved = max(_ZERO, reserved_total - committed - released)
        over_release = max(_ZERO, released - max(_ZERO, reserved_total - committed))
        used = max(_ZERO, committed - over_release)
        limit = exact(limits.get(resource))
        lines.append(
            BudgetLine(
                resource=resource,
                limit=limit,
                used=used,
                reserved=reserved,
                remaining=None if limit is None else limit - used - reserved,
                fraction=None if not limit else float(used / limit),
            )
        )
    return lines


def ledger_totals(entries: list[LedgerEntry]) -> dict[tuple[str, str], Decimal]:
    totals: dict[tuple[str, str], Decimal] = {}
    for entry in entries:
        key = (entry.resource, entry.kind)
        totals[key] = totals.get(key, _ZERO) + entry.amount
    return totals
