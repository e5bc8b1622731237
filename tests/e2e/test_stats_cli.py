"""``tasker-ctl stats`` as users run it, on a fresh database: after a task ran, with a
pending DLQ entry (exit 1), with bad options (exit 2), and with the engine clock moved
ahead (``PGOPTIONS`` gives every connection of the process ``tasker.fake_now``)."""

from __future__ import annotations

import json
import subprocess
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest

from tests.conftest import PROJECT_ROOT
from tests.e2e.conftest import RunCli, assert_no_traceback

pytestmark = pytest.mark.slow

LINEAR = (
    "examples/linear/linear.yaml",
    "--context",
    "@examples/linear/context.json",
    "--handlers",
    "examples/linear/linear_handlers.py",
)


@pytest.fixture
def env(fresh_database_url: str) -> dict[str, str]:
    return {"TASKER_DATABASE_URL": fresh_database_url, "PYTHONDONTWRITEBYTECODE": "1"}


def run(invoke_cli: RunCli, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    result = invoke_cli(*args, cwd=PROJECT_ROOT, env=env)
    assert_no_traceback(result)
    return result


def as_json(result: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    data = json.loads(result.stdout)
    assert isinstance(data, dict)
    assert (data["version"], data["tool"]["name"]) == (1, "tasker-ctl")
    return data


def test_stats_after_a_run_then_with_a_pending_dlq_entry(
    invoke_cli: RunCli, env: dict[str, str], fresh_database_url: str
) -> None:
    ran = run(invoke_cli, env, "run", *LINEAR)
    assert ran.returncode == 0, ran.stderr

    text = run(invoke_cli, env, "stats")
    assert text.returncode == 0, text.stderr
    assert "1 task; completion 100.0 % of the 1 settled" in text.stdout
    assert "examples.linear.square" in text.stdout
    assert "no alerts" in text.stdout
    assert max(len(line) for line in text.stdout.splitlines()) <= 100

    document = as_json(run(invoke_cli, env, "stats", "--json"))
    assert document["failing"] is False
    assert document["tasks"]["total"] == 1
    assert document["tasks"]["complete"] == 1
    assert document["steps"]["total"] == 4
    assert document["steps"]["by_origin"]["template"] == 4
    handlers = {h["handler"]: h for h in document["handlers"]}
    assert set(handlers) == {
        "examples.linear.square",
        "examples.linear.add",
        "examples.linear.multiply",
        "examples.linear.divide",
    }
    assert handlers["examples.linear.add"]["latency"]["samples"] == 1
    assert document["alerts"] == []

    with psycopg.connect(fresh_database_url, autocommit=True) as connection:
        connection.execute(
            "INSERT INTO tasker.tasks_dlq (task_uuid, original_state, dlq_reason, task_snapshot)"
            " SELECT task_uuid, 'steps_in_process', 'staleness_timeout', '{}' FROM tasker.tasks"
        )
    alerted = run(invoke_cli, env, "stats")
    assert alerted.returncode == 1, alerted.stderr
    assert "DLQ_PENDING" in alerted.stdout
    assert "hint: tasker-ctl dlq list --status pending" in alerted.stdout
    document = as_json(run(invoke_cli, env, "stats", "--json"))
    assert document["failing"] is True
    (alert,) = document["alerts"]
    assert (alert["code"], alert["severity"], alert["observed"]) == ("DLQ_PENDING", "warning", 1)


def test_the_window_is_counted_back_from_the_engine_clock(
    invoke_cli: RunCli, env: dict[str, str]
) -> None:
    assert run(invoke_cli, env, "run", *LINEAR).returncode == 0
    ahead = (datetime.now(UTC) + timedelta(hours=2)).isoformat()
    later = {**env, "PGOPTIONS": f"-c tasker.fake_now={ahead}"}

    recent = as_json(run(invoke_cli, later, "stats", "--since", "1h", "--json"))
    assert recent["tasks"]["total"] == 0
    assert recent["window"]["generated_at"].startswith(ahead[:16])
    assert (
        as_json(run(invoke_cli, later, "stats", "--since", "3h", "--json"))["tasks"]["total"] == 1
    )
    assert (
        as_json(run(invoke_cli, later, "stats", "--since", "all", "--json"))["window"]["since"]
        is None
    )

    empty = run(invoke_cli, later, "stats", "--since", "90m")
    assert empty.returncode == 0
    assert "no tasks in this window" in empty.stdout
    other = run(invoke_cli, env, "stats", "--namespace", "nowhere")
    assert "no tasks in this window in namespace nowhere" in other.stdout


@pytest.mark.parametrize(
    ("args", "code", "named"),
    [
        (("--since", "yesterday"), "INVALID_SINCE", "'yesterday'"),
        (("--since", "0d"), "INVALID_SINCE", "'0d'"),
        (("--namespace", " "), "INVALID_NAMESPACE", "--namespace"),
    ],
)
def test_bad_options_exit_2_with_a_code(
    run_cli: RunCli, args: tuple[str, ...], code: str, named: str
) -> None:
    # no database is named: a bad option is reported before any is started
    result = run(
        run_cli, {"TASKER_DATABASE_URL": "postgresql://nobody@127.0.0.1:1/none"}, "stats", *args
    )
    assert result.returncode == 2
    assert result.stderr.startswith(f"error[{code}]: ")
    assert named in result.stderr
    assert "hint:" in result.stderr
