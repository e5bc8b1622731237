"""The MCP tools of this area (filled in by its module's author)."""

from __future__ import annotations

from tasker_ctl.mcp.spec import ToolSpec

TOOLS: tuple[ToolSpec, ...] = ()
