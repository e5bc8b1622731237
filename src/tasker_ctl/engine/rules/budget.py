"""A task's budget: the limits it is created with, and how its ledger adds up (no database).

Limits are set when the task is created (``tasks.budget_limits``): the template's
``budget`` block where it gives a limit, else the sum of its planning steps' bounds.
Planners are what a budget bounds, so a task of a template with neither has none and its
report shows usage without limits. Every reservation, commitment and release
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

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer, ValidationError

from tasker_ctl.engine.errors import ChainLimitsInvalidError
from tasker_ctl.template.model import ChainLimits, PlanningBlock, StepType, TaskTemplate

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
    """The budget a task of ``template`` gets: the template's ``budget`` where it gives a
    limit, else the sum of its planning steps' bounds.

    Steps: each planning round may add ``bounds.max_steps``, for ``bounds.max_phases``
    rounds. Money and time are added as decimals, so that 0.1 + 0.2 is stored as 0.3.
    """
    limits = _planning_steps_sum(template)
    if template.budget is not None:
        for resource, field in TEMPLATE_BUDGET_FIELDS.items():
            value = getattr(template.budget, field)
            if value is not None:
                limits[resource] = float(Decimal(str(value))) if resource in _DECIMAL else value
    return {resource: limits[resource] for resource in RESOURCES if resource in limits}


TEMPLATE_BUDGET_FIELDS: dict[Resource, str] = {
    "steps": "max_steps",
    "phases": "max_phases",
    "llm_calls": "max_llm_calls",
    "tokens": "max_tokens",
    "cost_usd": "max_cost_usd",
    "wall_seconds": "max_wall_seconds",
}
"""A resource of the ledger -> its key in a template's ``budget`` block."""


_DECIMAL = frozenset({"cost_usd", "wall_seconds"})


def planning_step_limits(planning: PlanningBlock) -> dict[str, Decimal]:
    """What one planning step is configured to spend at most, by resource (exact)."""
    return {
        "steps": Decimal(planning.bounds.max_steps * planning.bounds.max_phases),
        "phases": Decimal(planning.bounds.max_phases),
        "llm_calls": Decimal(planning.budget.max_llm_calls),
        "tokens": Decimal(planning.budget.max_tokens),
        "cost_usd": Decimal(str(planning.budget.max_cost_usd)),
        "wall_seconds": Decimal(str(planning.budget.max_wall_seconds)),
    }


def _planning_steps_sum(template: TaskTemplate) -> dict[str, float | int]:
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


# -- delegation chains ------------------------------------------------------------------------

ChainLimitName = Literal["max_depth", "max_tasks", "max_cost_usd", "max_tokens", "max_llm_calls"]
CHAIN_LIMIT_NAMES: tuple[ChainLimitName, ...] = (
    "max_depth",
    "max_tasks",
    "max_cost_usd",
    "max_tokens",
    "max_llm_calls",
)
CHAIN_BUDGET: dict[ChainLimitName, Resource] = {
    "max_cost_usd": "cost_usd",
    "max_tokens": "tokens",
    "max_llm_calls": "llm_calls",
}
"""A chain's aggregate limits -> the ledger resource every task of the chain adds to."""


def chain_limits(
    template: TaskTemplate, given: Mapping[str, int | float | Decimal | None] | None = None
) -> dict[str, int | float]:
    """The limits a task starting a chain stores (``tasks.chain_limits``): the template's
    ``chain`` block, each limit ``given`` (the command's options) over it."""
    found: dict[str, Any] = (
        template.chain.model_dump(exclude_none=True) if template.chain is not None else {}
    )
    found.update(checked_chain_limits(given))
    return {
        name: float(Decimal(str(found[name]))) if name == "max_cost_usd" else int(found[name])
        for name in CHAIN_LIMIT_NAMES
        if name in found
    }


def checked_chain_limits(
    given: Mapping[str, int | float | Decimal | None] | None,
) -> dict[str, int | float]:
    """The limits given (not None), checked as a template's ``chain`` block is: an unknown
    name, a negative, non-finite or fractional count is ``ChainLimitsInvalidError``."""
    present = {key: value for key, value in (given or {}).items() if value is not None}
    money = present.get("max_cost_usd")
    if isinstance(money, Decimal):
        present["max_cost_usd"] = float(money) if money.is_finite() else money
    try:
        checked = ChainLimits.model_validate(present)
    except ValidationError as invalid:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in error['loc']) or 'limits'}: {error['msg']}"
            for error in invalid.errors()
        )
        raise ChainLimitsInvalidError(
            f"the chain limits are invalid: {problems}",
            hint="counts are whole numbers (max_depth from 0, the others from 1), "
            "max_cost_usd a finite number from 0",
        ) from None
    return checked.model_dump(exclude_none=True)


def read_chain_limits(raw: Any) -> dict[ChainLimitName, Decimal]:
    """Stored chain limits in exact decimals; members that are not numbers are left out."""
    found: dict[ChainLimitName, Decimal] = {}
    if isinstance(raw, Mapping):
        for name in CHAIN_LIMIT_NAMES:
            value = exact(raw.get(name))
            if value is not None:
                found[name] = value
    return found


class ChainBreach(BaseModel):
    """A limit of a chain that a new task would pass: which, the figure and the limit."""

    model_config = _STRICT

    limit_name: ChainLimitName
    limit: Amount
    observed: Amount = Field(description="the new task's depth, the chain's tasks or its use")


def chain_breach(
    limits: Mapping[ChainLimitName, Decimal],
    *,
    depth: int,
    tasks: int,
    used: Mapping[str, Decimal],
) -> ChainBreach | None:
    """The first limit a new task at ``depth`` (levels below the root) would pass, in a chain
    of ``tasks`` tasks whose ledgers add up to ``used`` (resource -> committed); None when
    it may join. The chain's budget is exhausted once what it committed reaches a limit."""
    max_depth = limits.get("max_depth")
    if max_depth is not None and depth > max_depth:
        return ChainBreach(limit_name="max_depth", limit=max_depth, observed=Decimal(depth))
    max_tasks = limits.get("max_tasks")
    if max_tasks is not None and tasks >= max_tasks:
        return ChainBreach(limit_name="max_tasks", limit=max_tasks, observed=Decimal(tasks))
    for name, resource in CHAIN_BUDGET.items():
        limit = limits.get(name)
        spent = used.get(resource, _ZERO)
        if limit is not None and spent >= limit:
            return ChainBreach(limit_name=name, limit=limit, observed=spent)
    return None
