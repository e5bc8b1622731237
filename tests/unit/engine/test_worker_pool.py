"""The workers of run and serve: an exception that ends a worker thread is never lost, and
what worker processes could not load is refused up front."""

from __future__ import annotations

import threading
import types
from pathlib import Path
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


def test_a_handler_module_of_the_calling_script_is_refused_for_worker_processes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A module built in the caller's process has no file or importable name a worker process
    could load it by: ``processes`` > 1 is refused before any database is asked for."""
    from tasker_ctl.engine import run_template
    from tasker_ctl.errors import UsageError

    monkeypatch.setenv("TASKER_HOME", str(tmp_path / "no-state-folder"))
    template = tmp_path / "t.yaml"
    template.write_text(
        "name: t\nnamespace_name: processes\nversion: 1.0.0\n"
        "steps:\n  - name: only\n    handler: {callable: script.only}\n",
        encoding="utf-8",
    )
    script = types.ModuleType("the_callers_own_handlers")
    with pytest.raises(UsageError, match="cannot be loaded by another process") as raised:
        run_template(
            template,
            context={},
            handlers=[script],
            processes=2,
            database_url="postgresql://nobody@127.0.0.1:1/none",
        )
    assert raised.value.code == "USAGE_ERROR"
