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
    assert "tasker-ctl task approve|reject" in waiting.stdout

    shown = invoke_cli(*run, "--json", cwd=workspace, env=env)
    assert shown.returncode == 1
    report = json.loads(shown.stdout)
    task = report["task"]["uuid"]
    steps = {step["name"]: step for step in report["steps"]}
    assert steps["approve_refund"]["awaiting_approval"] == "Refund half the order?"
    assert steps["quote"]["awaiting_approval"] is None
    assert "waits for approval" in shown.stderr

    not_waiting = invoke_cli("task", "approve", task, "quote", "--by", "ops-lead", env=env)
    assert not_waiting.returncode == 2
    assert "NOT_AWAITING_APPROVAL" in not_waiting.stderr
    assert "approve_refund" in not_waiting.stderr  # the hint names the step that waits

    intern = invoke_cli("task", "approve", task, "approve_refund", "--by", "intern", env=env)
    assert intern.returncode == 2
    assert "APPROVER_NOT_ALLOWED" in intern.stderr
    assert "ops-lead" in intern.stderr

    no_reason = invoke_cli("task", "reject", task, "approve_refund", "--by", "ops-lead", env=env)
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
