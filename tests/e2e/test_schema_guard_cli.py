"""Who migrates an external database, as users meet it: only ``tasker-ctl db migrate``.

Against a database named by ``--database-url`` or ``TASKER_DATABASE_URL``, a command other
than ``db migrate`` refuses a schema that is behind (``SCHEMA_BEHIND``, naming the command
that fixes it) and changes nothing; ``db migrate`` brings it up to date, or upgrades a
database made by the migrations before the baseline in place. A database holding a version
this tasker-ctl does not know is refused by every command (``SCHEMA_AHEAD``).
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import psycopg
import pytest

from tasker_ctl.engine.store.connection import connect
from tasker_ctl.engine.store.migrations import load_migrations, migrate
from tests.conftest import FIXTURES
from tests.e2e.conftest import RunCli, assert_no_traceback
from tests.postgres_plugin import CreateDatabase

LEGACY = FIXTURES / "legacy_migrations"


def _ledger(url: str) -> list[tuple[int, str]]:
    with psycopg.connect(url) as connection:
        present = connection.execute(
            "SELECT to_regclass('tasker.schema_migrations') IS NOT NULL"
        ).fetchone()
        if present is None or not present[0]:
            return []
        rows = connection.execute(
            "SELECT version, name FROM tasker.schema_migrations ORDER BY version"
        ).fetchall()
    return [(row[0], row[1]) for row in rows]


def _run(
    run_cli: RunCli, url: str, *args: str, via_env: bool = False
) -> subprocess.CompletedProcess[str]:
    if via_env:
        result = run_cli(*args, env={"TASKER_DATABASE_URL": url})
    else:
        result = run_cli(*args, "--database-url", url)
    assert_no_traceback(result)
    return result


@pytest.mark.parametrize("via_env", [False, True], ids=["option", "environment"])
def test_an_empty_external_database_is_migrated_only_by_db_migrate(
    run_cli: RunCli, new_database: CreateDatabase, via_env: bool
) -> None:
    url = new_database()

    listed = _run(run_cli, url, "task", "list", via_env=via_env)
    assert listed.returncode == 2, listed.stderr
    assert "error[SCHEMA_BEHIND]" in listed.stderr
    assert "has no tasker schema yet" in listed.stderr
    assert "`tasker-ctl db migrate`" in listed.stderr
    assert _ledger(url) == []  # nothing was created

    status = _run(run_cli, url, "db", "status", via_env=via_env)
    assert status.returncode == 0, status.stderr
    assert f"migrations: 0 applied, {len(load_migrations())} pending" in status.stdout
    assert "hint: run `tasker-ctl db migrate`" in status.stdout

    migrated = _run(run_cli, url, "db", "migrate", via_env=via_env)
    assert migrated.returncode == 0, migrated.stderr
    assert "applied 0001_baseline.sql" in migrated.stdout
    assert _ledger(url) == [(m.version, m.name) for m in load_migrations()]

    listed = _run(run_cli, url, "task", "list", via_env=via_env)
    assert listed.returncode == 0, listed.stderr


def test_a_legacy_external_database_is_upgraded_by_db_migrate(
    run_cli: RunCli, new_database: CreateDatabase
) -> None:
    url = new_database()
    with connect(url) as store:
        migrate(store, LEGACY)
    legacy = _ledger(url)
    assert len(legacy) == 7

    listed = _run(run_cli, url, "task", "list")
    assert listed.returncode == 2, listed.stderr
    assert "error[SCHEMA_BEHIND]" in listed.stderr
    assert "upgrade in place" in listed.stderr
    assert "`tasker-ctl db migrate`" in listed.stderr
    assert _ledger(url) == legacy

    status = _run(run_cli, url, "db", "status")
    assert status.returncode == 0, status.stderr
    assert "migrations: 7 applied before the baseline migration" in status.stdout
    assert "upgrade in place pending" in status.stdout

    migrated = _run(run_cli, url, "db", "migrate")
    assert migrated.returncode == 0, migrated.stderr
    assert "upgraded in place to 0001_baseline.sql" in migrated.stdout
    assert _ledger(url) == [(m.version, m.name) for m in load_migrations()]
    assert _run(run_cli, url, "task", "list").returncode == 0


def test_a_database_ahead_of_this_version_is_refused_by_every_command(
    run_cli: RunCli, fresh_database_url: str
) -> None:
    url = fresh_database_url
    with psycopg.connect(url) as connection:
        connection.execute(
            "INSERT INTO tasker.schema_migrations (version, name, checksum)"
            " VALUES (9999, 'from_a_newer_version', 'x')"
        )
    for command in (["task", "list"], ["db", "migrate"], ["db", "status"], ["dlq", "list"]):
        result = _run(run_cli, url, *command)
        assert result.returncode == 2, (command, result.stderr)
        assert "error[SCHEMA_AHEAD]" in result.stderr, command
        assert "9999_from_a_newer_version" in result.stderr, command
    assert _ledger(url)[-1] == (9999, "from_a_newer_version")


def test_a_database_older_than_the_legacy_set_is_refused_with_the_way_out(
    run_cli: RunCli, new_database: CreateDatabase, tmp_path: Path
) -> None:
    older = tmp_path / "older"
    older.mkdir()
    for path in LEGACY.glob("*.sql"):
        (older / path.name).write_text(path.read_text("utf-8") + "-- an earlier text\n", "utf-8")
    url = new_database()
    with connect(url) as store:
        migrate(store, older)
    for command in (["db", "migrate"], ["task", "list"]):
        result = _run(run_cli, url, *command)
        assert result.returncode == 2, (command, result.stderr)
        assert "error[MIGRATION_MODIFIED]" in result.stderr, command
        assert "before the baseline" in result.stderr
        assert "tasker-ctl db reset --yes" in result.stderr
        assert "DROP SCHEMA tasker CASCADE" in result.stderr
    assert len(_ledger(url)) == 7
