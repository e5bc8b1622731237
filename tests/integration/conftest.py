"""Integration tests: PostgreSQL comes from ``tests/postgres_plugin.py`` (one server per
session, one fresh database per test); its helpers are re-exported here for the tests that
import them from this module. Also a throwaway migrations directory for the runner's tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.postgres_plugin import CreateDatabase, create_database, drop_database, unique_name

__all__ = ["CreateDatabase", "MigrationFiles", "create_database", "drop_database", "unique_name"]


class MigrationFiles:
    """A throwaway migrations directory for tests of the migration runner."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.mkdir(parents=True, exist_ok=True)

    def add(self, filename: str, sql_text: str) -> Path:
        """Write (or overwrite) one migration file and return its path."""
        target = self.path / filename
        target.write_text(sql_text, encoding="utf-8")
        return target


@pytest.fixture
def migration_files(tmp_path: Path) -> MigrationFiles:
    """An empty migrations directory to fill with ``migration_files.add(name, sql)``."""
    return MigrationFiles(tmp_path / "migrations")
