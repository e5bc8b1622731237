"""Planning steps on the real engine: a planner's fragment is validated, repaired and written
as ordinary steps that run before the frame's convergence; every attempt is recorded and the
budget is never overrun. The planner is the real OpenAI client path against a loopback server
(tests/openai_server.py) or a recorded cassette."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tasker_ctl.engine.errors import FragmentRejectedError
from tasker_ctl.engine.operator import Actor, complete_step, retry_step
from tests.integration.engine.conftest import Engine
from tests.integration.engine.planning_support import (
    GOOD,
    answer,
    assert_invariants,
    check,
    fragment,
    graph_snapshot,
    ledger_sums,
    planning_template,
)
from tests.openai_server import OpenAIServer

CONTEXT = {"incident": "INC-1"}


@pytest.fixture
def server() -> Iterator[OpenAIServer]:
    with OpenAIServer() as started:
        yield started


def attempts(engine: Engine, task_uuid: uuid.UUID) -> list[dict[str, Any]]:
    return engine.rows(
        "SELECT * FROM tasker.planning_attempts WHERE task_uuid = %s ORDER BY attempt", task_uuid
    )


def test_a_fragment_is_written_and_runs_before_the_convergence(
    planning_engine: Engine, server: OpenAIServer
) -> None:
    server.push(answer(GOOD))
    task = planning_engine.submit(planning_template(), CONTEXT).task_uuid
    state = planning_engine.run(task, planner=server.spec("gpt-4.1-mini"))
    assert state == "complete"
    steps = planning_engine.steps(task)
    assert set(steps) == {"gather", "plan", "report", "logs", "deploys", "queues"}
    for name in ("logs", "deploys", "queues"):
        row = steps[name]
        assert row["created_by"] == "planning_step"
        assert row["planning_step_uuid"] == steps["plan"]["workflow_step_uuid"]
        assert row["fragment_id"] == steps["plan"]["results"]["result"]["fragment_id"]
        assert row["step_definition"]["handler"]["callable"].startswith("plan.checks.")
    # inputs resolved when the step ran: a field of gather's result and of the context
    assert steps["logs"]["results"]["result"]["inputs"] == {"service": "checkout"}
    assert steps["deploys"]["results"]["result"]["inputs"] == {"incident": "INC-1"}
    # the convergence ran last and saw every planned step
    assert steps["report"]["results"]["result"]["seen"] == ["logs", "deploys", "queues"]
    done = {name: row["processed_at"] for name, row in steps.items()}
    assert done["report"] > max(done["logs"], done["deploys"], done["queues"])
    (only,) = attempts(planning_engine, task)
    assert only["accepted"]
    assert only["status"] == "answered"
    assert only["findings"] == []
    assert_invariants(planning_engine, task)
    sums = ledger_sums(planning_engine, task)
    assert sums[("steps", "commit")] == 3
    assert sums[("phases", "commit")] == 1


def test_findings_are_fed_back_and_the_repaired_answer_is_written(
    planning_engine: Engine, server: OpenAIServer
) -> None:
    hallucinated = fragment(check("logs", "plan.checks.logz"))
    server.push(answer(hallucinated), {"text": "not json at all"}, answer(GOOD))
    task = planning_engine.submit(planning_template(), CONTEXT).task_uuid
    assert planning_engine.run(task, planner=server.spec()) == "complete"
    rows = attempts(planning_engine, task)
    assert [row["accepted"] for row in rows] == [False, False, True]
    assert {f["code"] for f in rows[0]["findings"]} >= {"FRAGMENT_CALLABLE_NOT_ALLOWED"} or any(
        "logz" in f["message"] for f in rows[0]["findings"]
    )
    assert rows[1]["findings"][0]["code"] == "FRAGMENT_NOT_JSON"
    # a repair request holds the last answer and its findings, never the history
    second, third = (json.dumps(body) for body in server.requests[1:3])
    assert "logz" in second
    assert "not json at all" not in second
    assert "not json at all" in third
    assert "logz" not in third
    assert_invariants(planning_engine, task)


def test_no_valid_fragment_fails_the_step_for_good_and_the_convergence_never_runs(
    planning_engine: Engine, server: OpenAIServer
) -> None:
    bad = fragment(check("gather", "plan.checks.logs"))  # a frame step's name
    server.push(answer(bad), answer(bad), answer(bad))
    task = planning_engine.submit(planning_template(), CONTEXT).task_uuid
    before = graph_snapshot(planning_engine, task)
    state = planning_engine.run(task, planner=server.spec())
    assert state != "complete"
    steps = planning_engine.steps(task)
    assert steps["plan"]["current_state"] == "error"
    error = steps["plan"]["results"]["error"]
    assert error["metadata"]["error_code"] == "PLANNING_NO_VALID_FRAGMENT"
    assert error["metadata"]["findings"]
    assert steps["report"]["current_state"] == "pending"
    assert graph_snapshot(planning_engine, task)[1] == before[1]  # no edge added
    assert len(attempts(planning_engine, task)) == 3
    assert_invariants(planning_engine, task)


def test_retry_step_plans_again(planning_engine: Engine, server: OpenAIServer) -> None:
    bad = fragment(check("logs", "plan.checks.nope"))
    server.push(answer(bad), answer(bad), answer(bad))
    task = planning_engine.submit(planning_template(max_repairs=2), CONTEXT).task_uuid
    planning_engine.run(task, planner=server.spec())
    retry_step(planning_engine.store, task, "plan", Actor.of("planner fixed", "ops"))
    server.push(answer(GOOD))
    assert planning_engine.run(task, planner=server.spec()) == "complete"
    assert [row["attempt"] for row in attempts(planning_engine, task)] == [1, 2, 3, 4]
    assert_invariants(planning_engine, task)


def test_an_operator_supplies_the_fragment(planning_engine: Engine, server: OpenAIServer) -> None:
    bad = fragment(check("logs", "other.handler"))
    server.push(answer(bad), answer(bad), answer(bad))
    task = planning_engine.submit(planning_template(), CONTEXT).task_uuid
    planning_engine.run(task, planner=server.spec())
    before = graph_snapshot(planning_engine, task)
    actor = Actor.of("the model could not plan this", "ops")
    with pytest.raises(FragmentRejectedError) as refused:
        complete_step(planning_engine.store, task, "plan", bad, actor)
    assert refused.value.findings
    assert graph_snapshot(planning_engine, task) == before
    complete_step(planning_engine.store, task, "plan", GOOD, actor)
    assert planning_engine.run(task, planner=server.spec()) == "complete"
    rows = attempts(planning_engine, task)
    assert rows[-1]["planner"] == "operator:ops"
    assert rows[-1]["accepted"]
    assert planning_engine.steps(task)["logs"]["created_by"] == "planning_step"
    assert_invariants(planning_engine, task)


def test_a_fragment_of_no_steps_runs_the_convergence_next(
    planning_engine: Engine, server: OpenAIServer
) -> None:
    server.push(answer(fragment()))
    task = planning_engine.submit(planning_template(), CONTEXT).task_uuid
    assert planning_engine.run(task, planner=server.spec()) == "complete"
    assert planning_engine.steps(task)["report"]["results"]["result"]["seen"] == []
    assert_invariants(planning_engine, task)


def test_a_rate_limit_is_an_ordinary_retry(planning_engine: Engine, server: OpenAIServer) -> None:
    # the provider's SDK retries once by itself; the second 429 fails the attempt
    server.push({"status": 429, "retry_after": 0}, {"status": 429, "retry_after": 0}, answer(GOOD))
    template = planning_template()
    task = planning_engine.submit(template, CONTEXT).task_uuid
    # Retry-After 0: the retry is due at once (the step's own backoff does not apply when
    # the provider says when to come back)
    state = planning_engine.run(task, planner=server.spec(), timeout=60)
    assert state == "complete"
    rows = attempts(planning_engine, task)
    assert [row["status"] for row in rows] == ["failed", "answered"]
    assert rows[0]["tokens_in"] == 0
    assert "RATE_LIMITED" in rows[0]["error"]
    assert_invariants(planning_engine, task)


def test_missing_usage_counts_the_worst_case(planning_engine: Engine, server: OpenAIServer) -> None:
    server.push({**answer(GOOD), "omit_usage": True})
    task = planning_engine.submit(planning_template(), CONTEXT).task_uuid
    assert planning_engine.run(task, planner=server.spec()) == "complete"
    (row,) = attempts(planning_engine, task)
    assert row["usage_estimated"]
    reserved = {key: Decimal(value) for key, value in row["reserved"].items()}
    assert row["tokens_in"] + row["tokens_out"] == reserved["tokens"]
    assert_invariants(planning_engine, task)


def test_the_recorded_example_replays_offline(planning_engine: Engine, tmp_path: Path) -> None:
    del tmp_path
    from tasker_ctl.engine import run_template

    root = Path(__file__).resolve().parents[3]
    report = run_template(
        root / "examples/planning/incident.yaml",
        context={"incident_id": "INC-4211", "service": "checkout"},
        handlers=[str(root / "examples/planning/incident_handlers.py")],
        database_url=planning_engine.url,
        planner=f"replay:{root / 'examples/planning/incident.cassette.yaml'}",
        new_task=True,
    )
    assert report.status == "complete"
    names = {step.name: step for step in report.steps}
    assert names["write_report"].state == "complete"
    assert {"query_logs", "check_deploys", "check_dependencies", "notify_oncall"} <= set(names)
