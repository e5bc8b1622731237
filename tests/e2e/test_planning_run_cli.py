"""Planning steps as a user runs them: the templates with planning steps run to completion
through their convergence step (from recorded cassettes, no network); a run with no model
named refuses to start; a planner that cannot produce a valid fragment fails the step, and
an operator's fragment (YAML) completes it by hand."""

from __future__ import annotations

import json

import pytest

from tests.e2e.conftest import RunCli
from tests.e2e.test_run_cli import env, run
from tests.openai_server import OpenAIServer

__all__ = ["env"]  # the fixture: a fresh database for each test

pytestmark = pytest.mark.slow

EXAMPLE = "examples/planning"
INCIDENT_RUN = (
    "run",
    f"{EXAMPLE}/incident.yaml",
    "--context",
    f"@{EXAMPLE}/context.json",
    "--handlers",
    f"{EXAMPLE}/incident_handlers.py",
)


def test_incident_triage_runs_through_its_convergence(
    invoke_cli: RunCli, env: dict[str, str]
) -> None:
    ran = run(
        invoke_cli,
        env,
        "run",
        "examples/templates/incident_triage.yaml",
        "--context",
        '{"incident_id": "INC-7"}',
        "--handlers",
        f"{EXAMPLE}/triage_handlers.py",
        "--planner",
        f"replay:{EXAMPLE}/triage.cassette.yaml",
        "--json",
    )
    assert ran.returncode == 0, ran.stderr
    report = json.loads(ran.stdout)
    states = {step["name"]: step["state"] for step in report["steps"]}
    assert states == {
        "collect_signals": "complete",
        "plan_investigation": "complete",
        "inspect_errors": "complete",
        "inspect_queues": "complete",
        "write_report": "complete",
    }


def test_a_planning_run_without_a_model_refuses_to_start(
    invoke_cli: RunCli, env: dict[str, str]
) -> None:
    ran = run(
        invoke_cli,
        env,
        *INCIDENT_RUN,
    )
    assert ran.returncode == 2
    assert "PLANNER_MODEL_MISSING" in ran.stderr
    assert "--planner" in ran.stderr


def test_an_operator_completes_a_planning_step_the_model_could_not(
    invoke_cli: RunCli, env: dict[str, str]
) -> None:
    wrong = json.dumps(
        {
            "fragment_version": "1.0",
            "planning_context": {
                "goal": "g",
                "reasoning": "r",
                "estimated_steps": 1,
                "estimated_depth": 1,
            },
            "steps": [{"name": "write_report", "handler": {"callable": "incident.checks.x"}}],
        }
    )
    with OpenAIServer([{"tool_arguments": wrong}] * 6) as server:
        failed = run(
            invoke_cli,
            env,
            *INCIDENT_RUN,
            "--planner",
            server.spec("gpt-4.1-mini"),
        )
    assert failed.returncode == 1, failed.stderr
    step = ("task", "complete-step", "latest", "plan_investigation")
    refused = run(invoke_cli, env, *step, "--result", "@/dev/null.yaml", "--reason", "r")
    assert refused.returncode == 2
    rejected = run(invoke_cli, env, *step, "--result", wrong, "--reason", "the model looped")
    assert rejected.returncode == 1
    assert "FRAGMENT_REJECTED" in rejected.stderr
    assert "FRAGMENT_STEP_NAME_TAKEN" in rejected.stderr
    done = run(
        invoke_cli, env, *step, "--result", f"@{EXAMPLE}/fragment.yaml", "--reason", "by hand"
    )
    assert done.returncode == 0, done.stderr
    resumed = run(
        invoke_cli,
        env,
        *INCIDENT_RUN,
        "--planner",
        "replay:/nonexistent-is-never-read.yaml",
        "--json",
    )
    assert resumed.returncode == 2  # the cassette is checked before anything runs
    resumed = run(
        invoke_cli,
        env,
        *INCIDENT_RUN,
        "--planner",
        f"replay:{EXAMPLE}/incident.cassette.yaml",
        "--json",
    )
    assert resumed.returncode == 0, resumed.stderr
    states = {s["name"]: s["state"] for s in json.loads(resumed.stdout)["steps"]}
    assert states["write_report"] == "complete"
    assert states["notify_oncall"] == "complete"
