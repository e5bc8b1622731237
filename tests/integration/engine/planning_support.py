"""What the planning tests share: a template with a planning step between a static step and
its convergence, fragments for it, and the database's invariants after any case."""

from __future__ import annotations

import json
import uuid
from collections import defaultdict
from decimal import Decimal
from typing import Any

from tasker_ctl.template.model import TaskTemplate
from tests.integration.engine.conftest import Engine, make_template

CHECKS = ("plan.checks.logs", "plan.checks.deploys", "plan.checks.queues")


def planning_template(**planning: Any) -> TaskTemplate:
    """gather -> plan (planning) -> report (its convergence)."""
    block: dict[str, Any] = {
        "goal": "Find the cause",
        "convergence": "report",
        "context_from": ["gather"],
        "bounds": {"max_steps": 5, "max_depth": 3},
        "budget": {
            "max_llm_calls": 4,
            "max_tokens": 200_000,
            "max_cost_usd": 1.0,
            "max_wall_seconds": 300,
        },
        "allowed_callables": ["plan.checks.*"],
        "allowed_patterns": ["notify"],
        "max_repairs": 2,
        "price": {"input_usd_per_million": 2, "output_usd_per_million": 8},
        "timeout_seconds": 10,
    }
    block.update(planning)
    return make_template(
        [
            {
                "name": "gather",
                "handler": {"callable": "plan.gather"},
                "result_schema": {
                    "type": "object",
                    "required": ["service", "signals"],
                    "properties": {
                        "service": {"type": "string"},
                        "signals": {"type": "array", "items": {"type": "string"}},
                    },
                },
            },
            {
                "name": "plan",
                "type": "planning",
                "dependencies": ["gather"],
                "handler": {"callable": "plan.planner"},
                "planning": block,
            },
            {
                "name": "report",
                "type": "deferred_convergence",
                "dependencies": ["plan"],
                "handler": {"callable": "plan.report"},
            },
        ],
        name="planning_test",
        input_schema={
            "type": "object",
            "required": ["incident"],
            "properties": {"incident": {"type": "string"}},
        },
    )


def fragment(*steps: dict[str, Any]) -> dict[str, Any]:
    return {
        "fragment_version": "1.0",
        "planning_context": {
            "goal": "Find the cause",
            "reasoning": "check what the signals point at",
            "estimated_steps": len(steps),
            "estimated_depth": 2,
        },
        "steps": list(steps),
    }


def check(
    name: str, callable_: str = "plan.checks.logs", *deps: str, **inputs: str
) -> dict[str, Any]:
    return {
        "name": name,
        "handler": {"callable": callable_},
        "dependencies": list(deps),
        "inputs": inputs,
    }


GOOD = fragment(
    check("logs", "plan.checks.logs", service="${steps.gather.result.service}"),
    check("deploys", "plan.checks.deploys", incident="${task.context.incident}"),
    check("queues", "plan.checks.queues", "logs", "deploys"),
)
"""A valid fragment: two roots, one join."""


def answer(value: dict[str, Any]) -> dict[str, Any]:
    """A loopback-server script entry answering with ``value`` as the tool's arguments."""
    return {"tool_arguments": json.dumps(value)}


def graph_snapshot(engine: Engine, task_uuid: uuid.UUID) -> tuple[Any, ...]:
    """The task's steps, edges and ledger, to compare before and after."""
    steps = engine.rows(
        "SELECT name, current_state FROM tasker.workflow_steps WHERE task_uuid = %s ORDER BY name",
        task_uuid,
    )
    edges = engine.rows(
        "SELECT p.name AS parent, c.name AS child FROM tasker.workflow_step_edges e"
        " JOIN tasker.workflow_steps p ON p.workflow_step_uuid = e.from_step_uuid"
        " JOIN tasker.workflow_steps c ON c.workflow_step_uuid = e.to_step_uuid"
        " WHERE p.task_uuid = %s ORDER BY 1, 2",
        task_uuid,
    )
    return tuple(map(tuple, (r.values() for r in steps))), tuple(tuple(r.values()) for r in edges)


def assert_invariants(engine: Engine, task_uuid: uuid.UUID) -> None:
    """No orphan edge, the convergence waits for every planned leaf, no open reservation
    once the planning step is done, and the ledger's commitments equal the attempts'."""
    orphans = engine.rows(
        "SELECT e.* FROM tasker.workflow_step_edges e"
        " LEFT JOIN tasker.workflow_steps p ON p.workflow_step_uuid = e.from_step_uuid"
        " LEFT JOIN tasker.workflow_steps c ON c.workflow_step_uuid = e.to_step_uuid"
        " WHERE (p.task_uuid = %s OR c.task_uuid = %s)"
        " AND (p.task_uuid IS DISTINCT FROM c.task_uuid)",
        task_uuid,
        task_uuid,
    )
    assert orphans == []
    planned = engine.rows(
        "SELECT s.name, (SELECT count(*) FROM tasker.workflow_step_edges e"
        "   JOIN tasker.workflow_steps c ON c.workflow_step_uuid = e.to_step_uuid"
        "   WHERE e.from_step_uuid = s.workflow_step_uuid AND c.created_by = 'planning_step')"
        "   AS planned_children"
        " FROM tasker.workflow_steps s WHERE s.task_uuid = %s AND s.created_by = 'planning_step'",
        task_uuid,
    )
    into_report = {
        row["parent"]
        for row in engine.rows(
            "SELECT p.name AS parent FROM tasker.workflow_step_edges e"
            " JOIN tasker.workflow_steps p ON p.workflow_step_uuid = e.from_step_uuid"
            " JOIN tasker.workflow_steps c ON c.workflow_step_uuid = e.to_step_uuid"
            " WHERE c.task_uuid = %s AND c.name = 'report'",
            task_uuid,
        )
    }
    leaves = {row["name"] for row in planned if row["planned_children"] == 0}
    assert leaves <= into_report, f"leaves {leaves - into_report} do not lead into the convergence"
    sums = ledger_sums(engine, task_uuid)
    attempts = engine.rows(
        "SELECT * FROM tasker.planning_attempts WHERE task_uuid = %s AND status <> 'calling'",
        task_uuid,
    )
    tokens = sum(Decimal((a["tokens_in"] or 0) + (a["tokens_out"] or 0)) for a in attempts)
    cost = sum((a["cost_usd"] or Decimal(0) for a in attempts), Decimal(0))
    assert sums[("tokens", "commit")] == tokens
    assert sums[("cost_usd", "commit")] == cost
    calls = sum(1 for a in attempts if a["provider"] != "operator")
    assert sums[("llm_calls", "commit")] == calls
    for resource in ("llm_calls", "tokens", "cost_usd", "wall_seconds"):
        open_amount = (
            sums[(resource, "reserve")] - sums[(resource, "commit")] - sums[(resource, "release")]
        )
        calling = any(a["status"] == "calling" for a in attempts)
        assert open_amount <= 0 or calling, f"{resource}: {open_amount} still reserved"
    limits = engine.task(task_uuid)["budget_limits"]
    for resource, limit in limits.items():
        used = sums[(resource, "commit")]
        assert used <= Decimal(str(limit)), f"{resource}: {used} committed, limit {limit}"


def ledger_sums(engine: Engine, task_uuid: uuid.UUID) -> dict[tuple[str, str], Decimal]:
    sums: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    for row in engine.rows(
        "SELECT resource, kind, sum(amount) AS amount FROM tasker.task_budget_entries"
        " WHERE task_uuid = %s GROUP BY 1, 2",
        task_uuid,
    ):
        sums[(row["resource"], row["kind"])] = Decimal(row["amount"])
    return sums
