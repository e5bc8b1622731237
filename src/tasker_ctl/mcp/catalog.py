"""Every tool, gathered from the areas' modules, and the choice a server makes of them.

The areas: ``tools_templates`` (templates, handlers, schemas), ``tools_grammar`` (the action
grammar, compositions, fragments), ``tools_read`` (tasks, steps, the DLQ, stats, events,
budgets, planning), ``tools_write`` (submit and the operator's repairs) and ``tools_agent``
(whole questions in one call: explain a task, diagnose a step).
"""

from __future__ import annotations

import functools
import importlib
from collections.abc import Iterable

from tasker_ctl.mcp.errors import ToolSelectionError
from tasker_ctl.mcp.spec import ToolSpec, ToolTier

__all__ = ["all_tools", "parse_tiers", "select_tools"]

_AREAS = ("templates", "grammar", "read", "write", "agent")


@functools.cache
def all_tools() -> tuple[ToolSpec, ...]:
    tools: list[ToolSpec] = []
    for area in _AREAS:
        module = importlib.import_module(f"tasker_ctl.mcp.tools_{area}")
        tools.extend(module.TOOLS)
    names = [tool.name for tool in tools]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise RuntimeError(f"tool names defined twice: {duplicates}")
    return tuple(tools)


def parse_tiers(text: str | None) -> frozenset[ToolTier]:
    """``--tools tier1,tier2``: the tiers named (every tier when ``text`` is None)."""
    if text is None:
        return frozenset(ToolTier)
    names = [part.strip().lower() for part in text.split(",") if part.strip()]
    known = {tier.value: tier for tier in ToolTier}
    unknown = [name for name in names if name not in known]
    if unknown or not names:
        raise ToolSelectionError(
            f"--tools {text!r}: {', '.join(unknown) or 'no tier'} is not a tier",
            hint="name one or more of tier1 (offline), tier2 (read a database), "
            "tier3 (write), separated by commas",
        )
    return frozenset(known[name] for name in names)


def select_tools(
    tiers: Iterable[ToolTier], *, offline: bool, allow_write: bool
) -> tuple[ToolSpec, ...]:
    """The tools a server exposes: the tiers asked for, without the database's under
    ``--offline``, and without the writes unless ``--allow-write``."""
    chosen = set(tiers)
    if offline:
        chosen &= {ToolTier.OFFLINE}
    if not allow_write:
        chosen.discard(ToolTier.WRITE)
    return tuple(tool for tool in all_tools() if tool.tier in chosen)
