"""The command-line reference, docs/cli/reference.md, generated from the app itself.

Every command, argument and option, its exit codes and examples, read from the click tree that
``tasker_ctl.cli.build_command`` builds (help as ``-h`` shows it, not as a terminal wraps it),
so the page cannot say what the app does not do. Regenerate it with::

    python -m tasker_ctl.cli.reference > docs/cli/reference.md

``tests/unit/test_cli_reference.py`` fails, saying so, when the page is stale.
"""

from __future__ import annotations

import enum
from typing import TYPE_CHECKING, Any

from typer.core import TyperArgument, TyperOption

from tasker_ctl.cli import build_command
from tasker_ctl.cli.examples import EXAMPLES
from tasker_ctl.cli.help_text import (
    EXAMPLES_HEADING,
    EXIT_CODES_PREFIX,
    command_path,
    unescape_markup,
    walk,
)

if TYPE_CHECKING:
    from typer._click.core import Command

__all__ = ["REGENERATE", "render_reference"]

# Typer words these after the shell it detects (or fails to): the introduction describes them
_COMPLETION_OPTIONS = {"install_completion", "show_completion"}

REGENERATE = "python -m tasker_ctl.cli.reference > docs/cli/reference.md"

_INTRODUCTION = f"""\
# Command-line reference

Every `tasker-ctl` command with its arguments, options, exit codes and examples. This page
is generated from the app, so do not edit it by hand: change the command's help instead, then
regenerate it with `{REGENERATE}` (a test fails when it is stale).

Every command takes `-h` or `--help`. Exit codes follow one rule everywhere (see
[index.md](../index.md#exit-codes)): 0 success, 1 findings or a failed task, 2 a usage or
environment error, 3 an internal error, 130 interrupted. Times are read and shown in UTC.
Shell completion (bash, zsh, fish, PowerShell): `tasker-ctl` with `--install-completion`
installs it for the current shell, with `--show-completion` prints the script to install by
hand.
"""


def render_reference() -> str:
    """The whole page, as Markdown."""
    commands = [(path, command) for path, command in walk(build_command()) if not command.hidden]
    lines = [_INTRODUCTION, "## Commands", ""]
    for path, command in commands:
        indent = "  " * max(len(path) - 1, 0)
        summary = _first_sentence(command)
        lines.append(f"{indent}- [`{_title(path)}`](#{_anchor(path)}){summary}")
    lines.append("")
    for path, command in commands:
        lines += _command_section(path, command)
    return "\n".join(lines).rstrip() + "\n"


def _title(path: tuple[str, ...]) -> str:
    return " ".join(["tasker-ctl", *path])


def _anchor(path: tuple[str, ...]) -> str:
    return "-".join(["tasker-ctl", *path]).replace(" ", "-")


def _first_sentence(command: Command) -> str:
    help_text = unescape_markup(command.help or "").split("\n\n", 1)[0]
    return f": {help_text}" if help_text else ""


def _command_section(path: tuple[str, ...], command: Command) -> list[str]:
    from typer._click.core import Context

    context = Context(command, info_name=_title(path))
    usage = " ".join([_title(path), *command.collect_usage_pieces(context)])
    lines = [f"## {_title(path)}", "", f"`{usage}`", ""]
    if command.help:
        lines += [unescape_markup(command.help), ""]
    arguments = [p for p in command.params if isinstance(p, TyperArgument) and not p.hidden]
    options = [
        p
        for p in command.params
        if isinstance(p, TyperOption) and not p.hidden and p.name not in _COMPLETION_OPTIONS
    ]
    if arguments:
        lines += ["| Argument | Description |", "|---|---|"]
        for argument in arguments:
            name = argument.display_name_raw + ("..." if argument.nargs != 1 else "")
            described = _cell(argument.help) + (" (required)" if argument.required else "")
            lines.append(f"| `{name}` | {described} |")
        lines.append("")
    if options:
        lines += ["| Option | Value | Default | Description |", "|---|---|---|---|"]
        lines += [_option_row(option) for option in options]
        lines.append("")
    lines += _epilog(command)
    examples = EXAMPLES.get(command_path(path), ())
    if examples:
        lines += ["Examples:", "", "```sh"]
        for example in examples:
            lines += [f"# {example.does}", example.command]
        lines += ["```", ""]
    return lines


def _option_row(option: TyperOption) -> str:
    names = ", ".join(f"`{name}`" for name in [*option.opts, *option.secondary_opts])
    value = f"`{_cell(option.metavar)}`" if option.metavar else ""
    value += _range(option)
    described = _cell(option.help)
    if option.required:
        described += " (required)"
    if option.envvar:
        described += f" Environment variable: `{option.envvar}`."
    return f"| {names} | {value} | {_default(option)} | {described} |"


def _range(option: TyperOption) -> str:
    low, high = option.min, option.max
    if low is not None and high is not None:
        return f" ({low} to {high})"
    if low is not None:
        return f" (at least {low})"
    return f" (at most {high})" if high is not None else ""


def _default(option: TyperOption) -> str:
    if isinstance(option.show_default, str):
        return _cell(option.show_default)
    value: Any = option.default
    if option.show_default is False or option.is_flag or callable(value):
        return ""
    if value is None or value == () or value == []:
        return ""
    if isinstance(value, enum.Enum):
        value = value.value
    return f"`{_cell(str(value))}`"


def _epilog(command: Command) -> list[str]:
    """The epilog's paragraphs but the examples (listed from their source) and a group's
    pointer to its commands' help; the exit codes first."""
    paragraphs = [
        unescape_markup(paragraph)
        for paragraph in (command.epilog or "").split("\n\n")
        if paragraph and not paragraph.startswith((EXAMPLES_HEADING, "Run '"))
    ]
    paragraphs.sort(key=lambda paragraph: not paragraph.startswith(EXIT_CODES_PREFIX))
    lines: list[str] = []
    for paragraph in paragraphs:
        lines += [paragraph, ""]
    return lines


def _cell(text: str | None) -> str:
    """Text inside a Markdown table cell: one line, pipes escaped."""
    return " ".join(unescape_markup(text or "").split()).replace("|", "\\|")


if __name__ == "__main__":
    print(render_reference(), end="")
