"""``tasker-ctl dlq list|show|resolve|sweep|stats``: the dead-letter queue and staleness sweeps.

The engine (``tasker_ctl.engine.operator.dlq`` and ``.staleness``) does the work; this module parses
options, calls it, and renders the answer as text or as one JSON document (``--json``,
described in docs/dlq.md). The engine and rich are imported inside the commands.
"""

from __future__ import annotations

import functools
import json
import sys
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any, Literal

import typer

from tasker_ctl.cli.db import DatabaseUrlOption
from tasker_ctl.errors import ExitCode

if TYPE_CHECKING:
    from pydantic import BaseModel
    from rich.console import Console

    from tasker_ctl.engine.operator import (
        DlqEntry,
        DlqEntrySummary,
        DlqStats,
        StaleTask,
        SweepReport,
    )

JSON_FORMAT_VERSION = 1

JsonOption = Annotated[
    bool, typer.Option("--json", help="Print one JSON document (docs/dlq.md) instead of text.")
]
EntryArgument = Annotated[
    str, typer.Argument(metavar="ENTRY_UUID", help="The DLQ entry's UUID (see 'dlq list').")
]

_SWEEP_EPILOG = (
    "Exit codes: 0 no stale task; 1 stale tasks were found (and failed, unless --dry-run or "
    "their template's staleness_action is none); 2 bad usage or no database."
)
_RESOLVE_EPILOG = (
    "Exit codes: 0 resolved; 1 the entry was already resolved (the first resolution stays); "
    "2 bad usage, an unknown entry, or no database."
)
_OUTCOME_LABELS = {
    "dead_lettered": "dead-lettered",
    "errored": "failed",
    "reported": "reported",
    "would_dead_letter": "would dead-letter",
    "would_error": "would fail",
}


def register(app: typer.Typer) -> None:
    dlq_app = typer.Typer(
        help="The dead-letter queue of tasks that stopped making progress, and staleness "
        "sweeps (docs/dlq.md).",
        no_args_is_help=True,
    )
    app.add_typer(dlq_app, name="dlq")

    @dlq_app.command("list")
    def list_entries(
        status: Annotated[
            str | None,
            typer.Option(
                "--status",
                metavar="STATUS",
                help="Only entries with this status: pending, manually_resolved, "
                "permanently_failed or cancelled. Default: every status.",
                show_default=False,
            ),
        ] = None,
        limit: Annotated[
            int, typer.Option("--limit", metavar="N", help="Show at most N entries, newest first.")
        ] = 50,
        json_output: JsonOption = False,
        database_url: DatabaseUrlOption = None,
    ) -> None:
        """List DLQ entries, newest first."""
        from tasker_ctl.engine.operator import list_dlq_entries
        from tasker_ctl.engine.store import open_store

        with open_store(database_url) as store:
            entries = list_dlq_entries(store, status=status, limit=limit)
        if json_output:
            _write_json(_document(status_filter=status, entries=entries))
            return
        _render_list(entries, status)

    @dlq_app.command()
    def show(
        entry: EntryArgument,
        json_output: JsonOption = False,
        database_url: DatabaseUrlOption = None,
    ) -> None:
        """Show a DLQ entry: why the task was taken out, its resolution, and the snapshot of
        the task and its steps."""
        from tasker_ctl.engine.operator import dlq_entry, parse_entry_uuid
        from tasker_ctl.engine.store import open_store

        key = parse_entry_uuid(entry)
        with open_store(database_url) as store:
            found = dlq_entry(store, key)
        if json_output:
            _write_json(_document(entry=found))
            return
        _render_entry(found)

    @dlq_app.command(epilog=_RESOLVE_EPILOG)
    def resolve(
        entry: EntryArgument,
        status: Annotated[
            str,
            typer.Option(
                "--status",
                metavar="STATUS",
                help="What became of the task: manually_resolved, permanently_failed or cancelled.",
                show_default=False,
            ),
        ],
        notes: Annotated[
            str,
            typer.Option(
                "--notes",
                metavar="TEXT",
                help="What was found and what was done.",
                show_default=False,
            ),
        ],
        by: Annotated[
            str | None,
            typer.Option(
                "--by",
                metavar="WHO",
                help="Who resolved it. Default: $TASKER_ACTOR, else user@host.",
                show_default=False,
            ),
        ] = None,
        json_output: JsonOption = False,
        database_url: DatabaseUrlOption = None,
    ) -> None:
        """Record the resolution of a pending DLQ entry (once; the task is not changed)."""
        from tasker_ctl.engine.operator import parse_entry_uuid, resolve_dlq_entry
        from tasker_ctl.engine.store import open_store

        key = parse_entry_uuid(entry)
        with open_store(database_url) as store:
            resolved = resolve_dlq_entry(store, key, status=status, notes=notes, resolved_by=by)
        if json_output:
            _write_json(_document(entry=resolved))
            return
        typer.echo(
            f"resolved DLQ entry {resolved.dlq_entry_uuid} as {resolved.resolution_status} "
            f"(by {resolved.resolved_by}); task {resolved.task_uuid} stays {resolved.task_state}"
        )

    @dlq_app.command(epilog=_SWEEP_EPILOG)
    def sweep(
        dry_run: Annotated[
            bool,
            typer.Option("--dry-run", help="Report what would be done; change nothing."),
        ] = False,
        limit: Annotated[
            int,
            typer.Option(
                "--limit", metavar="N", help="Fail at most N tasks (oldest progress first)."
            ),
        ] = 100,
        namespace: Annotated[
            list[str] | None,
            typer.Option(
                "--namespace",
                "-n",
                metavar="NAME",
                help="Only tasks of this namespace; repeat for several. Default: every one.",
                show_default=False,
            ),
        ] = None,
        json_output: JsonOption = False,
        database_url: DatabaseUrlOption = None,
    ) -> None:
        """Find stale tasks once and apply their templates' staleness_action (dlq, error or
        none), as the sweeper of 'tasker-ctl worker' does every few minutes."""
        from tasker_ctl.engine.operator import default_actor, sweep_stale_tasks
        from tasker_ctl.engine.store import open_store

        with open_store(database_url) as store:
            report = sweep_stale_tasks(
                store,
                dry_run=dry_run,
                limit=limit,
                namespaces=namespace or None,
                sweeper=f"tasker-ctl dlq sweep ({default_actor()})",
            )
        if json_output:
            _write_json(_document(sweep=report))
        else:
            _render_sweep(report)
        raise typer.Exit(int(ExitCode.FINDINGS) if report.stale else int(ExitCode.OK))

    @dlq_app.command()
    def stats(
        json_output: JsonOption = False,
        database_url: DatabaseUrlOption = None,
    ) -> None:
        """Count DLQ entries by reason and resolution status."""
        from tasker_ctl.engine.operator import dlq_stats
        from tasker_ctl.engine.store import open_store

        with open_store(database_url) as store:
            counted = dlq_stats(store)
        if json_output:
            _write_json(_document(stats=counted))
            return
        _render_stats(counted)


# -- JSON ----------------------------------------------------------------------------------


def _document(**content: Any) -> BaseModel:
    """The JSON document of a dlq command: the shared header, then the command's content
    (``entries``, ``entry``, ``sweep`` or ``stats``)."""
    from tasker_ctl.report.json_output import this_tool

    kind = next(key for key in _document_models() if key in content)
    return _document_models()[kind](version=JSON_FORMAT_VERSION, tool=this_tool(), **content)


@functools.cache
def _document_models() -> dict[str, type[BaseModel]]:
    """The closed models of the documents, keyed by their content field; built on first use
    so that the engine is imported only by commands that need it."""
    from pydantic import create_model

    from tasker_ctl.engine.operator import DlqEntry, DlqEntrySummary, DlqStats, SweepReport
    from tasker_ctl.report.json_output import StrictOutput, ToolOutput

    def document(name: str, **fields: Any) -> type[BaseModel]:
        return create_model(
            name,
            __base__=StrictOutput,
            version=(Literal[1], ...),
            tool=(ToolOutput, ...),
            **fields,
        )

    return {
        "entries": document(
            "DlqListOutput",
            status_filter=(str | None, ...),
            entries=(list[DlqEntrySummary], ...),
        ),
        "entry": document("DlqEntryOutput", entry=(DlqEntry, ...)),
        "sweep": document("SweepOutput", sweep=(SweepReport, ...)),
        "stats": document("DlqStatsOutput", stats=(DlqStats, ...)),
    }


def _write_json(document: BaseModel) -> None:
    data = document.model_dump(mode="json")
    sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False) + "\n")
    sys.stdout.flush()


# -- text ----------------------------------------------------------------------------------


def _console() -> Console:
    from rich.console import Console

    # long lines (UUIDs, commands to copy) are left whole for the terminal to wrap
    return Console(highlight=False, soft_wrap=True)


def _render_list(entries: list[DlqEntrySummary], status: str | None) -> None:
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


def _render_entry(entry: DlqEntry) -> None:
    from rich.table import Table

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


def _render_sweep(report: SweepReport) -> None:
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


def _render_stats(stats: DlqStats) -> None:
    from rich.table import Table

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


def _short(threshold: str) -> str:
    return threshold.removeprefix("max_").removesuffix("_minutes")


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
    return value.isoformat(sep=" ", timespec="seconds")
