"""What a worker runs with: which steps it takes, its lease, how it claims and where handlers
run."""

from __future__ import annotations

import os
import socket
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tasker_ctl.engine.store.reconnect import DEFAULT_RECONNECT_LIMIT
from tasker_ctl.engine.worker.handler_process import Isolation
from tasker_ctl.trust import TrustPolicy


def default_worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


@dataclass
class WorkerOptions:
    namespaces: list[str] | None = None
    task_uuid: uuid.UUID | None = None  # only this task's steps (tasker-ctl run)
    lease_seconds: int = 30
    poll_interval: float = 2.0
    worker_id: str = field(default_factory=default_worker_id)
    # Steps claimed at once, at most; a worker claims more than one only while its handlers
    # are quick: as many as its recent handler times fit in ``batch_window`` seconds.
    claim_batch: int = 16
    batch_window: float = 0.02
    # Seconds the database may stay away (a restart, say) before the worker gives up with
    # DatabaseUnavailableError; meanwhile it reconnects with backoff. 0: give up at once.
    reconnect_limit: float = DEFAULT_RECONNECT_LIMIT
    # Where handlers run: "thread" in the worker, "process" in a handler process of its own
    # (steps with ``isolation: process`` always do); ``handlers`` are the ``--handlers``
    # locations that process loads (docs/engine.md, handler isolation).
    isolation: Isolation = "thread"
    handlers: tuple[str, ...] = ()
    # what the operator grants compositions beyond their templates (TASKER_* variables)
    trust: TrustPolicy = field(default_factory=TrustPolicy.from_environment)
    # planning steps: the planner that overrides the templates' (``--planner``), a cassette
    # to record its calls in (``--record``), and where ``replay:`` paths are relative to
    planner: str | None = None
    planner_record: Path | None = None
    planner_base_dir: Path | None = None
    # the planners opened, by spec, shared by the worker threads of one pool (``replace``
    # keeps the same object): a replayed cassette then answers the pool's calls in order,
    # whichever thread makes them
    planners: PlannerCache = field(default_factory=lambda: PlannerCache())


class PlannerCache:
    """The planners a pool has opened, by spec (thread-safe)."""

    def __init__(self) -> None:
        self._planners: dict[str, Any] = {}
        self._lock = threading.Lock()

    # a worker process (run --processes) gets an empty cache of its own: planners and locks
    # do not cross processes
    def __getstate__(self) -> dict[str, Any]:
        return {}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__()  # type: ignore[misc]

    def get_or_open(self, spec: str, open_planner: Callable[[], Any]) -> Any:
        with self._lock:
            planner = self._planners.get(spec)
            if planner is None:
                planner = open_planner()
                self._planners[spec] = planner
            return planner
