"""``tasker-ctl run``: register a template, create its task and run it to the end, with a view.

The engine, the renderers and rich are imported inside the command so that ``tasker-ctl
--version`` does not pay for them.
"""

from __future__ import annotations

import shlex
import sys
import uuid
from contextlib import nullcontext
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal, TextIO

import typer

from tasker_ctl.cli.inputs import check_handler_paths, check_template_path, parse_context
from tasker_ctl.cli.options import (
    DEFAULT_RECONNECT_LIMIT,
    TASK_HELP,
    AllowEnvOption,
    AllowPrivateNetworkOption,
    AllowTableOption,
    ChainMaxCallsOption,
    ChainMaxCostOption,
    ChainMaxDepthOption,
    ChainMaxTasksOption,
    ChainMaxTokensOption,
    ContextOption,
    CreatingDatabaseUrlOption,
    EnvironmentOption,
    HandlersOption,
    IsolationMode,
    IsolationOption,
    NewOption,
    ParentCorrelationOption,
    PersistRoleOption,
    PlannerOption,
    ReconnectLimitOption,
    RecordPlannerOption,
    TaskJsonOption,
    chain_options,
    trust_policy,
)
from tasker_ctl.cli.report_stdout import stdout_for_report
from tasker_ctl.cli.stopping import EXIT_INTERRUPTED, GracefulStop
from tasker_ctl.errors import ExitCode

if TYPE_CHECKING:
    from tasker_ctl.report.run_view import RunView
    from tasker_ctl.trust import TrustPolicy

_EPILOG = (
    "Exit codes: 0 the task completed; 1 it failed, is blocked, waits for approval or "
    "--timeout passed, or the template has errors (TEMPLATE_INVALID); 2 bad usage, context or "
    "handlers, or no database; 130 interrupted (resumable)."
)


def register(app: typer.Typer) -> None:
    @app.command(epilog=_EPILOG)
    def run(
        template: Annotated[
            str, typer.Argument(metavar="TEMPLATE", help="The TaskTemplate YAML file to run.")
        ],
        context: ContextOption = None,
        handlers: HandlersOption = None,
        workers: Annotated[
            int,
            typer.Option(
                "--workers", "-w", min=1, metavar="N", help="Worker threads running steps."
            ),
        ] = 4,
        processes: Annotated[
            int,
            typer.Option(
                "--processes",
                "-p",
                min=1,
                metavar="P",
                help="Worker processes, each running --workers threads: for steps that "
                "threads of one interpreter cannot keep up with (many quick steps, CPU-bound "
                "handlers). Not with planning steps.",
            ),
        ] = 1,
        isolation: IsolationOption = IsolationMode.THREAD,
        environment: EnvironmentOption = None,
        database_url: CreatingDatabaseUrlOption = None,
        reconnect_limit: ReconnectLimitOption = DEFAULT_RECONNECT_LIMIT,
        new: NewOption = False,
        parent_correlation_id: ParentCorrelationOption = None,
        chain_max_depth: ChainMaxDepthOption = None,
        chain_max_tasks: ChainMaxTasksOption = None,
        chain_max_cost: ChainMaxCostOption = None,
        chain_max_tokens: ChainMaxTokensOption = None,
        chain_max_llm_calls: ChainMaxCallsOption = None,
        json_output: TaskJsonOption = False,
        timeout: Annotated[
            float | None,
            typer.Option(
                "--timeout",
                min=0,
                metavar="SECONDS",
                help="Stop waiting after SECONDS (the task stays resumable; exit code 1).",
                show_default=False,
            ),
        ] = None,
        resume: Annotated[
            str | None,
            typer.Option(
                "--resume",
                metavar="TASK",
                help="Resume this task of TEMPLATE (for example one started with --new) "
                f"instead of creating or finding one. {TASK_HELP}",
                show_default=False,
            ),
        ] = None,
        allow_table: AllowTableOption = None,
        persist_role: PersistRoleOption = None,
        allow_env: AllowEnvOption = None,
        allow_private_network: AllowPrivateNetworkOption = False,
        planner: PlannerOption = None,
        record: RecordPlannerOption = None,
    ) -> None:
        """Run TEMPLATE's task to the end on the local orchestrator, showing its steps.

        An identical task (same template and context) is resumed, not created again (--new).

        Ctrl-C stops once the running steps finish; the same command then resumes the task.
        """
        if new and resume is not None:
            raise typer.BadParameter("--new and --resume exclude each other", param_hint="'--new'")
        check_template_path(template)
        payload = parse_context(context)
        specs = check_handler_paths(handlers or [])
        trust = trust_policy(
            allow_table=allow_table,
            persist_role=persist_role,
            allow_env=allow_env,
            allow_private_network=allow_private_network,
        )
        # with --json, standard output holds the report alone: handlers print to stderr
        with stdout_for_report(json_output) as report_stream:
            code = _run(
                template,
                payload,
                specs,
                workers=workers,
                processes=processes,
                environment=environment,
                database_url=database_url,
                new=new,
                parent_correlation_id=parent_correlation_id,
                json_output=json_output,
                timeout=timeout,
                resume=None if resume is None else _resolve_task(resume, database_url),
                reconnect_limit=reconnect_limit,
                trust=trust,
                isolation=isolation.mode,
                report_stream=report_stream,
                planner=planner,
                record_planner=record,
                chain_limits=chain_options(
                    chain_max_depth,
                    chain_max_tasks,
                    chain_max_cost,
                    chain_max_tokens,
                    chain_max_llm_calls,
                ),
            )
        raise typer.Exit(code)


def _run(
    template: str,
    context: dict[str, Any],
    handlers: list[str],
    *,
    workers: int,
    environment: str | None,
    processes: int = 1,
    database_url: str | None,
    new: bool,
    parent_correlation_id: uuid.UUID | None,
    json_output: bool,
    timeout: float | None,
    resume: uuid.UUID | None,
    reconnect_limit: float = DEFAULT_RECONNECT_LIMIT,
    trust: TrustPolicy | None = None,
    isolation: Literal["thread", "process"] = "thread",
    report_stream: TextIO | None = None,
    planner: str | None = None,
    record_planner: Path | None = None,
    chain_limits: dict[str, int | float | None] | None = None,
) -> int:
    from tasker_ctl.engine import run_template

    # with --json no live view: the task is only watched for its rest, and rich is not loaded
    view: RunView | None = None
    if not json_output:
        from tasker_ctl.report.run_view import RunView, make_console

        view = RunView(make_console())
    seen: list[uuid.UUID] = []

    def warn(message: str) -> None:
        if view is not None:
            view.console.print(message, style="yellow", markup=False, highlight=False)
        else:
            typer.echo(message, err=True)

    def first_signal() -> None:
        warn("stopping: waiting for running steps to finish (press Ctrl-C again to quit now)")

    stopper = GracefulStop(first_signal)
    with stopper, view or nullcontext():
        try:
            report = run_template(
                template,
                context=context,
                handlers=handlers,
                workers=workers,
                processes=processes,
                database_url=database_url,
                environment=environment,
                new_task=new,
                parent_correlation_id=parent_correlation_id,
                on_update=view.update if view is not None else None,
                on_task=seen.append,
                stop=stopper.stop,
                timeout=timeout,
                check_handlers=True,
                resume_task=resume,
                reconnect_limit=reconnect_limit,
                trust=trust,
                isolation=isolation,
                planner=planner,
                record_planner=record_planner,
                chain_limits=chain_limits,
            )
        except KeyboardInterrupt:
            warn(
                "quit: steps that were running are retried once their lease expires; "
                f"resume with: {resume_command(seen[0] if seen else None)}"
            )
            return EXIT_INTERRUPTED
    interrupted = stopper.signalled is not None and not report.resting
    timed_out = stopper.signalled is None and not report.resting
    again = resume_command(report.task_uuid)
    if json_output:
        from tasker_ctl.report.run_json import render_json

        out = report_stream or sys.stdout
        out.write(render_json(report))
        out.flush()
        from tasker_ctl.report.run_outcome import outcome_lines

        # with --json, standard error still says why the exit code is not 0
        for line in outcome_lines(
            report, interrupted=interrupted, timed_out=timed_out, resume=again
        ):
            typer.echo(line, err=True)
    elif view is not None:
        from tasker_ctl.report.run_view import render_summary

        render_summary(
            report,
            view.console,
            elapsed=view.elapsed,
            interrupted=interrupted,
            timed_out=timed_out,
            resume_command=again,
        )
    if report.succeeded:
        return int(ExitCode.OK)
    return EXIT_INTERRUPTED if interrupted else 1


def _resolve_task(reference: str, database_url: str | None) -> uuid.UUID:
    """The task --resume names, found as every command finds a task."""
    from tasker_ctl.engine.store import open_store
    from tasker_ctl.engine.views import resolve_task

    with open_store(database_url) as store:
        return resolve_task(store, reference)


def resume_command(task_uuid: uuid.UUID | None) -> str:
    """The command line that resumes this run: the same one, with --resume for a --new task."""
    args = sys.argv[1:]
    if "--new" in args:
        index = args.index("--new")
        args = (
            args[:index] + (["--resume", str(task_uuid)] if task_uuid else []) + args[index + 1 :]
        )
    return shlex.join(["tasker-ctl", *args])
