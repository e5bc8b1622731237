"""What operators do to tasks: repairs, gates, staleness sweeps, the dead-letter queue."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tasker_ctl.lazy_exports import lazy_exports

if TYPE_CHECKING:
    from tasker_ctl.engine.operator.dlq import (
        DlqEntry,
        DlqEntrySummary,
        DlqStats,
        dlq_entry,
        dlq_stats,
        list_dlq_entries,
        parse_entry_uuid,
        resolve_dlq_entry,
    )
    from tasker_ctl.engine.operator.gates import decide_gate
    from tasker_ctl.engine.operator.manual_results import require_object
    from tasker_ctl.engine.operator.repairs import (
        Actor,
        RepairOutcome,
        cancel_task,
        complete_step,
        default_actor,
        resolve_step,
        retry_step,
    )
    from tasker_ctl.engine.operator.staleness import StaleTask, SweepReport, sweep_stale_tasks

_EXPORTS = {
    "DlqEntry": "dlq",
    "DlqEntrySummary": "dlq",
    "DlqStats": "dlq",
    "dlq_entry": "dlq",
    "dlq_stats": "dlq",
    "list_dlq_entries": "dlq",
    "parse_entry_uuid": "dlq",
    "resolve_dlq_entry": "dlq",
    "decide_gate": "gates",
    "require_object": "manual_results",
    "Actor": "repairs",
    "RepairOutcome": "repairs",
    "cancel_task": "repairs",
    "complete_step": "repairs",
    "default_actor": "repairs",
    "resolve_step": "repairs",
    "retry_step": "repairs",
    "StaleTask": "staleness",
    "SweepReport": "staleness",
    "sweep_stale_tasks": "staleness",
}
__all__ = [
    "Actor",
    "DlqEntry",
    "DlqEntrySummary",
    "DlqStats",
    "RepairOutcome",
    "StaleTask",
    "SweepReport",
    "cancel_task",
    "complete_step",
    "decide_gate",
    "default_actor",
    "dlq_entry",
    "dlq_stats",
    "list_dlq_entries",
    "parse_entry_uuid",
    "require_object",
    "resolve_dlq_entry",
    "resolve_step",
    "retry_step",
    "sweep_stale_tasks",
]
__getattr__ = lazy_exports(__name__, _EXPORTS)
