"""The JSON document of ``tasker-ctl stats --json``.

The shared header (``version``, ``tool``), then the report's sections as the models of
``engine.stats_models`` define them; docs/stats.md describes every field. Adding a key is a
minor change; renaming or removing one bumps ``version``.
"""

from __future__ import annotations

import json
from typing import Literal

from pydantic import Field

from tasker_ctl.engine.stats import (
    Alert,
    Baseline,
    BudgetStats,
    DelegationStats,
    DlqCounts,
    DomainEventStats,
    HandlerStats,
    PlanningStats,
    StatsReport,
    StatsWindow,
    StepStats,
    TaskStats,
)
from tasker_ctl.report.json_output import StrictOutput, ToolOutput, this_tool

__all__ = ["FORMAT_VERSION", "StatsOutput", "build_stats", "render_stats_json"]

FORMAT_VERSION = 1


class StatsOutput(StrictOutput):
    """The whole document written by ``tasker-ctl stats --json``."""

    version: Literal[1] = Field(description="format version; bumped on breaking changes")
    tool: ToolOutput
    window: StatsWindow
    tasks: TaskStats
    steps: StepStats
    handlers: list[HandlerStats] = Field(description="most steps first")
    dlq: DlqCounts
    budgets: BudgetStats
    planning: PlanningStats
    domain_events: DomainEventStats
    delegation: DelegationStats
    baselines: list[Baseline]
    alerts: list[Alert] = Field(description="most severe first")
    failing: bool = Field(description="an alert of severity warning or error: exit code 1")


def build_stats(report: StatsReport) -> StatsOutput:
    sections = {name: getattr(report, name) for name in StatsReport.model_fields}
    return StatsOutput(version=FORMAT_VERSION, tool=this_tool(), failing=report.failing, **sections)


def render_stats_json(report: StatsReport) -> str:
    """Indented JSON text ending with a newline, keys in model order."""
    document = build_stats(report).model_dump(mode="json")
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"
