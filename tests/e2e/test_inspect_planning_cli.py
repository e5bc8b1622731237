"""The read side of planning as an operator sees it, after the incident example planned its
investigation from the recorded cassette (no network): run's summary, inspect --planning
and --fragment (with --full), report budget and stats, in text and JSON."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.e2e.conftest import RunCli
from tests.e2e.test_run_cli import env, run

__all__ = ["env"]  # the fixture: a fresh database for each test

pytestmark = pytest.mark.slow

EXAMPLE = "examples/planning"


def _json(invoke_cli: RunCli, env: dict[str, str], *args: str) -> Any:
    result = run(invoke_cli, env, *args, "--json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_a_planned_run_reads_back_everywhere(invoke_cli: RunCli, env: dict[str, str]) -> None:
    ran = run(
        invoke_cli,
        env,
        "run",
        f"{EXAMPLE}/incident.yaml",
        "--context",
        f"@{EXAMPLE}/context.json",
        "--handlers",
        f"{EXAMPLE}/incident_handlers.py",
        "--planner",
        f"replay:{EXAMPLE}/incident.cassette.yaml",
    )
    assert ran.returncode == 0, ran.stderr
    assert "budget: 4/6 steps, 1/3 calls, $0.001431/$0.25" in ran.stdout
    assert "↳ plan_investigation" in ran.stdout

    planning = run(invoke_cli, env, "inspect", "task", "latest", "--planning")
    assert planning.returncode == 0, planning.stderr
    assert "attempt 1 (phase 1)  answered  accepted" in planning.stdout
    assert "cost $0.001431" in planning.stdout
    assert "--full shows them" in planning.stdout
    whole = _json(invoke_cli, env, "inspect", "task", "latest", "--planning", "--full")
    (attempt,) = whole["planning"]["planning_steps"][0]["attempts"]
    assert whole["planning"]["full"] is True
    assert attempt["prompt"]
    assert attempt["capability_text"]
    assert json.loads(attempt["answer"])["fragment_version"] == "1.0"
    assert attempt["cost_usd"] == "0.0014312"

    fragment = _json(invoke_cli, env, "inspect", "task", "latest", "--fragment")
    (found,) = fragment["fragment"]["fragments"]
    assert found["planning_step"] == "plan_investigation"
    assert found["convergence"] == "write_report"
    assert found["document"] is None
    assert {step["name"] for step in found["steps"]} == {
        "query_logs",
        "check_deploys",
        "check_dependencies",
        "notify_oncall",
    }
    full = _json(invoke_cli, env, "inspect", "task", "latest", "--fragment", "--full")
    assert full["fragment"]["fragments"][0]["document"]["fragment_version"] == "1.0"

    budget = _json(invoke_cli, env, "report", "budget", "latest")
    lines = {line["resource"]: line for line in budget["budget"]["lines"]}
    assert (lines["steps"]["used"], lines["steps"]["limit"]) == ("4", "6")
    assert lines["cost_usd"]["used"] == "0.0014312"
    assert budget["budget"]["in_flight"] == []

    shown = _json(invoke_cli, env, "task", "show", "latest")
    planned = {step["name"]: step for step in shown["steps"]}["query_logs"]
    assert (planned["created_by"], planned["planning_step"]) == (
        "planning_step",
        "plan_investigation",
    )
    assert shown["budget"].startswith("4/6 steps, 1/3 calls")

    stats = _json(invoke_cli, env, "stats")
    assert {key: stats["planning"][key] for key in ("answered", "accepted", "rejected")} == {
        "answered": 1,
        "accepted": 1,
        "rejected": 0,
    }
    assert (stats["planning"]["fills_materialized"], stats["planning"]["planned_steps"]) == (1, 4)
