"""``tasker-ctl stats``: the dashboard figures of a window of tasks, and the alerts they raise.

``engine.stats`` reads the figures; ``report.stats_view`` and ``report.stats_json`` render
them. docs/stats.md defines each figure and alert.
"""

from __future__ import annotations

import sys
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
        from tasker_ctl.engine.stats import check_namespace, collect_stats
        from tasker_ctl.engine.store import open_store, parse_since, window_start

        # bad options are reported before the database is started
        wanted = parse_since(since, allow_all=True)
        check_namespace(namespace)
        with open_store(database_url) as store:
            report = collect_stats(store, since=window_start(store, wanted), namespace=namespace)
        if json_output:
            from tasker_ctl.report.stats_json import render_stats_json

            sys.stdout.write(render_stats_json(report))
            sys.stdout.flush()
        else:
            from tasker_ctl.report.stats_view import make_stats_console, render_stats

            render_stats(report, make_stats_console())
        raise typer.Exit(int(ExitCode.FINDINGS) if report.failing else int(ExitCode.OK))
