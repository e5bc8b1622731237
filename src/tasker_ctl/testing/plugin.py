"""tasker-ctl's pytest plugin: run a template end to end in a throwaway database.

Registered through the ``pytest11`` entry point under the name ``tasker_ctl`` (``-p
no:tasker_ctl`` turns it off). It only defines fixtures, every name starting with
``tasker_``, and imports nothing but pytest and ``tasker_ctl.testing.runs`` (the standard
library alone) until a test asks for one, so sessions that do not use them neither slow down
nor change:

* ``tasker_server`` (session): the PostgreSQL of the session (``ThrowawayServer``), started on
  first use and stopped, its databases dropped, when the session ends;
* ``tasker_database_url``: the URL of a new database with the current schema, for this test
  only, dropped after it;
* ``tasker_run_template``: ``run(template, context=..., handlers=[...]) -> TemplateRun``, a new
  task in this test's database every time (never one resumed from an earlier run).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any, Literal

import pytest

if TYPE_CHECKING:
    from tasker_ctl.errors import TaskerError
    from tasker_ctl.testing.runs import TemplateRun, TemplateRunner
    from tasker_ctl.testing.server import ThrowawayServer
    from tasker_ctl.trust import TrustPolicy

DEFAULT_TIMEOUT_SECONDS = 120.0


@pytest.fixture(scope="session")
def tasker_server() -> Iterator[ThrowawayServer]:
    """The session's PostgreSQL: ``TASKER_DATABASE_URL``'s server, else an embedded one in a
    temporary folder; started when a test first needs a database, stopped at the end."""
    from tasker_ctl.testing.server import ThrowawayServer

    server = ThrowawayServer.from_environment()
    try:
        yield server
    finally:
        server.close()


@pytest.fixture
def tasker_database_url(tasker_server: ThrowawayServer) -> Iterator[str]:
    """A new, migrated database for this test only (dropped after it)."""
    from tasker_ctl.errors import TaskerError

    try:
        url = tasker_server.new_database()
    except TaskerError as error:  # no server to be had: say why, as the command line would
        pytest.fail(_coded(error), pytrace=False)
    try:
        yield url
    finally:
        tasker_server.drop_database(url)


@pytest.fixture
def tasker_run_template(tasker_database_url: str) -> TemplateRunner:
    """Run a template's task to a resting state in this test's database (a new task on every
    call) and return the ``TemplateRun``."""

    def run(
        template: str | Path,
        *,
        context: Any = None,
        handlers: Iterable[str | ModuleType] = (),
        environment: str | None = None,
        workers: int = 1,
        timeout: float | None = None,
        check_handlers: bool = True,
        trust: TrustPolicy | None = None,
        isolation: Literal["thread", "process"] = "thread",
    ) -> TemplateRun:
        from tasker_ctl.engine import run_template
        from tasker_ctl.errors import TaskerError
        from tasker_ctl.testing.runs import TemplateRun

        __tracebackhide__ = True
        try:
            report = run_template(
                template,
                context={} if context is None else context,
                handlers=handlers,
                workers=workers,
                database_url=tasker_database_url,
                environment=environment,
                new_task=True,
                timeout=DEFAULT_TIMEOUT_SECONDS if timeout is None else timeout,
                check_handlers=check_handlers,
                trust=trust,
                isolation=isolation,
            )
        except TaskerError as error:
            # a template, context or handler the run refused: its coded message says why
            pytest.fail(_coded(error), pytrace=False)
        return TemplateRun(report)

    return run


def _coded(error: TaskerError) -> str:
    hint = f"\n  hint: {error.hint}" if error.hint else ""
    return f"error[{error.code}]: {error.message}{hint}"
