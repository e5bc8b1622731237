"""Helpers of the engine tests: templates from dicts, submission, worker threads, inspection.

``engine`` is bound to the test's fresh database. ``engine.run(task)`` works a task with real
``Worker`` threads until it rests (complete, blocked, ...) with no attempt in flight, and
re-raises whatever a worker thread raised. Reads for assertions go through psycopg directly.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any

import psycopg
import pytest
from psycopg.rows import dict_row

from tasker_ctl.engine.graph.submission import SubmittedTask, register_template, submit_task
from tasker_ctl.engine.rules.states import TaskState
from tasker_ctl.engine.store.connection import Store, connect
from tasker_ctl.engine.worker.loop import Worker, WorkerOptions
from tasker_ctl.sdk.registry import HandlerRegistry
from tasker_ctl.template.model import TaskTemplate
from tests.integration.engine.handlers import (
    CALLS,
    Recorder,
    arithmetic,
    batches,
    decisions,
    diamond,
    failures,
    operator,
)
from tests.integration.engine.handlers import planning as planning_handlers

NAMESPACE = "engine_tests"
RESTING = {
    TaskState.COMPLETE,
    TaskState.BLOCKED_BY_FAILURES,
    TaskState.ERROR,
    TaskState.CANCELLED,
    TaskState.RESOLVED_MANUALLY,
}
Row = dict[str, Any]


def make_template(
    steps: Sequence[dict[str, Any]],
    *,
    name: str = "engine_test",
    version: str = "1.0.0",
    input_schema: Any = None,
) -> TaskTemplate:
    """A template from step dicts as they would be written in YAML."""
    return TaskTemplate.model_validate(
        {
            "name": name,
            "namespace_name": NAMESPACE,
            "version": version,
            "input_schema": input_schema,
            "steps": list(steps),
        }
    )


def step(name: str, handler: str, *dependencies: str, **settings: Any) -> dict[str, Any]:
    """One step: ``initialization`` for the handler config, any other key as in YAML."""
    definition: dict[str, Any] = {
        "name": name,
        "handler": {"callable": handler, "initialization": settings.pop("config", {})},
        "dependencies": list(dependencies),
    }
    definition.update(settings)
    return definition


class Engine:
    """The engine on one test database."""

    def __init__(self, url: str, store: Store, registry: HandlerRegistry) -> None:
        self.url, self.store, self.registry = url, store, registry
        self._connection = psycopg.connect(url, autocommit=True, row_factory=dict_row)

    def close(self) -> None:
        self._connection.close()

    def register(self, template: TaskTemplate) -> uuid.UUID:
        with self.store.transaction():
            return register_template(self.store, template, "test")

    def submit(self, template: TaskTemplate, context: Any, **options: Any) -> SubmittedTask:
        named = self.register(template)
        with self.store.transaction():
            return submit_task(self.store, template, named, context, **options)

    def run(
        self,
        task_uuid: uuid.UUID,
        *,
        workers: int = 1,
        timeout: float = 30.0,
        poll_interval: float = 0.5,
        lease_seconds: int = 30,
        **options: Any,
    ) -> str:
        """Work the task with ``workers`` threads until it rests; its final state.
        ``options`` are more ``WorkerOptions`` (a planner, say)."""
        stop = threading.Event()
        failures: list[BaseException] = []
        pool = [
            Worker(
                self.url,
                self.registry,
                WorkerOptions(
                    task_uuid=task_uuid,
                    poll_interval=poll_interval,
                    lease_seconds=lease_seconds,
                    worker_id=f"test-worker-{i}",
                    **options,
                ),
                stop,
            )
            for i in range(workers)
        ]

        def work(worker: Worker) -> None:
            try:
                worker.run()
            except BaseException as error:
                failures.append(error)
                stop.set()

        threads = [
            threading.Thread(target=work, args=(w,), name=w.options.worker_id, daemon=True)
            for w in pool
        ]
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + timeout
        try:
            while not self.resting(task_uuid) and not stop.is_set():
                if time.monotonic() > deadline:
                    pytest.fail(f"task {task_uuid} did not come to rest within {timeout} s")
                time.sleep(0.01)
        finally:
            stop.set()
            for thread in threads:
                thread.join(timeout=10)
        if failures:
            raise failures[0]
        return str(self.task(task_uuid)["current_state"])

    def resting(self, task_uuid: uuid.UUID) -> bool:
        row = self.one(
            "SELECT t.current_state, count(s.*) FILTER (WHERE s.current_state = 'in_progress')"
            " AS running FROM tasker.tasks t LEFT JOIN tasker.workflow_steps s USING (task_uuid)"
            " WHERE t.task_uuid = %s GROUP BY t.current_state",
            task_uuid,
        )
        return row["current_state"] in RESTING and row["running"] == 0

    # -- inspection ------------------------------------------------------------------------

    def rows(self, sql: str, *params: Any) -> list[Row]:
        return self._connection.execute(sql, params).fetchall()

    def execute(self, sql: str, *params: Any) -> None:
        self._connection.execute(sql, params)

    def one(self, sql: str, *params: Any) -> Row:
        found = self.rows(sql, *params)
        assert len(found) == 1, f"expected one row, got {len(found)}"
        return found[0]

    def task(self, task_uuid: uuid.UUID) -> Row:
        return self.one("SELECT * FROM tasker.tasks WHERE task_uuid = %s", task_uuid)

    def steps(self, task_uuid: uuid.UUID) -> dict[str, Row]:
        rows = self.rows("SELECT * FROM tasker.workflow_steps WHERE task_uuid = %s", task_uuid)
        return {row["name"]: row for row in rows}

    def step_transitions(self, task_uuid: uuid.UUID, name: str | None = None) -> list[Row]:
        return self.rows(
            "SELECT s.name, t.* FROM tasker.workflow_step_transitions t"
            " JOIN tasker.workflow_steps s USING (workflow_step_uuid)"
            " WHERE t.task_uuid = %s AND (%s::text IS NULL OR s.name = %s)"
            " ORDER BY s.name, t.sort_key",
            task_uuid,
            name,
            name,
        )

    def path(self, task_uuid: uuid.UUID, name: str) -> list[str]:
        """The states a step went through, in order."""
        return [row["to_state"] for row in self.step_transitions(task_uuid, name)]

    def task_path(self, task_uuid: uuid.UUID) -> list[str]:
        rows = self.rows(
            "SELECT to_state FROM tasker.task_transitions WHERE task_uuid = %s ORDER BY sort_key",
            task_uuid,
        )
        return [row["to_state"] for row in rows]

    def db_now(self) -> datetime:
        value = self.one("SELECT clock_timestamp() AS now")["now"]
        assert isinstance(value, datetime)
        return value


def claim(
    store: Store, task_uuid: uuid.UUID, worker: str = "w", lease: int = 60
) -> dict[str, Any] | None:
    """A worker's plain claim (no previous success to record with it), as the worker sends it;
    None when nothing is claimable."""
    return store.fetch_one(
        "claim_attempt",
        step_uuid=None,
        attempt=None,
        results=None,
        metadata=None,
        worker=worker,
        namespaces=None,
        lease_seconds=lease,
        task_uuid=task_uuid,
        limit=1,
    )


def claim_at(url: str, task_uuid: uuid.UUID, now: datetime, worker: str = "other") -> Row | None:
    """What a worker's claim at ``now`` on the engine clock would take, rolled back so that
    nothing changes: a look at a later moment without waiting for it."""
    with (
        psycopg.connect(url, autocommit=True, row_factory=dict_row) as connection,
        connection.transaction(force_rollback=True),
    ):
        connection.execute("SELECT set_config('tasker.fake_now', %s, true)", [now.isoformat()])
        return claim(Store(connection, url=url), task_uuid, worker=worker)


def clocked_store(url: str, now: datetime) -> Store:
    """A ``Store`` whose engine clock (``tasker.now()``) reads ``now``."""
    connection = psycopg.connect(url, autocommit=True, row_factory=dict_row)
    set_clock(connection, now)
    return Store(connection, url=url)


def set_clock(connection: psycopg.Connection[Any], now: datetime) -> None:
    connection.execute("SELECT set_config('tasker.fake_now', %s, false)", [now.isoformat()])
    connection.commit()


@pytest.fixture
def registry() -> HandlerRegistry:
    found = HandlerRegistry()
    for module in (arithmetic, batches, decisions, diamond, failures, operator):
        found.register_module(module)
    return found


@pytest.fixture
def calls() -> Iterator[Recorder]:
    """Every handler call of this test; handlers left sleeping are released at the end."""
    CALLS.clear()
    failures.RELEASE.clear()
    failures.GATE.clear()
    yield CALLS
    failures.RELEASE.set()
    failures.GATE.set()
    CALLS.clear()


@pytest.fixture
def engine(
    database_url: str, store: Store, registry: HandlerRegistry, calls: Recorder
) -> Iterator[Engine]:
    opened = Engine(database_url, store, registry)
    yield opened
    opened.close()


@pytest.fixture
def planning_engine(database_url: str, store: Store) -> Iterator[Engine]:
    """The engine with the planning tests' handlers (``handlers/planning.py``)."""
    registry = HandlerRegistry()
    registry.register_module(planning_handlers)
    opened = Engine(database_url, store, registry)
    yield opened
    opened.close()


@pytest.fixture
def session(database_url: str) -> Iterator[Store]:
    """A second connection to the test database, as a store."""
    with connect(database_url) as opened:
        yield opened
