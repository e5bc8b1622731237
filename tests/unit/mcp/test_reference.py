"""docs/mcp/tools.md is what ``python -m tasker_ctl.mcp.reference`` prints today."""

from __future__ import annotations

from pathlib import Path

from tasker_ctl.mcp.reference import render

PAGE = Path(__file__).resolve().parents[3] / "docs/mcp/tools.md"


def test_the_tools_page_is_up_to_date() -> None:
    assert PAGE.read_text(encoding="utf-8") == render(), (
        "regenerate it: python -m tasker_ctl.mcp.reference > docs/mcp/tools.md"
    )
