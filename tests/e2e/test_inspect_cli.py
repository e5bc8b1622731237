"""``tasker-ctl inspect``, ``report`` and ``task graph`` as an operator runs them, after the
README's approval and CSV-import examples ran on a database of the test's own."""

from __future__ import annotations

import json
import re
import subprocess
import uuid
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import RunCli
from tests.e2e.test_run_cli import env, run

__all__ = ["env"]  # the fixture: a fresh database for each test

pytestmark = pytest.mark.slow


def _run_approval(invoke_cli: RunCli, env: dict[str, str], *extra: str) -> dict[str, Any]:
    context = {"amount": 7250.0, "employee_id": "e-1042", "purpose": "conference travel"}
    result = run(
        invoke_cli,
        env,
        "run",
        "examples/approval/approval.yaml",
        "--context",
        json.dumps(context),
        "--handlers",
        "examples/approval/approval_handlers.py",
        *extra,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout) if "--json" in extra else {}


def _json(result: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    assert result.returncode == 0, result.stderr
    document: dict[str, Any] = json.loads(result.stdout)
    assert document["version"] == 1
    assert document["tool"]["name"] == "tasker-ctl"
    return document


def test_inspect_agrees_with_run_on_every_step(invoke_cli: RunCli, env: dict[str, str]) -> None:
    ran = _run_approval(invoke_cli, env, "--json")
    task_uuid = ran["task"]["uuid"]
    document = _json(run(invoke_cli, env, "inspect", "task", task_uuid, "--json"))
    assert document["view"] == "overview"
    task = document["task"]
    assert task["status"] == ran["task"]["status"] == "complete"
    inspected = {step["name"]: step for step in task["steps"]}
    assert set(inspected) == {step["name"] for step in ran["steps"]}
    for step in ran["steps"]:
        mine = inspected[step["name"]]
        for key in ("state", "attempts", "started_at", "finished_at", "created_by"):
            assert mine[key] == step[key], (step["name"], key)
        assert mine["duration_ms"] == step["duration_ms"]
    routes = {s["name"]: s["provenance"]["origin_step"] for s in task["steps"]}
    assert routes["manager_review"] == routes["finance_review"] == "route_by_amount"
    assert task["summary"]["created_at_run_time"] == 3


def test_inspect_text_views(invoke_cli: RunCli, env: dict[str, str]) -> None:
    _run_approval(invoke_cli, env)
    overview = run(invoke_cli, env, "inspect", "task", "latest")
    assert overview.returncode == 0, overview.stderr
    assert "◆ decision" in overview.stdout
    assert "⊕ route_by_amount" in overview.stdout
    assert re.search(r"\d+ steps \(\d+ application\); 3 created at run time", overview.stdout)

    step = run(invoke_cli, env, "inspect", "task", "latest", "--step", "route_by_amount")
    assert step.returncode == 0, step.stderr
    for heading in ("inputs (handler initialization)", "dependency results", "attempts"):
        assert heading in step.stdout
    assert "enqueued → in_progress" in step.stdout

    planning = run(invoke_cli, env, "inspect", "task", "latest", "--planning")
    assert "this task's template has no planning steps" in planning.stdout
    fragment = run(invoke_cli, env, "inspect", "task", "latest", "--fragment")
    assert "no planned steps" in fragment.stdout
    composition = run(invoke_cli, env, "inspect", "task", "latest", "--composition")
    assert "no grammar-composed steps" in composition.stdout
    lineage = run(invoke_cli, env, "inspect", "task", "latest", "--lineage")
    assert "1 task, depth 0" in lineage.stdout
    for result in (planning, fragment, composition, lineage):
        assert result.returncode == 0, result.stderr


def test_every_view_prints_its_documented_json(invoke_cli: RunCli, env: dict[str, str]) -> None:
    _run_approval(invoke_cli, env)
    views = {
        "planning": ("--planning",),
        "fragment": ("--fragment",),
        "composition": ("--composition",),
        "lineage": ("--lineage",),
        "step": ("--step", "validate_request"),
    }
    for view, options in views.items():
        document = _json(run(invoke_cli, env, "inspect", "task", "latest", *options, "--json"))
        assert document["view"] == view
        schema = _json_schema(invoke_cli, env, view)
        assert set(document) <= set(schema["properties"])
    provenance = _json(run(invoke_cli, env, "report", "provenance", "latest", "--json"))
    assert provenance["view"] == "provenance"
    assert {s["provenance"]["created_by"] for s in provenance["steps"]} == {
        "template",
        "decision_point",
    }
    budget = _json(run(invoke_cli, env, "report", "budget", "latest", "--json"))
    assert budget["budget"]["limited"] is False
    assert [line["resource"] for line in budget["budget"]["lines"]][:2] == ["steps", "phases"]
    chain = _json(run(invoke_cli, env, "report", "budget", "latest", "--lineage", "--json"))
    assert chain["view"] == "lineage_budget"


def _json_schema(invoke_cli: RunCli, env: dict[str, str], view: str) -> dict[str, Any]:
    result = run(invoke_cli, env, "inspect", "schema", view)
    assert result.returncode == 0, result.stderr
    schema: dict[str, Any] = json.loads(result.stdout)
    return schema


def test_task_graph_draws_the_dag_that_ran(
    run_cli: RunCli, env: dict[str, str], tmp_path: Path
) -> None:
    _run_approval(run_cli, env)
    mermaid = run(run_cli, env, "task", "graph", "latest")
    assert mermaid.returncode == 0, mermaid.stderr
    assert mermaid.stdout.startswith("graph TD")
    assert 'route_by_amount -->|"creates"| manager_review' in mermaid.stdout
    dot = run(run_cli, env, "task", "graph", "latest", "--format", "dot")
    assert dot.stdout.startswith("digraph")
    target = tmp_path / "graph.json"
    written = run(run_cli, env, "task", "graph", "latest", "-f", "json", "-o", str(target))
    assert written.returncode == 0, written.stderr
    graph = json.loads(target.read_text(encoding="utf-8"))
    assert graph["format"] == "tasker-ctl.task-graph"
    nodes = {node["name"]: node for node in graph["nodes"]}
    assert nodes["finance_review"]["created_by_step"] == "route_by_amount"
    assert any(edge["creates"] for edge in graph["edges"])
    # --json, as every view takes it: the same document on standard output
    as_json = run(run_cli, env, "task", "graph", "latest", "--json")
    assert as_json.returncode == 0, as_json.stderr
    assert json.loads(as_json.stdout) == graph
    assert {node["state"] for node in graph["nodes"]} == {"complete"}
    assert all({"from", "to", "kind"} <= set(edge) for edge in graph["edges"])
    both = run(run_cli, env, "task", "graph", "latest", "--json", "--format", "dot")
    assert both.returncode == 2
    assert "error[USAGE_ERROR]" in both.stderr


def test_bad_references_are_coded_errors(invoke_cli: RunCli, env: dict[str, str]) -> None:
    empty = run(invoke_cli, env, "inspect", "task", "latest")
    assert empty.returncode == 2
    assert "error[INVALID_TASK_REFERENCE]: there is no task yet" in empty.stderr
    _run_approval(invoke_cli, env)
    cases = [
        (("inspect", "task", "nope"), "INVALID_TASK_REFERENCE"),
        (("inspect", "task", str(uuid.uuid4())), "TASK_NOT_FOUND"),
        (("inspect", "task", "latest", "--step", "route"), "STEP_NOT_FOUND"),
        (("inspect", "task", "latest", "--planning", "--lineage"), "USAGE_ERROR"),
        (("report", "budget", "nope"), "INVALID_TASK_REFERENCE"),
        (("task", "graph", str(uuid.uuid4())), "TASK_NOT_FOUND"),
        (("inspect", "schema", "everything"), "USAGE_ERROR"),
    ]
    for args, code in cases:
        result = run(invoke_cli, env, *args)
        assert result.returncode == 2, (args, result.stdout, result.stderr)
        assert f"error[{code}]" in result.stderr, (args, result.stderr)
    hinted = run(invoke_cli, env, "inspect", "task", "latest", "--step", "route")
    assert "route_by_amount" in hinted.stderr


def test_lineage_follows_parent_correlation_ids(invoke_cli: RunCli, env: dict[str, str]) -> None:
    def submit(*extra: str) -> dict[str, Any]:
        result = run(
            invoke_cli,
            env,
            "task",
            "submit",
            "examples/linear/linear.yaml",
            "--context",
            "@examples/linear/context.json",
            "--new",
            "--json",
            *extra,
        )
        task: dict[str, Any] = _json(result)["task"]
        return task

    parent = submit()
    child = submit("--parent-correlation-id", parent["correlation_id"])
    grandchild = submit("--parent-correlation-id", child["correlation_id"])
    document = _json(
        run(invoke_cli, env, "inspect", "task", grandchild["uuid"], "--lineage", "--json")
    )
    lineage = document["lineage"]
    assert [root["task_uuid"] for root in lineage["roots"]] == [parent["uuid"]]
    assert lineage["roots"][0]["children"][0]["task_uuid"] == child["uuid"]
    assert lineage["totals"]["tasks"] == 3
    assert lineage["totals"]["max_depth"] == 2
    text = run(invoke_cli, env, "inspect", "task", parent["uuid"], "--lineage")
    assert "3 tasks, depth 2" in text.stdout
    bad = run(
        invoke_cli,
        env,
        "task",
        "submit",
        "examples/linear/linear.yaml",
        "--parent-correlation-id",
        "nope",
    )
    assert bad.returncode == 2
