"""What ``db migrate`` and ``db status`` print, from their facts alone."""

from __future__ import annotations

from pathlib import Path

from tasker_ctl.db.embedded import EmbeddedStatus
from tasker_ctl.engine.store.migrations import load_migrations
from tasker_ctl.report.db_view import migrated_lines, stopped_embedded_lines


def _embedded(**overrides: object) -> EmbeddedStatus:
    values: dict[str, object] = {
        "data_dir": Path("/work/.tasker/pgdata"),
        "initialized": True,
        "major_version": 16,
        "running": False,
        "ready": False,
        "pid": None,
        "url": None,
        "size_bytes": 3 * 1024 * 1024,
    }
    values.update(overrides)
    return EmbeddedStatus(**values)  # type: ignore[arg-type]


def test_migrate_names_each_migration_it_applied_or_says_there_was_nothing() -> None:
    baseline = load_migrations()[0]
    assert migrated_lines([], legacy=False) == ["migrations: up to date, nothing to apply"]
    assert migrated_lines([baseline], legacy=False) == [f"applied {baseline.filename}"]
    assert migrated_lines([baseline], legacy=True) == [
        f"upgraded in place to {baseline.filename} (from the migrations before the baseline; "
        "tasks kept)"
    ]


def test_a_stopped_server_shows_its_data_and_where_it_is_stored_when_relocated() -> None:
    lines = stopped_embedded_lines(_embedded(), 1)
    assert lines == [
        "target: embedded PostgreSQL (/work/.tasker/pgdata)",
        "server: not running (PostgreSQL 16, data: 3.0 MB)",
        "migrations: 1 in this version of tasker-ctl",
        "hint: `tasker-ctl db migrate` starts the server and applies them",
    ]
    relocated = stopped_embedded_lines(_embedded(stored_in=Path("/var/lib/tasker-ctl/x")), 1)
    assert relocated[1] == "stored in: /var/lib/tasker-ctl/x"
    assert stopped_embedded_lines(_embedded(initialized=False), 1)[1] == ("server: not created yet")
