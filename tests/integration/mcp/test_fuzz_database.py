"""The database tools (tier2, and tier3 on a server that allows writes) under fuzzed
arguments, on a database with tasks in every state: every answer a document or a coded error,
and, since no fuzzed confirm carries a token this server issued, the database unchanged.

With the offline tools' run in tests/unit/mcp/test_fuzz_offline.py, 1,000 argument sets."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tasker_ctl.mcp.calls import Caller
from tasker_ctl.mcp.catalog import select_tools
from tasker_ctl.mcp.spec import ToolContext, ToolTier
from tests.integration.mcp.conftest import TasksDatabase
from tests.mcp_fuzz import arguments_for, check_answer, database_snapshot

DATABASE_TOOLS = select_tools([ToolTier.READ, ToolTier.WRITE], offline=False, allow_write=True)
EXAMPLES = 400

pytestmark = pytest.mark.slow


@pytest.mark.skipif(not DATABASE_TOOLS, reason="no database tools registered")
def test_fuzzed_arguments_never_crash_a_database_tool_nor_change_the_database(
    tasks_database: TasksDatabase,
) -> None:
    known = (
        tasks_database.finished,
        tasks_database.blocked,
        tasks_database.gated,
        tasks_database.planned,
        tasks_database.failed_step,
        tasks_database.gate_step,
        tasks_database.dlq_entry,
        tasks_database.finished[:8],
        "refund.yaml",
    )
    caller = Caller(
        ToolContext(
            project_root=tasks_database.workspace,
            database_url=tasks_database.url,
            allow_write=True,
        )
    )
    before = database_snapshot(tasks_database.url)

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        suppress_health_check=[
            HealthCheck.too_slow,
            HealthCheck.data_too_large,
            HealthCheck.function_scoped_fixture,
        ],
    )
    @given(data=st.data())
    def fuzz(data: st.DataObject) -> None:
        spec = data.draw(st.sampled_from(DATABASE_TOOLS), label="tool")
        arguments = data.draw(arguments_for(spec, known), label="arguments")
        check_answer(spec, arguments, caller.invoke(spec, arguments))

    fuzz()
    assert database_snapshot(tasks_database.url) == before
