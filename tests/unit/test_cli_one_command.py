"""A command line that names a top-level command builds that command alone.

``tasker-ctl run ...`` registers ``run`` only (building every command's parameters took a
tenth of a second of each invocation); the tree it builds must be the very one the whole app
has under that name, with the same help, so that no user can tell the difference. Anything
else (no words, the root's options, a mistyped name) gets the whole app.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import typer.main
from typer._click.core import Command
from typer.testing import CliRunner

from tasker_ctl.cli import TOP_LEVEL_COMMANDS, build_app, build_command, command_named
from tasker_ctl.cli.help_text import polish, walk
from tests.entry_point import run_entry_point


def _shape(command: Command) -> list[Any]:
    """What a user can see of ``command`` and every command under it: names, help, epilogs,
    and each parameter's names, defaults, requirements and help."""
    shape: list[Any] = []
    for path, sub in walk(command):
        shape.append(
            [
                path,
                type(sub).__name__,
                sub.help,
                sub.epilog,
                sub.hidden,
                [
                    [
                        param.name,
                        type(param).__name__,
                        list(param.opts),
                        list(param.secondary_opts),
                        repr(param.default),
                        param.required,
                        getattr(param, "help", None),
                        param.metavar,
                    ]
                    for param in sub.params
                ],
            ]
        )
    return shape


def _alone(name: str) -> Command:
    command = typer.main.get_command(build_app(name))
    polish(command)
    return command


WHOLE = build_command()


def test_the_table_names_every_top_level_command() -> None:
    # a command added to the app but not to the table could not be run by its name
    assert sorted(TOP_LEVEL_COMMANDS) == sorted(WHOLE.commands)  # type: ignore[attr-defined]


@pytest.mark.parametrize("name", list(TOP_LEVEL_COMMANDS))
def test_one_command_is_built_as_the_whole_app_builds_it(name: str) -> None:
    alone = _alone(name)
    assert list(alone.commands) == [name]  # type: ignore[attr-defined]
    assert _shape(alone.commands[name]) == _shape(WHOLE.commands[name])  # type: ignore[attr-defined]


@pytest.mark.parametrize("words", [["run", "--help"], ["task", "--help"], ["task", "list", "-h"]])
def test_one_commands_help_reads_as_the_whole_apps(words: list[str]) -> None:
    environment = {"COLUMNS": "100", "NO_COLOR": "1", "TERMINAL_WIDTH": "100"}
    runner = CliRunner()
    whole = runner.invoke(build_app(), words, env=environment, prog_name="tasker-ctl")
    alone = runner.invoke(
        build_app(command_named(words)), words, env=environment, prog_name="tasker-ctl"
    )
    assert whole.exit_code == alone.exit_code == 0, alone.output
    assert alone.stdout == whole.stdout


@pytest.mark.parametrize(
    ("words", "named"),
    [
        (["run", "x.yaml"], "run"),
        (["task", "list"], "task"),
        (["db", "status", "--json"], "db"),
        ([], None),
        (["--version"], None),
        (["--help"], None),
        (["rnu", "x.yaml"], None),  # a typo: the whole app suggests what was meant
        (["x.yaml", "run"], None),
    ],
)
def test_the_command_named_is_the_first_word_when_it_is_one(
    words: list[str], named: str | None
) -> None:
    assert command_named(words) == named


def test_the_entry_point_loads_only_the_named_commands_module(tmp_path: Path) -> None:
    ran = run_entry_point("stats", "--help", cwd=tmp_path)
    assert ran.code == 0, ran.output
    assert "tasker_ctl.cli.stats" in ran.modules
    assert not {"tasker_ctl.cli.run", "tasker_ctl.cli.mcp", "tasker_ctl.cli.task"} & ran.modules


def test_the_entry_point_builds_the_whole_app_for_anything_else(tmp_path: Path) -> None:
    mistyped = run_entry_point("stast", cwd=tmp_path)
    assert mistyped.code == 2, mistyped.output
    assert {"tasker_ctl.cli.stats", "tasker_ctl.cli.run", "tasker_ctl.cli.mcp"} <= mistyped.modules
