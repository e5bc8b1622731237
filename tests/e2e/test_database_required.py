"""Commands that work on an existing database (the read-only views, and the repairs of tasks
that must already be there) never create one: with no database where they look they stop with
DATABASE_NOT_FOUND (exit 2), naming where they looked and how to make one, and leave no .tasker
behind. Which commands may create one is decided by the --database-url option a command takes
(cli.options); this walks every command of the app and holds each to its kind."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import typer

from tasker_ctl.cli import build_app
from tasker_ctl.cli.options import may_create_database, require_existing_database
from tasker_ctl.db.embedded import reset_embedded
from tests.e2e.conftest import RunCli, assert_no_traceback

# the commands that create the embedded database when none is found; every other command with
# --database-url needs an existing one
CREATING = {"run", "worker", "task submit", "db migrate"}
# commands that look for a database only when they need one, with the reason
LATER = {"mcp serve": "a server: each tool that reads or writes a task finds it when called"}


# typer builds its commands with the click it carries: they are read here by their attributes
Command = Any
Parameter = Any


def _commands() -> Iterator[tuple[str, Command]]:
    def walk(command: Command, path: tuple[str, ...]) -> Iterator[tuple[str, Command]]:
        children = getattr(command, "commands", None)
        if children is not None:
            for name, child in sorted(children.items()):
                yield from walk(child, (*path, name))
        else:
            yield " ".join(path), command

    yield from walk(typer.main.get_command(build_app()), ())


def _database_option(command: Command) -> Parameter | None:
    return next((p for p in command.params if "--database-url" in p.opts), None)


def _kind(option: Parameter) -> str:
    check = getattr(option.callback, "__wrapped__", None)
    if check is require_existing_database:
        return "reads"
    if check is may_create_database:
        return "creates"
    return "undecided"


def _reading_commands() -> list[tuple[str, Command]]:
    return [
        (name, command)
        for name, command in _commands()
        if (option := _database_option(command)) is not None and _kind(option) == "reads"
    ]


def test_every_database_command_is_one_kind_or_the_other() -> None:
    kinds = {
        name: _kind(option)
        for name, command in _commands()
        if (option := _database_option(command)) is not None and name not in LATER
    }
    assert "undecided" not in kinds.values(), kinds
    assert {name for name, kind in kinds.items() if kind == "creates"} == CREATING
    # the brief's read-only commands are among them
    assert {"task list", "task show", "inspect task", "stats", "dlq list", "db status"} <= {
        name for name, kind in kinds.items() if kind == "reads"
    }


def _arguments(command: Command) -> list[str]:
    """Values for the required arguments and options, so that parsing reaches the check."""
    values: list[str] = []
    for param in command.params:
        if not param.required:
            continue
        value = str(uuid.uuid4())  # a task, a DLQ entry, or any text
        if param.param_type_name == "option":
            values += [param.opts[0], value]
        else:
            values.append(value)
    return values


@pytest.mark.parametrize("name", [name for name, _command in _reading_commands()])
def test_a_reading_command_with_no_database_stops_and_creates_none(
    invoke_cli: RunCli, tmp_path: Path, name: str
) -> None:
    command = dict(_reading_commands())[name]
    project = tmp_path / "project" / "sub"
    project.mkdir(parents=True)
    result = invoke_cli(*name.split(), *_arguments(command), cwd=project)
    assert_no_traceback(result)
    assert result.returncode == 2, result.stdout + result.stderr
    assert result.stderr.startswith("error[DATABASE_NOT_FOUND]: no tasker database found: ")
    assert f"in {project.resolve()} or any folder above it" in result.stderr
    assert "`tasker-ctl run TEMPLATE` or `tasker-ctl db start`" in result.stderr
    assert list((tmp_path / "project").rglob(".tasker")) == []


def test_task_list_in_a_subfolder_uses_the_project_database(
    run_cli: RunCli, tmp_path: Path
) -> None:
    project = tmp_path / "project"
    subfolder = project / "src" / "pkg"
    subfolder.mkdir(parents=True)
    env = {"TASKER_IDLE_STOP": "0", "XDG_STATE_HOME": str(tmp_path / "state")}
    try:
        started = run_cli("db", "start", cwd=project, env=env)
        assert started.returncode == 0, started.stderr
        listed = run_cli("task", "list", cwd=subfolder, env=env)
        assert_no_traceback(listed)
        assert listed.returncode == 0, listed.stderr
        assert "no tasks found" in listed.stdout.lower()
        assert not (subfolder / ".tasker").exists()
        assert (project / ".tasker" / ".gitignore").read_text(encoding="utf-8").endswith("*\n")
    finally:
        reset_embedded(project / ".tasker")
