"""Decision points: a decision step's outcome creates the declared steps it names, their
dependents and the deferred convergence steps waiting on them, in the transaction that
completes it; anything else fails the step and creates nothing."""

from __future__ import annotations

from typing import Any

import pytest

from tests.integration.engine.conftest import Engine, make_template, step

APPROVAL = make_template(
    [
        step("validate", "ok.noop"),
        step("decide", "decide.route", "validate", type="decision"),
        step("auto_approve", "ok.noop", "decide"),
        step("manager_review", "ok.noop", "decide"),
        step("manager_sign_off", "ok.noop", "manager_review"),
        step("finance_review", "ok.noop", "decide"),
        step(
            "finalize",
            "ok.noop",
            "auto_approve",
            "manager_sign_off",
            "finance_review",
            type="deferred_convergence",
        ),
        step("notify", "ok.noop", "finalize"),
    ],
    name="approval",
)


def _run(engine: Engine, route: Any) -> tuple[str, dict[str, Any]]:
    task = engine.submit(APPROVAL, {"route": route})
    status = engine.run(task.task_uuid)
    return status, engine.steps(task.task_uuid)


def _parents(engine: Engine, step_uuid: Any) -> set[str]:
    rows = engine.rows(
        "SELECT p.name FROM tasker.workflow_step_edges e"
        " JOIN tasker.workflow_steps p ON p.workflow_step_uuid = e.from_step_uuid"
        " WHERE e.to_step_uuid = %s",
        step_uuid,
    )
    return {row["name"] for row in rows}


def test_only_the_initial_steps_exist_at_submission(engine: Engine) -> None:
    task = engine.submit(APPROVAL, {"route": ["auto_approve"]})
    assert set(engine.steps(task.task_uuid)) == {"validate", "decide"}


def test_one_branch_creates_it_and_the_convergence_waiting_on_it(engine: Engine) -> None:
    status, steps = _run(engine, ["auto_approve"])
    assert status == "complete"
    assert set(steps) == {"validate", "decide", "auto_approve", "finalize", "notify"}
    assert {name: steps[name]["created_by"] for name in steps} == {
        "validate": "template",
        "decide": "template",
        "auto_approve": "decision_point",
        "finalize": "decision_point",
        "notify": "decision_point",
    }
    assert all(row["current_state"] == "complete" for row in steps.values())
    # the convergence waits on the overlap of its dependencies with what was created
    assert _parents(engine, steps["finalize"]["workflow_step_uuid"]) == {"auto_approve"}
    assert _parents(engine, steps["auto_approve"]["workflow_step_uuid"]) == {"decide"}


def test_a_branch_brings_its_dependents(engine: Engine) -> None:
    status, steps = _run(engine, ["manager_review"])
    assert status == "complete"
    assert {"manager_review", "manager_sign_off", "finalize", "notify"} <= set(steps)
    assert "auto_approve" not in steps
    assert "finance_review" not in steps
    assert _parents(engine, steps["finalize"]["workflow_step_uuid"]) == {"manager_sign_off"}


def test_all_branches_and_the_convergence_runs_last(engine: Engine, calls: Any) -> None:
    status, steps = _run(engine, ["auto_approve", "manager_review", "finance_review"])
    assert status == "complete"
    assert _parents(engine, steps["finalize"]["workflow_step_uuid"]) == {
        "auto_approve",
        "manager_sign_off",
        "finance_review",
    }
    order = [call.step for call in calls.calls]
    assert order.index("finalize") > max(
        order.index(name) for name in ("auto_approve", "manager_sign_off", "finance_review")
    )
    assert order[-1] == "notify"


def test_no_branches_creates_nothing_and_the_task_completes(engine: Engine) -> None:
    status, steps = _run(engine, "none")
    assert status == "complete"
    assert set(steps) == {"validate", "decide"}
    outcome = steps["decide"]["results"]["result"]["decision_point_outcome"]
    assert outcome == {"type": "no_branches"}


@pytest.mark.parametrize(
    "route",
    [["unheard_of"], ["validate"], ["auto_approve", "notify_the_press"]],
    ids=["unknown", "not-a-descendant", "one-of-two-undeclared"],
)
def test_an_undeclared_step_fails_the_decision_and_creates_nothing(
    engine: Engine, route: list[str]
) -> None:
    status, steps = _run(engine, route)
    assert status == "blocked_by_failures"
    assert set(steps) == {"validate", "decide"}
    decide = steps["decide"]
    assert decide["current_state"] == "error"
    assert decide["attempts"] == 1  # permanent: not retried
    assert decide["results"]["error"]["error_type"] == "invalid_decision"
    assert decide["results"]["metadata"]["error_code"] == "DECISION_UNDECLARED_STEP"
    assert "not among the steps it may create" in decide["results"]["error"]["message"]
    # the message names the offending step
    assert route[-1] in decide["results"]["error"]["message"]


def test_a_malformed_outcome_fails_the_decision_and_creates_nothing(engine: Engine) -> None:
    template = make_template(
        [
            step("decide", "decide.malformed", type="decision"),
            step("branch", "ok.noop", "decide"),
        ],
        name="malformed",
    )
    task = engine.submit(template, {})
    assert engine.run(task.task_uuid) == "blocked_by_failures"
    steps = engine.steps(task.task_uuid)
    assert set(steps) == {"decide"}
    results = steps["decide"]["results"]
    assert (steps["decide"]["current_state"], steps["decide"]["attempts"]) == ("error", 1)
    assert results["error"]["error_type"] == "invalid_decision"
    assert results["metadata"]["error_code"] == "DECISION_OUTCOME_INVALID"
    assert "'route_everywhere'" in results["error"]["message"]


NESTED = make_template(
    [
        step("outer", "decide.route", type="decision"),
        step("slow_branch", "ok.slow", "outer", config={"seconds": 1}),
        step("inner", "decide.route", "outer", type="decision"),
        step("late_branch", "ok.noop", "inner"),
        step("merge", "ok.noop", "slow_branch", "late_branch", type="deferred_convergence"),
    ],
    name="nested",
)


def test_a_nested_decision_adds_its_branch_to_a_waiting_convergence(engine: Engine) -> None:
    """The outer decision creates the convergence waiting on its branch; the inner decision,
    while that branch still runs, adds its own branch to what the convergence waits on."""
    route = {"outer": ["slow_branch", "inner"], "inner": ["late_branch"]}
    task = engine.submit(NESTED, {"route": route})
    assert engine.run(task.task_uuid, workers=2) == "complete"
    steps = engine.steps(task.task_uuid)
    assert set(steps) == {"outer", "slow_branch", "inner", "late_branch", "merge"}
    assert _parents(engine, steps["merge"]["workflow_step_uuid"]) == {
        "slow_branch",
        "late_branch",
    }
    started = {
        row["name"]: row["created_at"]
        for row in engine.step_transitions(task.task_uuid)
        if row["to_state"] == "in_progress"
    }
    finished = {
        row["name"]: row["created_at"]
        for row in engine.step_transitions(task.task_uuid)
        if row["to_state"] == "complete"
    }
    assert started["merge"] > max(finished["slow_branch"], finished["late_branch"])
