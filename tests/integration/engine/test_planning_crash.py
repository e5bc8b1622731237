"""Crash safety of planning: a worker killed with SIGKILL at each point of a planning attempt
(before its model call, during it, after the answer is recorded, while the fill is written)
leaves no duplicate step, a consistent ledger, and costs at most one extra model call.

The first worker is a process of its own, killed by a named failpoint at the exact point
(``TASKER_FAILPOINT``) or, during the call, once the loopback server holds its request. The
second worker runs after the first one's lease has run out: the database's clock is moved an
hour on (``tasker.fake_now`` for new sessions), nothing sleeps.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from datetime import timedelta
from typing import Any

import pytest

from tests.conftest import PROJECT_ROOT
from tests.integration.engine.conftest import Engine
from tests.integration.engine.planning_support import (
    GOOD,
    answer,
    assert_invariants,
    planning_template,
)
from tests.openai_server import OpenAIServer

pytestmark = pytest.mark.slow

WORKER_CODE = """
import sys, uuid
sys.path.insert(0, {root!r})
from tasker_ctl.engine.worker.loop import Worker, WorkerOptions
from tasker_ctl.sdk.registry import HandlerRegistry
from tests.integration.engine.handlers import planning

registry = HandlerRegistry()
registry.register_module(planning)
options = WorkerOptions(task_uuid=uuid.UUID({task!r}), lease_seconds=30, poll_interval=0.2,
                        planner={planner!r})
Worker({url!r}, registry, options).run()
"""


def start_worker(engine: Engine, task: uuid.UUID, planner: str, failpoint: str | None) -> Any:
    env = {key: value for key, value in os.environ.items() if key != "TASKER_FAILPOINT"}
    if failpoint is not None:
        env["TASKER_FAILPOINT"] = failpoint
    code = WORKER_CODE.format(
        root=str(PROJECT_ROOT), task=str(task), planner=planner, url=engine.url
    )
    return subprocess.Popen(
        [sys.executable, "-c", code], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )


def wait_for(condition: Any, what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.05)


def after_the_lease(engine: Engine) -> None:
    """New sessions' engine clock an hour on: the dead worker's lease has run out."""
    later = engine.db_now() + timedelta(hours=1)
    database = engine.one("SELECT current_database() AS name")["name"]
    engine.execute(f"ALTER DATABASE \"{database}\" SET tasker.fake_now = '{later.isoformat()}'")


@pytest.mark.parametrize(
    "point", ["planning.before_call", "planning.after_answer", "planning.materializing"]
)
def test_a_worker_killed_at_a_point_of_the_attempt(planning_engine: Engine, point: str) -> None:
    with OpenAIServer([answer(GOOD)]) as server:
        task = planning_engine.submit(planning_template(), {"incident": "INC-1"}).task_uuid
        worker = start_worker(planning_engine, task, server.spec(), point)
        assert worker.wait(timeout=120) == -signal.SIGKILL
        killed_after = len(server.requests)
        after_the_lease(planning_engine)
        server.push(answer(GOOD))  # for the call a death before any answer makes again
        assert planning_engine.run(task, planner=server.spec(), timeout=60) == "complete"
        calls = len(server.requests)
    steps = planning_engine.steps(task)
    assert sorted(name for name, row in steps.items() if row["created_by"] == "planning_step") == [
        "deploys",
        "logs",
        "queues",
    ]
    # one kill: at most one call more than a run without it
    assert calls <= 2
    if point != "planning.before_call":  # the answer was recorded: it is used, not asked again
        assert killed_after == 1
        assert calls == 1
    statuses = [
        row["status"]
        for row in planning_engine.rows(
            "SELECT status FROM tasker.planning_attempts WHERE task_uuid = %s ORDER BY attempt",
            task,
        )
    ]
    expected = ["interrupted", "answered"] if point == "planning.before_call" else ["answered"]
    assert statuses == expected
    assert_invariants(planning_engine, task)


def test_a_worker_killed_during_the_call(planning_engine: Engine) -> None:
    with OpenAIServer([{**answer(GOOD), "delay": 60}]) as server:
        task = planning_engine.submit(planning_template(), {"incident": "INC-1"}).task_uuid
        worker = start_worker(planning_engine, task, server.spec(), None)
        try:
            wait_for(lambda: len(server.requests) == 1, "the worker's model call")
        finally:
            worker.send_signal(signal.SIGKILL)
            worker.wait(timeout=30)
        after_the_lease(planning_engine)
        server.push(answer(GOOD))
        assert planning_engine.run(task, planner=server.spec(), timeout=60) == "complete"
        assert len(server.requests) == 2  # the lost call, and one more
    rows = planning_engine.rows(
        "SELECT status, usage_estimated FROM tasker.planning_attempts WHERE task_uuid = %s"
        " ORDER BY attempt",
        task,
    )
    assert [(row["status"], row["usage_estimated"]) for row in rows] == [
        ("interrupted", True),
        ("answered", False),
    ]
    assert_invariants(planning_engine, task)
