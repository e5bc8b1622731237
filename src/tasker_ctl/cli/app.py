"""The ``tasker-ctl`` app: a thin Typer layer over the library.

Commands parse options, call one library function and hand the result to a renderer. Every
``TaskerError`` is turned into a coded message on stderr and its exit code; no traceback
reaches the user unless ``TASKER_DEBUG=1`` is set, which prints the traceback of a coded
error (and of what caused it) before its message, and lets an unexpected one through.
"""

from __future__ import annotations

import errno
import importlib
import os
from typing import TYPE_CHECKING, Annotated, Any

import typer
from typer.core import TyperGroup

from tasker_ctl import __version__
from tasker_ctl.cli import TOP_LEVEL_COMMANDS
from tasker_ctl.errors import ExitCode, TaskerError

if TYPE_CHECKING:
    from typer._click.core import Command, Context

    from tasker_ctl.preload.settings import PreloadSettings

__all__ = ["build_app", "build_command", "preload_settings_or_exit", "report_error", "run_command"]


class _CodedErrors(TyperGroup):
    """The root group: a ``TaskerError`` out of any command becomes its coded message on
    stderr and its exit code, anything else unexpected ``INTERNAL_ERROR`` (exit 3). Done
    here, inside the command, so that the app behaves the same from the console script and
    from a test's ``CliRunner``."""

    def main(self, *args: Any, **kwargs: Any) -> Any:
        from tasker_ctl.cli.help_text import polish

        # the whole tree is built by now, with the completion options Typer adds to the root
        polish(self)
        return super().main(*args, **kwargs)

    def invoke(self, ctx: Context) -> Any:
        try:
            return super().invoke(ctx)
        except (typer.TyperException, typer.Exit, typer.Abort, EOFError):
            raise  # Typer's own: usage errors, typer.Exit, Ctrl-C and end of input
        except TaskerError as error:
            _show_refused_template(error)
            report_error(error)
            ctx.exit(int(error.exit_code))
        except OSError as error:
            if error.errno == errno.EPIPE:
                raise  # the reader went away: click exits 1 quietly
            _report_internal(error)
            ctx.exit(int(ExitCode.INTERNAL))
        except Exception as error:
            _report_internal(error)
            ctx.exit(int(ExitCode.INTERNAL))


def _show_refused_template(error: TaskerError) -> None:
    """A template refused for its errors (``TEMPLATE_INVALID``, which carries the report):
    its errors first, as ``tasker-ctl validate --quiet`` prints them, in every command."""
    from tasker_ctl.errors import TemplateLoadError

    report = getattr(error, "report", None)
    if isinstance(error, TemplateLoadError) and report is not None:
        from tasker_ctl.cli.findings import print_failing_findings

        print_failing_findings(report)


def _report_internal(error: Exception) -> None:
    if os.environ.get("TASKER_DEBUG"):
        raise error
    typer.echo(f"error[INTERNAL_ERROR]: {error.__class__.__name__}: {error}", err=True)
    typer.echo("  hint: rerun with TASKER_DEBUG=1 for a traceback and report the bug", err=True)


def _show_version(value: bool) -> None:
    if value:
        typer.echo(f"tasker-ctl {__version__}")
        raise typer.Exit()


def root(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_show_version, is_eager=True, help="Show the version and exit."
        ),
    ] = False,
) -> None:
    """Validate, generate and run Tasker-style workflow templates."""


def build_app(only: str | None = None) -> typer.Typer:
    """A new ``tasker-ctl`` app (each call a fresh one, so that tests can drive it in-process
    with ``typer.testing.CliRunner``): every command registered, or with ``only`` (a key of
    ``TOP_LEVEL_COMMANDS``) that one alone, which parses and runs exactly as in the whole app.

    Its commands' help is finished when the app runs (``cli.help_text.polish``):
    ``build_command`` gives the finished tree without running it."""
    from tasker_ctl.cli.help_text import HELP_OPTION_NAMES

    app = typer.Typer(
        name="tasker-ctl",
        help="Validate, generate and run Tasker-style workflow templates.",
        cls=_CodedErrors,
        no_args_is_help=True,
        pretty_exceptions_enable=False,
        add_completion=True,
        rich_markup_mode="rich",
        context_settings={"help_option_names": HELP_OPTION_NAMES},
    )
    app.callback()(root)
    for name in TOP_LEVEL_COMMANDS if only is None else [only]:
        _register(app, name)
    return app


def _register(app: typer.Typer, name: str) -> None:
    module = importlib.import_module(f"tasker_ctl.cli.{TOP_LEVEL_COMMANDS[name]}")
    if name != "task":
        module.register(app)
        return
    from tasker_ctl.cli import task_audit, task_explain, task_gates

    # the task group gathers the commands of four modules, in the order its help lists them
    task_app = module.group(app)
    task_gates.register(task_app)
    module.register(task_app)
    task_audit.register(task_app)
    task_explain.register(task_app)


def build_command() -> Command:
    """The app's click command tree, its help finished as when it runs (for the CLI reference
    and the tests that walk every command)."""
    import typer.main

    from tasker_ctl.cli.help_text import polish

    command = typer.main.get_command(build_app())
    polish(command)
    return command


def report_error(error: TaskerError) -> None:
    """Print a coded error to stderr (shared by every command); with ``TASKER_DEBUG`` set, its
    traceback first, with whatever caused it (a handler module's failed import, say)."""
    if os.environ.get("TASKER_DEBUG"):
        import traceback

        # a header of its own, so that a reader (or a crash detector) tells the trace of a
        # coded error apart from an exception nothing handled
        typer.echo(f"debug: where error[{error.code}] was raised (TASKER_DEBUG=1):", err=True)
        typer.echo("".join(traceback.format_exception(error)).rstrip(), err=True)
    message = f"error[{error.code}]: {error.message}"
    if error.hint:
        message += f"\n  hint: {error.hint}"
    typer.echo(message, err=True)


def preload_settings_or_exit() -> PreloadSettings:
    """Preloading's settings (``TASKER_PRELOAD``, ``TASKER_PRELOAD_IDLE``), or the coded error
    of one that cannot be used and its exit code: checked before a preloaded command runs,
    here or in a preloader's child."""
    from tasker_ctl.preload.settings import preload_settings

    try:
        return preload_settings(os.environ)
    except TaskerError as error:
        report_error(error)
        raise SystemExit(int(error.exit_code)) from None


def run_command(arguments: list[str]) -> None:
    """Run the command line ``arguments`` (without the program's name) as the console script
    does, building only the command its first word names; standalone, as Typer runs: usage
    errors are reported and every outcome ends in ``SystemExit``."""
    from tasker_ctl.cli import command_named

    build_app(command_named(arguments))(args=arguments, prog_name="tasker-ctl")
