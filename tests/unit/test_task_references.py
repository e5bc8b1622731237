"""Every command that takes a task takes it the same way: a TASK (a UUID, a unique prefix or
'latest') that the one resolver, ``engine.views.resolve_task``, turns into a task.

This test walks the whole app; ``tests/e2e/test_task_cli.py`` runs every command it finds
here against a database and checks each answers an unknown or ambiguous TASK with the
resolver's coded error.
"""

from __future__ import annotations

from typing import Any

import typer.main

from tasker_ctl.cli import build_app
from tasker_ctl.cli.options import TASK_HELP
from tasker_ctl.engine.views.task_reference import TASK_REFERENCE_HELP

# typer's commands and parameters (typer brings its own copy of click's classes)
Command = Any
Parameter = Any


def walk_commands(
    command: Command, path: tuple[str, ...] = ()
) -> list[tuple[tuple[str, ...], Command]]:
    """Every leaf command of the app with the words that call it."""
    subcommands: dict[str, Command] | None = getattr(command, "commands", None)
    if subcommands is not None:  # a group (the root is a group of the app's own class)
        found = []
        for name, sub in sorted(subcommands.items()):
            found.extend(walk_commands(sub, (*path, name)))
        return found
    return [(path, command)]


def names_a_task(param: Parameter) -> bool:
    """A parameter whose value is a task: by its metavar, its name or its flag."""
    metavar = (getattr(param, "metavar", None) or "").upper()
    flags = getattr(param, "opts", [])
    return (
        metavar in ("TASK", "TASK_UUID", "TASK_ID")
        or (param.name or "") in ("task", "task_uuid", "task_id", "reference")
        or "--task" in flags
    )


def task_commands() -> list[tuple[tuple[str, ...], Command, Parameter]]:
    app = typer.main.get_command(build_app())
    return [
        (path, command, param)
        for path, command in walk_commands(app)
        for param in command.params
        if names_a_task(param)
    ]


def test_the_commands_that_take_a_task_are_found() -> None:
    found = {" ".join(path) for path, _, _ in task_commands()}
    expected = {
        "task show",
        "task graph",
        "task cancel",
        "task retry-step",
        "task resolve-step",
        "task complete-step",
        "task approve",
        "task reject",
        "events",
        "inspect task",
        "report provenance",
        "report budget",
    }
    assert expected <= found, expected - found


def test_every_task_parameter_is_a_reference_for_the_one_resolver() -> None:
    assert TASK_HELP == TASK_REFERENCE_HELP
    for path, _, param in task_commands():
        where = f"{' '.join(path)} {param.name}"
        # a UUID type would refuse a prefix or 'latest' with click's framed usage error
        assert param.type_descriptor.annotation is str, where
        assert param.metavar == "TASK", where
        assert TASK_HELP in (getattr(param, "help", None) or ""), where
