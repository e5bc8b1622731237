"""``tasker-ctl dlq list|show|resolve|sweep|stats``: the dead-letter queue and staleness sweeps.

The engine (``tasker_ctl.engine.operator``) does the work; this module parses options, calls
it through ``tasker_ctl.documents`` (the JSON documents, described in docs/dlq.md, which the
MCP tools answer too) and hands the answer to ``tasker_ctl.report.dlq_view`` (text). The
engine and rich are imported inside the commands.
"""

from __future__ import annotations

from typing import Annotated

import typer

from tasker_ctl.cli.options import DatabaseUrlOption
from tasker_ctl.errors import ExitCode

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
        from tasker_ctl.documents.operations import dlq_list_document

        document = dlq_list_document(database_url, status=status, limit=limit)
        if json_output:
            from tasker_ctl.report.json_output import write_document

            write_document(document)
            return
        from tasker_ctl.report.dlq_view import render_list

        render_list(document.entries, status)

    @dlq_app.command()
    def show(
        entry: EntryArgument,
        json_output: JsonOption = False,
        database_url: DatabaseUrlOption = None,
    ) -> None:
        """Show a DLQ entry: why the task was taken out, its resolution, and the snapshot of
        the task and its steps."""
        from tasker_ctl.documents import operations

        if json_output:
            from tasker_ctl.report.json_output import write_document

            write_document(operations.dlq_entry_document(database_url, entry))
            return
        from tasker_ctl.report.dlq_view import render_entry

        render_entry(operations.read_dlq_entry(database_url, entry))

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
        from tasker_ctl.documents.repairs import dlq_document, resolve_dlq_entry

        resolved = resolve_dlq_entry(
            entry, status=status, notes=notes, by=by, database_url=database_url
        )
        if json_output:
            from tasker_ctl.report.json_output import write_document

            write_document(dlq_document(resolved))
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
        from tasker_ctl.documents.operations import sweep_document

        document = sweep_document(
            database_url, dry_run=dry_run, limit=limit, namespaces=namespace or None
        )
        if json_output:
            from tasker_ctl.report.json_output import write_document

            write_document(document)
        else:
            from tasker_ctl.report.dlq_view import render_sweep

            render_sweep(document.sweep)
        stale = document.sweep.stale
        raise typer.Exit(int(ExitCode.FINDINGS) if stale else int(ExitCode.OK))

    @dlq_app.command()
    def stats(
        json_output: JsonOption = False,
        database_url: DatabaseUrlOption = None,
    ) -> None:
        """Count DLQ entries by reason and resolution status."""
        from tasker_ctl.documents.operations import dlq_stats_document

        document = dlq_stats_document(database_url)
        if json_output:
            from tasker_ctl.report.json_output import write_document

            write_document(document)
            return
        from tasker_ctl.report.dlq_view import render_stats

        render_stats(document.stats)
