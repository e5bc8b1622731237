"""Running a template end to end: register it, create the task, work it to a resting state.

``run_template`` is what ``tasker-ctl run`` and generated tests call. Workers run as threads of
this process, each with its own connection, and only take steps of the task being run. Stopping
(Ctrl-C) lets running attempts finish and leaves the task resumable: running the same template
with the same context again picks it up.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterable
from datetime import datetime
from pathlib import Path
from types import ModuleType
from typing import Any

from pydantic import BaseModel, ConfigDict

from tasker_ctl.engine.errors import DuplicateTaskError
from tasker_ctl.engine.handlers import load_handlers
from tasker_ctl.engine.states import TaskState
from tasker_ctl.engine.store import Store, connect
from tasker_ctl.engine.submission import register_template, submit_task
from tasker_ctl.engine.worker import Worker, WorkerOptions

RESTING_STATES = {
    TaskState.COMPLETE,
    TaskState.ERROR,
    TaskState.CANCELLED,
    TaskState.RESOLVED_MANUALLY,
    TaskState.BLOCKED_BY_FAILURES,
}


class StepReport(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    state: str
    attempts: int
    max_attempts: int
    created_by: str
    result: Any = None
    error: Any = None
    started_at: datetime | None = None
    finished_at: datetime | None = None

    @property
    def duration_ms(self) -> int | None:
        if self.started_at is None or self.finished_at is None:
            return None
        return int((self.finished_at - self.started_at).total_seconds() * 1000)


class TaskReport(BaseModel):
    """A task and its steps, as ``tasker-ctl run --json`` prints them."""

    model_config = ConfigDict(extra="forbid")

    task_uuid: uuid.UUID
    status: str
    namespace: str
    name: str
    version: str
    correlation_id: uuid.UUID
    requested_at: datetime | None = None
    completed_at: datetime | None = None
    resumed: bool = False
    steps: list[StepReport]

    @property
    def succeeded(self) -> bool:
        return self.status == TaskState.COMPLETE


def task_report(store: Store, task_uuid: uuid.UUID, *, resumed: bool = False) -> TaskReport:
    task = store.fetch_one("fetch_task", task_uuid=task_uuid)
    if task is None:
        raise LookupError(f"task {task_uuid} does not exist")
    steps = []
    for row in store.fetch_all("fetch_task_steps", task_uuid=task_uuid):
        results = row["results"] or {}
        steps.append(
            StepReport(
                name=row["name"],
                state=row["current_state"],
                attempts=row["attempts"],
                max_attempts=row["max_attempts"],
                created_by=row["created_by"],
                result=results.get("result") if results.get("success") else None,
                error=None if results.get("success", True) else results.get("error"),
                started_at=row["first_started_at"],
                finished_at=row["processed_at"],
            )
        )
    return TaskReport(
        task_uuid=task["task_uuid"],
        status=task["current_state"],
        namespace=task["namespace_name"],
        name=task["task_name"],
        version=task["task_version"],
        correlation_id=task["correlation_id"],
        requested_at=task["requested_at"],
        completed_at=task["completed_at"],
        resumed=resumed,
        steps=steps,
    )


def run_template(
    template_path: str | Path,
    *,
    context: Any,
    handlers: Iterable[str | ModuleType] = (),
    workers: int = 1,
    database_url: str | None = None,
    environment: str | None = None,
    new_task: bool = False,
    on_update: Callable[[TaskReport], None] | None = None,
    stop: threading.Event | None = None,
    timeout: float | None = None,
) -> TaskReport:
    """Run the template's task to a resting state and return its report."""
    from tasker_ctl.codegen.header import content_hash
    from tasker_ctl.db.settings import resolve_database_url
    from tasker_ctl.engine.migrate import migrate
    from tasker_ctl.template.source import read_document
    from tasker_ctl.template.validator import load_template

    template = load_template(template_path, environment=environment)
    digest = content_hash(read_document(Path(template_path)).data)
    url = resolve_database_url(database_url).url
    registry = load_handlers(handlers)
    with connect(url) as store:
        migrate(store)
        with store.transaction():
            named = register_template(store, template, digest)
        resumed = False
        try:
            with store.transaction():
                task_uuid = submit_task(
                    store,
                    template,
                    named,
                    context,
                    environment=environment,
                    identity="always_unique" if new_task else "strict",
                ).task_uuid
        except DuplicateTaskError as duplicate:
            task_uuid, resumed = uuid.UUID(duplicate.task_uuid), True
        stop = stop or threading.Event()
        options = [WorkerOptions(task_uuid=task_uuid) for _ in range(max(workers, 1))]
        pool = [Worker(url, registry, option, stop) for option in options]
        threads = [
            threading.Thread(target=worker.run, name=f"tasker-worker-{i}", daemon=True)
            for i, worker in enumerate(pool)
        ]
        for thread in threads:
            thread.start()
        try:
            report = _watch(store, task_uuid, resumed, on_update, stop, threads, timeout)
        finally:
            stop.set()
            for thread in threads:
                thread.join()
        return task_report(store, task_uuid, resumed=resumed) if report is None else report


def _watch(
    store: Store,
    task_uuid: uuid.UUID,
    resumed: bool,
    on_update: Callable[[TaskReport], None] | None,
    stop: threading.Event,
    threads: list[threading.Thread],
    timeout: float | None,
) -> TaskReport | None:
    deadline = None if timeout is None else time.monotonic() + timeout
    store.listen("tasker_task_settled", "tasker_steps_ready")
    while not stop.is_set():
        report = task_report(store, task_uuid, resumed=resumed)
        if on_update is not None:
            on_update(report)
        if report.status in RESTING_STATES:
            return report
        if deadline is not None and time.monotonic() > deadline:
            return report
        if not any(thread.is_alive() for thread in threads):
            return report
        store.wait_for_notifications(0.25)
    return None
