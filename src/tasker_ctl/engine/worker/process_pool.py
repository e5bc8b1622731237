"""Worker processes for ``run --processes``: the worker threads of a pool, spread over processes
of their own so that they do not share one interpreter.

Each process loads the handlers from their ``--handlers`` locations, starts a ``WorkerPool`` of
``threads`` workers restricted to the task, and runs until the parent sets the shared stop
flag (or its workers end). It ignores Ctrl-C: the parent stops it through the flag, after
letting running attempts finish, as it stops its own threads. The pool answers as
``WorkerPool`` does (``alive``, ``stop``, ``join``, ``raise_failure``), so ``run`` watches
either alike.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
import time
from typing import Any

from tasker_ctl.engine.errors import WorkerProcessDiedError
from tasker_ctl.engine.worker.options import WorkerOptions, default_worker_id

__all__ = ["ProcessPool"]

# how often a worker process looks at the parent's stop flag
_STOP_CHECK_SECONDS = 0.05


def _serve(url: str, options: WorkerOptions, threads: int, stop: Any) -> None:
    """A worker process: ``threads`` workers on the task until ``stop`` (a shared byte) is
    set."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    from tasker_ctl.engine.store.connection import connect
    from tasker_ctl.engine.worker.handler_loading import load_handlers
    from tasker_ctl.engine.worker.loop import READY_CHANNEL
    from tasker_ctl.engine.worker.pool import WorkerPool

    parent = os.getppid()
    registry = load_handlers(list(options.handlers))
    local_stop = threading.Event()
    ids = [default_worker_id() for _ in range(threads)]
    pool = WorkerPool.start(url, registry, options, ids, local_stop)
    # until told to stop, or the parent is gone (killed: nobody would tell this one)
    while pool.alive() and not stop.value and os.getppid() == parent:
        time.sleep(_STOP_CHECK_SECONDS)
    local_stop.set()
    with connect(url) as store:
        store.notify(READY_CHANNEL)  # idle workers wake and see the stop
    while not pool.join(_STOP_CHECK_SECONDS):
        pass
    pool.raise_failure()


class ProcessPool:
    """``processes`` worker processes of ``threads`` workers each, on ``options.task_uuid``."""

    def __init__(self, processes: list[Any], stop: Any) -> None:
        self.processes, self._stop = processes, stop

    @classmethod
    def start(cls, url: str, options: WorkerOptions, processes: int, threads: int) -> ProcessPool:
        # fork where there is one: the child has the handlers' and the engine's modules
        # already (a spawned one imports them again, about a second each on a small machine)
        methods = multiprocessing.get_all_start_methods()
        context: Any = multiprocessing.get_context("fork" if "fork" in methods else "spawn")
        # a flag read without a lock, not an Event: an Event's set() waits for every process
        # waiting on it to wake, forever when one of them died while waiting
        stop = context.RawValue("b", 0)
        started = []
        for _ in range(processes):
            # the options reach each process as a copy (forked memory, or pickled where it is
            # spawned: its planner cache then arrives empty)
            process = context.Process(
                target=_serve, args=(url, options, threads, stop), daemon=True
            )
            process.start()
            started.append(process)
        return cls(started, stop)

    def stop(self) -> None:
        """Ask every process to stop once its attempts are over."""
        self._stop.value = 1

    def alive(self) -> bool:
        """Whether the pool still works: a process that died takes the pool down, as a worker
        thread that dies stops its pool's other threads."""
        return any(process.is_alive() for process in self.processes) and not self._failed()

    def _failed(self) -> list[int]:
        return [p.exitcode for p in self.processes if p.exitcode not in (None, 0)]

    def join(self, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds for every process to end; whether they all have."""
        deadline = time.monotonic() + timeout
        for process in self.processes:
            process.join(max(0.0, deadline - time.monotonic()))
        return not any(process.is_alive() for process in self.processes)

    def raise_failure(self) -> None:
        failed = self._failed()
        if failed:
            raise WorkerProcessDiedError(
                f"{len(failed)} worker process(es) ended with exit code(s) "
                f"{', '.join(str(code) for code in failed)}",
                hint="their error is printed above; rerun with --processes 1 to see it here",
            )
