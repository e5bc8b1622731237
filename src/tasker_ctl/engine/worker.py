"""Workers: claim a ready step, run its handler, record the outcome; repeat.

Any number of workers, in threads or processes on any number of machines, share one database.
Claiming uses ``FOR UPDATE SKIP LOCKED`` and a lease that a heartbeat renews while the handler
runs; the attempt number is the fencing token, so a worker that lost its lease cannot record a
result over a newer attempt. Idle workers sleep until NOTIFY ``tasker_steps_ready`` wakes them,
or until the next retry falls due, polling as a fallback.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from tasker_ctl.engine.executor import Attempt, Outcome, execute
from tasker_ctl.engine.retry import DEFAULT_BASE_MS, DEFAULT_MAX_MS, RetryPolicy, backoff_seconds
from tasker_ctl.engine.store import Json, Store, connect
from tasker_ctl.errors import StaleAttemptError
from tasker_ctl.sdk.registry import HandlerRegistry
from tasker_ctl.template.model import TaskTemplate

logger = logging.getLogger(__name__)

READY_CHANNEL = "tasker_steps_ready"


def default_worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


@dataclass
class WorkerOptions:
    namespaces: list[str] | None = None
    task_uuid: uuid.UUID | None = None  # only this task's steps (tasker-ctl run)
    lease_seconds: int = 30
    poll_interval: float = 2.0
    worker_id: str = field(default_factory=default_worker_id)


class Worker:
    """One claim-execute loop on its own database connection."""

    def __init__(
        self,
        database_url: str,
        registry: HandlerRegistry,
        options: WorkerOptions | None = None,
        stop: threading.Event | None = None,
    ) -> None:
        self.database_url = database_url
        self.registry = registry
        self.options = options or WorkerOptions()
        self.stop = stop or threading.Event()
        self.executed = 0
        self._templates: dict[tuple[str, str], TaskTemplate] = {}

    def run(self) -> None:
        """Work until ``stop`` is set; the attempt in hand is finished first."""
        with connect(self.database_url, application_name="tasker-ctl worker") as store:
            store.listen(READY_CHANNEL)
            while not self.stop.is_set():
                if self.run_once(store):
                    continue
                self._idle(store)

    def run_once(self, store: Store) -> bool:
        """Claim and run one attempt; False when nothing was claimable."""
        attempt = self._claim(store)
        if attempt is None:
            return False
        with _Heartbeat(self.database_url, attempt, self.options):
            outcome = execute(attempt, self.registry, self.options.worker_id)
        self._record(store, attempt, outcome)
        self.executed += 1
        return True

    def _claim(self, store: Store) -> Attempt | None:
        with store.transaction():
            step = store.fetch_one(
                "claim_step",
                worker=self.options.worker_id,
                namespaces=self.options.namespaces,
                lease_seconds=self.options.lease_seconds,
                task_uuid=self.options.task_uuid,
            )
            if step is None:
                return None
            task = store.fetch_one("fetch_task", task_uuid=step["task_uuid"])
            assert task is not None
            ancestors = {
                row["name"]: row["results"]
                for row in store.fetch_all(
                    "fetch_ancestor_results", step_uuid=step["workflow_step_uuid"]
                )
            }
        return Attempt(step=step, task=task, template=self._template(task), ancestors=ancestors)

    def _template(self, task: dict[str, Any]) -> TaskTemplate:
        key = (str(task["named_task_uuid"]), str(task["configuration"].get("version")))
        cached = self._templates.get(key)
        if cached is None:
            cached = TaskTemplate.model_validate(task["configuration"])
            self._templates[key] = cached
        return cached

    def _record(self, store: Store, attempt: Attempt, outcome: Outcome) -> None:
        step_uuid, number = attempt.step["workflow_step_uuid"], attempt.number
        metadata = Json({"worker": self.options.worker_id, "duration_ms": outcome.duration_ms})
        try:
            with store.transaction():
                if outcome.success:
                    store.fetch_one(
                        "complete_step",
                        step_uuid=step_uuid,
                        attempt=number,
                        results=Json(outcome.envelope),
                        metadata=metadata,
                    )
                else:
                    store.fetch_one(
                        "fail_step",
                        step_uuid=step_uuid,
                        attempt=number,
                        results=Json(outcome.envelope),
                        retryable=outcome.retryable,
                        backoff_seconds=self._backoff(attempt, outcome),
                        metadata=metadata,
                    )
        except StaleAttemptError as error:
            # Our lease expired and another worker took the step over: its attempt wins.
            logger.warning(
                "result of %s attempt %s refused: %s", attempt.step["name"], number, error
            )

    @staticmethod
    def _backoff(attempt: Attempt, outcome: Outcome) -> float:
        retry = attempt.definition.retry
        policy = RetryPolicy(
            backoff=retry.backoff.value,
            base_ms=retry.backoff_base_ms if retry.backoff_base_ms is not None else DEFAULT_BASE_MS,
            max_ms=retry.max_backoff_ms if retry.max_backoff_ms is not None else DEFAULT_MAX_MS,
        )
        return backoff_seconds(policy, attempt.number, retry_after=outcome.retry_after)

    def _idle(self, store: Store) -> None:
        row = store.fetch_one(
            "next_claimable_at",
            namespaces=self.options.namespaces,
            task_uuid=self.options.task_uuid,
        )
        timeout = self.options.poll_interval
        if (
            row
            and isinstance(row.get("next_at"), datetime)
            and isinstance(row.get("now"), datetime)
        ):
            due = (row["next_at"] - row["now"]).total_seconds()
            timeout = max(0.0, min(timeout, due))
        if timeout > 0:
            store.wait_for_notifications(timeout)


class _Heartbeat:
    """Renews the lease of a running attempt from a thread with its own connection."""

    def __init__(self, url: str, attempt: Attempt, options: WorkerOptions) -> None:
        self._url, self._attempt, self._options = url, attempt, options
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._beat, daemon=True, name="tasker-heartbeat")

    def __enter__(self) -> _Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._done.set()
        self._thread.join(timeout=5)

    def _beat(self) -> None:
        interval = max(self._options.lease_seconds / 3, 0.5)
        if self._done.wait(interval):
            return
        with connect(self._url, application_name="tasker-ctl heartbeat") as store:
            while True:
                extended = store.fetch_value(
                    "extend_lease",
                    step_uuid=self._attempt.step["workflow_step_uuid"],
                    attempt=self._attempt.number,
                    worker=self._options.worker_id,
                    lease_seconds=self._options.lease_seconds,
                )
                if not extended or self._done.wait(interval):
                    return
