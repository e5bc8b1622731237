"""``task_explain`` and ``step_diagnose``: one call answers what a task did and what would
move it on, the same document ``tasker-ctl task explain|diagnose --json`` prints.

The database is the module's ``tasks_database`` (conftest.py): a finished task, a planned one,
one blocked by a failure, one waiting at a gate, one dead-lettered.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tasker_ctl.mcp.calls import Answer, Caller
from tasker_ctl.mcp.spec import ToolContext
from tasker_ctl.mcp.tools_agent import TOOLS
from tests.e2e.in_process import in_process_runner
from tests.integration.mcp.conftest import TasksDatabase

TOOL = {spec.name: spec for spec in TOOLS}
TYPICAL_LIMIT = 20 * 1024  # bytes of a typical task's explanation
# both tools read a database: there is no offline case to replay over the transports
PARITY_CASES: list[tuple[str, dict[str, Any], list[str]]] = []


def call(db: TasksDatabase, name: str, arguments: dict[str, Any]) -> Answer:
    context = ToolContext(project_root=db.workspace, database_url=db.url)
    return Caller(context).invoke(TOOL[name], arguments)


def command(
    db: TasksDatabase, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, *args: str
) -> dict[str, Any]:
    invoke = in_process_runner(tmp_path, monkeypatch)
    result = invoke(*args, "--json", env={"TASKER_DATABASE_URL": db.url})
    assert result.returncode == 0, result.stdout + result.stderr
    document: dict[str, Any] = json.loads(result.stdout)
    return document


@pytest.mark.parametrize("which", ["finished", "planned", "blocked", "gated", "dead_lettered"])
def test_task_explain_answers_the_commands_document_compactly(
    tasks_database: TasksDatabase, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, which: str
) -> None:
    task = getattr(tasks_database, which)
    answer = call(tasks_database, "task_explain", {"task": task})

    assert not answer.is_error, answer.document
    assert answer.document == command(
        tasks_database, tmp_path, monkeypatch, "task", "explain", task
    )
    assert len(json.dumps(answer.document)) < TYPICAL_LIMIT


def test_a_blocked_task_is_explained_with_its_failure_and_the_repairs(
    tasks_database: TasksDatabase,
) -> None:
    db = tasks_database
    document = call(db, "task_explain", {"task": db.blocked}).document

    assert document["task"]["status"] == "blocked_by_failures"
    (failed,) = document["failed"]
    assert failed["step"] == db.failed_step
    assert "purchase order" in failed["message"]
    assert failed["error_type"] == "permanent_error"
    commands = [move["command"] for move in document["next"]]
    assert f"tasker-ctl task retry-step {db.blocked} {db.failed_step} --reason TEXT" in commands
    tools = {move["tool"]["name"]: move["tool"]["arguments"] for move in document["next"]}
    assert len(tools) == len(document["next"])  # each move is also a tool call
    assert tools["step_retry"] == {"task": db.blocked, "step": db.failed_step, "reason": "REASON"}
    assert {"step_resolve", "step_complete"} <= set(tools)


def test_a_gated_task_is_explained_with_its_gate_and_how_to_decide(
    tasks_database: TasksDatabase,
) -> None:
    db = tasks_database
    document = call(db, "task_explain", {"task": db.gated}).document

    (gate,) = document["waiting"]
    assert (gate["step"], gate["prompt"], gate["approvers"]) == (
        db.gate_step,
        "Refund half the order?",
        ["ops-lead"],
    )
    assert (
        gate["approve_command"]
        == f"tasker-ctl task approve {db.gated} {db.gate_step} --by ops-lead"
    )
    commands = [move["command"] for move in document["next"]]
    assert f"tasker-ctl task approve {db.gated} {db.gate_step} --by ops-lead" in commands
    assert {move["tool"]["name"] for move in document["next"]} == {"gate_approve", "gate_reject"}


def test_a_planned_task_is_explained_with_the_plan_and_why(tasks_database: TasksDatabase) -> None:
    db = tasks_database
    document = call(db, "task_explain", {"task": db.planned}).document

    (decision,) = document["planned"]
    assert decision["goal"]
    assert decision["rationale"]
    assert decision["planner_calls"] >= 1
    assert decision["fragment_id"]
    assert decision["planned_steps"]
    planned = {step["name"]: step for step in document["ran"]}
    assert all(planned[name]["created_by"] == "planning_step" for name in decision["planned_steps"])
    assert document["next"] == []  # complete: nothing to do


def test_a_dead_lettered_task_names_its_entry_to_resolve(tasks_database: TasksDatabase) -> None:
    db = tasks_database
    document = call(db, "task_explain", {"task": db.dead_lettered}).document

    assert document["task"]["status"] == "error"
    (move,) = document["next"]
    assert move["tool"] == {
        "name": "dlq_resolve",
        "arguments": {"entry": db.dlq_entry, "status": "manually_resolved", "reason": "REASON"},
    }


def test_step_diagnose_answers_the_commands_document(
    tasks_database: TasksDatabase, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = tasks_database
    for task, step in [(db.blocked, db.failed_step), (db.gated, db.gate_step)]:
        answer = call(db, "step_diagnose", {"task": task, "step": step})
        assert not answer.is_error, answer.document
        assert answer.document == command(db, tmp_path, monkeypatch, "task", "diagnose", task, step)


def test_a_failed_step_is_diagnosed_with_its_failure_attempts_and_repairs(
    tasks_database: TasksDatabase,
) -> None:
    db = tasks_database
    document = call(db, "step_diagnose", {"task": db.blocked, "step": db.failed_step}).document

    assert document["failure"]["error_type"] == "permanent_error"
    assert document["failure"]["retryable"] is False
    assert [attempt["outcome"] for attempt in document["attempts"]] == ["error"]
    assert document["provenance"]["created_by"] == "template"
    assert document["inputs"] == []
    assert [move["tool"]["name"] for move in document["repairs"]] == [
        "step_retry",
        "step_resolve",
        "step_complete",
    ]


def test_a_planned_step_is_traced_to_the_planning_decision(tasks_database: TasksDatabase) -> None:
    db = tasks_database
    explained = call(db, "task_explain", {"task": db.planned}).document
    (decision,) = explained["planned"]
    step = decision["planned_steps"][0]

    document = call(db, "step_diagnose", {"task": db.planned, "step": step}).document
    provenance = document["provenance"]
    assert provenance["created_by"] == "planning_step"
    assert provenance["planning_step"] == decision["planning_step"]
    assert provenance["fragment_id"] == decision["fragment_id"]
    assert provenance["planning_attempt"] >= 1
    assert provenance["planning_phase"] is not None
    assert provenance["fragment_step"]["handler"]
    assert set(provenance["fragment_step"]) == {"handler", "step_type", "dependencies", "inputs"}
    assert document["failure"] is None
    assert document["repairs"] == []  # complete: nothing to repair
    assert all(source["state"] == "complete" for source in document["inputs"])


@pytest.mark.parametrize(
    ("name", "arguments", "code"),
    [
        ("task_explain", {"task": "00000000-0000-0000-0000-000000000001"}, "TASK_NOT_FOUND"),
        ("task_explain", {"task": "nope"}, "INVALID_TASK_REFERENCE"),
        ("task_explain", {"task": "latest", "more": 1}, "TOOL_ARGUMENTS_INVALID"),
        ("step_diagnose", {"task": "latest", "step": "no_such_step"}, "STEP_NOT_FOUND"),
        ("step_diagnose", {"task": "latest"}, "TOOL_ARGUMENTS_INVALID"),
        ("step_diagnose", {"task": "latest", "step": "a\x00b"}, "TEXT_NOT_STORABLE"),
    ],
)
def test_bad_arguments_get_a_coded_error(
    tasks_database: TasksDatabase, name: str, arguments: dict[str, Any], code: str
) -> None:
    answer = call(tasks_database, name, arguments)
    assert answer.is_error
    assert answer.document["error"]["code"] == code


def test_each_next_move_is_a_call_its_tool_accepts(tasks_database: TasksDatabase) -> None:
    """An agent fills in the reason and makes the call as it stands."""
    from tasker_ctl.mcp.tools_write import TOOLS as WRITES

    writes = {spec.name: spec for spec in WRITES}
    db = tasks_database
    calls = [
        move["tool"]
        for task in (db.blocked, db.gated, db.dead_lettered)
        for move in call(db, "task_explain", {"task": task}).document["next"]
    ]
    assert len(calls) == 6
    for made in calls:
        arguments = {**made["arguments"], "reason": "an agent's reason"}
        writes[made["name"]].arguments.model_validate(arguments)


def test_the_commands_say_the_same_as_text(
    tasks_database: TasksDatabase, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = tasks_database
    invoke = in_process_runner(tmp_path, monkeypatch)
    env = {"TASKER_DATABASE_URL": db.url}

    explained = invoke("task", "explain", db.blocked, env=env)
    assert explained.returncode == 0, explained.stderr
    assert f"task {db.blocked} (examples/expense_approval@1.0.0): blocked_by_failures" in (
        explained.stdout
    )
    assert f"failed: {db.failed_step} (error): permanent_error: " in explained.stdout
    assert f"  tasker-ctl task retry-step {db.blocked} {db.failed_step} --reason TEXT" in (
        explained.stdout
    )
    diagnosed = invoke("task", "diagnose", db.gated, db.gate_step, env=env)
    assert diagnosed.returncode == 0, diagnosed.stderr
    assert "  input: quote (complete)" in diagnosed.stdout
    assert f"tasker-ctl task approve {db.gated} {db.gate_step} --by ops-lead" in diagnosed.stdout
    missing = invoke("task", "diagnose", db.gated, "nope", env=env)
    assert missing.returncode == 2
    assert "STEP_NOT_FOUND" in missing.stderr
