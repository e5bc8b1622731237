"""Crash safety: worker processes killed with SIGKILL in the middle of attempts lose nothing.

Four worker processes (lease 2 s) work a DAG of 300 steps while the test kills one every few
hundred milliseconds and starts a replacement. A kill is aimed, not timed: it goes to a worker
that the database shows running an attempt (its handler has recorded its call, the outcome is
not recorded), so that it hits one however slow the machine is, and afterwards the database
confirms that the attempt was still in progress when the worker died. An attempt in the hands
of a killed worker is lost; its lease runs out and another worker runs the step again, with the
same idempotency key. At the end every step has completed exactly once.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import PROJECT_ROOT
from tests.integration.engine.conftest import Engine, make_template, step
from tests.integration.engine.handlers.crash import DATABASE_ENV
from tests.integration.engine.test_concurrency import layered_dag

pytestmark = pytest.mark.slow

WORKERS = 4
KILLS = 10
LEASE_SECONDS = 2
WORKER_CODE = """
import sys, uuid
sys.path.insert(0, {root!r})
from tasker_ctl.engine.worker.loop import Worker, WorkerOptions
from tasker_ctl.sdk.registry import HandlerRegistry
from tests.integration.engine.handlers import crash

registry = HandlerRegistry()
registry.register_module(crash)
task = uuid.UUID({task!r}) if {task!r} else None
options = WorkerOptions(task_uuid=task, lease_seconds={lease}, poll_interval=0.5)
Worker({url!r}, registry, options).run()
"""


class WorkerProcesses:
    def __init__(self, url: str, logs: Path) -> None:
        self.url, self.logs = url, logs
        self.running: list[subprocess.Popen[bytes]] = []
        self.killed: list[int] = []
        # (step, attempt) of each kill that hit an attempt in progress
        self.hits: list[tuple[str, int]] = []
        logs.mkdir(parents=True, exist_ok=True)

    def start(self) -> None:
        code = WORKER_CODE.format(
            root=str(PROJECT_ROOT), url=self.url, lease=LEASE_SECONDS, task=""
        )
        log = (self.logs / f"worker-{len(self.running) + len(self.killed)}.log").open("wb")
        process = subprocess.Popen(
            [sys.executable, "-c", code],
            env={**os.environ, DATABASE_ENV: self.url},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        self.running.append(process)

    def kill_running(self, engine: Engine, task_uuid: uuid.UUID) -> bool:
        """SIGKILL a worker that the database shows running an attempt and start another;
        False (nothing done) when no worker is running one now. The kill counts as a hit when
        the attempt was still in progress once the worker was dead (not recorded just before
        the signal arrived)."""
        # the attempt that started last: the one least likely to end before the signal lands
        running = engine.rows(
            "SELECT c.pid, c.step, c.attempt FROM crash_calls c"
            " JOIN tasker.workflow_steps s ON s.task_uuid = %s AND s.name = c.step"
            " WHERE c.pid = ANY(%s) AND s.current_state = 'in_progress'"
            " AND s.attempts = c.attempt ORDER BY c.at DESC LIMIT 1",
            task_uuid,
            [process.pid for process in self.running],
        )
        if not running:
            return False
        target = running[0]
        process = next(process for process in self.running if process.pid == target["pid"])
        sessions = self._worker_sessions(engine)
        process.send_signal(signal.SIGKILL)
        process.wait()
        self.running.remove(process)
        self.killed.append(process.pid)
        # A COMMIT the worker sent just before the signal still lands once the server reads
        # it: judge the attempt only after the dead worker's session has ended (each worker
        # process holds one), when its last transaction has committed or rolled back.
        deadline = time.monotonic() + 10
        while len(sessions & self._worker_sessions(engine)) > len(sessions) - 1:
            assert time.monotonic() < deadline, "the killed worker's session did not end"
            time.sleep(0.005)
        self.start()
        if engine.rows(
            "SELECT 1 FROM tasker.workflow_steps WHERE task_uuid = %s AND name = %s"
            " AND current_state = 'in_progress' AND attempts = %s",
            task_uuid,
            target["step"],
            target["attempt"],
        ):
            self.hits.append((target["step"], target["attempt"]))
        return True

    @staticmethod
    def _worker_sessions(engine: Engine) -> set[int]:
        """The server processes of the worker connections on the test's database."""
        return {
            row["pid"]
            for row in engine.rows(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
                " AND application_name = 'tasker-ctl worker'"
            )
        }

    def stop(self) -> None:
        for process in self.running:
            process.kill()
            process.wait()


def test_killed_workers_lose_no_step(engine: Engine, tmp_path: Path) -> None:
    engine.execute(
        "CREATE TABLE crash_calls (step text, attempt int, idempotency_key text, pid int,"
        " at timestamptz DEFAULT clock_timestamp())"
    )
    template = layered_dag(10, 30, "crash.work", seed=11, retry={"max_attempts": 10})
    task = engine.submit(template, {})
    rng = random.Random(2024)
    workers = WorkerProcesses(engine.url, tmp_path / "logs")
    started = time.monotonic()
    next_kill = started
    try:
        for _ in range(WORKERS):
            workers.start()
        while engine.task(task.task_uuid)["current_state"] != "complete":
            assert time.monotonic() - started < 50, "the task did not complete in time"
            if (
                len(workers.hits) < KILLS
                and time.monotonic() >= next_kill
                and workers.kill_running(engine, task.task_uuid)
            ):
                next_kill = time.monotonic() + rng.uniform(0.2, 0.5)
            else:
                time.sleep(0.01)
    finally:
        workers.stop()
    assert len(workers.hits) == KILLS, (
        f"{len(workers.hits)} of {len(workers.killed)} kills hit a running attempt"
    )

    steps = engine.steps(task.task_uuid)
    assert len(steps) == 300
    assert {row["current_state"] for row in steps.values()} == {"complete"}
    transitions = engine.step_transitions(task.task_uuid)
    completions = Counter(row["name"] for row in transitions if row["to_state"] == "complete")
    assert completions == Counter(dict.fromkeys(steps, 1))
    # the completing attempt is each step's last one
    for row in transitions:
        if row["to_state"] == "complete":
            assert row["attempt"] == steps[row["name"]]["attempts"]

    calls = engine.rows("SELECT step, attempt, idempotency_key, pid FROM crash_calls")
    # no attempt ran twice (an attempt number is claimed once), and nothing ran unclaimed
    assert len({(call["step"], call["attempt"]) for call in calls}) == len(calls)
    by_step: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for call in calls:
        by_step[call["step"]].append(call)
    assert set(by_step) == set(steps)
    for name, step_calls in by_step.items():
        # every attempt of a step saw the step's one idempotency key
        assert {call["idempotency_key"] for call in step_calls} == {steps[name]["idempotency_key"]}
        assert max(call["attempt"] for call in step_calls) == steps[name]["attempts"]

    # attempts lost to kills were noticed by their lease running out, and retried
    lost = [row for row in transitions if (row["metadata"] or {}).get("reason") == "lease_expired"]
    assert lost, "no kill hit a running attempt"
    for row in lost:
        assert row["from_state"] == "in_progress"
        assert row["to_state"] == "waiting_for_retry"
        assert steps[row["name"]]["attempts"] > row["attempt"]
    # each attempt a kill hit is among them
    assert set(workers.hits) <= {(row["name"], row["attempt"]) for row in lost}
    lost_in_handlers = [
        call
        for call in calls
        if call["pid"] in workers.killed and call["attempt"] < steps[call["step"]]["attempts"]
    ]
    assert lost_in_handlers, "no kill hit a handler mid-run"


GROWTH_TEMPLATES = {
    # a batchable step creating 3,000 workers and the convergence over them
    "batch": (
        make_template(
            [
                step("fan_out", "crash.fan_out", type="batchable"),
                step("part", "crash.work", "fan_out", type="batch_worker"),
                step("gather", "crash.work", "part", type="deferred_convergence"),
            ],
            name="crash_batch",
        ),
        {"workers": 3000},
        3001,
    ),
    # a decision step choosing 400 branches, each with a dependent
    "decision": (
        make_template(
            [
                step("decide", "crash.choose_all", type="decision"),
                *(step(f"branch_{i}", "crash.work", "decide") for i in range(400)),
                *(step(f"after_{i}", "crash.work", f"branch_{i}") for i in range(400)),
            ],
            name="crash_decision",
        ),
        {"branches": [f"branch_{i}" for i in range(400)]},
        800,
    ),
}


def _growth_round(engine: Engine, kind: str, delay: float | None, logs: Path) -> tuple[str, float]:
    """Run the growing step of a new task in a worker process, SIGKILLed ``delay`` seconds
    after its handler returned (None: not killed); "none" or "all" of the steps it adds
    exist afterwards, and how long the growth took when it was not killed."""
    template, context, added = GROWTH_TEMPLATES[kind]
    task = engine.submit(template, context, identity="always_unique")
    grower = next(iter(engine.steps(task.task_uuid)))
    # a long lease: nothing takes a killed attempt over while the round is checked
    code = WORKER_CODE.format(
        root=str(PROJECT_ROOT), url=engine.url, lease=60, task=str(task.task_uuid)
    )
    logs.mkdir(parents=True, exist_ok=True)
    with (logs / f"{kind}-{delay}.log").open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-c", code],
            env={**os.environ, DATABASE_ENV: engine.url},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 30
        while not engine.rows(
            "SELECT 1 FROM crash_calls c JOIN tasker.workflow_steps s"
            " ON s.idempotency_key = c.idempotency_key WHERE s.workflow_step_uuid = %s",
            engine.steps(task.task_uuid)[grower]["workflow_step_uuid"],
        ):
            assert time.monotonic() < deadline, "the growing step's handler never ran"
            time.sleep(0.002)
        returned = time.monotonic()
        if delay is None:
            while engine.steps(task.task_uuid)[grower]["current_state"] != "complete":
                assert time.monotonic() < deadline, "the growing step did not complete"
                time.sleep(0.002)
        else:
            time.sleep(delay)
            process.send_signal(signal.SIGKILL)
        grown = time.monotonic()
    finally:
        process.kill()
        process.wait()
    # the server rolls the killed worker's transaction back once it notices the client gone
    deadline = time.monotonic() + 30
    while engine.rows(
        "SELECT 1 FROM pg_stat_activity WHERE datname = current_database()"
        " AND application_name = 'tasker-ctl worker'"
    ):
        assert time.monotonic() < deadline, "the killed worker's session did not end"
        time.sleep(0.01)
    steps = engine.steps(task.task_uuid)
    state = steps[grower]["current_state"]
    if len(steps) == 1:
        assert state == "in_progress"  # its attempt is lost; a retry creates the steps
        return "none", 0.0
    assert len(steps) == 1 + added, f"{len(steps) - 1} of {added} new steps exist"
    assert state == "complete"
    created_by = {row["created_by"] for name, row in steps.items() if name != grower}
    assert created_by == {"batch_spawn" if kind == "batch" else "decision_point"}
    return "all", grown - returned


@pytest.mark.parametrize("kind", sorted(GROWTH_TEMPLATES))
def test_a_kill_during_growth_leaves_none_or_all_of_the_new_steps(
    engine: Engine, tmp_path: Path, kind: str
) -> None:
    engine.execute(
        "CREATE TABLE crash_calls (step text, attempt int, idempotency_key text, pid int,"
        " at timestamptz DEFAULT clock_timestamp())"
    )
    outcome, span = _growth_round(engine, kind, None, tmp_path)
    assert outcome == "all"
    # kills from the handler's return to well after the growth's commit
    outcomes = [
        _growth_round(engine, kind, span * fraction, tmp_path)[0]
        for fraction in (0.0, 0.1, 0.25, 0.5, 3.0)
    ]
    assert "none" in outcomes, outcomes
    assert "all" in outcomes, outcomes
