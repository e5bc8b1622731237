"""``tasker-ctl worker``: take steps of any task from the database until stopped.

Start as many as you like, on one machine or many, against one database: steps are claimed
with row locks and leases, so each attempt runs once. SIGINT and SIGTERM stop it gracefully.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Annotated

import typer

from tasker_ctl.cli.inputs import check_handler_paths
from tasker_ctl.cli.options import (
    DEFAULT_RECONNECT_LIMIT,
    AllowEnvOption,
    AllowPrivateNetworkOption,
    AllowTableOption,
    CreatingDatabaseUrlOption,
    HandlersOption,
    IsolationMode,
    IsolationOption,
    PersistRoleOption,
    PlannerOption,
    ReconnectLimitOption,
    RecordPlannerOption,
    trust_policy,
)
from tasker_ctl.cli.stopping import EXIT_INTERRUPTED, GracefulStop

if TYPE_CHECKING:
    from tasker_ctl.engine import StepFinished, WorkerStart
    from tasker_ctl.engine.operator import SweepReport
    from tasker_ctl.report.json_output import StrictOutput

_EPILOG = (
    "Exit codes: 0 stopped by SIGINT/SIGTERM after the running steps finished; 2 bad usage, "
    "handlers that cannot be loaded, or a database that cannot be used (at the start, or "
    "away for longer than --reconnect-limit); 130 a second signal quit at once."
)


def register(app: typer.Typer) -> None:
    @app.command(epilog=_EPILOG)
    def worker(
        handlers: HandlersOption = None,
        namespace: Annotated[
            list[str] | None,
            typer.Option(
                "--namespace",
                "-n",
                metavar="NAME",
                help="Only take steps of tasks in this namespace; repeat for several. "
                "Default: every namespace.",
                show_default=False,
            ),
        ] = None,
        concurrency: Annotated[
            int,
            typer.Option("--concurrency", min=1, metavar="N", help="Steps run at once (threads)."),
        ] = 1,
        isolation: IsolationOption = IsolationMode.THREAD,
        planner: PlannerOption = None,
        record: RecordPlannerOption = None,
        claim_batch: Annotated[
            int,
            typer.Option(
                "--claim-batch",
                min=1,
                metavar="N",
                help="Most steps a worker thread claims at once while its handlers are quick "
                "(docs/engine.md, claim batches); 1 claims one at a time.",
            ),
        ] = 16,
        database_url: CreatingDatabaseUrlOption = None,
        reconnect_limit: ReconnectLimitOption = DEFAULT_RECONNECT_LIMIT,
        quiet: Annotated[
            bool,
            typer.Option(
                "--quiet", "-q", help="No line per finished step; only start and stop lines."
            ),
        ] = False,
        staleness_interval: Annotated[
            float,
            typer.Option(
                "--staleness-interval",
                min=0,
                metavar="SECONDS",
                help="Sweep the tasks of the worker's namespaces for staleness this often "
                "(docs/dlq.md); 0 turns the sweeper off.",
            ),
        ] = 300.0,
        allow_table: AllowTableOption = None,
        persist_role: PersistRoleOption = None,
        allow_env: AllowEnvOption = None,
        allow_private_network: AllowPrivateNetworkOption = False,
        json_output: Annotated[
            bool,
            typer.Option(
                "--json",
                help="Print each line as one JSON object (JSON lines, docs/cli/run.md).",
            ),
        ] = False,
    ) -> None:
        """Run steps of every task in the database until stopped (SIGINT or SIGTERM).

        Tasks come from 'tasker-ctl task submit'. Run any number of workers on one database.

        Prints a line when it starts, one per step attempt it finishes (none with -q), one per
        stale task its sweeper takes out and one when it stops; each begins with the time in
        UTC (2026-03-01T12:00:05.123Z).
        """
        specs = check_handler_paths(handlers or [])
        trust = trust_policy(
            allow_table=allow_table,
            persist_role=persist_role,
            allow_env=allow_env,
            allow_private_network=allow_private_network,
        )
        from tasker_ctl.engine import serve

        printer = _Printer(quiet=quiet, json_output=json_output)
        stopper = GracefulStop(printer.stopping)
        with stopper:
            try:
                executed = serve(
                    handlers=specs,
                    namespaces=namespace or None,
                    concurrency=concurrency,
                    database_url=database_url,
                    stop=stopper.stop,
                    on_start=printer.started,
                    on_step=printer.finished,
                    staleness_interval=staleness_interval,
                    on_sweep=printer.swept,
                    claim_batch=claim_batch,
                    reconnect_limit=reconnect_limit,
                    trust=trust,
                    isolation=isolation.mode,
                    planner=planner,
                    record_planner=record,
                )
            except KeyboardInterrupt:
                typer.echo(
                    "quit: steps that were running are retried once their lease expires",
                    err=True,
                )
                raise typer.Exit(EXIT_INTERRUPTED) from None
        printer.stopped(executed)


class _Printer:
    """Lines from worker threads (``tasker_ctl.report.worker_lines``), one whole line at a
    time: text, or with ``--json`` one JSON object a line."""

    def __init__(self, *, quiet: bool, json_output: bool) -> None:
        self.quiet = quiet
        self.json_output = json_output
        self.worker_id = "?"
        self._lock = threading.Lock()

    def started(self, start: WorkerStart) -> None:
        from tasker_ctl.report import worker_lines as lines
        from tasker_ctl.report.times import utc_now

        self.worker_id = start.worker_id
        now = utc_now()
        self._emit(lines.started_record(start, now), lines.started_line(start, now))

    def finished(self, step: StepFinished) -> None:
        if self.quiet:
            return
        from tasker_ctl.report import worker_lines as lines
        from tasker_ctl.report.times import utc_now

        now = utc_now()
        self._emit(lines.step_record(step, now), lines.step_line(step, now))

    def swept(self, report: SweepReport) -> None:
        # a line per stale task even with -q: each one is a task taken out of the running
        if not report.stale:
            return
        from tasker_ctl.report import worker_lines as lines
        from tasker_ctl.report.times import utc_now

        now = utc_now()
        records = lines.stale_records(report, now)
        texts = lines.swept_lines(report, now)
        for record, text in zip(records, texts, strict=True):
            self._emit(record, text)

    def stopped(self, attempts: int) -> None:
        from tasker_ctl.report import worker_lines as lines
        from tasker_ctl.report.times import utc_now

        now = utc_now()
        self._emit(
            lines.stopped_record(self.worker_id, attempts, now),
            lines.stopped_line(self.worker_id, attempts, now),
        )

    def stopping(self) -> None:
        typer.echo(
            "stopping: waiting for running steps to finish (signal again to quit now)", err=True
        )

    def _emit(self, record: StrictOutput, text: str) -> None:
        if self.json_output:
            from tasker_ctl.report.worker_lines import json_line

            text = json_line(record)
        with self._lock:
            typer.echo(text)
