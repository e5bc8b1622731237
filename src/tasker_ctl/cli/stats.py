"""``tasker-ctl stats``: the dashboard figures of a window of tasks, and the alerts they raise.

``engine.stats`` reads the figures; ``report.stats_view`` and ``report.stats_json`` render
them. docs/stats.md defines each figure and alert.
"""

from __future__ import annotations

from typing import Annotated

import typer

from tasker_ctl.cli.options import DatabaseUrlOption
from tasker_ctl.errors import ExitCode

_EPILOG = (
    "Exit codes: 0 no alert of severity warning or error; 1 at least one (info alerts never "
    "fail); 2 bad usage or no database. A cron job or CI step can alert on exit code 1."
)


def register(app: typer.Typer) -> None:
    @app.command(epilog=_EPILOG)
    def stats(
        since: Annotated[
            str,
            typer.Option(
                "--since",
                metavar="WHEN",
                help="Count tasks created since WHEN: a duration back from now (90m, 24h, "
                "7d, 2w), an ISO-8601 time (2026-03-01T12:00:00Z; UTC without an offset), "
                "or 'all'.",
            ),
        ] = "24h",
        namespace: Annotated[
            str | None,
            typer.Option(
                "--namespace",
                "-n",
                metavar="NAME",
                help="Only tasks of this namespace. Default: every one.",
                show_default=False,
            ),
        ] = None,
        json_output: Annotated[
            bool,
            typer.Option("--json", help="Print one JSON document (docs/stats.md) instead."),
        ] = False,
        database_url: DatabaseUrlOption = None,
    ) -> None:
        """Task and step figures, retries, failures and latency per handler, the DLQ, budget
        use and planning, with alerts (docs/stats.md)."""
        from tasker_ctl.documents import operations

        if json_output:
            from tasker_ctl.report.json_output import write_document

            document = operations.stats_document(database_url, since=since, namespace=namespace)
            write_document(document)
            failing = document.failing
        else:
            from tasker_ctl.report.stats_view import make_stats_console, render_stats

            report = operations.stats_report(database_url, since=since, namespace=namespace)
            render_stats(report, make_stats_console())
            failing = report.failing
        raise typer.Exit(int(ExitCode.FINDINGS) if failing else int(ExitCode.OK))
