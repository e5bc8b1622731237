"""``tasker-ctl events`` and OpenTelemetry as users meet them: subprocesses on a fresh
database, the linear example as the workflow."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from typing import Any

import psycopg
import pytest

from tests.conftest import PROJECT_ROOT
from tests.e2e.conftest import RunCli, assert_no_traceback
from tests.environment import command_environment

pytestmark = pytest.mark.slow

LINEAR = (
    "examples/linear/linear.yaml",
    "--context",
    "@examples/linear/context.json",
    "--handlers",
    "examples/linear/linear_handlers.py",
)
# 6 task transitions and 4 per step
LINEAR_EVENTS = 6 + 4 * 4
# the variables of the developer's shell must not switch telemetry on
NO_OTEL = {"OTEL_SDK_DISABLED": "true"}


@pytest.fixture
def env(fresh_database_url: str) -> dict[str, str]:
    return {"TASKER_DATABASE_URL": fresh_database_url, "PYTHONDONTWRITEBYTECODE": "1", **NO_OTEL}


def cli(invoke_cli: RunCli, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    result = invoke_cli(*args, cwd=PROJECT_ROOT, env=env)
    assert_no_traceback(result)
    return result


def run_linear(invoke_cli: RunCli, env: dict[str, str], *extra: str) -> dict[str, Any]:
    result = cli(invoke_cli, env, "run", *LINEAR, "--new", "--json", *extra)
    assert result.returncode == 0, result.stderr
    report: dict[str, Any] = json.loads(result.stdout)
    return report


def json_lines(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines()]


def test_events_json_lines_and_task_filter(invoke_cli: RunCli, env: dict[str, str]) -> None:
    first = run_linear(invoke_cli, env)["task"]["uuid"]
    second = run_linear(invoke_cli, env)["task"]["uuid"]

    every = cli(invoke_cli, env, "events", "--json")
    assert every.returncode == 0, every.stderr
    events = json_lines(every.stdout)
    assert len(events) == 2 * LINEAR_EVENTS
    assert {event["task_uuid"] for event in events} == {first, second}
    keys = {tuple(event) for event in events}
    assert len(keys) == 1  # one shape
    (shape,) = keys
    assert {"event_uuid", "entity", "occurred_at", "trace_id", "step_name", "created_by"} <= set(
        shape
    )
    assert [e["occurred_at"] for e in events] == sorted(e["occurred_at"] for e in events)

    only = json_lines(cli(invoke_cli, env, "events", "--task", first, "--json").stdout)
    assert len(only) == LINEAR_EVENTS
    assert {event["task_uuid"] for event in only} == {first}
    assert only == [e for e in events if e["task_uuid"] == first]
    assert len({e["trace_id"] for e in only}) == 1

    limited = cli(invoke_cli, env, "events", "--json", "--limit", "5")
    assert json_lines(limited.stdout) == events[:5]
    assert "more than 5 events" in limited.stderr

    text = cli(invoke_cli, env, "events", "--task", second, "--since", "1h")
    assert text.returncode == 0, text.stderr
    lines = text.stdout.splitlines()
    assert len(lines) == LINEAR_EVENTS
    last = ["task", "examples", "evaluating_results", "→", "complete", "AllStepsSuccessful"]
    assert lines[-1].split()[2:] == last
    assert any("square" in line and "attempt 1" in line for line in lines)


def test_events_usage_errors(run_cli: RunCli, env: dict[str, str]) -> None:
    unknown = cli(run_cli, env, "events", "--task", "00000000-0000-0000-0000-000000000001")
    assert unknown.returncode == 2
    assert "error[TASK_NOT_FOUND]" in unknown.stderr
    since = cli(run_cli, env, "events", "--since", "yesterday")
    assert since.returncode == 2
    assert "error[INVALID_SINCE]" in since.stderr
    assert cli(run_cli, env, "events", "--limit", "0").returncode == 2


def _spawn(env: dict[str, str], *args: str) -> subprocess.Popen[str]:
    executable = shutil.which("tasker-ctl")
    command = [executable] if executable else [sys.executable, "-m", "tasker_ctl"]
    environment = command_environment()
    environment |= {"NO_COLOR": "1", "PYTHONUNBUFFERED": "1", **env}
    return subprocess.Popen(
        [*command, *args],
        cwd=PROJECT_ROOT,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_follow_prints_new_events_as_they_happen(invoke_cli: RunCli, env: dict[str, str]) -> None:
    earlier = run_linear(invoke_cli, env)["task"]["uuid"]
    follower = _spawn(env, "events", "--follow", "--json", "--limit", str(LINEAR_EVENTS))
    try:
        _wait_until_reading(env["TASKER_DATABASE_URL"], follower)
        later = run_linear(invoke_cli, env)["task"]["uuid"]
        out, err = follower.communicate(timeout=60)
    finally:
        if follower.poll() is None:
            follower.kill()
            follower.communicate()
    assert follower.returncode == 0, err
    events = json_lines(out)
    assert len(events) == LINEAR_EVENTS
    assert {event["task_uuid"] for event in events} == {later}
    assert earlier != later


def _wait_until_reading(database_url: str, process: subprocess.Popen[str]) -> None:
    """Until the follower has read the events once: from then on, new ones are printed."""
    deadline = time.monotonic() + 60
    with psycopg.connect(database_url, autocommit=True) as connection:
        while time.monotonic() < deadline:
            assert process.poll() is None, process.communicate()
            row = connection.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                " AND query LIKE '%%transition_events%%' AND pid <> pg_backend_pid()"
            ).fetchone()
            if row is not None and row[0]:
                return
            time.sleep(0.05)
    pytest.fail("the follower never read the events")


def test_follow_a_task_prints_its_history_first(invoke_cli: RunCli, env: dict[str, str]) -> None:
    task = run_linear(invoke_cli, env)["task"]["uuid"]
    result = cli(invoke_cli, env, "events", "--task", task, "--follow", "--json", "--limit", "3")
    assert result.returncode == 0, result.stderr
    events = json_lines(result.stdout)
    assert [(e["entity"], e["to_state"]) for e in events] == [
        ("task", "pending"),
        ("task", "initializing"),
        ("step", "pending"),
    ]


def _all_tasks(env: dict[str, str]) -> set[str]:
    with psycopg.connect(env["TASKER_DATABASE_URL"]) as connection:
        rows = connection.execute("SELECT task_uuid::text FROM tasker.tasks").fetchall()
    return {row[0] for row in rows}


def test_console_traces_of_a_run(run_cli: RunCli, env: dict[str, str]) -> None:
    traced = {**env, "OTEL_SDK_DISABLED": "false", "OTEL_TRACES_EXPORTER": "console"}
    result = cli(run_cli, traced, "run", *LINEAR, "--new", "--json")
    assert result.returncode == 0, result.stderr
    task = json.loads(result.stdout)["task"]  # standard output stays the report alone
    with psycopg.connect(env["TASKER_DATABASE_URL"]) as connection:
        row = connection.execute(
            "SELECT trace_id, span_id FROM tasker.tasks WHERE task_uuid = %s", [task["uuid"]]
        ).fetchone()
    assert row is not None
    trace_id, span_id = row
    spans = _console_spans(result.stderr)
    names = sorted(span["name"] for span in spans)
    steps = ["step square", "step add", "step multiply", "step divide"]
    assert names == sorted([*steps, "task examples.mathematical_sequence"])
    assert {span["context"]["trace_id"] for span in spans} == {f"0x{trace_id}"}
    (task_span,) = [s for s in spans if s["name"].startswith("task ")]
    assert task_span["context"]["span_id"] == f"0x{span_id}"
    assert task_span["parent_id"] is None
    assert {s["parent_id"] for s in spans if s is not task_span} == {f"0x{span_id}"}
    assert task_span["attributes"]["tasker.task.state"] == "complete"


def test_a_bad_telemetry_configuration_is_a_coded_error(
    run_cli: RunCli, env: dict[str, str]
) -> None:
    bad = {**env, "OTEL_SDK_DISABLED": "false", "OTEL_TRACES_EXPORTER": "zipkin"}
    result = cli(run_cli, bad, "run", *LINEAR)
    assert result.returncode == 2
    assert "error[TELEMETRY_CONFIG_INVALID]" in result.stderr
    assert _all_tasks(env) == set()  # refused before anything ran


def _console_spans(text: str) -> list[dict[str, Any]]:
    """The JSON objects the console exporter wrote, one after another."""
    decoder = json.JSONDecoder()
    spans: list[dict[str, Any]] = []
    index = text.find("{")
    while index != -1:
        value, end = decoder.raw_decode(text, index)
        if isinstance(value, dict) and "context" in value:
            spans.append(value)
        index = text.find("{", end)
    return spans


def test_tail_prints_the_last_events(invoke_cli: RunCli, env: dict[str, str]) -> None:
    first = run_linear(invoke_cli, env)["task"]["uuid"]
    second = run_linear(invoke_cli, env)["task"]["uuid"]
    every = json_lines(cli(invoke_cli, env, "events", "--json").stdout)
    assert len(every) == 2 * LINEAR_EVENTS
    tail = cli(invoke_cli, env, "events", "--tail", "3", "--json")
    assert tail.returncode == 0, tail.stderr
    assert json_lines(tail.stdout) == every[-3:]
    of_first = cli(invoke_cli, env, "events", "--task", first[:8], "--tail", "2", "--json")
    assert json_lines(of_first.stdout) == [e for e in every if e["task_uuid"] == first][-2:]
    text = cli(invoke_cli, env, "events", "--tail", "1")
    assert text.stdout.count("\n") == 1
    assert second[:8] in text.stdout
    everything = cli(invoke_cli, env, "events", "--tail", "1000", "--json")
    assert json_lines(everything.stdout) == every
    both = cli(invoke_cli, env, "events", "--tail", "1", "--limit", "2")
    assert both.returncode == 2
    assert "error[USAGE_ERROR]" in both.stderr
    assert cli(invoke_cli, env, "events", "--tail", "0").returncode == 2


def test_tail_then_follow_prints_each_event_once(invoke_cli: RunCli, env: dict[str, str]) -> None:
    earlier = run_linear(invoke_cli, env)["task"]["uuid"]
    follower = _spawn(
        env, "events", "--tail", "2", "--follow", "--json", "--limit", str(LINEAR_EVENTS)
    )
    try:
        _wait_until_reading(env["TASKER_DATABASE_URL"], follower)
        later = run_linear(invoke_cli, env)["task"]["uuid"]
        out, err = follower.communicate(timeout=60)
    finally:
        if follower.poll() is None:
            follower.kill()
            follower.communicate()
    assert follower.returncode == 0, err
    events = json_lines(out)
    # the earlier task's last two events, then every event of the later task, none twice
    assert [event["task_uuid"] for event in events[:2]] == [earlier, earlier]
    assert events[1]["to_state"] == "complete"
    assert [event["task_uuid"] for event in events[2:]] == [later] * LINEAR_EVENTS
    assert len({event["event_uuid"] for event in events}) == len(events)
