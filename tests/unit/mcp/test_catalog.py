"""Which tools a server exposes: --tools, --offline and --allow-write."""

from __future__ import annotations

import pytest

from tasker_ctl.mcp.catalog import all_tools, parse_tiers, select_tools
from tasker_ctl.mcp.errors import ToolSelectionError
from tasker_ctl.mcp.spec import ToolTier


def _tiers(tools: tuple[object, ...]) -> set[ToolTier]:
    return {tool.tier for tool in tools}  # type: ignore[attr-defined]


def test_every_tier_has_tools_and_names_are_unique() -> None:
    names = [tool.name for tool in all_tools()]
    assert len(names) == len(set(names)) == 39
    assert _tiers(all_tools()) == set(ToolTier)


def test_tiers_are_read_from_the_option() -> None:
    assert parse_tiers(None) == frozenset(ToolTier)
    assert parse_tiers("tier1, TIER2") == {ToolTier.OFFLINE, ToolTier.READ}


@pytest.mark.parametrize("text", ["tier4", "", " , ", "tier1,all"])
def test_an_unknown_tier_is_a_coded_error(text: str) -> None:
    with pytest.raises(ToolSelectionError) as raised:
        parse_tiers(text)
    assert raised.value.code == "TOOLS_INVALID"


def test_offline_and_read_only_servers_leave_tiers_out() -> None:
    every = frozenset(ToolTier)
    assert _tiers(select_tools(every, offline=True, allow_write=True)) == {ToolTier.OFFLINE}
    assert ToolTier.WRITE not in _tiers(select_tools(every, offline=False, allow_write=False))
    assert _tiers(select_tools(every, offline=False, allow_write=True)) == set(ToolTier)
    assert _tiers(select_tools([ToolTier.WRITE], offline=False, allow_write=False)) == set()
