"""Budgets that cannot be overrun: whatever the model does (answers with all the tokens it
was allowed, reports no usage, is too slow), every dimension stays within its limit, and the
ledger's totals equal the sum of the attempts exactly (Decimal)."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest

from tests.integration.engine.conftest import Engine
from tests.integration.engine.planning_support import (
    GOOD,
    assert_invariants,
    check,
    fragment,
    ledger_sums,
    planning_template,
)
from tests.openai_server import OpenAIServer

BAD = json.dumps(fragment(check("logs", "plan.checks.unknown")))


def budgeted(**budget: Any) -> Any:
    limits = {"max_llm_calls": 10, "max_tokens": 1_000_000, "max_cost_usd": 10.0}
    limits.update(budget)
    return planning_template(budget={**limits, "max_wall_seconds": 300}, max_repairs=9)


def run_out(engine: Engine, template: Any, *entries: dict[str, Any]) -> Any:
    with OpenAIServer(list(entries)) as server:
        task = engine.submit(template, {"incident": "INC-1"}).task_uuid
        engine.run(task, planner=server.spec("gpt-4.1-mini"), timeout=120)
        calls = len(server.requests)
    return task, calls


def failure_code(engine: Engine, task: Any) -> str:
    """Why planning ended: a budget that ran out ends in the emergency convergence (the
    planning step completes with the diagnostic; the convergence runs)."""
    steps = engine.steps(task)
    result = steps["plan"]["results"]["result"]
    assert steps["report"]["current_state"] == "complete"
    return str(result["exhausted"]["code"])


@pytest.mark.parametrize("entry", [{"max_usage": True}, {"omit_usage": True}])
def test_tokens_never_pass_their_limit(planning_engine: Engine, entry: dict[str, Any]) -> None:
    # room for a few calls, each reserved at its worst case before it is made
    template = budgeted(max_tokens=40_000)
    task, calls = run_out(
        planning_engine, template, *({**entry, "tool_arguments": BAD} for _ in range(10))
    )
    assert failure_code(planning_engine, task) == "PLANNING_BUDGET_EXHAUSTED"
    sums = ledger_sums(planning_engine, task)
    assert sums[("tokens", "commit")] <= 40_000
    assert calls == sums[("llm_calls", "commit")] >= 1
    assert_invariants(planning_engine, task)


def test_cost_never_passes_its_limit(planning_engine: Engine) -> None:
    # $2 in and $8 out per million tokens: a few calls' worst case fits in 5 cents
    template = budgeted(max_cost_usd=0.05)
    task, _ = run_out(
        planning_engine, template, *({"max_usage": True, "tool_arguments": BAD} for _ in range(10))
    )
    assert failure_code(planning_engine, task) == "PLANNING_BUDGET_EXHAUSTED"
    sums = ledger_sums(planning_engine, task)
    assert Decimal(0) < sums[("cost_usd", "commit")] <= Decimal("0.05")
    assert_invariants(planning_engine, task)


def test_calls_never_pass_their_limit(planning_engine: Engine) -> None:
    template = budgeted(max_llm_calls=2)
    task, calls = run_out(planning_engine, template, *({"tool_arguments": BAD} for _ in range(5)))
    assert calls == 2
    assert failure_code(planning_engine, task) == "PLANNING_BUDGET_EXHAUSTED"
    assert_invariants(planning_engine, task)


def test_a_slow_model_is_cut_at_its_timeout_and_counted_at_its_reservation(
    planning_engine: Engine,
) -> None:
    template = planning_template(
        timeout_seconds=1,
        budget={
            "max_llm_calls": 4,
            "max_tokens": 200_000,
            "max_cost_usd": 1.0,
            "max_wall_seconds": 300,
        },
    )
    with OpenAIServer([{"delay": 5, "tool_arguments": json.dumps(GOOD)}] * 2) as server:
        task = planning_engine.submit(template, {"incident": "INC-1"}).task_uuid
        planning_engine.run(task, planner=server.spec("gpt-4.1-mini"), timeout=60)
    rows = planning_engine.rows(
        "SELECT * FROM tasker.planning_attempts WHERE task_uuid = %s ORDER BY attempt", task
    )
    first = rows[0]
    assert first["status"] == "failed"
    assert "TIMEOUT" in first["error"]
    assert first["usage_estimated"]
    assert_invariants(planning_engine, task)


def test_a_fragment_needing_more_steps_than_remain_is_refused(planning_engine: Engine) -> None:
    # 3 steps in GOOD; the budget leaves 2 (max_steps 2, one phase)
    template = planning_template(bounds={"max_steps": 2, "max_depth": 2}, max_repairs=0)
    task, _ = run_out(planning_engine, template, {"tool_arguments": json.dumps(GOOD)})
    (attempt,) = planning_engine.rows(
        "SELECT findings FROM tasker.planning_attempts WHERE task_uuid = %s", task
    )
    codes = {finding["code"] for finding in attempt["findings"]}
    assert codes & {"FRAGMENT_TOO_MANY_STEPS", "FRAGMENT_BUDGET_EXCEEDED"}
    assert_invariants(planning_engine, task)
