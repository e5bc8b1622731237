"""The three-phase example as a user runs it, offline from its cassette: recon, fixes and
verification, each phase planned by a nested planner from what the phase before found, then
the convergence; inspect shows each phase's prompt inputs (a summary among them), fragments
and the budget."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.e2e.conftest import RunCli
from tests.e2e.test_run_cli import env, run

__all__ = ["env"]  # the fixture: a fresh database for each test

pytestmark = pytest.mark.slow

EXAMPLE = "examples/phases"


def _json(invoke_cli: RunCli, env: dict[str, str], *args: str) -> Any:
    result = run(invoke_cli, env, *args, "--json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_three_phases_run_to_the_convergence_and_read_back(
    invoke_cli: RunCli, env: dict[str, str]
) -> None:
    ran = run(
        invoke_cli,
        env,
        "run",
        f"{EXAMPLE}/cleanup.yaml",
        "--context",
        f"@{EXAMPLE}/context.json",
        "--handlers",
        f"{EXAMPLE}/cleanup_handlers.py",
        "--planner",
        f"replay:{EXAMPLE}/cleanup.cassette.yaml",
        "--json",
    )
    assert ran.returncode == 0, ran.stderr
    steps = {step["name"]: step for step in json.loads(ran.stdout)["steps"]}
    assert all(step["state"] == "complete" for step in steps.values())
    assert {"plan_fixes", "plan_verification", "verify", "announce"} <= set(steps)
    summary = steps["write_summary"]["result"]["findings"]
    assert len(summary) == 5  # two checks, two fixes, the verification
    assert summary[-1].startswith("verified")

    planning = _json(invoke_cli, env, "inspect", "task", "latest", "--planning")
    planners = {p["step"]: p for p in planning["planning"]["planning_steps"]}
    phases = {name: p["attempts"][0]["planning_phase"] for name, p in planners.items()}
    assert phases == {"plan_cleanup": 1, "plan_fixes": 2, "plan_verification": 3}
    assert planners["plan_fixes"]["convergence"] == "write_summary"
    first = planners["plan_cleanup"]["attempts"][0]
    strategies = {item["name"]: item["strategy"] for item in first["context_inputs"]}
    assert strategies == {"task.context": "verbatim", "profile_dataset": "structured"}

    fragments = _json(invoke_cli, env, "inspect", "task", "latest", "--fragment")
    assert len(fragments["fragment"]["fragments"]) == 3

    text = run(invoke_cli, env, "report", "budget", "latest")
    assert text.returncode == 0, text.stderr
    assert "8/12 steps" in text.stdout
    assert "3/3 phases" in text.stdout
    # each nested planner is held to (and shown against) its own bounds
    assert "plan_fixes: 3/3 steps" in text.stdout
    assert "plan_verification: 2/2 steps" in text.stdout
