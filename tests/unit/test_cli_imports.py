"""The command line's modules, read from the source: commands do not import each other.

A command module (one with a ``register`` function) takes its shared options from
``tasker_ctl.cli.options`` and its shared helpers from the other modules that register no
command; it never imports another command module, so no two commands are tied together and
the imports of ``cli/`` have no circle. ``cli/`` renders through ``tasker_ctl.report`` and is
the only importer of typer.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import tasker_ctl
from tasker_ctl.cli import build_app

SOURCE = Path(tasker_ctl.__file__).parent
CLI = SOURCE / "cli"


def _module_name(path: Path) -> str:
    return "tasker_ctl.cli" if path.stem == "__init__" else f"tasker_ctl.cli.{path.stem}"


def _cli_imports(path: Path) -> Iterator[tuple[int, str]]:
    """(line, module) of every import of a ``tasker_ctl.cli`` module in ``path``, at any depth
    (commands import lazily inside functions)."""
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "tasker_ctl.cli":
                for alias in node.names:
                    yield node.lineno, f"tasker_ctl.cli.{alias.name}"
            elif node.module.startswith("tasker_ctl.cli."):
                yield node.lineno, node.module
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("tasker_ctl.cli."):
                    yield node.lineno, alias.name


def _registers_commands(path: Path) -> bool:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return any(isinstance(node, ast.FunctionDef) and node.name == "register" for node in tree.body)


MODULES = {_module_name(path): path for path in sorted(CLI.glob("*.py"))}
COMMANDS = {name for name, path in MODULES.items() if _registers_commands(path)}


def test_the_command_modules_are_found() -> None:
    # a guard for the test itself: a walk that finds nothing proves nothing
    assert {"tasker_ctl.cli.run", "tasker_ctl.cli.task", "tasker_ctl.cli.dlq"} <= COMMANDS
    assert "tasker_ctl.cli.options" in MODULES
    assert "tasker_ctl.cli.options" not in COMMANDS


def test_no_command_module_imports_another() -> None:
    crossings = [
        f"{path.relative_to(SOURCE)}:{line} imports {imported}"
        for name, path in MODULES.items()
        if name in COMMANDS
        for line, imported in _cli_imports(path)
        if imported in COMMANDS and imported != name
    ]
    assert crossings == [], "shared options belong in tasker_ctl.cli.options:\n" + "\n".join(
        crossings
    )


def test_the_helper_modules_import_no_command_module() -> None:
    # only the app (which registers them) imports the commands
    upward = [
        f"{path.relative_to(SOURCE)}:{line} imports {imported}"
        for name, path in MODULES.items()
        if name not in COMMANDS and name != "tasker_ctl.cli.app"
        for line, imported in _cli_imports(path)
        if imported in COMMANDS
    ]
    assert upward == []


def test_only_the_command_line_imports_typer() -> None:
    importers = []
    for path in sorted(SOURCE.rglob("*.py")):
        if path.is_relative_to(CLI):
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = (
                [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else [alias.name for alias in node.names]
                if isinstance(node, ast.Import)
                else []
            )
            if any(name == "typer" or name.startswith("typer.") for name in names):
                importers.append(f"{path.relative_to(SOURCE)}:{node.lineno}")
    assert importers == []


def test_every_build_is_a_fresh_app() -> None:
    # tests drive the app in-process: a second build must not register the commands twice
    first, second = build_app(), build_app()
    assert first is not second
    names = [group.name for group in first.registered_groups]
    assert names == [group.name for group in second.registered_groups]
    assert len(names) == len(set(names))
