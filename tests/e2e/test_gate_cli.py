"""A gate as operators meet it: ``run`` stops waiting for approval, ``task approve|reject``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.e2e.conftest import RunCli, assert_no_traceback
from tests.integration.engine.test_gates import HANDLERS, TEMPLATE

pytestmark = pytest.mark.slow


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    (tmp_path / "refund.yaml").write_text(TEMPLATE, encoding="utf-8")
    (tmp_path / "refund_handlers.py").write_text(HANDLERS, encoding="utf-8")
    return tmp_path


def test_run_waits_for_approval_and_resumes_once_approved(
    invoke_cli: RunCli, workspace: Path, fresh_database_url: str
) -> None:
    env = {"TASKER_DATABASE_URL": fresh_database_url}
    run = ("run", "refund.yaml", "--handlers", "refund_handlers.py")

    waiting = invoke_cli(*run, cwd=workspace, env=env)
    assert_no_traceback(waiting)
    assert waiting.returncode == 1, waiting.stdout + waiting.stderr
    assert "waiting for approval" in waiting.stdout
    assert "step 'approve_refund' waits for approval: Refund half the order?" in waiting.stdout
    # what the approver must know, and the commands that decide
    assert 'summary: {"refund": 40, "order_amount": 80}' in waiting.stdout
    assert "approvers: ops-lead" in waiting.stdout
    assert "tasker-ctl task approve " in waiting.stdout
    assert " approve_refund --by ops-lead" in waiting.stdout
    assert " approve_refund --reason TEXT --by ops-lead" in waiting.stdout
    assert "waiting_for_approval" in waiting.stdout  # the step's state, not a retry's
    assert "waiting_for_retry" not in waiting.stdout
    assert "0/3" in waiting.stdout

    shown = invoke_cli(*run, "--json", cwd=workspace, env=env)
    assert shown.returncode == 1
    report = json.loads(shown.stdout)
    task = report["task"]["uuid"]
    steps = {step["name"]: step for step in report["steps"]}
    assert steps["approve_refund"]["awaiting_approval"] == "Refund half the order?"
    assert steps["quote"]["awaiting_approval"] is None
    assert "waits for approval" in shown.stderr
    assert f"approve: tasker-ctl task approve {task} approve_refund" in shown.stderr
    gate = steps["approve_refund"]
    assert (gate["state"], gate["attempts"], gate["max_attempts"]) == (
        "waiting_for_approval",
        0,
        3,
    )
    assert gate["approval"] == {
        "prompt": "Refund half the order?",
        "approvers": ["ops-lead"],
        "summary": {"refund": 40, "order_amount": 80},
        "approve_command": f"tasker-ctl task approve {task} approve_refund --by ops-lead",
        "reject_command": f"tasker-ctl task reject {task} approve_refund --reason TEXT "
        "--by ops-lead",
    }
    assert steps["quote"]["approval"] is None

    # task show says the same, by a prefix of the task's UUID, in text and as JSON
    show_text = invoke_cli("task", "show", task[:8], env=env)
    assert show_text.returncode == 0, show_text.stderr
    assert "waiting for approval" in show_text.stdout
    assert 'summary: {"refund": 40, "order_amount": 80}' in show_text.stdout
    assert f"approve: tasker-ctl task approve {task} approve_refund --by ops-lead" in (
        show_text.stdout
    )
    assert "then a worker" in show_text.stdout
    show_json = invoke_cli("task", "show", "latest", "--json", env=env)
    assert show_json.returncode == 0, show_json.stderr
    shown_steps = {step["name"]: step for step in json.loads(show_json.stdout)["steps"]}
    assert shown_steps["approve_refund"]["approval"] == gate["approval"]

    not_waiting = invoke_cli("task", "approve", task, "quote", "--by", "ops-lead", env=env)
    assert not_waiting.returncode == 2
    assert "NOT_AWAITING_APPROVAL" in not_waiting.stderr
    assert "approve_refund" in not_waiting.stderr  # the hint names the step that waits

    intern = invoke_cli("task", "approve", task, "approve_refund", "--by", "intern", env=env)
    assert intern.returncode == 2
    assert "APPROVER_NOT_ALLOWED" in intern.stderr
    assert "ops-lead" in intern.stderr

    no_reason = invoke_cli(
        "task", "reject", task[:8], "approve_refund", "--by", "ops-lead", env=env
    )
    assert no_reason.returncode == 2
    assert "--reason" in no_reason.stderr

    approved = invoke_cli(
        "task", "approve", task, "approve_refund", "--by", "ops-lead", "--json", env=env
    )
    assert approved.returncode == 0, approved.stderr
    change = json.loads(approved.stdout)["action"]
    assert (change["name"], change["by"], change["reason"]) == (
        "approve_step",
        "ops-lead",
        "approved",
    )
    assert change["step_state_after"] == "enqueued"

    done = invoke_cli(*run, cwd=workspace, env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "complete" in done.stdout
    for result in (waiting, shown, not_waiting, intern, no_reason, approved, done):
        assert_no_traceback(result)


def test_approve_and_reject_say_the_same_about_reason_in_help_and_use(invoke_cli: RunCli) -> None:
    approve = invoke_cli("task", "approve", "--help")
    assert approve.returncode == 0
    text = " ".join(approve.stdout.split())
    assert "--reason may be left out" in text
    assert "Why (optional)" in text
    assert "Why (required)" not in text  # the shared --reason's help is not approve's
    reject = " ".join(invoke_cli("task", "reject", "--help").stdout.split())
    assert "--reason is required" in reject
