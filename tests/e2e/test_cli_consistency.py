"""What every command does alike: a template with errors is exit 1 and ``error[TEMPLATE_INVALID]``
after its errors, shown as ``validate`` shows them, in every command that loads one; ``--json``
is ``--format json`` where a command has both; times are UTC whatever the database's zone."""

from __future__ import annotations

import json
from pathlib import Path

import psycopg
import pytest
from psycopg import sql
from typer.core import TyperGroup

from tasker_ctl.cli import build_command
from tasker_ctl.cli.help_text import command_path, walk
from tests.conftest import PROJECT_ROOT
from tests.e2e.conftest import RunCli, assert_no_traceback

BROKEN = """\
name: broken
namespace_name: shop
version: 1.0.0
steps:
  - name: fetch
    handler: {callable: shop.Fetch}
    dependencies: [fecth]
"""
# the template fails before any database is opened; were it not so, this one answers at once
NO_DATABASE = ["--database-url", "postgresql://nobody@127.0.0.1:9/none?connect_timeout=1"]

# every command that takes a TEMPLATE, with what else it needs to get that far
TEMPLATE_COMMANDS: dict[str, list[str]] = {
    "validate": [],
    "template visualize": [],
    "run": NO_DATABASE,
    "task submit": NO_DATABASE,
    "generate models": ["-o", "models.py"],
    "generate handlers": ["-o", "handlers.py"],
    "generate tests": ["-o", "test_handlers.py"],
    "generate scaffold": ["-o", "package"],
}


# commands that read a template with errors on purpose, each with why
READ_AS_IT_IS: dict[str, str] = {
    "schema inspect": "shows a broken template's schemas: reading them is how it gets fixed",
    "schema compare": "holds one step's reads to another's schema even while others are broken",
}


def test_every_command_taking_a_template_is_checked_here() -> None:
    taking = {
        command_path(path)
        for path, command in walk(build_command())
        if not isinstance(command, TyperGroup)
        and any(param.metavar == "TEMPLATE" for param in command.params)
    }
    checked = set(TEMPLATE_COMMANDS) | set(READ_AS_IT_IS)
    assert taking <= checked, taking - checked


@pytest.mark.parametrize("name", sorted(TEMPLATE_COMMANDS))
def test_a_template_with_errors_is_exit_1_everywhere(
    invoke_cli: RunCli, tmp_path: Path, name: str
) -> None:
    (tmp_path / "broken.yaml").write_text(BROKEN, encoding="utf-8")
    result = invoke_cli(*name.split(), "broken.yaml", *TEMPLATE_COMMANDS[name], cwd=tmp_path)
    assert_no_traceback(result)
    assert result.returncode == 1, result.stdout + result.stderr
    output = result.stdout + result.stderr
    # the error, placed in the file, once: as validate shows it, the others before refusing
    assert output.count("broken.yaml:7:20  error  MISSING_DEP_REF") == 1, output
    if name != "validate":  # validate reports findings; the others refuse the template
        assert "error[TEMPLATE_INVALID]" in result.stderr


@pytest.mark.parametrize(
    "args",
    [
        ["composition", "validate", "examples/grammar/orders.yaml"],
        ["grammar", "document", "-c", "transform"],
    ],
    ids=" ".join,
)
def test_json_is_format_json(invoke_cli: RunCli, args: list[str]) -> None:
    flag = invoke_cli(*args, "--json", cwd=PROJECT_ROOT)
    assert flag.returncode == 0, flag.stdout + flag.stderr
    assert flag.stdout.lstrip().startswith(("{", "["))
    assert flag.stdout == invoke_cli(*args, "--format", "json", cwd=PROJECT_ROOT).stdout


def test_times_are_utc_whatever_the_database_s_zone(
    invoke_cli: RunCli, fresh_database_url: str
) -> None:
    # a server set up in its own zone: sessions start in Asia/Kolkata (UTC+05:30) unless the
    # client says otherwise; what tasker-ctl prints stays UTC
    with psycopg.connect(fresh_database_url, autocommit=True) as connection:
        name = connection.info.dbname
        connection.execute(
            sql.SQL("ALTER DATABASE {} SET timezone = 'Asia/Kolkata'").format(sql.Identifier(name))
        )
        assert connection.execute("SELECT now()").fetchone() is not None
    env = {"TASKER_DATABASE_URL": fresh_database_url}
    submit = ["task", "submit", "examples/linear/linear.yaml", "-c", '{"even_number": 2}']
    submitted = invoke_cli(*submit, "--json", cwd=PROJECT_ROOT, env=env)
    assert submitted.returncode == 0, submitted.stdout + submitted.stderr
    task = json.loads(submitted.stdout)["task"]
    assert task["requested_at"].endswith("Z"), task["requested_at"]
    listed = invoke_cli("task", "list", "--json", cwd=PROJECT_ROOT, env=env)
    assert listed.returncode == 0, listed.stderr
    assert "+05:30" not in listed.stdout
