"""A database the MCP tools read, shared by the tests of one module.

``tasks_database`` is made once per test module (a copy of the session's migrated template
database, dropped after the module) and filled by really running templates of ``examples/``
and of the gate tests through the engine:

* ``finished``: examples/linear, run to ``complete``;
* ``planned``: examples/planning/incident, its planner replayed from the recorded cassette,
  run to ``complete`` (planner calls, a fragment, budget lines);
* ``blocked``: examples/approval with an amount its first step refuses for good, so the task
  rests ``blocked_by_failures`` with ``failed_step`` in ``error``;
* ``gated``: the refund template of the gate tests, parked at ``gate_step`` waiting for an
  approver;
* ``dead_lettered``: examples/diamond submitted and never run, then swept as stale with the
  engine clock two hours ahead: the task is in ``error`` and ``dlq_entry`` is its entry.

The sweep runs before the other tasks exist, so nothing else is swept. Tests must not change
this database (a module that writes makes its own).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

import pytest

from tasker_ctl.db.settings import with_database
from tests.integration.resting_tasks import (
    EXAMPLES,
    FAILED_STEP,
    GATE_STEP,
    blocked_approval,
    finished_linear,
    gated_refund,
)
from tests.postgres_plugin import Databases


@dataclass(frozen=True)
class TasksDatabase:
    """The database and what is in it (task UUIDs as text, as documents show them)."""

    url: str
    workspace: Path
    finished: str
    planned: str
    blocked: str
    failed_step: str
    gated: str
    gate_step: str
    dead_lettered: str
    dlq_entry: str

    def at(self, moment: datetime) -> str:
        """The URL whose connections see the engine clock (``tasker.now()``) at ``moment``."""
        return with_clock(self.url, moment)


def with_clock(url: str, moment: datetime) -> str:
    """``url`` with ``tasker.fake_now`` set for every connection made from it."""
    parts = urlsplit(url)
    pairs = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "options"]
    pairs.append(("options", f"-c tasker.fake_now={moment.isoformat()}"))
    return urlunsplit(parts._replace(query=urlencode(pairs, safe="/", quote_via=quote)))


@pytest.fixture(scope="module")
def tasks_database(
    postgres_url: str,
    databases: Databases,
    template_database: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[TasksDatabase]:
    name = databases.create(template_database)
    try:
        url = with_database(postgres_url, name)
        yield _fill(url, tmp_path_factory.mktemp("mcp_tasks"))
    finally:
        databases.drop_later(name)


def _fill(url: str, workspace: Path) -> TasksDatabase:
    from tasker_ctl.engine import run_template, submit_template
    from tasker_ctl.engine.operator.dlq import list_dlq_entries
    from tasker_ctl.engine.operator.staleness import sweep_stale_tasks
    from tasker_ctl.engine.store.connection import connect

    # first the task left to go stale, and the sweep that dead-letters it
    stuck = submit_template(
        EXAMPLES / "diamond/diamond.yaml", context={"even_number": 4}, database_url=url
    )
    with connect(with_clock(url, datetime.now(UTC) + timedelta(hours=2))) as store:
        swept = sweep_stale_tasks(store)
    assert [task.outcome for task in swept.stale] == ["dead_lettered"], swept
    with connect(url) as store:
        (entry,) = list_dlq_entries(store)

    finished = finished_linear(url, even_number=6)
    planned = run_template(
        EXAMPLES / "planning/incident.yaml",
        context={"incident_id": "INC-4211", "service": "checkout"},
        handlers=[str(EXAMPLES / "planning/incident_handlers.py")],
        database_url=url,
        planner=f"replay:{EXAMPLES / 'planning/incident.cassette.yaml'}",
        timeout=60,
    )
    blocked = blocked_approval(url)
    gated = gated_refund(url, workspace)
    states = (finished.status, planned.status, blocked.status)
    assert states == ("complete", "complete", "blocked_by_failures"), states
    assert gated.waiting_for_approval, gated.status
    return TasksDatabase(
        url=url,
        workspace=workspace,
        finished=str(finished.task_uuid),
        planned=str(planned.task_uuid),
        blocked=str(blocked.task_uuid),
        failed_step=FAILED_STEP,
        gated=str(gated.task_uuid),
        gate_step=GATE_STEP,
        dead_lettered=str(stuck.task_uuid),
        dlq_entry=str(entry.dlq_entry_uuid),
    )
