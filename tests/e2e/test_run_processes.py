"""``tasker-ctl run --processes P``: the workers run in P processes of their own, not in the
command's; the task completes as with threads; what processes cannot do is refused."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

from tests.e2e.conftest import RunCli, assert_no_traceback
from tests.environment import command_environment

WIDE = "\n".join(
    [
        "name: wide",
        "namespace_name: processes",
        "version: 1.0.0",
        "steps:",
        "  - name: root",
        "    handler: {callable: processes.where}",
        *[
            f"  - name: c{index:02d}\n    handler: {{callable: processes.where}}\n"
            "    dependencies: [root]"
            for index in range(24)
        ],
        "  - name: join",
        "    handler: {callable: processes.where}",
        "    dependencies: [" + ", ".join(f"c{index:02d}" for index in range(24)) + "]",
    ]
)
HANDLERS = """\
import os
import time

from tasker_ctl.sdk.step_handler.functional import step_handler


@step_handler("processes.where")
def where():
    time.sleep(0.02)  # long enough for every process to take some
    return {"pid": os.getpid()}
"""
EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def _command() -> list[str]:
    executable = shutil.which("tasker-ctl")
    return [executable] if executable else [sys.executable, "-m", "tasker_ctl"]


def test_the_steps_run_in_worker_processes_and_the_task_completes(
    tmp_path: Path, fresh_database_url: str
) -> None:
    (tmp_path / "wide.yaml").write_text(WIDE + "\n", encoding="utf-8")
    (tmp_path / "where.py").write_text(HANDLERS, encoding="utf-8")
    environment = command_environment()
    environment["TASKER_DATABASE_URL"] = fresh_database_url
    command = [*_command(), "run", "wide.yaml", "--handlers", "where.py"]
    process = subprocess.Popen(
        [*command, "--processes", "2", "--workers", "2", "--json"],
        cwd=tmp_path,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    stdout, stderr = process.communicate(timeout=120)
    assert process.returncode == 0, stderr
    assert "Traceback" not in stderr
    report = json.loads(stdout)
    assert report["task"]["status"] == "complete"
    pids = {step["result"]["pid"] for step in report["steps"]}
    assert len(report["steps"]) == 26
    # run by two worker processes, neither of them the command's own
    assert len(pids) == 2, pids
    assert process.pid not in pids


DYING = """\
name: dying
namespace_name: processes
version: 1.0.0
steps:
  - name: die
    handler: {callable: processes.die}
"""
DYING_HANDLERS = """\
import os

from tasker_ctl.sdk.step_handler.functional import step_handler


@step_handler("processes.die")
def die():
    os._exit(7)  # the whole worker process ends, as a crash in a C extension would end it
"""


def test_a_worker_process_that_dies_ends_the_run_with_a_coded_error(
    run_cli: RunCli, tmp_path: Path, fresh_database_url: str
) -> None:
    (tmp_path / "dying.yaml").write_text(DYING, encoding="utf-8")
    (tmp_path / "die.py").write_text(DYING_HANDLERS, encoding="utf-8")
    result = run_cli(
        "run",
        "dying.yaml",
        "--handlers",
        "die.py",
        "--processes",
        "2",
        "--database-url",
        fresh_database_url,
        cwd=tmp_path,
    )
    assert_no_traceback(result)
    assert result.returncode == 3, result.stdout + result.stderr
    assert "error[WORKER_PROCESS_DIED]" in result.stderr
    assert "exit code(s) 7" in result.stderr


def test_planning_steps_stay_in_one_process(run_cli: RunCli, tmp_path: Path) -> None:
    planning = EXAMPLES / "planning"
    result = run_cli(
        "run",
        str(planning / "incident.yaml"),
        "--context",
        f"@{planning / 'context.json'}",
        "--handlers",
        str(planning / "incident_handlers.py"),
        "--planner",
        f"replay:{planning / 'incident.cassette.yaml'}",
        "--processes",
        "2",
        cwd=tmp_path,
    )
    assert_no_traceback(result)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "error[USAGE_ERROR]" in result.stderr
    assert "planning steps runs in one process" in result.stderr
