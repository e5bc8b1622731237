"""``tasker-ctl run``, ``worker`` and ``task`` as users run them, each test on a fresh database.

The commands run as subprocesses from the project root (so the README's paths work) with
``TASKER_DATABASE_URL`` pointing at a database of their own.
"""

from __future__ import annotations

import json
import queue
import re
import shlex
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

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
LINEAR_STEPS = ["square", "add", "multiply", "divide"]
# a worker's times: UTC, ISO 8601 with the date, milliseconds and a Z
UTC_STAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")

FAILING_TEMPLATE = """\
name: failing
namespace_name: tests
version: "1.0.0"
steps:
  - name: prepare
    handler: {callable: tests.prepare}
  - name: charge
    dependencies: [prepare]
    handler: {callable: tests.charge}
  - name: notify
    dependencies: [charge]
    handler: {callable: tests.prepare}
"""
FAILING_HANDLERS = """\
from tasker_ctl.sdk.errors import PermanentError
from tasker_ctl.sdk.step_handler.functional import step_handler


@step_handler("tests.prepare")
def prepare():
    return {"ok": True}


@step_handler("tests.charge")
def charge():
    raise PermanentError("card declined by the bank", error_code="CARD_DECLINED")
"""
SLEEPY_TEMPLATE = """\
name: sleepy
namespace_name: tests
version: "1.0.0"
input_schema:
  type: object
  required: [seconds]
  properties:
    seconds: {type: number, minimum: 0}
steps:
  - name: nap
    handler: {callable: tests.nap}
  - name: after
    dependencies: [nap]
    handler: {callable: tests.nap}
"""
SLEEPY_HANDLERS = """\
import time

from tasker_ctl.sdk.step_handler.functional import inputs, step_handler


@step_handler("tests.nap")
@inputs("seconds")
def nap(seconds):
    time.sleep(seconds)
    return {"slept": seconds}
"""


@pytest.fixture
def env(fresh_database_url: str) -> dict[str, str]:
    return {"TASKER_DATABASE_URL": fresh_database_url, "PYTHONDONTWRITEBYTECODE": "1"}


@pytest.fixture
def workflows(tmp_path: Path) -> Path:
    """Templates and handlers of the failing and sleepy workflows, in a directory."""
    root = tmp_path / "workflows"
    root.mkdir()
    (root / "failing.yaml").write_text(FAILING_TEMPLATE, encoding="utf-8")
    (root / "failing_handlers.py").write_text(FAILING_HANDLERS, encoding="utf-8")
    (root / "sleepy.yaml").write_text(SLEEPY_TEMPLATE, encoding="utf-8")
    (root / "sleepy_handlers.py").write_text(SLEEPY_HANDLERS, encoding="utf-8")
    return root


def run(invoke_cli: RunCli, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    result = invoke_cli(*args, cwd=PROJECT_ROOT, env=env)
    assert_no_traceback(result)
    return result


def task_count(database_url: str) -> int:
    with psycopg.connect(database_url) as connection:
        row = connection.execute("SELECT count(*) FROM tasker.tasks").fetchone()
    assert row is not None
    return int(row[0])


class Spawned:
    """A command running in the background; its stdout is read line by line as it comes."""

    def __init__(self, env: dict[str, str], args: tuple[str, ...], cwd: Path) -> None:
        executable = shutil.which("tasker-ctl")
        command = [executable] if executable else [sys.executable, "-m", "tasker_ctl"]
        environment = command_environment()
        environment |= {"NO_COLOR": "1", "COLUMNS": "120", "PYTHONUNBUFFERED": "1", **env}
        self.process = subprocess.Popen(
            [*command, *args],
            cwd=cwd,
            env=environment,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.lines: list[str] = []
        self._queue: queue.Queue[str | None] = queue.Queue()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line)
            self._queue.put(line)
        self._queue.put(None)

    def read_until(self, needle: str, timeout: float = 60) -> str:
        """The first line of stdout containing ``needle`` (waiting for it)."""
        deadline = time.monotonic() + timeout
        while (remaining := deadline - time.monotonic()) > 0:
            try:
                line = self._queue.get(timeout=remaining)
            except queue.Empty:
                break
            if line is None:
                break
            if needle in line:
                return line
        self.kill()
        pytest.fail(f"{needle!r} not seen in time; output so far:\n{''.join(self.lines)}")

    def finish(self, timeout: float = 60) -> tuple[int, str, str]:
        """Exit code, whole stdout and stderr once the process has ended."""
        code = self.process.wait(timeout=timeout)
        self._reader.join(timeout=10)
        assert self.process.stderr is not None
        err = self.process.stderr.read()
        self._close()
        return code, "".join(self.lines), err

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        self._reader.join(timeout=10)
        self._close()

    def _close(self) -> None:
        for stream in (self.process.stdout, self.process.stderr):
            if stream is not None and not stream.closed:
                stream.close()


@pytest.fixture
def spawn(env: dict[str, str]) -> Iterator[Callable[..., Spawned]]:
    """``spawn(*args, cwd=...)``: start a command; the test's leftovers are killed."""
    started: list[Spawned] = []

    def start(*args: str, cwd: Path = PROJECT_ROOT) -> Spawned:
        started.append(Spawned(env, args, cwd))
        return started[-1]

    yield start
    for spawned in started:
        spawned.kill()


# ---------------------------------------------------------------- run


def test_run_linear_example_as_in_the_readme(invoke_cli: RunCli, env: dict[str, str]) -> None:
    result = run(invoke_cli, env, "run", *LINEAR)
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert "created: steps_in_process" in out
    assert "✓ examples/mathematical_sequence@1.0.0 complete in" in out
    summary = out.split("✓", 1)[1]
    for name in LINEAR_STEPS:
        assert f"{name}  complete" in out  # the line-by-line log
        assert name in summary
    assert "1/3" in summary


def test_run_json_has_the_documented_keys_and_result(
    invoke_cli: RunCli, env: dict[str, str]
) -> None:
    result = run(invoke_cli, env, "run", *LINEAR, "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert list(data) == ["version", "tool", "task", "steps", "budget"]
    task = data["task"]
    assert list(task) == [
        "uuid",
        "status",
        "namespace",
        "name",
        "version",
        "correlation_id",
        "requested_at",
        "completed_at",
        "duration_ms",
        "resumed",
    ]
    assert (task["status"], task["namespace"], task["name"]) == (
        "complete",
        "examples",
        "mathematical_sequence",
    )
    assert task["resumed"] is False
    assert isinstance(task["duration_ms"], int)
    assert [step["name"] for step in data["steps"]] == LINEAR_STEPS
    for step in data["steps"]:
        assert set(step) == {
            "name",
            "state",
            "attempts",
            "max_attempts",
            "created_by",
            "handler_type",
            "planning_step",
            "fragment_id",
            "started_at",
            "finished_at",
            "duration_ms",
            "result",
            "error",
            "awaiting_approval",
            "approval",
        }
        assert (step["state"], step["attempts"], step["error"]) == ("complete", 1, None)
        assert step["approval"] is None
    # 6 -> 36 -> 46 -> 138 -> 69
    assert [step["result"]["value"] for step in data["steps"]] == [36, 46, 138, 69]


def test_run_diamond_example(invoke_cli: RunCli, env: dict[str, str]) -> None:
    result = run(
        invoke_cli,
        env,
        "run",
        "examples/diamond/diamond.yaml",
        "--context",
        "@examples/diamond/context.json",
        "--handlers",
        "examples/diamond/diamond_handlers.py",
        "--json",
    )
    assert result.returncode == 0, result.stderr
    steps = {step["name"]: step["result"] for step in json.loads(result.stdout)["steps"]}
    assert steps["diamond_end"] == {"value": 66.5, "inputs": [61, 72]}


def test_a_failing_step_fails_the_run(
    invoke_cli: RunCli, env: dict[str, str], workflows: Path
) -> None:
    args = ("run", str(workflows / "failing.yaml"), "--handlers")
    result = run(invoke_cli, env, *args, str(workflows / "failing_handlers.py"))
    assert result.returncode == 1
    assert "✗ tests/failing@1.0.0 blocked_by_failures" in result.stdout
    assert "error in step 'charge': card declined by the bank" in result.stdout
    assert "CARD_DECLINED" in result.stdout
    assert "hint:" in result.stdout

    as_json = run(invoke_cli, env, *args, str(workflows / "failing_handlers.py"), "--json")
    assert as_json.returncode == 1
    assert "error in step 'charge': card declined by the bank" in as_json.stderr
    data = json.loads(as_json.stdout)
    assert data["task"]["resumed"] is True
    charge = next(step for step in data["steps"] if step["name"] == "charge")
    assert charge["state"] == "error"
    assert charge["error"]["error_type"] == "permanent_error"
    assert charge["error"]["error_code"] == "CARD_DECLINED"


@pytest.mark.parametrize(
    ("arguments", "code", "message"),
    [
        (("--context", '{"even_number": 6,}'), "INVALID_CONTEXT_JSON", "line 1, column 19"),
        (("--context", "[6]"), "INVALID_CONTEXT_JSON", "must be a JSON object"),
        (("--context", "@missing.json"), "PATH_NOT_FOUND", "missing.json"),
        (("--context", '{"even_number": 7}'), "INVALID_CONTEXT", "$.even_number"),
        (("--context", "{}"), "INVALID_CONTEXT", "'even_number' is a required property"),
        (("--handlers", "no/such/handlers.py"), "PATH_NOT_FOUND", "no/such/handlers.py"),
        (("--handlers", "no_such_module_xyz"), "HANDLERS_NOT_LOADED", "no_such_module_xyz"),
    ],
)
def test_usage_errors_exit_2(
    invoke_cli: RunCli, env: dict[str, str], arguments: tuple[str, ...], code: str, message: str
) -> None:
    base = ["run", "examples/linear/linear.yaml", "--context", '{"even_number": 6}']
    base += ["--handlers", "examples/linear/linear_handlers.py"]
    option = arguments[0]
    # the option under test replaces the default one
    position = base.index(option)
    args = [*base[:position], *base[position + 2 :], *arguments]
    result = run(invoke_cli, env, *args)
    assert result.returncode == 2, result.stdout + result.stderr
    assert f"error[{code}]" in result.stderr
    assert message in result.stderr
    assert result.stdout == ""


def test_missing_handlers_and_template_exit_2(invoke_cli: RunCli, env: dict[str, str]) -> None:
    no_handlers = run(
        invoke_cli, env, "run", "examples/linear/linear.yaml", "-c", '{"even_number": 6}'
    )
    assert no_handlers.returncode == 2
    assert "error[HANDLER_NOT_FOUND]" in no_handlers.stderr
    assert "square (examples.linear.square)" in no_handlers.stderr
    missing = run(invoke_cli, env, "run", "examples/linear/nope.yaml")
    assert missing.returncode == 2
    assert "error[PATH_NOT_FOUND]" in missing.stderr


def test_an_invalid_template_lists_its_findings_and_exits_1(
    invoke_cli: RunCli, env: dict[str, str], tmp_path: Path
) -> None:
    template = tmp_path / "broken.yaml"
    template.write_text(
        'name: broken\nnamespace_name: ns\nversion: "1.0.0"\nsteps:\n'
        "  - name: a\n    handler: {callable: x.A}\n    depends-on: [b]\n"
    )
    result = run(invoke_cli, env, "run", str(template), "--context", "{}")
    assert result.returncode == 1, result.stdout + result.stderr
    assert f"{template}:7:5" in result.stderr
    assert "UNKNOWN_KEY" in result.stderr
    assert "did you mean 'depends_on'?" in result.stderr
    assert "error[TEMPLATE_INVALID]" in result.stderr


def test_running_twice_resumes_the_same_task(
    invoke_cli: RunCli, env: dict[str, str], fresh_database_url: str, tmp_path: Path
) -> None:
    home = tmp_path / "home"  # a state folder: templates validated once are kept there
    home.mkdir()
    env = {**env, "TASKER_HOME": str(home)}
    first = json.loads(run(invoke_cli, env, "run", *LINEAR, "--json").stdout)
    again = run(invoke_cli, env, "run", *LINEAR)
    assert again.returncode == 0
    assert f"{first['task']['uuid']} resumed" in again.stdout
    assert "resumed an identical task" in again.stdout
    assert task_count(fresh_database_url) == 1

    fresh = json.loads(run(invoke_cli, env, "run", *LINEAR, "--json", "--new").stdout)
    assert fresh["task"]["uuid"] != first["task"]["uuid"]
    assert fresh["task"]["resumed"] is False
    assert task_count(fresh_database_url) == 2
    # one template, one entry, written by the first run and read by the others
    assert len(list((home / "cache" / "templates").glob("*.json"))) == 1


def test_timeout_leaves_a_new_task_resumable_by_uuid(
    invoke_cli: RunCli, env: dict[str, str], workflows: Path
) -> None:
    args = ["run", str(workflows / "sleepy.yaml"), "-c", '{"seconds": 1}']
    args += ["--handlers", str(workflows / "sleepy_handlers.py")]
    result = run(invoke_cli, env, *args, "--new", "--timeout", "0.3", "--json")
    assert result.returncode == 1
    task_uuid = json.loads(result.stdout)["task"]["uuid"]
    assert "timed out: the task is resumable" in result.stderr
    assert f"--resume {task_uuid} --timeout 0.3 --json" in result.stderr

    resumed = run(invoke_cli, env, *args, "--resume", task_uuid)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert f"{task_uuid} resumed" in resumed.stdout

    both = run(invoke_cli, env, *args, "--new", "--resume", task_uuid)
    assert both.returncode == 2
    assert "--new and --resume exclude each other" in both.stderr


# ---------------------------------------------------------------- Ctrl-C


def test_ctrl_c_stops_gracefully_and_a_rerun_completes(
    spawn: Callable[..., Spawned], workflows: Path
) -> None:
    args = ["run", "sleepy.yaml", "--context", '{"seconds": 2}']
    args += ["--handlers", "sleepy_handlers.py"]
    first = spawn(*args, cwd=workflows)
    first.read_until("nap  in_progress")
    first.process.send_signal(signal.SIGINT)
    code, out, err = first.finish()
    assert code == 130, out + err
    assert "Traceback" not in out + err
    assert "stopping: waiting for running steps to finish" in out
    assert "interrupted while steps_in_process" in out
    assert "the task is resumable" in out
    # the step that was running finished; the next one never started
    assert "nap  complete" in out
    assert "after  in_progress" not in out
    resume = out.strip().splitlines()[-1].strip()
    assert resume == "tasker-ctl " + shlex.join(args)

    code, out, err = spawn(*args, cwd=workflows).finish()
    assert code == 0, out + err
    assert "resumed: steps_in_process" in out
    assert "✓ tests/sleepy@1.0.0 complete" in out


# ---------------------------------------------------------------- task submit, worker


def test_submitted_task_is_run_by_a_worker(
    run_cli: RunCli, env: dict[str, str], spawn: Callable[..., Spawned]
) -> None:
    submit = ("task", "submit", "examples/linear/linear.yaml", "-c", '{"even_number": 4}')
    submitted = run(run_cli, env, *submit)
    assert submitted.returncode == 0, submitted.stderr
    assert submitted.stdout.startswith("submitted task ")
    task_uuid = submitted.stdout.split()[2]

    shown = json.loads(run(run_cli, env, "task", "show", task_uuid, "--json").stdout)
    assert shown["task"]["status"] == "steps_in_process"
    assert f"task {task_uuid} already exists" in run(run_cli, env, *submit).stdout

    worker = spawn(
        "worker", "--handlers", "examples/linear/linear_handlers.py", "--concurrency", "2"
    )
    startup = worker.read_until(" started: ")
    assert "namespaces all, concurrency 2, 4 handlers registered, database " in startup
    assert startup.rstrip().endswith("(from TASKER_DATABASE_URL)")
    worker.read_until("divide attempt 1/3")
    worker.process.send_signal(signal.SIGTERM)
    code, out, err = worker.finish()
    assert code == 0, out + err
    assert "Traceback" not in out + err
    assert "stopped after 4 step attempts" in out
    for name in LINEAR_STEPS:
        assert f"complete examples/mathematical_sequence {name} attempt 1/3" in out
    # every line begins with the time in UTC, its date and a Z, as events shows times
    for line in out.splitlines():
        assert UTC_STAMP.match(line), line

    shown = json.loads(run(run_cli, env, "task", "show", task_uuid, "--json").stdout)
    assert shown["task"]["status"] == "complete"
    # 4 -> 16 -> 26 -> 78 -> 39
    assert shown["steps"][-1]["result"] == {"value": 39}
    text = run(run_cli, env, "task", "show", task_uuid)
    assert "✓ examples/mathematical_sequence@1.0.0 complete" in text.stdout


def test_worker_json_prints_one_object_a_line(
    run_cli: RunCli, env: dict[str, str], spawn: Callable[..., Spawned]
) -> None:
    submit = ("task", "submit", "examples/linear/linear.yaml", "-c", '{"even_number": 6}')
    task_uuid = json.loads(run(run_cli, env, *submit, "--json").stdout)["task"]["uuid"]
    worker = spawn("worker", "--handlers", "examples/linear/linear_handlers.py", "--json")
    worker.read_until('"step_name":"divide"')
    worker.process.send_signal(signal.SIGTERM)
    code, out, err = worker.finish()
    assert code == 0, out + err
    records = [json.loads(line) for line in out.splitlines()]
    assert [record["event"] for record in records] == [
        "worker.started",
        *["step.finished"] * len(LINEAR_STEPS),
        "worker.stopped",
    ]
    assert all(UTC_STAMP.match(record["at"]) for record in records)
    steps = records[1:-1]
    assert {step["task_uuid"] for step in steps} == {task_uuid}
    assert [step["outcome"] for step in steps] == ["complete"] * len(LINEAR_STEPS)
    assert records[-1]["step_attempts"] == len(LINEAR_STEPS)


def test_task_show_of_an_unknown_task(invoke_cli: RunCli, env: dict[str, str]) -> None:
    result = run(invoke_cli, env, "task", "show", "00000000-0000-0000-0000-000000000000")
    assert result.returncode == 2
    assert "error[TASK_NOT_FOUND]" in result.stderr
