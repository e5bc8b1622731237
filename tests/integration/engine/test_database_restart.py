"""Workers and ``run`` outlive the database: PostgreSQL stopped and started again while they
work loses nothing, runs nothing twice, and ends no process.

The tests start a PostgreSQL server of their own in a temporary directory (the shared one must
not be restarted); its URL names a Unix socket in the data directory, so it stays the same
across a restart. Three ``tasker-ctl worker`` processes and a ``tasker-ctl run --resume`` work
a wide task (1 + 300 + 1 steps of 0.15 s each) while the test restarts the server twice,
polling the database in between so that each restart hits running work.
"""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import psycopg
import pytest

from tasker_ctl.db.embedded import reset_embedded, start_embedded, stop_embedded
from tasker_ctl.db.settings import with_database
from tasker_ctl.engine.running import submit_template
from tasker_ctl.engine.store.connection import connect
from tasker_ctl.engine.store.migrations import migrate
from tests.environment import command_environment
from tests.integration.conftest import create_database, unique_name
from tests.integration.engine.handlers import restart

pytestmark = pytest.mark.slow

HANDLERS = Path(restart.__file__)
MIDDLE_STEPS = 300
STEP_SECONDS = 0.15
TOTAL_STEPS = MIDDLE_STEPS + 2
# steps that must complete before the first restart, and again after each restart
PROGRESS = 25
OUTAGE_SECONDS = 2.0
# generous: two cores shared with other test runs
PATIENCE_SECONDS = 240.0


@dataclass(frozen=True)
class Server:
    """A PostgreSQL server of this module's own, which its tests may stop and start."""

    home: Path
    url: str

    def stop(self) -> None:
        stop_embedded(self.home)

    def start(self) -> None:
        assert start_embedded(self.home) == self.url

    def new_database(self) -> str:
        name = unique_name("restart")
        create_database(self.url, name)
        url = with_database(self.url, name)
        with connect(url) as store:
            migrate(store)
        return url


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    # Not under pytest's temporary root: every pytest session that starts makes that
    # directory private again, and a server running as another user (pgserver's, when the
    # tests run as root) could then no longer be stopped.
    home = Path(tempfile.mkdtemp(prefix="tasker-restart-"))
    try:
        url = start_embedded(home)
        yield Server(home, url)
    finally:
        reset_embedded(home)  # stopped, and its data deleted wherever it was placed
        shutil.rmtree(home, ignore_errors=True)


def _command() -> list[str]:
    executable = shutil.which("tasker-ctl")
    return [executable] if executable else [sys.executable, "-m", "tasker_ctl"]


def _environment(**extra: str) -> dict[str, str]:
    environment = command_environment()
    environment.update(NO_COLOR="1", COLUMNS="120", **extra)
    return environment


class Processes:
    """``tasker-ctl`` subprocesses, each writing its output to a log file of its own."""

    def __init__(self, logs: Path, environment: dict[str, str]) -> None:
        self.logs, self.environment = logs, environment
        self.started: dict[str, subprocess.Popen[bytes]] = {}
        logs.mkdir(parents=True, exist_ok=True)

    def start(self, name: str, *args: str) -> subprocess.Popen[bytes]:
        with (
            (self.logs / f"{name}.out").open("wb") as out,
            (self.logs / f"{name}.err").open("wb") as err,
        ):
            process = subprocess.Popen(
                [*_command(), *args], stdout=out, stderr=err, env=self.environment
            )
        self.started[name] = process
        return process

    def output(self, name: str) -> tuple[str, str]:
        return (
            (self.logs / f"{name}.out").read_text(encoding="utf-8", errors="replace"),
            (self.logs / f"{name}.err").read_text(encoding="utf-8", errors="replace"),
        )

    def alive(self) -> list[str]:
        return [name for name, process in self.started.items() if process.poll() is None]

    def describe(self) -> str:
        lines = []
        for name, process in self.started.items():
            out, err = self.output(name)
            lines.append(f"--- {name} (exit {process.poll()})\n{out[-1500:]}\n{err[-3000:]}")
        return "\n".join(lines)

    def kill_all(self) -> None:
        for process in self.started.values():
            if process.poll() is None:
                process.kill()
                process.wait()


def wait_until(condition: Callable[[], bool], what: str, processes: Processes) -> None:
    """Poll ``condition`` while every process started runs (none may end meanwhile)."""
    deadline = time.monotonic() + PATIENCE_SECONDS
    while not condition():
        ended = set(processes.started) - set(processes.alive())
        assert not ended, f"{sorted(ended)} ended waiting for {what}\n{processes.describe()}"
        assert time.monotonic() < deadline, f"timed out waiting for {what}\n{processes.describe()}"
        time.sleep(0.1)


def query(url: str, sql: str, *params: Any) -> list[tuple[Any, ...]] | None:
    """Rows of ``sql`` on a connection of its own; None while the server is away."""
    try:
        with psycopg.connect(url, connect_timeout=5) as connection:
            return connection.execute(sql, params).fetchall()
    except psycopg.OperationalError:
        return None


def completed_steps(url: str, task_uuid: uuid.UUID) -> int:
    rows = query(
        url,
        "SELECT count(*) FROM tasker.workflow_steps "
        "WHERE task_uuid = %s AND current_state = 'complete'",
        task_uuid,
    )
    return -1 if rows is None else int(rows[0][0])


def progressed(url: str, task_uuid: uuid.UUID, steps: int) -> bool:
    return completed_steps(url, task_uuid) >= steps


def write_wide_template(path: Path) -> Path:
    """One step, MIDDLE_STEPS steps that depend on it, and one step that depends on them."""
    work = {"callable": "restart.work", "initialization": {"seconds": STEP_SECONDS}}
    middle = [f"w{index:03d}" for index in range(MIDDLE_STEPS)]
    steps = [{"name": "start", "handler": work}]
    steps += [{"name": name, "handler": work, "dependencies": ["start"]} for name in middle]
    steps.append({"name": "finish", "handler": work, "dependencies": middle})
    template = {
        "name": "wide_restart",
        "namespace_name": "restart_tests",
        "version": "1.0.0",
        "steps": steps,
    }
    path.write_text(json.dumps(template, indent=1), encoding="utf-8")  # JSON is YAML
    return path


def test_workers_and_run_outlive_two_database_restarts(server: Server, tmp_path: Path) -> None:
    url = server.new_database()
    template = write_wide_template(tmp_path / "wide.yaml")
    calls = tmp_path / "calls.log"
    calls.touch()
    task = submit_template(template, context={}, database_url=url, new_task=True)
    # the limit comes from the environment here; --reconnect-limit is the option
    processes = Processes(
        tmp_path / "logs",
        _environment(RESTART_CALLS=str(calls), TASKER_RECONNECT_LIMIT="180"),
    )
    common = ["--handlers", str(HANDLERS), "--database-url", url]
    try:
        for index in range(3):
            processes.start(f"worker{index}", "worker", *common, "--concurrency", "2", "--quiet")
        run = processes.start(
            "run", "run", str(template), *common, "--resume", str(task.task_uuid),
            "--workers", "2", "--json",
        )  # fmt: skip

        def all_at_work() -> bool:
            """Every process has run a step (run starts slower than the workers)."""
            pids = {line.split()[2] for line in calls.read_text(encoding="utf-8").splitlines()}
            return {str(process.pid) for process in processes.started.values()} <= pids

        wait_until(all_at_work, "every process to run a step", processes)
        for restart_number in (1, 2):
            done = completed_steps(url, task.task_uuid)
            assert done < TOTAL_STEPS - PROGRESS, f"restart {restart_number} came too late"
            assert len(processes.alive()) == 4, processes.describe()
            server.stop()
            time.sleep(OUTAGE_SECONDS)  # the outage; no lease is waited for
            server.start()
            wait_until(
                partial(progressed, url, task.task_uuid, done + PROGRESS),
                f"progress after restart {restart_number}",
                processes,
            )
        try:
            run_exit = run.wait(timeout=PATIENCE_SECONDS)
        except subprocess.TimeoutExpired:
            pytest.fail(f"tasker-ctl run did not finish\n{processes.describe()}")
        assert run_exit == 0, processes.describe()
        # every worker process lived through both restarts; now they stop cleanly
        workers = [name for name in processes.started if name.startswith("worker")]
        assert sorted(processes.alive()) == workers, processes.describe()
        for name in workers:
            processes.started[name].send_signal(signal.SIGTERM)
        for name in workers:
            assert processes.started[name].wait(timeout=PATIENCE_SECONDS) == 0, processes.describe()
    finally:
        processes.kill_all()

    logs = {name: processes.output(name) for name in processes.started}
    for name, (out, err) in logs.items():
        assert "Traceback" not in out + err, f"{name}:\n{err}"
    # the restarts hit the processes: they saw the connection go and come back
    assert all("lost the database" in err for _, err in logs.values()), processes.describe()
    assert any("reconnected" in err for _, err in logs.values()), processes.describe()

    # every step ran exactly once (no lease expired: nothing was run again) ...
    ran = Counter(line.split()[0] for line in calls.read_text(encoding="utf-8").splitlines())
    assert len(ran) == TOTAL_STEPS
    assert [name for name, times in ran.items() if times != 1] == []
    # ... and completed exactly once, at its first attempt
    rows = query(
        url,
        "SELECT s.name, s.current_state, s.attempts, "
        "       (SELECT count(*) FROM tasker.workflow_step_transitions t "
        "        WHERE t.workflow_step_uuid = s.workflow_step_uuid AND t.to_state = 'complete') "
        "FROM tasker.workflow_steps s WHERE s.task_uuid = %s",
        task.task_uuid,
    )
    assert rows is not None
    assert len(rows) == TOTAL_STEPS
    assert {(state, attempts, completions) for _, state, attempts, completions in rows} == {
        ("complete", 1, 1)
    }
    task_state = "SELECT current_state FROM tasker.tasks WHERE task_uuid = %s"
    assert query(url, task_state, task.task_uuid) == [("complete",)]


def test_a_worker_ends_when_the_database_stays_away_past_the_limit(
    server: Server, tmp_path: Path
) -> None:
    url = server.new_database()
    processes = Processes(tmp_path / "logs", _environment())
    worker = processes.start(
        "worker", "worker", "--database-url", url, "--reconnect-limit", "2", "--quiet"
    )
    try:
        wait_until(lambda: "started" in processes.output("worker")[0], "the worker", processes)
        server.stop()
        try:
            exit_code = worker.wait(timeout=PATIENCE_SECONDS)
        finally:
            server.start()
    finally:
        processes.kill_all()
    _, err = processes.output("worker")
    assert exit_code == 2, processes.describe()
    assert "Traceback" not in err
    assert "error[DATABASE_UNAVAILABLE]" in err
    assert "for 2 s" in err  # how long it tried
    assert "attempt 1" in err  # each attempt was logged


def test_run_ends_when_the_database_stays_away_past_the_limit(
    server: Server, tmp_path: Path
) -> None:
    url = server.new_database()
    template = tmp_path / "slow.yaml"
    work = {"callable": "restart.work", "initialization": {"seconds": 600}}
    definition = {
        "name": "slow_restart",
        "namespace_name": "restart_tests",
        "version": "1.0.0",
        "steps": [{"name": "slow", "handler": work}],
    }
    template.write_text(json.dumps(definition), encoding="utf-8")
    calls = tmp_path / "calls.log"
    calls.touch()
    processes = Processes(tmp_path / "logs", _environment(RESTART_CALLS=str(calls)))
    run = processes.start(
        "run", "run", str(template), "--handlers", str(HANDLERS), "--database-url", url,
        "--reconnect-limit", "2", "--json",
    )  # fmt: skip
    try:
        # the step's handler is running (for ten minutes) when the database goes away
        wait_until(lambda: calls.read_text(encoding="utf-8") != "", "the step to start", processes)
        server.stop()
        try:
            exit_code = run.wait(timeout=PATIENCE_SECONDS)
        finally:
            server.start()
    finally:
        processes.kill_all()
    out, err = processes.output("run")
    assert exit_code == 2, processes.describe()
    assert out == ""
    assert "Traceback" not in err
    assert "error[DATABASE_UNAVAILABLE]: the database stayed unavailable for 2 s" in err
