"""``tasker-ctl run`` with poisoned handlers, as users run it: the report stays clean JSON,
a poison pill fails its step with a coded cause, nothing crashes, nothing prints unbounded.

Each test runs the command as a subprocess on a fresh database.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.e2e.conftest import RunCli

pytestmark = pytest.mark.slow

TEMPLATE = """\
name: poisoned
namespace_name: tests
version: "1.0.0"
steps:
  - name: first
    handler: {callable: tests.noisy}
  - name: second
    dependencies: [first]
    handler: {callable: tests.POISON}
"""
HANDLERS = """\
import datetime
import os
import subprocess
import sys

from tasker_ctl.sdk.step_handler.functional import step_handler


@step_handler("tests.noisy")
def noisy():
    print("x" * 8_000_000)
    print("from print", flush=True)
    os.write(1, b"from file descriptor 1\\n")
    subprocess.run([sys.executable, "-c", "print('from a subprocess')"], check=True)
    return {"ok": True}


@step_handler("tests.datetime")
def returns_datetime():
    return {"items": [0, {"when": datetime.datetime(2026, 1, 1)}]}


@step_handler("tests.exit")
def exits():
    raise SystemExit(0)


@step_handler("tests.huge_message")
def huge_message():
    raise ValueError("y" * 20_000_000)


@step_handler("tests.fine")
def fine():
    return {"fine": True}
"""


@pytest.fixture
def env(fresh_database_url: str) -> dict[str, str]:
    return {"TASKER_DATABASE_URL": fresh_database_url, "PYTHONDONTWRITEBYTECODE": "1"}


def workflow(tmp_path: Path, poison: str) -> list[str]:
    (tmp_path / "poisoned.yaml").write_text(TEMPLATE.replace("POISON", poison), encoding="utf-8")
    (tmp_path / "handlers.py").write_text(HANDLERS, encoding="utf-8")
    return ["run", "poisoned.yaml", "--handlers", "handlers.py", "--json"]


def test_run_json_prints_only_the_report_on_stdout(
    run_cli: RunCli, env: dict[str, str], tmp_path: Path
) -> None:
    result = run_cli(*workflow(tmp_path, "fine"), env=env)
    assert result.returncode == 0, result.stderr[-2000:]
    report = json.loads(result.stdout)
    assert report["task"]["status"] == "complete"
    # what the handler wrote to standard output went to standard error
    assert "x" * 8_000_000 in result.stderr
    for line in ("from print", "from file descriptor 1", "from a subprocess"):
        assert line in result.stderr
        assert line not in result.stdout


@pytest.mark.parametrize(
    ("poison", "error_type", "code", "cause"),
    [
        ("datetime", "result_not_storable", "RESULT_NOT_STORABLE", "$.items[1].when: datetime"),
        ("exit", "handler_aborted", "HANDLER_ABORTED", "handler aborted with SystemExit: 0"),
    ],
)
def test_a_poison_pill_fails_its_step_with_the_cause(
    run_cli: RunCli,
    env: dict[str, str],
    tmp_path: Path,
    poison: str,
    error_type: str,
    code: str,
    cause: str,
) -> None:
    result = run_cli(*workflow(tmp_path, poison), env=env)
    assert "Traceback" not in result.stderr  # the stored error keeps one: not a crash
    assert result.returncode == 1, result.stderr[-2000:]
    report = json.loads(result.stdout)
    assert report["task"]["status"] == "blocked_by_failures"
    second = next(step for step in report["steps"] if step["name"] == "second")
    assert second["attempts"] == 1
    assert second["error"]["error_type"] == error_type
    assert cause in second["error"]["message"]
    assert "error in step 'second': " in result.stderr
    assert cause in result.stderr


def test_a_huge_exception_message_is_stored_and_printed_cut(
    run_cli: RunCli, env: dict[str, str], tmp_path: Path
) -> None:
    result = run_cli(*workflow(tmp_path, "huge_message"), env=env)
    assert "Traceback" not in result.stderr  # the stored error keeps one: not a crash
    assert result.returncode == 1
    report = json.loads(result.stdout)
    second = next(step for step in report["steps"] if step["name"] == "second")
    message = second["error"]["message"]
    assert message.endswith("… [cut 19,991,808 characters]")
    assert len(result.stdout) < 200_000
    # the 8 MB the first step printed, and the cut message: nothing of 20 MB
    assert len(result.stderr) < 8_500_000
