"""``tasker-ctl dlq ...`` and the worker's sweeper as users run them, on a fresh database.

Tasks are made with ``tasker-ctl task submit`` and nothing runs them, so they stop making
progress. The commands that must see them as stale run with the engine clock moved two hours
ahead: ``PGOPTIONS`` gives every connection of the process ``tasker.fake_now``.
"""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest

from tests.e2e.conftest import RunCli, assert_no_traceback
from tests.environment import command_environment

pytestmark = pytest.mark.slow

TEMPLATE = """\
name: stuck
namespace_name: dlq_e2e
version: "1.0.0"
steps:
  - name: fetch
    handler: {callable: dlq_e2e.fetch}
  - name: store
    dependencies: [fetch]
    handler: {callable: dlq_e2e.store}
"""


@pytest.fixture
def env(fresh_database_url: str) -> dict[str, str]:
    return {"TASKER_DATABASE_URL": fresh_database_url, "PYTHONDONTWRITEBYTECODE": "1"}


@pytest.fixture
def later(env: dict[str, str]) -> dict[str, str]:
    """The environment with the engine clock two hours ahead of the wall clock."""
    ahead = (datetime.now(UTC) + timedelta(hours=2)).isoformat()
    return {**env, "PGOPTIONS": f"-c tasker.fake_now={ahead}"}


@pytest.fixture
def template_file(tmp_path: Path) -> Path:
    path = tmp_path / "stuck.yaml"
    path.write_text(TEMPLATE, encoding="utf-8")
    return path


def run(invoke_cli: RunCli, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    result = invoke_cli(*args, env=env)
    assert_no_traceback(result)
    return result


def submit(invoke_cli: RunCli, env: dict[str, str], template_file: Path) -> str:
    result = run(invoke_cli, env, "task", "submit", str(template_file), "--new")
    assert result.returncode == 0, result.stderr
    return result.stdout.split()[2]


def as_json(result: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    data = json.loads(result.stdout)
    assert isinstance(data, dict)
    assert data["version"] == 1
    assert data["tool"]["name"] == "tasker-ctl"
    return data


def task_state(database_url: str, task_uuid: str) -> str:
    with psycopg.connect(database_url) as connection:
        row = connection.execute(
            "SELECT current_state FROM tasker.tasks WHERE task_uuid = %s", [task_uuid]
        ).fetchone()
    assert row is not None
    return str(row[0])


def test_sweep_list_show_and_resolve(
    invoke_cli: RunCli,
    env: dict[str, str],
    later: dict[str, str],
    template_file: Path,
    fresh_database_url: str,
) -> None:
    task = submit(invoke_cli, env, template_file)

    # now: nothing is stale yet
    swept = run(invoke_cli, env, "dlq", "sweep")
    assert swept.returncode == 0, swept.stderr
    assert "0 stale tasks" in swept.stdout
    empty = run(invoke_cli, env, "dlq", "list")
    assert (empty.returncode, empty.stdout.strip()) == (0, "no DLQ entries")

    # two hours later, a dry run says what would happen and changes nothing
    dry = run(invoke_cli, later, "dlq", "sweep", "--dry-run", "--json")
    assert dry.returncode == 1, dry.stderr
    (found,) = as_json(dry)["sweep"]["stale"]
    assert (found["task_uuid"], found["outcome"]) == (task, "would_dead_letter")
    assert found["thresholds"][0]["name"] == "max_steps_in_process_minutes"
    assert task_state(fresh_database_url, task) == "steps_in_process"

    swept = run(invoke_cli, later, "dlq", "sweep")
    assert swept.returncode == 1, swept.stderr
    assert "1 stale task" in swept.stdout
    assert f"dead-lettered     task {task}" in swept.stdout
    assert "max_steps_in_process_minutes 30 (default)" in swept.stdout
    assert task_state(fresh_database_url, task) == "error"
    again = run(invoke_cli, later, "dlq", "sweep", "--json")
    assert again.returncode == 0
    assert as_json(again)["sweep"]["stale"] == []

    listed = as_json(run(invoke_cli, env, "dlq", "list", "--json"))
    (entry,) = listed["entries"]
    assert (entry["task_uuid"], entry["reason"]) == (task, "staleness_timeout")
    assert entry["resolution_status"] == "pending"
    entry_uuid = entry["dlq_entry_uuid"]
    text = run(invoke_cli, env, "dlq", "list", "--status", "pending")
    assert entry_uuid in text.stdout
    assert "dlq_e2e/stuck@1.0.0" in text.stdout
    assert "staleness_timeout in steps_in_process (past max_steps_in_process_minutes)" in (
        text.stdout
    )

    shown = run(invoke_cli, env, "dlq", "show", entry_uuid)
    assert shown.returncode == 0, shown.stderr
    for expected in (
        f"DLQ entry {entry_uuid}",
        f"task:           {task} (dlq_e2e/stuck@1.0.0), now error",
        "state then:     steps_in_process",
        "max_steps_in_process_minutes 30 min (default)",
        "steps:          1 enqueued, 1 pending",
        "fetch",
        "store",
        f"resolve with: tasker-ctl dlq resolve {entry_uuid}",
    ):
        assert expected in shown.stdout, shown.stdout
    snapshot = as_json(run(invoke_cli, env, "dlq", "show", entry_uuid, "--json"))["entry"]
    assert [s["name"] for s in snapshot["task_snapshot"]["steps"]] == ["fetch", "store"]

    resolve = ("dlq", "resolve", entry_uuid, "--status", "permanently_failed")
    done = run(invoke_cli, {**env, "TASKER_ACTOR": "oncall"}, *resolve, "--notes", "source gone")
    assert done.returncode == 0, done.stderr
    assert "as permanently_failed (by oncall)" in done.stdout
    twice = run(invoke_cli, env, *resolve, "--notes", "again", "--by", "someone")
    assert twice.returncode == 1
    assert "error[DLQ_ENTRY_ALREADY_RESOLVED]" in twice.stderr
    assert "by oncall" in twice.stderr
    kept = as_json(run(invoke_cli, env, "dlq", "show", entry_uuid, "--json"))["entry"]
    assert (kept["resolved_by"], kept["resolution_notes"]) == ("oncall", "source gone")

    stats = as_json(run(invoke_cli, env, "dlq", "stats", "--json"))["stats"]
    assert (stats["total"], stats["pending"]) == (1, 0)
    assert "1 entry, 0 pending" in run(invoke_cli, env, "dlq", "stats").stdout


NOBODY = "00000000-0000-0000-0000-000000000000"


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (("show", "not-a-uuid"), "INVALID_DLQ_ENTRY_UUID"),
        (("show", NOBODY), "DLQ_ENTRY_NOT_FOUND"),
        (("resolve", NOBODY, "--status", "cancelled", "--notes", "x"), "DLQ_ENTRY_NOT_FOUND"),
        (("resolve", NOBODY, "--status", "pending", "--notes", "x"), "INVALID_RESOLUTION_STATUS"),
        (("resolve", NOBODY, "--status", "cancelled", "--notes", " "), "RESOLUTION_NOTES_REQUIRED"),
        (("list", "--status", "resolved"), "INVALID_RESOLUTION_STATUS"),
        (("list", "--limit", "0"), "INVALID_LIMIT"),
        (("sweep", "--limit", "0"), "INVALID_SWEEP_OPTION"),
    ],
)
def test_bad_input_gets_a_coded_error(
    run_cli: RunCli, env: dict[str, str], args: tuple[str, ...], code: str
) -> None:
    result = run(run_cli, env, "dlq", *args)
    assert result.returncode == 2, result.stdout + result.stderr
    assert f"error[{code}]" in result.stderr
    assert "hint:" in result.stderr


def test_the_worker_sweeps_for_stale_tasks(
    env: dict[str, str],
    later: dict[str, str],
    invoke_cli: RunCli,
    template_file: Path,
    fresh_database_url: str,
) -> None:
    task = submit(invoke_cli, env, template_file)
    # a step that lost its place in the queue: no worker will ever take it
    with psycopg.connect(fresh_database_url, autocommit=True) as connection:
        connection.execute(
            "UPDATE tasker.workflow_steps SET claimable_at = NULL WHERE task_uuid = %s", [task]
        )

    worker = Background(later, "worker", "--quiet", "--staleness-interval", "0.2")
    try:
        line = worker.wait_for("stale ")
        assert f"dead-lettered     task {task}" in line
        worker.process.send_signal(signal.SIGTERM)
        code, out, err = worker.finish()
    finally:
        worker.kill()
    assert code == 0, out + err
    assert "Traceback" not in out + err
    assert task_state(fresh_database_url, task) == "error"


def test_the_worker_sweeper_can_be_turned_off(
    env: dict[str, str],
    later: dict[str, str],
    invoke_cli: RunCli,
    template_file: Path,
    fresh_database_url: str,
) -> None:
    task = submit(invoke_cli, env, template_file)
    with psycopg.connect(fresh_database_url, autocommit=True) as connection:
        connection.execute(
            "UPDATE tasker.workflow_steps SET claimable_at = NULL WHERE task_uuid = %s", [task]
        )
    worker = Background(later, "worker", "--staleness-interval", "0")
    try:
        worker.wait_for(" started: ")
        time.sleep(1.0)
        worker.process.send_signal(signal.SIGTERM)
        code, out, err = worker.finish()
    finally:
        worker.kill()
    assert code == 0, out + err
    assert "stale" not in out
    assert task_state(fresh_database_url, task) == "steps_in_process"


class Background:
    """``tasker-ctl ARGS`` running in the background, its stdout collected as it comes."""

    def __init__(self, env: dict[str, str], *args: str) -> None:
        executable = shutil.which("tasker-ctl")
        command = [executable] if executable else [sys.executable, "-m", "tasker_ctl"]
        environment = command_environment()
        environment |= {"NO_COLOR": "1", "COLUMNS": "200", "PYTHONUNBUFFERED": "1", **env}
        self.process = subprocess.Popen(
            [*command, *args],
            env=environment,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line)

    def wait_for(self, needle: str, timeout: float = 60) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in list(self.lines):
                if needle in line:
                    return line
            if self.process.poll() is not None and not self._reader.is_alive():
                break
            time.sleep(0.05)
        self.kill()
        pytest.fail(f"{needle!r} not seen in time; output so far:\n{''.join(self.lines)}")

    def finish(self, timeout: float = 60) -> tuple[int, str, str]:
        code = self.process.wait(timeout=timeout)
        self._reader.join(timeout=10)
        assert self.process.stderr is not None
        return code, "".join(self.lines), self.process.stderr.read()

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        for stream in (self.process.stdout, self.process.stderr):
            if stream is not None and not stream.closed:
                stream.close()
