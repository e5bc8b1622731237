"""The dead-letter queue and staleness sweeps in the terminal: the text of ``tasker-ctl dlq
list|show|sweep|stats``, and the line the worker's sweeper prints per stale task."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.table import Table

from tasker_ctl.report.times import utc_stamp

if TYPE_CHECKING:
    from tasker_ctl.engine.operator import (
        DlqEntry,
        DlqEntrySummary,
        DlqStats,
        StaleTask,
        SweepReport,
    )

__all__ = ["describe_stale_task", "render_entry", "render_list", "render_stats", "render_sweep"]

_OUTCOME_LABELS = {
    "dead_lettered": "dead-lettered",
    "errored": "failed",
    "reported": "reported",
    "would_dead_letter": "would dead-letter",
    "would_error": "would fail",
}


def _console() -> Console:
    # long lines (UUIDs, commands to copy) are left whole for the terminal to wrap
    return Console(highlight=False, soft_wrap=True)


def render_list(entries: list[DlqEntrySummary], status: str | None) -> None:
    console = _console()
    if not entries:
        which = f"{status} " if status else ""
        console.print(f"no {which}DLQ entries", markup=False)
        return
    for entry in entries:
        console.print(
            f"{entry.dlq_entry_uuid}  {entry.resolution_status:<18} {_when(entry.dlq_timestamp)}"
            f"  {entry.namespace}/{entry.task_name}@{entry.task_version}",
            markup=False,
        )
        why = f"{entry.reason} in {entry.original_state}"
        if entry.thresholds:
            why += " (past " + ", ".join(entry.thresholds) + ")"
        console.print(f"    {why}; task {entry.task_uuid}, now {entry.task_state}", markup=False)
    console.print(
        f"{len(entries)} entr{'y' if len(entries) == 1 else 'ies'}; "
        "see one with: tasker-ctl dlq show ENTRY_UUID",
        markup=False,
    )


def render_entry(entry: DlqEntry) -> None:
    console = _console()

    def line(label: str, value: str) -> None:
        console.print(f"{label + ':':<15} {value}", markup=False)

    console.print(f"DLQ entry {entry.dlq_entry_uuid}", style="bold", markup=False)
    line(
        "task",
        f"{entry.task_uuid} ({entry.namespace}/{entry.task_name}@{entry.task_version}), "
        f"now {entry.task_state}",
    )
    line("reason", f"{entry.reason}, at {_when(entry.dlq_timestamp)}")
    line("state then", entry.original_state)
    for threshold in _thresholds(entry.metadata):
        line("past", threshold)
    last_progress = entry.metadata.get("last_progress_at")
    if isinstance(last_progress, str):
        line("last progress", _when_text(last_progress))
    notes = entry.metadata.get("notes")
    for note in notes if isinstance(notes, list) else []:
        line("note", str(note))
    line("status", entry.resolution_status)
    if entry.resolution_status != "pending":
        line("resolved", f"by {entry.resolved_by} at {_when(entry.resolution_timestamp)}")
        line("notes", entry.resolution_notes or "")
    snapshot = entry.task_snapshot
    steps = snapshot.get("steps")
    if not isinstance(steps, list):
        return
    counts = snapshot.get("step_counts")
    if isinstance(counts, dict) and counts:
        line("steps", ", ".join(f"{count} {state}" for state, count in sorted(counts.items())))
    table = Table(box=None, pad_edge=False, show_edge=False, title_justify="left")
    for column in ("STEP", "STATE", "ATTEMPTS", "LAST CHANGE", "LEASE", "LAST ERROR"):
        table.add_column(column, no_wrap=column != "LAST ERROR")
    for step in steps:
        if not isinstance(step, dict):
            continue
        error = step.get("last_error")
        message = error.get("message") if isinstance(error, dict) else None
        table.add_row(
            str(step.get("name")),
            str(step.get("state")),
            f"{step.get('attempts')}/{step.get('max_attempts')}",
            _when_text(step.get("last_transition_at")),
            str(step.get("lease_owner") or ""),
            str(message or ""),
        )
    console.print(table)
    omitted = snapshot.get("steps_omitted")
    if isinstance(omitted, int) and omitted > 0:
        console.print(f"... and {omitted} more steps (counted above)", markup=False)
    if entry.resolution_status == "pending":
        console.print(
            f"resolve with: tasker-ctl dlq resolve {entry.dlq_entry_uuid} "
            "--status manually_resolved|permanently_failed|cancelled --notes TEXT",
            markup=False,
        )


def render_sweep(report: SweepReport) -> None:
    console = _console()
    mode = " (dry run: nothing changed)" if report.dry_run else ""
    console.print(
        f"staleness sweep at {_when(report.swept_at)}{mode}: "
        f"{len(report.stale)} stale task{'s' if len(report.stale) != 1 else ''}",
        markup=False,
    )
    for task in report.stale:
        console.print("  " + describe_stale_task(task), markup=False)
        for note in task.notes:
            console.print(f"    note: {note}", markup=False)
    summary = ", ".join(
        f"{count} {label}"
        for outcome, label in _OUTCOME_LABELS.items()
        if (count := sum(1 for task in report.stale if task.outcome == outcome))
    )
    if report.skipped:
        summary = (summary + ", " if summary else "") + f"{report.skipped} skipped (busy)"
    if summary:
        console.print(f"summary: {summary}", markup=False)


def describe_stale_task(task: StaleTask) -> str:
    """One line about a stale task: what happened to it and which limits it was past."""
    past = "; ".join(
        f"{_since(t.measured_from)} {t.measured_minutes:g} min > {t.name} {t.limit_minutes}"
        f" ({t.source})"
        for t in task.thresholds
    )
    line = (
        f"{_OUTCOME_LABELS[task.outcome]:<17} task {task.task_uuid} "
        f"({task.namespace}/{task.task_name}@{task.task_version}, {task.state}): {past}"
    )
    if task.dlq_entry_uuid is not None:
        known = "" if task.dlq_entry_created else ", already there"
        line += f" -> DLQ entry {task.dlq_entry_uuid}{known}"
    return line


def render_stats(stats: DlqStats) -> None:
    console = _console()
    if not stats.total:
        console.print("the DLQ is empty", markup=False)
        return
    table = Table(box=None, pad_edge=False, show_edge=False)
    for column in ("REASON", "STATUS", "ENTRIES", "OLDEST", "NEWEST"):
        table.add_column(column, justify="right" if column == "ENTRIES" else "left")
    for row in stats.by_reason_and_status:
        table.add_row(
            row.reason,
            row.resolution_status,
            str(row.entries),
            _when(row.oldest),
            _when(row.newest),
        )
    console.print(table)
    console.print(
        f"{stats.total} entr{'y' if stats.total == 1 else 'ies'}, {stats.pending} pending",
        markup=False,
    )


def _thresholds(metadata: dict[str, Any]) -> list[str]:
    found = metadata.get("thresholds")
    if not isinstance(found, list):
        return []
    lines = []
    for item in found:
        if not isinstance(item, dict):
            continue
        since = _since(str(item.get("measured_from")))
        lines.append(
            f"{item.get('name')} {item.get('limit_minutes')} min ({item.get('source')}): "
            f"{since} {item.get('measured_minutes')} min"
        )
    return lines


def _since(measured_from: str) -> str:
    return "age" if measured_from == "created" else "no progress for"


def _when_text(value: Any) -> str:
    """A time stored as JSON text, shown as ``_when`` shows times."""
    if not isinstance(value, str):
        return ""
    try:
        return _when(datetime.fromisoformat(value))
    except ValueError:
        return value


def _when(value: datetime | None) -> str:
    if value is None:
        return "-"
    return utc_stamp(value, precision="seconds")
