"""Commands handed to a preloader, as users run them: the same output, exit codes and signals as
in their own process, only warm; a preloader that declines when its code changed, stops when
idle, and answers ``tasker-ctl preload status|stop``.

Every test has a runtime folder of its own (``XDG_RUNTIME_DIR``), so its preloaders are its
own, and stops them at its end. A handler says which process ran it: the console script's own
(``pid``) or a child of the preloader (``ppid``).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tasker_ctl.preload.control import Preloader, running_preloaders, stop_preloaders
from tests.e2e.conftest import assert_no_traceback
from tests.environment import command_environment, console_script

pytestmark = pytest.mark.slow

TEMPLATE = """\
name: who
namespace_name: tests
version: "1.0.0"
steps:
  - name: first
    handler: {callable: tests.who}
  - name: second
    dependencies: [first]
    handler: {callable: tests.who}
"""
HANDLERS = """\
import os, time
from tasker_ctl.sdk.errors import PermanentError
from tasker_ctl.sdk.step_handler.functional import inputs, step_handler


@step_handler("tests.who")
@inputs("fail", "sleep")
def who(fail, sleep):
    if fail:
        raise PermanentError("refused on purpose")
    if sleep:
        # the process running the handler, said once it runs
        with open("started.tmp", "w") as said:
            said.write(str(os.getpid()))
        os.replace("started.tmp", "started")
        time.sleep(sleep)
    return {"pid": os.getpid(), "ppid": os.getppid()}
"""


# what differs between two runs of the same task: its uuid and the times
def _same(text: str) -> str:
    """``text`` without what varies: the uuid, the times, and the columns' widths they set."""
    return re.sub(r"[ ─]+", " ", _VARYING.sub("~", text))


def _stable(document: object) -> object:
    """A run's JSON report without what varies from one run to the next."""
    if isinstance(document, dict):
        return {k: _stable(v) for k, v in document.items() if k not in _VARYING_KEYS}
    if isinstance(document, list):
        return [_stable(item) for item in document]
    return document


_VARYING_KEYS = frozenset(
    {"uuid", "correlation_id", "requested_at", "completed_at", "started_at", "finished_at"}
    | {"duration_ms", "traceback", "backtrace"}
)
_VARYING = re.compile(
    r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|\d+(\.\d+)? ?m?s\b"
)


@dataclass
class Commands:
    folder: Path
    runtime: Path
    environment: dict[str, str]

    @property
    def preloaders(self) -> Path:
        return self.runtime / "tasker-ctl"

    def start(self, *words: str, **variables: str) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [console_script(), *words],
            cwd=self.folder,
            env={**self.environment, **variables},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def run(self, *words: str, **variables: str) -> tuple[subprocess.CompletedProcess[str], int]:
        """The command's outcome and the console script's process id."""
        process = self.start(*words, **variables)
        output, errors = process.communicate(timeout=120)
        completed = subprocess.CompletedProcess(process.args, process.returncode, output, errors)
        assert_no_traceback(completed)
        return completed, process.pid

    def start_sleeping(self, *words: str, **variables: str) -> tuple[subprocess.Popen[str], int]:
        """A run whose first step sleeps 1.5 s, once that step runs, and the process id of
        the process running it."""
        started = self.folder / "started"
        started.unlink(missing_ok=True)
        process = self.start(*RUN, *words, "--context", '{"sleep": 1.5}', **variables)
        deadline = time.monotonic() + 60
        while not started.exists() and time.monotonic() < deadline:
            time.sleep(0.02)
        return process, int(started.read_text(encoding="utf-8"))

    def one_preloader(self, timeout: float = 60) -> Preloader:
        """The preloader of this test's folder, once it listens."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = running_preloaders(self.preloaders)
            if len(found) == 1 and os.path.exists(found[0].place.socket):
                return found[0]
            time.sleep(0.05)
        raise AssertionError(f"no preloader listens in {self.preloaders}: {found}")


@pytest.fixture
def commands(tmp_path: Path, fresh_database_url: str) -> Iterator[Commands]:
    # short: a socket's path has at most 108 bytes, and pytest's folders are deep
    runtime = Path(tempfile.mkdtemp(prefix="tp"))
    project = tmp_path / "project"
    project.mkdir()
    (project / "who.yaml").write_text(TEMPLATE, encoding="utf-8")
    (project / "who.py").write_text(HANDLERS, encoding="utf-8")
    environment = command_environment()
    del environment["TASKER_PRELOAD"]
    environment.update(
        XDG_RUNTIME_DIR=str(runtime),
        TASKER_DATABASE_URL=fresh_database_url,
        NO_COLOR="1",
        COLUMNS="120",
    )
    commands = Commands(project, runtime, environment)
    try:
        yield commands
    finally:
        stop_preloaders(commands.preloaders)
        shutil.rmtree(runtime, ignore_errors=True)


RUN = ("run", "who.yaml", "--handlers", "who.py", "--new", "--workers", "1")


def _ran_in(completed: subprocess.CompletedProcess[str]) -> set[tuple[int, int]]:
    steps = json.loads(completed.stdout)["steps"]
    return {(step["result"]["pid"], step["result"]["ppid"]) for step in steps}


def test_a_run_is_handed_to_the_preloader_the_first_run_started(commands: Commands) -> None:
    first, client = commands.run(*RUN, "--json")
    assert first.returncode == 0, first.stderr
    assert {pid for pid, _ in _ran_in(first)} == {client}  # in its own process
    preloader = commands.one_preloader()
    assert preloader.this_environment is False  # asked without an environment to compare

    second, client = commands.run(*RUN, "--json")
    assert second.returncode == 0, second.stderr
    [(pid, parent)] = _ran_in(second)
    assert pid != client  # a child of the preloader ran it
    assert parent == preloader.pid

    # the same words, with and without the preloader, print the same, times and uuid aside
    warm, _ = commands.run(*RUN)
    cold, _ = commands.run(*RUN, TASKER_PRELOAD="off")
    assert (warm.returncode, cold.returncode) == (0, 0)
    assert _same(warm.stdout) == _same(cold.stdout)
    assert _same(warm.stderr) == _same(cold.stderr)

    status, _ = commands.run("preload", "status", "--json")
    document = json.loads(status.stdout)
    assert document["enabled"]
    assert document["usable"]
    assert [(p["pid"], p["this_environment"]) for p in document["preloaders"]] == [
        (preloader.pid, True)
    ]
    stopped, _ = commands.run("preload", "stop")
    assert stopped.stdout == "stopped 1 preloader\n"
    assert running_preloaders(commands.preloaders) == []


@pytest.mark.parametrize(
    ("words", "code"),
    [
        # a failed task, as JSON: the live view's lines depend on what it saw when
        ((*RUN, "--json", "--context", '{"fail": true}'), 1),
        (("run", "who.yaml", "--workers", "0"), 2),  # bad usage, reported by Typer
        (("run", "missing.yaml", "--handlers", "who.py"), 2),  # a coded error
        (("validate", "who.py"), 1),  # findings
        (("task", "show", "not-a-task"), 2),
    ],
)
def test_exit_codes_and_messages_are_the_commands_own(
    commands: Commands, words: tuple[str, ...], code: int
) -> None:
    commands.run("validate", "who.yaml")  # starts the preloader
    commands.one_preloader()
    warm, _ = commands.run(*words)
    cold, _ = commands.run(*words, TASKER_PRELOAD="off")
    assert warm.returncode == cold.returncode == code
    if "--json" in words:
        assert _stable(json.loads(warm.stdout)) == _stable(json.loads(cold.stdout))
    else:
        assert _same(warm.stdout) == _same(cold.stdout)
    assert _same(warm.stderr) == _same(cold.stderr)


def test_ctrl_c_stops_a_handed_over_run_as_it_stops_one_in_its_own_process(
    commands: Commands,
) -> None:
    commands.run("validate", "who.yaml")
    commands.one_preloader()
    outcomes = []
    for variables in ({}, {"TASKER_PRELOAD": "off"}):
        # interrupted once the first step runs (its handler sleeps): the run waits for it
        process, _ = commands.start_sleeping(**variables)
        process.send_signal(signal.SIGINT)
        output, errors = process.communicate(timeout=60)
        said = output + errors
        outcomes.append((process.returncode, "stopping: waiting for running steps" in said))
        assert "the task is resumable" in said, said
    assert outcomes == [(130, True), (130, True)]


def test_a_changed_module_makes_the_preloader_decline_and_give_way(
    commands: Commands, tmp_path: Path
) -> None:
    # a module the preloader loaded at start-up, on a path of the test's own
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text("", encoding="utf-8")
    commands.environment["PYTHONPATH"] = str(site)
    commands.run("validate", "who.yaml")
    old = commands.one_preloader()
    warm, client = commands.run(*RUN, "--json")
    assert {parent for _, parent in _ran_in(warm)} == {old.pid}

    (site / "sitecustomize.py").write_text("# changed\n", encoding="utf-8")
    declined, client = commands.run(*RUN, "--json")
    assert declined.returncode == 0, declined.stderr
    assert {pid for pid, _ in _ran_in(declined)} == {client}  # ran in its own process
    new = commands.one_preloader()
    assert new.pid != old.pid


def test_an_idle_preloader_stops_by_itself(commands: Commands) -> None:
    commands.run("validate", "who.yaml", TASKER_PRELOAD_IDLE="1")
    preloader = commands.one_preloader()
    deadline = time.monotonic() + 60
    while running_preloaders(commands.preloaders) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert running_preloaders(commands.preloaders) == []
    assert not os.path.exists(preloader.place.socket)


def test_switched_off_every_command_runs_in_its_own_process(commands: Commands) -> None:
    completed, client = commands.run(*RUN, "--json", TASKER_PRELOAD="off")
    assert {pid for pid, _ in _ran_in(completed)} == {client}
    # the folder a preloader would listen in is not even made
    assert not commands.preloaders.exists()
    assert os.environ.get("TASKER_PRELOAD") == "off"  # and the test run's own commands too


def test_a_command_runs_on_when_its_preloader_stops(commands: Commands) -> None:
    commands.run("validate", "who.yaml")
    old = commands.one_preloader()
    process, _ = commands.start_sleeping("--json")
    stopped, _ = commands.run("preload", "stop")
    assert stopped.stdout == "stopped 1 preloader\n"
    # the child running the command does not hold the preloader's place: the preloader is
    # gone at once (not when the command ends), and a new one may start
    assert process.poll() is None
    assert running_preloaders(commands.preloaders) == []
    commands.run("validate", "who.yaml")
    assert commands.one_preloader().pid != old.pid
    output, errors = process.communicate(timeout=60)
    assert process.returncode == 0, errors
    # run by the old preloader's child (the parent of the handler, or init once it stopped)
    ran_in = _ran_in(subprocess.CompletedProcess([], 0, output))
    assert process.pid not in {pid for pid, _ in ran_in}


def test_a_child_killed_ends_the_command_as_it_would_end_its_own_process(
    commands: Commands,
) -> None:
    commands.run("validate", "who.yaml")
    commands.one_preloader()
    process, child = commands.start_sleeping()
    assert child != process.pid  # handed over
    os.kill(child, signal.SIGKILL)
    process.communicate(timeout=60)
    assert process.returncode == -signal.SIGKILL  # as the shell sees a killed command


def test_a_command_whose_preloader_and_child_are_gone_says_so(commands: Commands) -> None:
    commands.run("validate", "who.yaml")
    commands.one_preloader()
    process, child = commands.start_sleeping()
    commands.run("preload", "stop")  # the child runs on; nobody is left to see it end
    os.kill(child, signal.SIGKILL)
    _, errors = process.communicate(timeout=60)
    assert process.returncode == 3
    assert errors.startswith("error[PRELOAD_LOST]: the preloader running this command stopped")


@pytest.mark.parametrize("preloader_running", [False, True])
def test_a_preloading_setting_that_cannot_be_used_stops_the_command(
    commands: Commands, preloader_running: bool
) -> None:
    if preloader_running:
        commands.run("validate", "who.yaml")
        commands.one_preloader()
    for name, value in (("TASKER_PRELOAD", "maybe"), ("TASKER_PRELOAD_IDLE", "soon")):
        refused, _ = commands.run("validate", "who.yaml", **{name: value})
        assert refused.returncode == 2
        assert refused.stdout == ""
        assert refused.stderr.startswith(f"error[SETTING_INVALID]: {name}='{value}'")
        assert "\n  hint: " in refused.stderr


def test_preload_status_says_what_runs_and_for_how_long(commands: Commands) -> None:
    off, _ = commands.run("preload", "status", TASKER_PRELOAD="off", TASKER_PRELOAD_IDLE="2h")
    assert off.stdout.splitlines()[:2] == [
        "preloading: off (TASKER_PRELOAD)",
        "idle stop: 2h (TASKER_PRELOAD_IDLE)",
    ]
    assert off.stdout.splitlines()[-1] == "no preloader running"
    commands.run("validate", "who.yaml")
    preloader = commands.one_preloader()
    on, _ = commands.run("preload", "status")
    lines = on.stdout.splitlines()
    assert lines[:2] == ["preloading: on", "idle stop: 10m (default)"]
    assert (
        lines[-1] == f"preloader {preloader.place.key}: process {preloader.pid} (this environment)"
    )
