"""The offline tools (tier1) under fuzzed arguments: every answer a document or a coded error.

With the database tools' run in tests/integration/mcp/test_fuzz_database.py, 1,000 argument
sets across every tool."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tasker_ctl.mcp.calls import Caller
from tasker_ctl.mcp.catalog import select_tools
from tasker_ctl.mcp.spec import ToolContext, ToolTier
from tests.mcp_fuzz import arguments_for, check_answer

PROJECT = Path(__file__).resolve().parents[3]
OFFLINE_TOOLS = select_tools([ToolTier.OFFLINE], offline=True, allow_write=False)
EXAMPLES = 600

pytestmark = pytest.mark.slow


@pytest.mark.skipif(not OFFLINE_TOOLS, reason="no offline tools registered")
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(data=st.data())
def test_fuzzed_arguments_never_crash_an_offline_tool(data: st.DataObject) -> None:
    spec = data.draw(st.sampled_from(OFFLINE_TOOLS), label="tool")
    arguments = data.draw(arguments_for(spec), label="arguments")
    caller = Caller(ToolContext(project_root=PROJECT))
    check_answer(spec, arguments, caller.invoke(spec, arguments))
