"""Planning that adapts when it fails: fresh rounds told why the last one failed
(``max_replans``), other models when one keeps failing (``fallback_models``), and the
emergency convergence when the budget runs out: the convergence step runs with what there is
and a coded diagnostic under ``planning.exhausted``, never a hang."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.integration.engine.conftest import Engine
from tests.integration.engine.handlers import planning as planning_handlers
from tests.integration.engine.planning_support import (
    GOOD,
    answer,
    assert_invariants,
    check,
    fragment,
    planning_template,
)
from tests.openai_server import OpenAIServer

BAD = fragment(check("logs", "plan.checks.unknown"))
CONTEXT = {"incident": "INC-1"}


def attempts(engine: Engine, task: object) -> list[dict[str, object]]:
    return engine.rows(
        "SELECT * FROM tasker.planning_attempts WHERE task_uuid = %s ORDER BY attempt", task
    )


def test_an_exhausted_budget_ends_in_the_emergency_convergence(planning_engine: Engine) -> None:
    template = planning_template(
        max_repairs=3,
        budget={
            "max_llm_calls": 2,
            "max_tokens": 200_000,
            "max_cost_usd": 1.0,
            "max_wall_seconds": 300,
        },
    )
    with OpenAIServer([answer(BAD)] * 4) as server:
        task = planning_engine.submit(template, CONTEXT).task_uuid
        state = planning_engine.run(task, planner=server.spec(), timeout=60)
        calls = len(server.requests)
    assert state == "complete"
    assert calls == 2
    steps = planning_engine.steps(task)
    plan = steps["plan"]["results"]["result"]
    assert plan["steps"] == []
    assert plan["exhausted"]["code"] == "PLANNING_BUDGET_EXHAUSTED"
    report = steps["report"]["results"]["result"]
    (diagnostic,) = report["exhausted"]
    assert diagnostic["code"] == "PLANNING_BUDGET_EXHAUSTED"
    assert diagnostic["planning_step"] == "plan"
    assert diagnostic["findings"]  # what the last answer got wrong
    assert_invariants(planning_engine, task)


def test_a_fresh_round_is_told_why_the_last_one_failed(planning_engine: Engine) -> None:
    template = planning_template(max_repairs=0, max_replans=1)
    with OpenAIServer([answer(BAD), answer(GOOD)]) as server:
        task = planning_engine.submit(template, CONTEXT).task_uuid
        assert planning_engine.run(task, planner=server.spec(), timeout=60) == "complete"
        second = json.dumps(server.requests[1])
    assert "previous plan was refused" in second
    assert "plan.checks.unknown" in second  # the finding names it
    assert '\\"fragment_version\\"' not in second.split("previous plan was refused")[1]
    assert [row["accepted"] for row in attempts(planning_engine, task)] == [False, True]
    assert_invariants(planning_engine, task)


def test_a_failing_model_falls_back_to_the_next(planning_engine: Engine) -> None:
    with OpenAIServer([{"status": 500}] * 4) as broken, OpenAIServer([answer(GOOD)]) as spare:
        template = planning_template(fallback_models=[spare.spec("spare-model")])
        task = planning_engine.submit(template, CONTEXT).task_uuid
        state = planning_engine.run(task, planner=broken.spec("main-model"), timeout=60)
    assert state == "complete"
    rows = attempts(planning_engine, task)
    assert [row["status"] for row in rows] == ["failed", "answered"]
    assert rows[0]["model"] == "main-model"
    assert "spare" in str(rows[1]["planner"])
    assert_invariants(planning_engine, task)


def test_when_every_model_and_round_fails_the_step_fails_for_good(
    planning_engine: Engine,
) -> None:
    with OpenAIServer([answer(BAD)] * 2) as first, OpenAIServer([answer(BAD)] * 2) as second:
        template = planning_template(
            max_repairs=0, max_replans=1, fallback_models=[second.spec("second")]
        )
        task = planning_engine.submit(template, CONTEXT).task_uuid
        planning_engine.run(task, planner=first.spec("first"), timeout=60)
    steps = planning_engine.steps(task)
    assert steps["plan"]["current_state"] == "error"
    error = steps["plan"]["results"]["error"]
    assert error["metadata"]["error_code"] == "PLANNING_NO_VALID_FRAGMENT"
    assert len(attempts(planning_engine, task)) == 4  # two rounds on each model
    assert steps["report"]["current_state"] == "pending"
    assert_invariants(planning_engine, task)


def test_a_chains_aggregate_limit_bounds_its_tasks_planning(planning_engine: Engine) -> None:
    """Two tasks of one delegation chain limited to 5 LLM calls in all: the root plans with
    one call; the child (whose own budget allows 10) gets the 4 calls the chain has left,
    then ends in the emergency convergence; the chain's committed calls never pass 5."""
    budget = {
        "max_llm_calls": 10,
        "max_tokens": 500_000,
        "max_cost_usd": 5.0,
        "max_wall_seconds": 600,
    }
    template = planning_template(max_repairs=9, budget=budget)
    with OpenAIServer([answer(GOOD)] + [answer(BAD)] * 9) as server:
        root = planning_engine.submit(
            template, {"incident": "INC-root"}, chain_limits={"max_llm_calls": 5}
        )
        assert planning_engine.run(root.task_uuid, planner=server.spec(), timeout=60) == (
            "complete"
        )
        child = planning_engine.submit(
            template, {"incident": "INC-child"}, parent_correlation_id=root.correlation_id
        )
        planning_engine.run(child.task_uuid, planner=server.spec(), timeout=60)
        calls = len(server.requests)
    committed = planning_engine.one(
        "SELECT coalesce(sum(amount), 0) AS calls FROM tasker.task_budget_entries"
        " WHERE resource = 'llm_calls' AND kind = 'commit' AND task_uuid = ANY(%s)",
        [root.task_uuid, child.task_uuid],
    )["calls"]
    assert calls == committed == 5
    plan = planning_engine.steps(child.task_uuid)["plan"]["results"]["result"]
    assert plan["exhausted"]["code"] == "PLANNING_BUDGET_EXHAUSTED"
    assert planning_engine.steps(child.task_uuid)["report"]["current_state"] == "complete"
    for task in (root.task_uuid, child.task_uuid):
        assert_invariants(planning_engine, task)


@pytest.mark.parametrize("approve", [True, False])
def test_a_replan_waits_for_an_approver(
    planning_engine: Engine, approve: bool, tmp_path: Path
) -> None:
    from tasker_ctl.engine import run_template
    from tasker_ctl.engine.operator import Actor, decide_gate

    template = planning_template(
        max_repairs=0, max_replans=1, replan_gate=True, replan_approvers=["lead"]
    )
    path = tmp_path / "planning.yaml"
    path.write_text(
        json.dumps(template.model_dump(mode="json", by_alias=True, exclude_none=True)),
        encoding="utf-8",
    )
    with OpenAIServer([answer(BAD), answer(GOOD)]) as server:

        def run(task: Any = None) -> Any:
            return run_template(
                path,
                context=CONTEXT,
                handlers=[planning_handlers],
                database_url=planning_engine.url,
                planner=server.spec(),
                resume_task=task,
                timeout=60,
            )

        parked = run()
        task = parked.task_uuid
        plan = planning_engine.steps(task)["plan"]
        assert plan["current_state"] == "waiting_for_retry"  # waiting for approval
        gate = plan["checkpoint"]["composition"]["pending_gate"]
        assert gate["approvers"] == ["lead"]
        assert "replan 1 of 1" in gate["prompt"]
        assert len(server.requests) == 1  # nothing asked while it waits
        decide_gate(
            planning_engine.store,
            task,
            "plan",
            approve=approve,
            actor=Actor.of("the checks list changed", "lead"),
        )
        report = run(task)
        calls = len(server.requests)
        second = json.dumps(server.requests[1]) if calls > 1 else ""
    steps = planning_engine.steps(task)
    if approve:
        assert report.status == "complete"
        assert calls == 2  # the first round is not asked again
        assert "previous plan was refused" in second
    else:
        assert calls == 1
        error = steps["plan"]["results"]["error"]
        assert error["metadata"]["error_code"] == "PLANNING_REPLAN_REJECTED"
    assert_invariants(planning_engine, task)
