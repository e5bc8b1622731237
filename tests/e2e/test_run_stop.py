"""Ctrl-C while a step runs: that step finishes and is recorded, and nothing else starts, not
even steps the worker had already claimed to run next (they are given back, enqueued and
with no attempt counted). Running the command again completes the task.

Synchronised on files and on the command's output, never on time: the handlers say they run
by a line in a file and hold until the test lets them go, which it does once the command has
said it is stopping.
"""

from __future__ import annotations

import json
import signal
import time
from pathlib import Path

import psycopg
import pytest
from psycopg.rows import dict_row

from tests.e2e.test_run_cli import Spawned

pytestmark = pytest.mark.slow

REPETITIONS = 3
# the root is quick, so the worker claims both leaves at once with its success: one runs,
# the other waits in the worker's hand when Ctrl-C comes
TEMPLATE = """\
name: stop_fan
namespace_name: tests
version: "1.0.0"
input_schema:
  type: object
  required: [n]
  properties:
    n: {type: integer}
steps:
  - name: root
    handler: {callable: tests.quick}
  - name: left
    dependencies: [root]
    handler: {callable: tests.hold}
  - name: right
    dependencies: [root]
    handler: {callable: tests.hold}
"""
HANDLERS = """\
import os
import time
from pathlib import Path

from tasker_ctl.sdk.step_handler.functional import step_handler

HERE = Path(__file__).parent


@step_handler("tests.quick")
def quick():
    return {"ok": True}


@step_handler("tests.hold")
def hold(context):
    name = context.event.task_sequence_step["workflow_step"]["name"]
    with open(HERE / "calls.log", "a", encoding="utf-8") as log:
        log.write(f"{context.task_uuid} {name}\\n")
    while not (HERE / "go").exists():  # held until the test lets it go
        time.sleep(0.01)
    return {"held": name}
"""


def wait_for_file(path: Path, command: Spawned, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists() or not path.read_text(encoding="utf-8"):
        if command.process.poll() is not None or time.monotonic() > deadline:
            command.kill()
            pytest.fail(f"{path.name} never written; output:\n{''.join(command.lines)}")
        time.sleep(0.01)


def steps_of(database_url: str, task_uuid: str) -> dict[str, dict[str, object]]:
    with psycopg.connect(database_url, row_factory=dict_row) as connection:
        rows = connection.execute(
            "SELECT name, current_state, attempts, in_process FROM tasker.workflow_steps"
            " WHERE task_uuid = %s",
            [task_uuid],
        ).fetchall()
    return {str(row.pop("name")): row for row in rows}


def test_ctrl_c_starts_nothing_more_and_a_rerun_completes(
    tmp_path: Path, fresh_database_url: str
) -> None:
    (tmp_path / "stop_fan.yaml").write_text(TEMPLATE, encoding="utf-8")
    (tmp_path / "handlers.py").write_text(HANDLERS, encoding="utf-8")
    log, go = tmp_path / "calls.log", tmp_path / "go"
    env = {"TASKER_DATABASE_URL": fresh_database_url, "PYTHONDONTWRITEBYTECODE": "1"}

    def args(n: int) -> list[str]:
        context = json.dumps({"n": n})
        return ["run", "stop_fan.yaml", "-c", context, "--handlers", "handlers.py"]

    tasks: list[str] = []
    for n in range(REPETITIONS):
        log.unlink(missing_ok=True)
        go.unlink(missing_ok=True)
        command = Spawned(env, tuple(args(n)), tmp_path)
        wait_for_file(log, command)  # a leaf runs (and holds)
        command.process.send_signal(signal.SIGINT)
        command.read_until("stopping: waiting for running steps to finish")
        go.touch()
        code, out, err = command.finish()
        assert code == 130, out + err
        assert "Traceback" not in out + err

        (task_uuid, started), *others = [line.split() for line in log.read_text().splitlines()]
        assert others == [], f"a step started after Ctrl-C: {others}"
        tasks.append(task_uuid)
        steps = steps_of(fresh_database_url, task_uuid)
        other = "right" if started == "left" else "left"
        assert steps[started] == {"current_state": "complete", "attempts": 1, "in_process": False}
        assert steps[other] == {"current_state": "enqueued", "attempts": 0, "in_process": False}

    # run again, each command resumes its task, which completes: every leaf ran once
    log.unlink()
    for n, task_uuid in enumerate(tasks):
        code, out, err = Spawned(env, tuple(args(n)), tmp_path).finish()
        assert code == 0, out + err
        assert f"{task_uuid} resumed" in out
        steps = steps_of(fresh_database_url, task_uuid)
        assert {name: row["attempts"] for name, row in steps.items()} == {
            "root": 1,
            "left": 1,
            "right": 1,
        }
    called = sorted(log.read_text().splitlines())
    assert len(called) == REPETITIONS  # only the leaves given back ran on resume
