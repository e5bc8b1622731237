"""The migration runner: order, idempotence, checksums, failures, and concurrent runs."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator

import psycopg
import pytest

from tasker_ctl.engine.store.connection import Store, connect
from tasker_ctl.engine.store.migrations import (
    MIGRATION_LOCK_KEY,
    load_migrations,
    migrate,
    migration_status,
)
from tasker_ctl.errors import MigrationError, MigrationModifiedError, QueryError
from tests.integration.conftest import CreateDatabase, MigrationFiles

CREATE_THINGS = "CREATE TABLE tasker.things (id integer PRIMARY KEY, label text);\n"
INSERT_THING = "INSERT INTO tasker.things (id, label) VALUES (1, '100%');\n"


@pytest.fixture
def blank_store(new_database: CreateDatabase) -> Iterator[Store]:
    """A store on an empty database: no schema, no ledger."""
    with connect(new_database()) as opened:
        yield opened


def _ledger(store: Store) -> list[int]:
    return [row["version"] for row in store.fetch_all("list_schema_migrations")]


def test_applies_in_order_and_records(blank_store: Store, migration_files: MigrationFiles) -> None:
    migration_files.add("0002_add_thing.sql", INSERT_THING)
    migration_files.add("0001_create_things.sql", CREATE_THINGS)
    migration_files.add("README", "not a migration")

    applied = migrate(blank_store, migration_files.path)

    assert [(m.version, m.name) for m in applied] == [(1, "create_things"), (2, "add_thing")]
    rows = blank_store.fetch_all("list_schema_migrations")
    assert [(r["version"], r["name"]) for r in rows] == [(1, "create_things"), (2, "add_thing")]
    assert [r["checksum"] for r in rows] == [m.checksum for m in applied]
    assert all(r["applied_at"] is not None for r in rows)
    assert migration_status(blank_store, migration_files.path).up_to_date


def test_second_run_applies_nothing(blank_store: Store, migration_files: MigrationFiles) -> None:
    migration_files.add("0001_create_things.sql", CREATE_THINGS)
    assert len(migrate(blank_store, migration_files.path)) == 1
    assert migrate(blank_store, migration_files.path) == []
    migration_files.add("0002_add_thing.sql", INSERT_THING)
    assert [m.version for m in migrate(blank_store, migration_files.path)] == [2]
    assert _ledger(blank_store) == [1, 2]


def test_empty_directory_creates_schema_and_ledger(
    blank_store: Store, migration_files: MigrationFiles
) -> None:
    assert blank_store.fetch_value("check_schema_migrations_table") is False
    assert migrate(blank_store, migration_files.path) == []
    assert blank_store.fetch_value("check_schema_migrations_table") is True


def test_status_reads_without_creating(blank_store: Store, migration_files: MigrationFiles) -> None:
    migration_files.add("0001_create_things.sql", CREATE_THINGS)
    status = migration_status(blank_store, migration_files.path)
    assert status.applied == ()
    assert [m.version for m in status.pending] == [1]
    assert not status.up_to_date
    assert blank_store.fetch_value("check_schema_migrations_table") is False


def test_changed_checksum_is_refused(blank_store: Store, migration_files: MigrationFiles) -> None:
    first = migration_files.add("0001_create_things.sql", CREATE_THINGS)
    migrate(blank_store, migration_files.path)
    first.write_text(CREATE_THINGS + "-- a later edit\n", encoding="utf-8")
    migration_files.add("0002_add_thing.sql", INSERT_THING)

    with pytest.raises(MigrationModifiedError) as caught:
        migrate(blank_store, migration_files.path)

    assert caught.value.code == "MIGRATION_MODIFIED"
    assert "0001_create_things.sql" in caught.value.message
    assert caught.value.hint is not None
    assert "new migration" in caught.value.hint
    assert _ledger(blank_store) == [1]  # nothing else was applied
    status = migration_status(blank_store, migration_files.path)
    assert [m.filename for m in status.modified] == ["0001_create_things.sql"]
    assert not status.up_to_date


def test_line_endings_do_not_count_as_a_change(
    blank_store: Store, migration_files: MigrationFiles
) -> None:
    first = migration_files.add("0001_create_things.sql", CREATE_THINGS)
    migrate(blank_store, migration_files.path)
    first.write_bytes(CREATE_THINGS.replace("\n", "\r\n").encode())
    assert migrate(blank_store, migration_files.path) == []


def test_failing_migration_leaves_no_trace(
    blank_store: Store, migration_files: MigrationFiles
) -> None:
    migration_files.add("0001_create_things.sql", CREATE_THINGS)
    broken = migration_files.add(
        "0002_half_done.sql", "CREATE TABLE tasker.half (id int);\nSELEC 1;\n"
    )
    with pytest.raises(QueryError):
        migrate(blank_store, migration_files.path)
    assert _ledger(blank_store) == [1]
    status = migration_status(blank_store, migration_files.path)
    assert [m.version for m in status.pending] == [2]

    broken.write_text("CREATE TABLE tasker.half (id int);\n", encoding="utf-8")
    assert [m.version for m in migrate(blank_store, migration_files.path)] == [2]


def test_applied_versions_without_files_are_reported(
    blank_store: Store, migration_files: MigrationFiles
) -> None:
    migration_files.add("0001_create_things.sql", CREATE_THINGS)
    migrate(blank_store, migration_files.path)
    (migration_files.path / "0001_create_things.sql").unlink()
    status = migration_status(blank_store, migration_files.path)
    assert [(a.version, a.name) for a in status.unknown] == [(1, "create_things")]


@pytest.mark.parametrize(
    "filename", ["1_short.sql", "0001-dash.sql", "0001_Upper.sql", "initial.sql"]
)
def test_badly_named_file_is_an_error(migration_files: MigrationFiles, filename: str) -> None:
    migration_files.add(filename, "SELECT 1;")
    with pytest.raises(MigrationError, match="NNNN_description"):
        load_migrations(migration_files.path)


def test_duplicate_version_is_an_error(migration_files: MigrationFiles) -> None:
    migration_files.add("0001_a.sql", "SELECT 1;")
    migration_files.add("0001_b.sql", "SELECT 1;")
    with pytest.raises(MigrationError, match="same version 0001"):
        load_migrations(migration_files.path)


def test_packaged_migrations_are_applied_to_the_template(store: Store) -> None:
    status = migration_status(store)
    assert status.up_to_date
    assert [a.version for a in status.applied] == [m.version for m in load_migrations()]


_MIGRATE_SCRIPT = """
import json, sys
from pathlib import Path
from tasker_ctl.engine.store.migrations import migrate
from tasker_ctl.engine.store.connection import connect
with connect(sys.argv[1]) as store:
    print(json.dumps([m.version for m in migrate(store, Path(sys.argv[2]))]))
"""


def test_concurrent_runs_are_serialized(
    new_database: CreateDatabase, migration_files: MigrationFiles
) -> None:
    # without the lock both processes would create the table, and one would fail
    migration_files.add("0001_create_things.sql", CREATE_THINGS + "SELECT pg_sleep(0.3);\n")
    migration_files.add("0002_add_thing.sql", INSERT_THING + "SELECT pg_sleep(0.3);\n")
    url = new_database()

    with psycopg.connect(url) as gate:
        # hold the runners' lock until both are queued behind it, so that they really overlap
        gate.execute("SELECT pg_advisory_xact_lock(%s)", [MIGRATION_LOCK_KEY])
        runners = [
            subprocess.Popen(
                [sys.executable, "-c", _MIGRATE_SCRIPT, url, str(migration_files.path)],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for _ in range(2)
        ]
        _wait_for_lock_waiters(url, 2)
        gate.commit()
        outputs = [runner.communicate(timeout=60) for runner in runners]

    for runner, (_out, err) in zip(runners, outputs, strict=True):
        assert runner.returncode == 0, err
    applied = [json.loads(out) for out, _err in outputs]
    assert sorted(applied[0] + applied[1]) == [1, 2]
    with connect(url) as store:
        assert _ledger(store) == [1, 2]


def _wait_for_lock_waiters(url: str, count: int) -> None:
    deadline = time.monotonic() + 30
    with psycopg.connect(url, autocommit=True) as observer:
        while time.monotonic() < deadline:
            row = observer.execute(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted "
                "AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
            ).fetchone()
            if row is not None and row[0] >= count:
                return
            time.sleep(0.05)
    pytest.fail(f"{count} migration runs never queued for the advisory lock")
