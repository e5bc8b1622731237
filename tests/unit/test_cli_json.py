"""Every command that prints data takes ``--json``; the few that print none are listed here,
each with the reason, so that a new command is checked as it is added."""

from __future__ import annotations

import pytest
from typer.core import TyperGroup

from tasker_ctl.cli import build_command
from tasker_ctl.cli.help_text import command_path, walk

# commands that print no data of their own: a reason each
PRINTS_NO_DATA = {
    # they write files; what they print is which files were written (or, with --check, a diff
    # of source code), not data a script reads
    "generate models": "writes files",
    "generate tests": "writes files",
    "generate scaffold": "writes files",
    # they change the embedded server or the schema and say so in one line
    "db migrate": "one line: what was applied",
    "db start": "one line: where the server listens",
    "db stop": "one line: stopped",
    "db reset": "one line: deleted",
    # what it prints is a JSON Schema already
    "inspect schema": "prints JSON",
    # a server: it speaks the MCP protocol on standard output (stdio) or HTTP
    "mcp serve": "serves MCP; each tool answers JSON",
}

LEAVES = {
    command_path(path): command
    for path, command in walk(build_command())
    if not isinstance(command, TyperGroup)
}


@pytest.mark.parametrize("name", sorted(LEAVES))
def test_a_command_that_prints_data_takes_json(name: str) -> None:
    options = {opt for param in LEAVES[name].params for opt in param.opts}
    if name in PRINTS_NO_DATA:
        assert "--json" not in options, f"'{name}' takes --json now: remove it from the list"
    else:
        assert "--json" in options, f"'{name}' prints data: give it --json"


def test_the_list_names_commands_that_exist() -> None:
    assert set(PRINTS_NO_DATA) <= set(LEAVES), set(PRINTS_NO_DATA) - set(LEAVES)
