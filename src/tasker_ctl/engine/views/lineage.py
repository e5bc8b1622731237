"""Delegation chains: tasks linked by ``parent_correlation_id``.

A task created on behalf of another carries the other's ``correlation_id`` as its
``parent_correlation_id``; an agent that reuses one session id as the parent of every task
of a reasoning chain makes them siblings under that id, which no task carries (the chain's
root is then that id). ``task_lineage`` reads the whole chain of a task, with aggregate
steps, time and cost. Each task keeps its own budget; the chain's root may also hold limits
over the whole chain (``tasks.chain_limits``, enforced when a task joins it:
``engine.graph.chains``), which ``Lineage.chain`` sets against the chain's aggregate.
Amounts are added as exact decimals.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from tasker_ctl.engine.rules.budget import (
    CHAIN_BUDGET,
    Amount,
    BudgetLine,
    budget_lines,
    exact,
    read_chain_limits,
)
from tasker_ctl.engine.store.connection import Store
from tasker_ctl.engine.views.task_report import row_identity, task_not_found

MAX_DEPTH = 64
MAX_TASKS = 2000

_STRICT = ConfigDict(extra="forbid")


class LineageNode(BaseModel):
    model_config = _STRICT

    task_uuid: uuid.UUID
    task: str = Field(description="'namespace/name@version'")
    status: str
    depth: int = Field(description="0 for the chain's first tasks")
    correlation_id: uuid.UUID
    parent_correlation_id: uuid.UUID | None
    requested_at: datetime
    completed_at: datetime | None
    duration_seconds: float = Field(description="request to completion, or to now while running")
    steps: int
    dynamic_steps: int = Field(description="steps created at run time")
    cost_usd: float = Field(description="committed in the task's ledger")
    children: list[LineageNode] = Field(description="tasks it delegated to")


class LineageTotals(BaseModel):
    model_config = _STRICT

    tasks: int
    steps: int
    dynamic_steps: int
    task_seconds: float = Field(description="the tasks' durations added up")
    wall_seconds: float = Field(description="from the first request to the last completion")
    cost_usd: float
    max_depth: int
    running: int = Field(description="tasks not yet in a final state")


class ChainLimitsView(BaseModel):
    """The chain as its root's limits see it: its size, depth and aggregate spending."""

    model_config = _STRICT

    root_task_uuid: uuid.UUID = Field(
        description="the task whose chain_limits hold: the top task, or the first created "
        "under a session id"
    )
    tasks: int
    levels: int = Field(description="levels of tasks: the deepest depth + 1")
    limits: dict[str, Amount] = Field(
        description="the root's chain_limits (max_depth, max_tasks, max_cost_usd, max_tokens, "
        "max_llm_calls); {} when the chain has none"
    )
    lines: list[BudgetLine] = Field(
        description="cost_usd, tokens and llm_calls of every task added up, against the "
        "chain's limit on each (null: none)"
    )


class Lineage(BaseModel):
    """``inspect task --lineage``: the chain a task belongs to, as a tree."""

    model_config = _STRICT

    task_uuid: uuid.UUID = Field(description="the task asked about")
    session_correlation_id: uuid.UUID | None = Field(
        description="the parent correlation id the first tasks share when no task carries it"
    )
    roots: list[LineageNode]
    totals: LineageTotals
    budget: list[BudgetLine] = Field(description="the tasks' own limits and ledgers added up")
    chain: ChainLimitsView
    truncated: bool = Field(description=f"the chain has more than {MAX_TASKS} tasks")


_FINAL = {"complete", "error", "cancelled", "resolved_manually"}


def task_lineage(store: Store, task_uuid: uuid.UUID) -> Lineage:
    rows = store.fetch_all(
        "lineage_tasks", task_uuid=task_uuid, max_depth=MAX_DEPTH, limit=MAX_TASKS + 1
    )
    if not rows:
        raise task_not_found(task_uuid)
    truncated = len(rows) > MAX_TASKS
    rows = rows[:MAX_TASKS]
    nodes: dict[Any, LineageNode] = {}
    parent_of: dict[Any, Any] = {}
    limits: dict[str, Decimal] = {}
    totals: dict[tuple[str, str], Decimal] = {}
    for row in rows:
        if row["task_uuid"] in nodes:  # reached twice (a diamond of delegations): once
            continue
        ledger = _ledger_totals(row["ledger_totals"])
        for key, amount in ledger.items():
            totals[key] = totals.get(key, Decimal(0)) + amount
        for resource, raw_limit in (row["budget_limits"] or {}).items():
            limit = exact(raw_limit)
            if limit is not None:
                limits[resource] = limits.get(resource, Decimal(0)) + limit
        end = row["completed_at"] or row["now"]
        nodes[row["task_uuid"]] = LineageNode(
            task_uuid=row["task_uuid"],
            task=row_identity(row),
            status=row["current_state"],
            depth=row["depth"],
            correlation_id=row["correlation_id"],
            parent_correlation_id=row["parent_correlation_id"],
            requested_at=row["requested_at"],
            completed_at=row["completed_at"],
            duration_seconds=max(0.0, (end - row["requested_at"]).total_seconds()),
            steps=row["steps"],
            dynamic_steps=row["dynamic_steps"],
            cost_usd=float(_used(ledger, "cost_usd")),
            children=[],
        )
        parent_of[row["task_uuid"]] = row["parent_task_uuid"]
    roots: list[LineageNode] = []
    for key, node in nodes.items():
        parent = parent_of[key]
        (nodes[parent].children if parent in nodes else roots).append(node)
    every = list(nodes.values())
    first_roots = [node for node in roots if node.depth == 0]
    shared = {node.parent_correlation_id for node in first_roots}
    session = next(iter(shared)) if len(shared) == 1 and None not in shared else None
    latest_end = max(node.completed_at or rows[0]["now"] for node in every)
    return Lineage(
        task_uuid=task_uuid,
        session_correlation_id=session,
        roots=roots,
        totals=LineageTotals(
            tasks=len(every),
            steps=sum(node.steps for node in every),
            dynamic_steps=sum(node.dynamic_steps for node in every),
            task_seconds=sum(node.duration_seconds for node in every),
            wall_seconds=max(
                0.0, (latest_end - min(node.requested_at for node in every)).total_seconds()
            ),
            cost_usd=sum(node.cost_usd for node in every),
            max_depth=max(node.depth for node in every),
            running=sum(node.status not in _FINAL for node in every),
        ),
        budget=budget_lines(limits, totals),
        chain=_chain_view(store, first_roots or roots, every, totals),
        truncated=truncated,
    )


def _chain_view(
    store: Store,
    tops: list[LineageNode],
    every: list[LineageNode],
    totals: dict[tuple[str, str], Decimal],
) -> ChainLimitsView:
    row = store.fetch_one("chain_root_limits", task_uuids=[node.task_uuid for node in tops])
    root = row["task_uuid"] if row else tops[0].task_uuid
    limits = read_chain_limits(row["chain_limits"] if row else None)
    by_resource: dict[str, Decimal] = {
        resource: limits[name] for name, resource in CHAIN_BUDGET.items() if name in limits
    }
    wanted = list(CHAIN_BUDGET.values())
    return ChainLimitsView(
        root_task_uuid=root,
        tasks=len(every),
        levels=max(node.depth for node in every) + 1,
        limits=dict(limits),
        lines=[line for line in budget_lines(by_resource, totals) if line.resource in wanted],
    )


def _ledger_totals(raw: Any) -> dict[tuple[str, str], Decimal]:
    found: dict[tuple[str, str], Decimal] = {}
    for key, amount in (raw or {}).items():
        resource, _, kind = str(key).partition(":")
        value = exact(amount)
        if value is not None:
            found[(resource, kind)] = value
    return found


def _used(totals: dict[tuple[str, str], Decimal], resource: str) -> Decimal:
    return next(line.used for line in budget_lines({}, totals) if line.resource == resource)
