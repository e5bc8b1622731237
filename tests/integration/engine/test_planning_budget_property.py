"""Property: whatever the planner answers (valid, invalid, nested, empty, errors) and
whatever the budgets (every size, down to one call), no dimension of a task's budget is ever
passed, the ledger equals the attempts, and a budget that runs out always ends in the
emergency convergence: the task comes to rest, its convergence having run, within its
wall-clock budget. Large upstream results make the planner summarize (calls of their own)."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tasker_ctl.engine.errors import ChainLimitError
from tests.integration.engine.conftest import Engine
from tests.integration.engine.planning_support import (
    GOOD,
    assert_invariants,
    check,
    fragment,
    planning_template,
)
from tests.openai_server import OpenAIServer

pytestmark = pytest.mark.slow

NESTED = fragment(
    check("logs", "plan.checks.logs"),
    {
        "name": "deeper",
        "step_type": "planning",
        "dependencies": ["logs"],
        "planning": {"goal": "dig deeper", "max_steps": 2, "max_depth": 2},
    },
)
ANSWERS = {
    "good": {"tool_arguments": json.dumps(GOOD)},
    "nested": {"tool_arguments": json.dumps(NESTED)},
    "empty": {"tool_arguments": json.dumps(fragment())},
    "bad": {"tool_arguments": json.dumps(fragment(check("logs", "plan.checks.nope")))},
    "text": {"text": "I would check the logs first."},
    "greedy": {"tool_arguments": json.dumps(GOOD), "max_usage": True},
    "no usage": {"tool_arguments": json.dumps(GOOD), "omit_usage": True},
    "server error": {"status": 500},
}

cases = st.fixed_dictionaries(
    {
        "answers": st.lists(st.sampled_from(sorted(ANSWERS)), min_size=1, max_size=12),
        "calls": st.integers(min_value=1, max_value=6),
        "tokens": st.sampled_from([3_000, 12_000, 40_000, 200_000]),
        "cost": st.sampled_from([0.0005, 0.01, 1.0]),
        "steps": st.integers(min_value=1, max_value=6),
        "phases": st.integers(min_value=1, max_value=3),
        "repairs": st.integers(min_value=0, max_value=3),
        "replans": st.integers(min_value=0, max_value=2),
        "nesting": st.integers(min_value=0, max_value=2),
        "signals": st.sampled_from([2, 300, 3_000]),  # ~50 B, ~9 KB, ~90 KB of results
        # the delegation chain the task starts, and whether a second task joins it
        "chain_calls": st.one_of(st.none(), st.integers(min_value=1, max_value=8)),
        "chain_tokens": st.one_of(st.none(), st.sampled_from([5_000, 30_000, 300_000])),
        "child": st.booleans(),
    }
)


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(case=cases)
def test_no_budget_is_ever_passed_and_exhaustion_ends_in_the_convergence(
    planning_engine: Engine, case: dict[str, Any]
) -> None:
    wall = 120
    template = planning_template(
        max_repairs=case["repairs"],
        max_replans=case["replans"],
        max_nesting=case["nesting"],
        timeout_seconds=5,
        bounds={"max_steps": case["steps"], "max_depth": 3, "max_phases": case["phases"]},
        budget={
            "max_llm_calls": case["calls"],
            "max_tokens": case["tokens"],
            "max_cost_usd": case["cost"],
            "max_wall_seconds": wall,
        },
    )
    chain = {
        key: value
        for key, value in (
            ("max_llm_calls", case["chain_calls"]),
            ("max_tokens", case["chain_tokens"]),
        )
        if value is not None
    }
    context = {"incident": f"INC-{uuid.uuid4()}", "signals": case["signals"]}
    answers = [ANSWERS[name] for name in case["answers"]]
    tasks = []
    with OpenAIServer(answers + answers) as server:
        root = planning_engine.submit(template, context, chain_limits=chain or None)
        tasks.append(root.task_uuid)
        if case["child"]:
            try:
                child = planning_engine.submit(
                    template,
                    {**context, "incident": f"INC-{uuid.uuid4()}"},
                    parent_correlation_id=root.correlation_id,
                )
                tasks.append(child.task_uuid)
            except ChainLimitError:
                pass  # the chain was already spent (nothing was created)
        for task in tasks:
            started = time.monotonic()
            state = planning_engine.run(task, planner=server.spec(), timeout=wall)
            assert time.monotonic() - started < wall
            assert state in ("complete", "blocked_by_failures", "error")
    for task in tasks:
        assert_invariants(planning_engine, task)  # no limit passed; ledger = attempts
        steps = planning_engine.steps(task)
        for name, row in steps.items():
            result = (row["results"] or {}).get("result") or {}
            if row["step_type"] == "planning" and "exhausted" in result:
                # the emergency convergence: planning ended, the convergence ran
                assert steps["report"]["current_state"] == "complete", name
    # the chain's tasks together: no aggregate limit passed
    for resource, limit in (("llm_calls", case["chain_calls"]), ("tokens", case["chain_tokens"])):
        if limit is None:
            continue
        committed = planning_engine.one(
            "SELECT coalesce(sum(amount), 0) AS used FROM tasker.task_budget_entries"
            " WHERE resource = %s AND kind = 'commit' AND task_uuid = ANY(%s)",
            resource,
            tasks,
        )["used"]
        assert committed <= limit, f"chain {resource}: {committed} > {limit}"
