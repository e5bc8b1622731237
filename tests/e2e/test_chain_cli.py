"""Delegation chains from the command line: --chain-max-* on the chain's first task (task
submit, run), a task that would pass a limit refused with its code and exit 2, and report
budget --lineage telling the chain's aggregate against the root's limits."""

from __future__ import annotations

import json
import subprocess
from typing import Any

from tests.e2e.conftest import RunCli
from tests.e2e.test_run_cli import env, run, task_count

__all__ = ["env"]  # the fixture: a fresh database for each test

LINEAR = ("examples/linear/linear.yaml", "--context", "@examples/linear/context.json")


def _json(result: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    assert result.returncode == 0, result.stderr
    document: dict[str, Any] = json.loads(result.stdout)
    return document


def submit(
    invoke_cli: RunCli, env: dict[str, str], *extra: str
) -> subprocess.CompletedProcess[str]:
    return run(invoke_cli, env, "task", "submit", *LINEAR, "--new", "--json", *extra)


def test_chain_limits_from_task_submit_are_enforced(
    invoke_cli: RunCli, env: dict[str, str]
) -> None:
    root = _json(
        submit(
            invoke_cli,
            env,
            "--chain-max-depth",
            "1",
            "--chain-max-tasks",
            "3",
            "--chain-max-cost",
            "2.50",
        )
    )["task"]
    child = _json(submit(invoke_cli, env, "--parent-correlation-id", root["correlation_id"]))[
        "task"
    ]
    before = task_count(env["TASKER_DATABASE_URL"])
    deep = submit(invoke_cli, env, "--parent-correlation-id", child["correlation_id"])
    assert deep.returncode == 2
    assert "error[CHAIN_DEPTH_EXCEEDED]" in deep.stderr
    assert root["uuid"] in deep.stderr
    assert "max_depth of 1" in deep.stderr
    assert task_count(env["TASKER_DATABASE_URL"]) == before
    _json(submit(invoke_cli, env, "--parent-correlation-id", root["correlation_id"]))
    full = submit(invoke_cli, env, "--parent-correlation-id", root["correlation_id"])
    assert full.returncode == 2
    assert "error[CHAIN_TASKS_EXCEEDED]" in full.stderr
    joining = submit(
        invoke_cli, env, "--parent-correlation-id", root["correlation_id"], "--chain-max-depth", "4"
    )
    assert joining.returncode == 2
    assert "error[CHAIN_LIMITS_NOT_AT_ROOT]" in joining.stderr
    lineage = run(invoke_cli, env, "report", "budget", child["uuid"], "--lineage")
    assert lineage.returncode == 0, lineage.stderr
    assert "3 tasks across 2 levels, $0.00 of $2.50" in lineage.stdout
    document = _json(run(invoke_cli, env, "report", "budget", root["uuid"], "--lineage", "--json"))
    chain = document["lineage"]["chain"]
    assert chain["root_task_uuid"] == root["uuid"]
    assert chain["limits"] == {"max_depth": "1", "max_tasks": "3", "max_cost_usd": "2.5"}
    assert (chain["tasks"], chain["levels"]) == (3, 2)


def test_run_takes_the_chain_options_and_refuses_bad_ones(
    invoke_cli: RunCli, env: dict[str, str]
) -> None:
    handlers = ("--handlers", "examples/linear/linear_handlers.py")
    result = run(
        invoke_cli, env, "run", *LINEAR, *handlers, "--new", "--json", "--chain-max-tasks", "1"
    )
    root = _json(result)["task"]
    refused = run(
        invoke_cli,
        env,
        "run",
        *LINEAR,
        *handlers,
        "--new",
        "--parent-correlation-id",
        root["correlation_id"],
    )
    assert refused.returncode == 2
    assert "error[CHAIN_TASKS_EXCEEDED]" in refused.stderr
    bad = run(invoke_cli, env, "task", "submit", *LINEAR, "--chain-max-depth", "-1")
    assert bad.returncode == 2
    assert "--chain-max-depth" in bad.stderr
    nan = run(invoke_cli, env, "task", "submit", *LINEAR, "--new", "--chain-max-cost", "nan")
    assert nan.returncode == 2
    assert "--chain-max-cost" in nan.stderr
    inf = run(invoke_cli, env, "task", "submit", *LINEAR, "--new", "--chain-max-cost", "inf")
    assert inf.returncode == 2
    assert "error[CHAIN_LIMITS_INVALID]" in inf.stderr
    assert "max_cost_usd" in inf.stderr
