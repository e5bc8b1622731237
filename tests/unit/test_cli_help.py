"""Every command's help, read as a user reads it: ``-h`` works, paragraphs are reflowed to the
terminal, no type label says nothing, every command shows examples that parse and states its
exit codes, and shell completion is offered."""

from __future__ import annotations

import itertools
import re
import shlex
from functools import cache

import pytest
from typer._click.core import Command, Context
from typer._click.exceptions import UsageError
from typer.core import TyperGroup
from typer.testing import CliRunner

from tasker_ctl.cli import build_app, build_command
from tasker_ctl.cli.examples import EXAMPLES, EXIT_CODES
from tasker_ctl.cli.help_text import EXAMPLES_HEADING, command_path, reflow, walk

COMMANDS = [path for path, _command in walk(build_command())]
LEAVES = [path for path, command in walk(build_command()) if not isinstance(command, TyperGroup)]
NARROW, WIDE = 60, 1000
# labels that name a type, not a value: '<bool>', '<str>', '<list[str]>', 'TEXT', 'BOOLEAN', ...
TYPE_LABEL = re.compile(
    r"<(?:bool|str|int|float|path|file|UUID|datetime|list\[[^\]]*\]|int range|float range)>"
    r"|\b(?:TEXT|BOOLEAN|INTEGER|FLOAT)\b"
)
PANEL = re.compile(r"^[│╭╰]")


def ids(path: tuple[str, ...]) -> str:
    return command_path(path) or "(root)"


@cache
def help_of(path: tuple[str, ...], width: int, option: str = "--help") -> str:
    import typer.rich_utils

    # typer reads TERMINAL_WIDTH once, when its rich_utils is first imported (by whichever
    # test of this process comes first): the width is set here for this call alone
    kept = typer.rich_utils.MAX_WIDTH
    typer.rich_utils.MAX_WIDTH = width
    try:
        result = CliRunner().invoke(
            build_app(),
            [*path, option],
            env={"COLUMNS": str(width), "NO_COLOR": "1", "TERMINAL_WIDTH": str(width)},
            prog_name="tasker-ctl",
        )
    finally:
        typer.rich_utils.MAX_WIDTH = kept
    assert result.exit_code == 0, result.output
    return result.stdout


def prose_blocks(text: str) -> list[list[str]]:
    """Runs of non-blank lines outside the option panels, without the usage line."""
    blocks: list[list[str]] = [[]]
    for raw in text.splitlines():
        line = raw.rstrip()
        if not line.strip() or PANEL.match(line):
            blocks.append([])
        elif not line.lstrip().startswith("Usage:"):
            blocks[-1].append(line)
    return [block for block in blocks if block]


@pytest.mark.parametrize("path", COMMANDS, ids=ids)
def test_h_is_help_as_well(path: tuple[str, ...]) -> None:
    assert help_of(path, WIDE, "-h") == help_of(path, WIDE, "--help")
    assert "Usage: tasker-ctl" in help_of(path, WIDE, "-h")


@pytest.mark.parametrize("path", COMMANDS, ids=ids)
@pytest.mark.parametrize("width", [NARROW, WIDE])
def test_help_has_no_type_labels(path: tuple[str, ...], width: int) -> None:
    text = help_of(path, width)
    assert not TYPE_LABEL.findall(text), text
    assert "{" not in text.splitlines()[1], "the usage line shows arguments by name"


@pytest.mark.parametrize("path", COMMANDS, ids=ids)
def test_paragraphs_are_not_broken_where_the_source_breaks_them(path: tuple[str, ...]) -> None:
    # on a terminal wide enough for any paragraph, each one is a single line
    for block in prose_blocks(help_of(path, WIDE)):
        if block[0].strip() == EXAMPLES_HEADING:
            continue
        assert len(block) == 1, "a paragraph broken mid-sentence:\n" + "\n".join(block)


@pytest.mark.parametrize("path", COMMANDS, ids=ids)
def test_paragraphs_fill_a_narrow_terminal(path: tuple[str, ...]) -> None:
    # a line ends early only where the next word would not fit: the break is the terminal's
    for block in prose_blocks(help_of(path, NARROW)):
        if block[0].strip() == EXAMPLES_HEADING:
            continue
        for line, following in itertools.pairwise(block):
            next_word = following.split()[0]
            assert len(line) + 1 + len(next_word) > NARROW - 2, f"{line!r} / {following!r}"


@pytest.mark.parametrize("path", COMMANDS, ids=ids)
def test_times_are_utc_in_every_help(path: tuple[str, ...]) -> None:
    # one time zone: every time tasker-ctl reads or shows is UTC, never the machine's
    text = " ".join(help_of(path, WIDE).split())
    assert "local time" not in text
    if "ISO 8601" in text or "ISO-8601" in text:
        assert "UTC" in text


def test_reflow_joins_prose_and_keeps_lists() -> None:
    text = "First line\n    goes on.\n\n    Second paragraph\n    goes on.\n\n    - a\n    - b"
    assert reflow(text) == "First line goes on.\n\nSecond paragraph goes on.\n\n- a\n- b"


@pytest.mark.parametrize("path", COMMANDS, ids=ids)
def test_every_command_has_an_example_shown_in_its_help(path: tuple[str, ...]) -> None:
    examples = EXAMPLES.get(command_path(path), ())
    assert examples, f"add an example for '{ids(path)}' to tasker_ctl.cli.examples.EXAMPLES"
    text = help_of(path, WIDE)
    for example in examples:
        assert example.command in text


def test_every_example_is_for_a_command_that_exists() -> None:
    names = {command_path(path) for path in COMMANDS}
    assert set(EXAMPLES) <= names, set(EXAMPLES) - names


@pytest.mark.parametrize(
    "line",
    [example.command for examples in EXAMPLES.values() for example in examples],
)
def test_every_example_parses(line: str) -> None:
    # the part after a pipe is the command; its path and options must exist and parse
    argv = shlex.split(line.rsplit("|", 1)[-1])
    assert argv[0] == "tasker-ctl"
    parse(build_command(), argv[1:])


def parse(root: Command, argv: list[str]) -> None:
    """Parse ``argv`` as the app would, up to the values' types; the options' callbacks (which
    look for a database, a project) are not the example's business and do not run."""
    command, words, path = root, list(argv), ["tasker-ctl"]
    while isinstance(command, TyperGroup) and words and not words[0].startswith("-"):
        name = words.pop(0)
        found = command.commands.get(name)
        assert found is not None, f"no command '{' '.join(path)} {name}'"
        command, path = found, [*path, name]
    context = Context(command, info_name=" ".join(path))
    try:
        values, extra, _order = command.make_parser(context).parse_args(args=words)
        assert not extra, f"{shlex.join(argv)}: unexpected {extra}"
        for param in command.params:
            value = values.get(param.name)
            missing = param.value_is_missing(value)
            assert not (missing and param.required), f"{shlex.join(argv)}: {param.name} missing"
            if not missing:
                param.get_runtime_param().coerce(value, param=param, ctx=context)  # type: ignore[attr-defined]
    except UsageError as error:
        pytest.fail(f"{shlex.join(argv)}: {error.format_message()}")


@pytest.mark.parametrize("path", LEAVES, ids=ids)
def test_every_command_states_its_exit_codes(path: tuple[str, ...]) -> None:
    text = " ".join(help_of(path, WIDE).split())
    assert "Exit codes: 0" in text


def test_exit_codes_given_for_a_command_are_not_said_twice() -> None:
    commands = {command_path(path): command for path, command in walk(build_command())}
    for name in EXIT_CODES:
        assert name in commands, f"EXIT_CODES names no command: '{name}'"
        assert (commands[name].epilog or "").count("Exit codes:") == 1, (
            f"'{name}' states its own exit codes now: remove its entry from EXIT_CODES"
        )


def test_help_shows_brackets_as_written() -> None:
    # Typer reads help as Rich markup, where '[tool.tasker]' is a style and vanishes
    app = build_app()

    @app.command("probe")
    def probe() -> None:
        """Reads [tool.tasker] in pyproject.toml.

        The table [tool.tasker] holds the settings."""

    result = CliRunner().invoke(app, ["probe", "-h"], env={"COLUMNS": "100"})
    assert result.stdout.count("[tool.tasker]") == 2, result.stdout


def test_shell_completion_is_offered(monkeypatch: pytest.MonkeyPatch) -> None:
    import typer.completion

    text = help_of((), WIDE)
    assert "--install-completion" in text
    assert "--show-completion" in text
    # with shellingham installed the option is a flag and the shell is detected from the
    # process tree, which a test worker may not have: the shell is said here
    monkeypatch.setattr(typer.completion, "_get_shell_name", lambda: "bash")
    result = CliRunner().invoke(build_app(), ["--show-completion", "bash"], prog_name="tasker-ctl")
    assert result.exit_code == 0, result.output
    assert "_TASKER_CTL_COMPLETE" in result.stdout
    # what the installed script asks: the words so far, the one being completed
    completing = {
        "_TASKER_CTL_COMPLETE": "complete_bash",
        "COMP_WORDS": "tasker-ctl task re",
        "COMP_CWORD": "2",
    }
    words = CliRunner().invoke(build_app(), [], env=completing, prog_name="tasker-ctl")
    assert words.stdout.split() == ["reject", "retry-step", "resolve-step"]
