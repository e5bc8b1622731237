"""The ``tasker-ctl`` command: a thin Typer layer over the library.

Commands parse options, call one library function and hand the result to a renderer. Every
``TaskerError`` is turned into a coded message on stderr and its exit code; no traceback
reaches the user unless ``TASKER_DEBUG=1`` is set.
"""

from __future__ import annotations

import os
import sys
from typing import Annotated

import typer

from tasker_ctl import __version__
from tasker_ctl.errors import ExitCode, TaskerError

app = typer.Typer(
    name="tasker-ctl",
    help="Validate, generate and run Tasker-style workflow templates.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    rich_markup_mode="rich",
)


def _show_version(value: bool) -> None:
    if value:
        typer.echo(f"tasker-ctl {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_show_version, is_eager=True, help="Show the version and exit."
        ),
    ] = False,
) -> None:
    """Validate, generate and run Tasker-style workflow templates."""


def _register_commands() -> None:
    from tasker_ctl.cli import (
        composition,
        db,
        dlq,
        events,
        generate,
        grammar,
        inspect,
        report,
        run,
        stats,
        task,
        template_commands,
        validate,
        worker,
    )

    validate.register(app)
    generate.register(app)
    template_commands.register(app)
    run.register(app)
    worker.register(app)
    task.register(app)
    db.register(app)
    dlq.register(app)
    inspect.register(app)
    report.register(app)
    stats.register(app)
    events.register(app)
    grammar.register(app)
    composition.register(app)


def report_error(error: TaskerError) -> None:
    """Print a coded error to stderr (shared by every command)."""
    message = f"error[{error.code}]: {error.message}"
    if error.hint:
        message += f"\n  hint: {error.hint}"
    typer.echo(message, err=True)


def main() -> None:
    """Console-script entry point."""
    _register_commands()
    try:
        # standalone mode lets Typer report usage errors itself (exit code 2)
        app(prog_name="tasker-ctl")
    except TaskerError as error:
        report_error(error)
        sys.exit(int(error.exit_code))
    except Exception as error:
        if os.environ.get("TASKER_DEBUG"):
            raise
        typer.echo(f"error[INTERNAL_ERROR]: {error.__class__.__name__}: {error}", err=True)
        typer.echo("  hint: rerun with TASKER_DEBUG=1 for a traceback and report the bug", err=True)
        sys.exit(int(ExitCode.INTERNAL))
