"""The worker threads of run and serve: an exception that ends one is never lost."""

from __future__ import annotations

import threading
from typing import Any, cast

import pytest

from tasker_ctl.engine.errors import WorkerThreadDiedError
from tasker_ctl.engine.worker.loop import Worker
from tasker_ctl.engine.worker.pool import WorkerPool
from tasker_ctl.errors import ExitCode


class _Ending:
    """Stands in for a Worker whose loop ends with ``error``."""

    def __init__(self, error: BaseException) -> None:
        self.error, self.stop, self.executed = error, threading.Event(), 0

    def run(self) -> None:
        raise self.error


def _pool(error: BaseException) -> WorkerPool:
    pool = WorkerPool([cast(Worker, cast(Any, _Ending(error)))])
    for thread in pool.threads:
        thread.join()
    return pool


@pytest.mark.parametrize("error", [SystemExit(0), KeyboardInterrupt(), GeneratorExit()])
def test_a_thread_ended_by_a_base_exception_fails_the_process(error: BaseException) -> None:
    pool = _pool(error)
    with pytest.raises(WorkerThreadDiedError) as raised:
        pool.raise_failure()
    assert raised.value.exit_code is ExitCode.INTERNAL
    assert type(error).__name__ in raised.value.message
    assert pool.workers[0].stop.is_set()


def test_an_exception_is_raised_as_it_was() -> None:
    pool = _pool(LookupError("gone"))
    with pytest.raises(LookupError, match="gone"):
        pool.raise_failure()
