"""How every command's help reads, set once for the whole app (``polish``).

Commands are written as plain Typer functions in their own modules; what their help shares is
done here, on the built click tree, so that no command module has to remember it:

* ``-h`` as well as ``--help`` (``HELP_OPTION_NAMES``, inherited from the root's context);
* text shown as written: Typer reads help as Rich markup, where ``[tool.tasker]`` is a style
  and vanishes; brackets that look like markup are escaped;
* paragraphs reflowed: docstrings are hard-wrapped at 100 columns in the source, and Typer
  joins the lines of a command's first paragraph only, so the others kept the source's line
  breaks, mid-sentence, at every terminal width;
* no type labels that say nothing: a flag shows no ``<bool>``, an argument no ``<str>`` beside
  its name, a choice its choices without angle brackets, a value without a metavar its
  option's name; the usage line shows ``PATH...``, not ``{PATH}...``;
* after the options, the exit codes of a command that does not state its own, where a group's
  commands tell more, and examples (``cli.examples``).
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Iterator
from typing import TYPE_CHECKING

from typer.core import TyperArgument, TyperGroup, TyperOption

if TYPE_CHECKING:
    from typer._click.core import Command, Context

__all__ = [
    "EXAMPLES_HEADING",
    "EXIT_CODES_PREFIX",
    "HELP_OPTION_NAMES",
    "PlainArgument",
    "command_path",
    "escape_markup",
    "polish",
    "reflow",
    "unescape_markup",
    "walk",
]

HELP_OPTION_NAMES = ["-h", "--help"]
EXAMPLES_HEADING = "Examples:"
EXIT_CODES_PREFIX = "Exit codes:"
_POLISHED = "_tasker_polished"
# metavars that name a type, not what the value is: the option's name says more
_TYPE_NAMES = frozenset({"TEXT", "STR", "STRING", "BOOL", "BOOLEAN", "INT", "INTEGER", "FLOAT"})
# what Rich reads as a markup tag (rich.markup.escape's pattern; rich is not imported for it)
_MARKUP_TAG = re.compile(r"(\\*)(\[[a-z#/@][^[]*?])")
_ESCAPED_TAG = re.compile(r"\\(\[[a-z#/@])")
# a paragraph whose lines start like this is laid out by hand (a list, a block of commands)
_LAID_OUT = re.compile(r"^\s*(?:[-*•]\s|\d+[.)]\s|\$ |tasker-ctl |#)|^\s{2,}\S")


def walk(command: Command, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Command]]:
    """Every command of the tree under ``command`` with its path of names, the root first."""
    yield path, command
    if isinstance(command, TyperGroup):
        for name, sub in command.commands.items():
            yield from walk(sub, (*path, name))


def command_path(path: tuple[str, ...]) -> str:
    """``('task', 'list')`` -> ``'task list'``; the root is ``''``."""
    return " ".join(path)


def reflow(text: str) -> str:
    """``text`` with the lines of each prose paragraph joined; paragraphs stay apart, and a
    paragraph laid out by hand (a list, commands, Click's ``\\b`` marker) keeps its lines."""
    paragraphs = inspect.cleandoc(text).split("\n\n")
    return "\n\n".join(_reflow_paragraph(paragraph) for paragraph in paragraphs)


def _reflow_paragraph(paragraph: str) -> str:
    lines = paragraph.split("\n")
    if paragraph.startswith("\b") or any(_LAID_OUT.match(line) for line in lines[1:]):
        return paragraph
    return " ".join(line.strip() for line in lines)


def escape_markup(text: str) -> str:
    """``text`` with what Rich would read as markup escaped, so that it shows as written."""
    escaped = _MARKUP_TAG.sub(lambda match: f"{match[1]}{match[1]}\\{match[2]}", text)
    return escaped + "\\" if escaped.endswith("\\") and not escaped.endswith("\\\\") else escaped


def unescape_markup(text: str) -> str:
    """The text ``escape_markup`` was given (for the CLI reference, which is not markup)."""
    return _ESCAPED_TAG.sub(r"\1", text)


def polish(root: Command) -> None:
    """Give every command of the tree the shared help (idempotent: a tree is polished once)."""
    if getattr(root, _POLISHED, False):
        return
    from tasker_ctl.cli.examples import EXAMPLES, EXIT_CODES

    for path, command in walk(root):
        name = command_path(path)
        if command.help:
            command.help = escape_markup(reflow(command.help))
        epilog = [escape_markup(reflow(command.epilog))] if command.epilog else []
        if isinstance(command, TyperGroup):
            below = " ".join(["tasker-ctl", *path, "COMMAND"])
            epilog.append(f"Run '{below} -h' for a command's options, exit codes and examples.")
        if name in EXIT_CODES and not _states_exit_codes(command):
            epilog.append(EXIT_CODES[name])
        examples = EXAMPLES.get(name, ())
        if examples:
            lines = [EXAMPLES_HEADING]
            for example in examples:
                lines += [f"  # {example.does}", f"  {example.command}"]
            epilog.append(escape_markup("\n".join(lines)))
        command.epilog = "\n\n".join(epilog) or None
        _plain_parameters(command)
    setattr(root, _POLISHED, True)


def _states_exit_codes(command: Command) -> bool:
    return EXIT_CODES_PREFIX in (command.epilog or "")


def _plain_parameters(command: Command) -> None:
    from typer._click.core import Context

    params = [*command.params]
    # the help option is made on first use; made here, it gets both names and a plain label
    help_option = command.get_help_option(Context(command, help_option_names=HELP_OPTION_NAMES))
    if help_option is not None:
        params.append(help_option)
    for param in params:
        if getattr(param, "help", None):
            param.help = escape_markup(param.help)  # type: ignore[attr-defined]
        if isinstance(param, TyperArgument):
            # a class of our own for the few display methods Typer offers no setting for
            param.__class__ = PlainArgument
        elif isinstance(param, TyperOption) and (
            param.metavar is None or param.metavar in _TYPE_NAMES
        ):
            param.metavar = _option_label(param)


def _option_label(option: TyperOption) -> str:
    """What the help shows after an option: nothing for a flag, the choices, or a name."""
    if option.is_flag or option.count:
        return ""
    choices = option.type_descriptor.choices if option.type_descriptor.is_choice else None
    if choices:
        return "|".join(str(getattr(choice, "value", choice)) for choice in choices)
    long_names = [opt for opt in option.opts if opt.startswith("--")]
    return (long_names or option.opts)[0].lstrip("-").replace("-", "_").upper()


class PlainArgument(TyperArgument):
    """An argument shown by its name alone (``PATH...``); a choice shows its choices."""

    def display_type_rich(self, ctx: Context) -> str | None:
        descriptor = self.type_descriptor
        if descriptor.is_choice and descriptor.choices:
            return "|".join(str(getattr(choice, "value", choice)) for choice in descriptor.choices)
        return None

    def _usage_display_name(self) -> str:
        name = self.display_name_raw
        if self.nargs != 1:
            name += "..."
        return name if self.required else f"[{name}]"
