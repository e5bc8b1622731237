"""A decision that chooses no branches, as Tasker Core settles it: the outcome creates no step
at all, so a ``deferred_convergence`` step behind the decision (and what follows it) is never
created, not even skipped, and the task completes once the steps that exist are complete.

Tasker Core's decision service returns before creating anything for ``no_branches``; a
convergence step is created only by a pass that creates one of its dependencies. To run a
final step whatever the decision, route to a branch that does nothing instead."""

from __future__ import annotations

from typing import Any

from tests.integration.engine.conftest import Engine, make_template, step
from tests.integration.engine.handlers import Recorder

ROUTED = make_template(
    [
        step("intake", "ok.noop"),
        step("decide", "decide.skip_or_route", "intake", type="decision"),
        step("manual_review", "ok.noop", "decide"),
        step("auto_approve", "ok.noop", "decide"),
        step(
            "finalize",
            "ok.noop",
            "manual_review",
            "auto_approve",
            type="deferred_convergence",
        ),
        step("notify", "ok.noop", "finalize"),
        # outside the decision's branches: created with the task, runs whatever it decides
        step("audit", "ok.noop", "intake"),
    ],
    name="no_branches_convergence",
)


def _run(engine: Engine, route: Any) -> tuple[Any, str, dict[str, Any]]:
    task = engine.submit(ROUTED, {"route": route})
    status = engine.run(task.task_uuid)
    return task, status, engine.steps(task.task_uuid)


def test_decision_skip_creates_no_convergence_and_the_task_completes(
    engine: Engine, calls: Recorder
) -> None:
    task, status, steps = _run(engine, "none")

    assert status == "complete"
    row = engine.task(task.task_uuid)
    assert row["current_state"] == "complete"
    assert row["complete"] is True
    # the convergence step and its follower are never created: not pending, not skipped
    assert set(steps) == {"intake", "decide", "audit"}
    assert all(step["current_state"] == "complete" for step in steps.values())
    assert {call.step for call in calls.calls} == {"intake", "decide", "audit"}
    result = steps["decide"]["results"]["result"]
    assert result["decision_point_outcome"] == {"type": "no_branches"}
    assert result["reason"] == "nothing to approve"
    assert result["approved"] is True


def test_routing_to_a_branch_runs_the_convergence(engine: Engine, calls: Recorder) -> None:
    """The way to a final step that always runs: choose a branch, even one that does nothing."""
    _, status, steps = _run(engine, ["auto_approve"])

    assert status == "complete"
    assert set(steps) == {"intake", "decide", "audit", "auto_approve", "finalize", "notify"}
    assert all(step["current_state"] == "complete" for step in steps.values())
    assert [call.step for call in calls.calls if call.step in ("finalize", "notify")] == [
        "finalize",
        "notify",
    ]
