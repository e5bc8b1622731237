"""Delegation chains: tasks linked by ``parent_correlation_id``.

A task created on behalf of another carries the other's ``correlation_id`` as its
``parent_correlation_id``; an agent that reuses one session id as the parent of every task
of a reasoning chain makes them siblings under that id, which no task carries (the chain's
root is then that id). ``task_lineage`` reads the whole chain of a task, with aggregate
steps, time and cost. Each task keeps its own budget; chain totals are observed, not
enforced.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from tasker_ctl.engine.rules.budget import BudgetLine, budget_lines
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


class Lineage(BaseModel):
    """``inspect task --lineage``: the chain a task belongs to, as a tree."""

    model_config = _STRICT

    task_uuid: uuid.UUID = Field(description="the task asked about")
    session_correlation_id: uuid.UUID | None = Field(
        description="the parent correlation id the first tasks share when no task carries it"
    )
    roots: list[LineageNode]
    totals: LineageTotals
    budget: list[BudgetLine] = Field(description="the chain's limits and ledgers added up")
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
    limits: dict[str, float] = {}
    totals: dict[tuple[str, str], float] = {}
    for row in rows:
        if row["task_uuid"] in nodes:  # reached twice (a diamond of delegations): once
            continue
        ledger = _ledger_totals(row["ledger_totals"])
        for key, amount in ledger.items():
            totals[key] = totals.get(key, 0.0) + amount
        for resource, limit in (row["budget_limits"] or {}).items():
            if isinstance(limit, int | float):
                limits[resource] = limits.get(resource, 0.0) + float(limit)
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
            cost_usd=_used(ledger, "cost_usd"),
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
        truncated=truncated,
    )


def _ledger_totals(raw: Any) -> dict[tuple[str, str], float]:
    found: dict[tuple[str, str], float] = {}
    for key, amount in (raw or {}).items():
        resource, _, kind = str(key).partition(":")
        found[(resource, kind)] = float(amount)
    return found


def _used(totals: dict[tuple[str, str], float], resource: str) -> float:
    return float(next(line.used for line in budget_lines({}, totals) if line.resource == resource))
