"""The ``tasker-ctl`` command: its entry point and the table of its top-level commands.

The app itself (Typer, every command's parameters) is in ``tasker_ctl.cli.app``; this module
stays light, so that a command handed to a preloader (``tasker_ctl.preload``) never loads it.
"""

from __future__ import annotations

import gc
import sys

from tasker_ctl.lazy_exports import lazy_exports
from tasker_ctl.preload import PRELOADED_COMMANDS

# no typing at run time: handing a command over imports only what it needs (preload/place.py)
TYPE_CHECKING = False
if TYPE_CHECKING:
    from tasker_ctl.cli.app import build_app, build_command, report_error

__all__ = [
    "TOP_LEVEL_COMMANDS",
    "build_app",
    "build_command",
    "command_named",
    "main",
    "report_error",
]

# The top-level commands, in the order they are registered, and the CLI module that
# adds each. A command line that names one builds that one alone: building every command's
# parameters took a tenth of a second of each invocation, more than a one-step `run` spends
# running its step.
TOP_LEVEL_COMMANDS: dict[str, str] = {
    "validate": "validate",
    "generate": "generate",
    "template": "template_commands",
    "schema": "schema",
    "run": "run",
    "worker": "worker",
    "task": "task",
    "db": "db",
    "config": "config",
    "dlq": "dlq",
    "inspect": "inspect",
    "report": "report",
    "stats": "stats",
    "events": "events",
    "grammar": "grammar",
    "composition": "composition",
    "fragment": "fragment",
    "planner": "planner",
    "mcp": "mcp",
    "preload": "preload",
}


def command_named(arguments: list[str]) -> str | None:
    """The top-level command a command line names, if its first word is one: anything else
    (no words, the root's options, a mistyped name, shell completion, which passes its words
    in the environment) needs the whole tree."""
    if not arguments or arguments[0] not in TOP_LEVEL_COMMANDS:
        return None
    return arguments[0]


def main() -> None:
    """Console-script entry point: a command of ``PRELOADED_COMMANDS`` goes to this
    environment's preloader when one takes it (``tasker_ctl.preload``), else it runs here."""
    # A command's start-up makes tens of thousands of objects that live until it exits (the
    # modules, Pydantic's validators); with the default thresholds the collector went through
    # them again and again as they aged. Collecting young objects every 10,000 allocations
    # rather than 700 leaves it a few passes (a one-step run: 0.06 s less), and a long-running
    # command still collects its garbage.
    gc.set_threshold(10_000, 10, 10)
    arguments = sys.argv[1:]
    preloaded = command_named(arguments) in PRELOADED_COMMANDS
    if preloaded:
        from tasker_ctl.preload.client import hand_over

        handover = hand_over(sys.argv)
        if handover.code is not None:
            raise SystemExit(handover.code)
    from tasker_ctl.cli.app import preload_settings_or_exit, run_command

    # run here: a preloading setting that cannot be used stops the command, as in a preloader
    settings = preload_settings_or_exit() if preloaded else None
    try:
        # standalone mode lets Typer report usage errors itself (exit code 2)
        run_command(arguments)
    finally:
        if settings is not None and handover.start is not None:
            from tasker_ctl.preload.client import start_preloader

            start_preloader(handover, settings.idle_seconds)
        # what is left is freed as the interpreter ends; frozen, its last collection skips it
        gc.freeze()


__getattr__ = lazy_exports(
    __name__, {"build_app": "app", "build_command": "app", "report_error": "app"}
)
