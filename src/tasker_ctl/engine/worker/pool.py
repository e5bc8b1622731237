"""A pool of worker threads in one process, as ``run`` and ``serve`` start them: one
``Worker`` per id, each on its own thread and connection."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import replace

from tasker_ctl.engine.errors import WorkerThreadDiedError
from tasker_ctl.engine.worker.attempt import Attempt, Outcome
from tasker_ctl.engine.worker.loop import Worker
from tasker_ctl.engine.worker.options import WorkerOptions
from tasker_ctl.sdk.registry import HandlerRegistry


class WorkerPool:
    """Worker threads, started at once; their exceptions are kept for the caller, not printed."""

    def __init__(self, workers: list[Worker]) -> None:
        self.workers, self.failures = workers, list[BaseException]()
        self.threads = [threading.Thread(target=self._run, args=(w,), daemon=True) for w in workers]
        for thread in self.threads:
            thread.start()

    @classmethod
    def start(
        cls,
        url: str,
        registry: HandlerRegistry,
        options: WorkerOptions,
        worker_ids: list[str],
        stop: threading.Event,
        *,
        on_outcome: Callable[[Attempt, Outcome], None] | None = None,
    ) -> WorkerPool:
        """One worker thread per id in ``worker_ids``, each with ``options`` under its id."""
        return cls(
            [
                Worker(url, registry, replace(options, worker_id=id_), stop, on_outcome=on_outcome)
                for id_ in worker_ids
            ]
        )

    def _run(self, worker: Worker) -> None:
        # BaseException too: a thread that ended silently would let the process exit 0
        try:
            worker.run()
        except BaseException as error:  # raised again by raise_failure on the caller's thread
            self.failures.append(error)
            worker.stop.set()

    def alive(self) -> bool:
        return any(thread.is_alive() for thread in self.threads)

    def stop(self) -> None:
        """Ask every worker to stop once its attempt is over."""
        for worker in self.workers:
            worker.stop.set()

    def join(self, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds for every worker to end; whether they all have."""
        deadline = time.monotonic() + timeout
        for thread in self.threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        return not self.alive()

    @property
    def executed(self) -> int:
        return sum(worker.executed for worker in self.workers)

    def raise_failure(self) -> None:
        if not self.failures:
            return
        first = self.failures[0]
        if isinstance(first, Exception):
            raise first
        raise WorkerThreadDiedError(
            f"a worker thread ended with {type(first).__name__}: {first}",
            hint="this is a bug: rerun with TASKER_DEBUG=1 and report the traceback",
        ) from first
