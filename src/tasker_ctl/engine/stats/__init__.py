"""The dashboard figures of ``tasker-ctl stats`` and their alerts."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tasker_ctl.lazy_exports import lazy_exports

if TYPE_CHECKING:
    from tasker_ctl.engine.stats.collect import check_namespace, collect_stats
    from tasker_ctl.engine.stats.models import (
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

_EXPORTS = {
    "check_namespace": "collect",
    "collect_stats": "collect",
    "Alert": "models",
    "Baseline": "models",
    "BudgetStats": "models",
    "DelegationStats": "models",
    "DlqCounts": "models",
    "HandlerStats": "models",
    "PlanningStats": "models",
    "DomainEventStats": "models",
    "StatsReport": "models",
    "StatsWindow": "models",
    "StepStats": "models",
    "TaskStats": "models",
}
__all__ = [
    "Alert",
    "Baseline",
    "BudgetStats",
    "DelegationStats",
    "DlqCounts",
    "DomainEventStats",
    "HandlerStats",
    "PlanningStats",
    "StatsReport",
    "StatsWindow",
    "StepStats",
    "TaskStats",
    "check_namespace",
    "collect_stats",
]
__getattr__ = lazy_exports(__name__, _EXPORTS)
