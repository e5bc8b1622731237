"""``tasker-ctl run``: register a template, create its task and run it to the end, with a view.

Options shared with ``worker`` and ``task`` (context, handlers, signals) live here too. The
engine, the renderers and rich are imported inside the command so that ``tasker-ctl
--version`` does not pay for them.
"""

from __future__ import annotations

import shlex
import signal
import sys
import threading
import uuid
from collections.abc import Callable, Iterable
from contextlib import nullcontext
from enum import StrEnum
from pathlib import Path
from types import FrameType, TracebackType
from typing import TYPE_CHECKING, Annotated, Any, Literal, TextIO

import typer

from tasker_ctl.cli.db import DatabaseUrlOption
from tasker_ctl.cli.report_stdout import stdout_for_report
from tasker_ctl.cli.trust_options import (
    AllowEnvOption,
    AllowPrivateNetworkOption,
    AllowTableOption,
    PersistRoleOption,
    trust_policy,
)
from tasker_ctl.errors import ExitCode, PathNotFoundError, UsageError

if TYPE_CHECKING:
    from tasker_ctl.engine.views import TaskReport
    from tasker_ctl.trust import TrustPolicy

EXIT_INTERRUPTED = 130


class ContextJsonError(UsageError):
    """``--context`` is not JSON, or not a JSON object."""

    code = "INVALID_CONTEXT_JSON"


ContextOption = Annotated[
    str | None,
    typer.Option(
        "--context",
        "-c",
        metavar="JSON|@FILE",
        help="The task's context: a JSON object, @FILE to read it from a file, or @- for "
        "standard input. Checked against the template's input_schema. Default: {}.",
        show_default=False,
    ),
]
HandlersOption = Annotated[
    list[str] | None,
    typer.Option(
        "--handlers",
        metavar="PATH_OR_MODULE",
        help="Where the step handlers live: a .py file, a directory (imported recursively) or "
        "an importable module. Repeat for several.",
        show_default=False,
    ),
]
EnvironmentOption = Annotated[
    str | None,
    typer.Option(
        "--environment",
        "-e",
        metavar="NAME",
        help="Apply the template's 'environments.NAME' overrides.",
        show_default=False,
    ),
]
ParentCorrelationOption = Annotated[
    uuid.UUID | None,
    typer.Option(
        "--parent-correlation-id",
        metavar="UUID",
        help="The correlation id of the task (or session) this task is created for; "
        "'inspect task --lineage' follows it.",
        show_default=False,
    ),
]
NewOption = Annotated[
    bool,
    typer.Option(
        "--new",
        help="Create a new task even when one with the same template and context exists "
        "(by default that one is resumed).",
    ),
]
JsonOption = Annotated[
    bool,
    typer.Option("--json", help="Print the task as one JSON object (docs/cli/run.md)."),
]
# engine.reconnect.DEFAULT_RECONNECT_LIMIT: the engine is imported only inside commands
DEFAULT_RECONNECT_LIMIT = 300.0
ReconnectLimitOption = Annotated[
    float,
    typer.Option(
        "--reconnect-limit",
        min=0,
        metavar="SECONDS",
        envvar="TASKER_RECONNECT_LIMIT",
        help="How long the database may stay away (a restart) before giving up with "
        "DATABASE_UNAVAILABLE (exit 2); meanwhile workers reconnect with backoff and carry on "
        "(docs/engine.md). 0 gives up at once.",
    ),
]


class IsolationMode(StrEnum):
    THREAD = "thread"
    PROCESS = "process"

    @property
    def mode(self) -> Literal["thread", "process"]:
        return "process" if self is IsolationMode.PROCESS else "thread"


IsolationOption = Annotated[
    IsolationMode,
    typer.Option(
        "--isolation",
        case_sensitive=False,
        help="Where handlers run: 'thread' in the worker (fast; a crash kills the worker), "
        "'process' in a process of their own per worker thread (a crash or a timeout fails "
        "only the attempt; CPU-bound handlers run in parallel). Steps with 'isolation: "
        "process' always get a process. See docs/engine.md, handler isolation.",
    ),
]

_EPILOG = (
    "Exit codes: 0 the task completed; 1 it failed, is blocked, waits for approval or "
    "--timeout passed; 2 bad "
    "usage, template, context or handlers, or no database; 130 interrupted (resumable)."
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
        isolation: IsolationOption = IsolationMode.THREAD,
        environment: EnvironmentOption = None,
        database_url: DatabaseUrlOption = None,
        reconnect_limit: ReconnectLimitOption = DEFAULT_RECONNECT_LIMIT,
        new: NewOption = False,
        parent_correlation_id: ParentCorrelationOption = None,
        json_output: JsonOption = False,
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
            uuid.UUID | None,
            typer.Option(
                "--resume",
                metavar="TASK_UUID",
                help="Resume this task of TEMPLATE (for example one started with --new) "
                "instead of creating or finding one.",
                show_default=False,
            ),
        ] = None,
        allow_table: AllowTableOption = None,
        persist_role: PersistRoleOption = None,
        allow_env: AllowEnvOption = None,
        allow_private_network: AllowPrivateNetworkOption = False,
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
                environment=environment,
                database_url=database_url,
                new=new,
                parent_correlation_id=parent_correlation_id,
                json_output=json_output,
                timeout=timeout,
                resume=resume,
                reconnect_limit=reconnect_limit,
                trust=trust,
                isolation=isolation.mode,
                report_stream=report_stream,
            )
        raise typer.Exit(code)


def _run(
    template: str,
    context: dict[str, Any],
    handlers: list[str],
    *,
    workers: int,
    environment: str | None,
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
) -> int:
    from tasker_ctl.engine import run_template
    from tasker_ctl.errors import TemplateLoadError
    from tasker_ctl.report.run_view import RunView, make_console, render_summary

    console = make_console(sys.stderr if json_output else None)
    view = None if json_output else RunView(console)
    seen: list[uuid.UUID] = []

    def update(report: TaskReport) -> None:
        if not seen:
            seen.append(report.task_uuid)
        if view is not None:
            view.update(report)

    def first_signal() -> None:
        message = "stopping: waiting for running steps to finish (press Ctrl-C again to quit now)"
        console.print(message, style="yellow", markup=False, highlight=False)

    stopper = GracefulStop(first_signal)
    with stopper, view or nullcontext():
        try:
            report = run_template(
                template,
                context=context,
                handlers=handlers,
                workers=workers,
                database_url=database_url,
                environment=environment,
                new_task=new,
                parent_correlation_id=parent_correlation_id,
                on_update=update,
                stop=stopper.stop,
                timeout=timeout,
                check_handlers=True,
                resume_task=resume,
                reconnect_limit=reconnect_limit,
                trust=trust,
                isolation=isolation,
            )
        except TemplateLoadError as error:
            from tasker_ctl.cli.findings import print_failing_findings

            print_failing_findings(getattr(error, "report", None))
            # for `run`, exit code 1 means "the task failed"; a broken template is bad usage
            error.exit_code = ExitCode.USAGE
            raise
        except KeyboardInterrupt:
            console.print(
                "quit: steps that were running are retried once their lease expires; "
                f"resume with: {resume_command(seen[0] if seen else None)}",
                style="yellow",
                markup=False,
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
        _brief_outcome(report, interrupted, timed_out, again)
    else:
        elapsed = view.elapsed if view is not None else None
        render_summary(
            report,
            console,
            elapsed=elapsed,
            interrupted=interrupted,
            timed_out=timed_out,
            resume_command=again,
        )
    if report.succeeded:
        return int(ExitCode.OK)
    return EXIT_INTERRUPTED if interrupted else 1


def _brief_outcome(report: TaskReport, interrupted: bool, timed_out: bool, resume: str) -> None:
    """With --json, standard error still says why the exit code is not 0."""
    for step in report.failed_steps:
        error = step.error if isinstance(step.error, dict) else {}
        typer.echo(f"error in step '{step.name}': {error.get('message') or 'failed'}", err=True)
    for step in report.steps:
        if step.awaiting_approval is not None:
            typer.echo(f"step '{step.name}' waits for approval: {step.awaiting_approval}", err=True)
    if interrupted or timed_out:
        why = "interrupted" if interrupted else "timed out"
        typer.echo(f"{why}: the task is resumable; resume with: {resume}", err=True)


def resume_command(task_uuid: uuid.UUID | None) -> str:
    """The command line that resumes this run: the same one, with --resume for a --new task."""
    args = sys.argv[1:]
    if "--new" in args:
        index = args.index("--new")
        args = (
            args[:index] + (["--resume", str(task_uuid)] if task_uuid else []) + args[index + 1 :]
        )
    return shlex.join(["tasker-ctl", *args])


def parse_context(value: str | None) -> dict[str, Any]:
    """``--context``: inline JSON, ``@FILE`` or ``@-`` (stdin); must be a JSON object."""
    if value is None:
        return {}
    from tasker_ctl.cli.json_options import read_json_option

    data, source = read_json_option(value, "--context", ContextJsonError)
    if not isinstance(data, dict):
        raise ContextJsonError(
            f"{source} must be a JSON object, not {type(data).__name__}",
            hint='wrap the values in an object: {"key": ...}',
        )
    return data


def check_template_path(template: str) -> None:
    path = Path(template)
    if not path.exists():
        raise PathNotFoundError(
            f"'{template}' does not exist", hint="name a TaskTemplate YAML file"
        )
    if path.is_dir():
        raise UsageError(
            f"'{template}' is a directory; name one TaskTemplate YAML file",
            hint="'tasker-ctl validate DIR' lists the templates in a directory",
        )


def check_handler_paths(specs: Iterable[str]) -> list[str]:
    """Catch misspelt paths early; module names are checked when they are imported."""
    checked = list(specs)
    for spec in checked:
        looks_like_path = "/" in spec or "\\" in spec or spec.endswith(".py")
        if looks_like_path and not Path(spec).exists():
            raise PathNotFoundError(
                f"handlers path '{spec}' does not exist",
                hint="--handlers takes a .py file, a directory or an importable module name",
            )
    return checked


class GracefulStop:
    """SIGINT/SIGTERM: the first sets ``stop`` (running steps finish), a second quits at once.

    Only the main thread may install signal handlers; elsewhere (tests calling the command
    in a thread) this does nothing and the default behaviour stays.
    """

    def __init__(self, on_first: Callable[[], None] | None = None) -> None:
        self.stop = threading.Event()
        self.signalled: int | None = None
        self._on_first = on_first
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> GracefulStop:
        if threading.current_thread() is threading.main_thread():
            for number in (signal.SIGINT, signal.SIGTERM):
                self._previous[number] = signal.signal(number, self._handle)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        for number, previous in self._previous.items():
            signal.signal(number, previous)
        self._previous.clear()

    def _handle(self, number: int, frame: FrameType | None) -> None:
        if self.signalled is not None:
            raise KeyboardInterrupt
        self.signalled = number
        self.stop.set()
        if self._on_first is not None:
            self._on_first()
