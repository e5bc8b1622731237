"""Schema migrations: ``NNNN_description.sql`` files applied in order, each in a transaction.

Applied migrations are recorded in ``tasker.schema_migrations`` with a checksum of their text;
changing an applied file is an error (``MIGRATION_MODIFIED``): add a new migration instead.
Runs are serialized across processes with a transaction-scoped advisory lock, so any number
of workers may call ``migrate`` at start-up. The schema ``tasker`` and the ledger table exist
before the first migration runs.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import datetime
from importlib.resources import files
from importlib.resources.abc import Traversable
from typing import Any, LiteralString

from tasker_ctl.engine.store.connection import Store, connect
from tasker_ctl.engine.store.queries import vouch
from tasker_ctl.errors import MigrationError, MigrationModifiedError

# any fixed 64-bit number works; this one spells "tasker m" in ASCII
MIGRATION_LOCK_KEY = 0x7461736B6572206D
_FILE_NAME = re.compile(r"^(?P<version>\d{4})_(?P<name>[a-z0-9_]+)\.sql$")


@dataclass(frozen=True)
class Migration:
    """One migration file."""

    version: int
    name: str
    filename: str
    checksum: str
    sql: LiteralString = field(repr=False)


@dataclass(frozen=True)
class AppliedMigration:
    """One row of ``tasker.schema_migrations``."""

    version: int
    name: str
    checksum: str
    applied_at: datetime


@dataclass(frozen=True)
class MigrationStatus:
    """How the database compares with the migration files."""

    applied: tuple[AppliedMigration, ...]
    pending: tuple[Migration, ...]
    modified: tuple[Migration, ...]
    unknown: tuple[AppliedMigration, ...]

    @property
    def up_to_date(self) -> bool:
        return not self.pending and not self.modified


def packaged_migrations_dir() -> Traversable:
    """The ``migrations/`` directory shipped inside the package."""
    return files("tasker_ctl.engine.store.sql").joinpath("migrations")


def checksum(text: str) -> str:
    """SHA-256 of a migration's text, blind to CRLF/LF so a Windows checkout matches."""
    return hashlib.sha256(text.replace("\r\n", "\n").encode("utf-8")).hexdigest()


def load_migrations(directory: Traversable | None = None) -> list[Migration]:
    """The migration files of ``directory`` (default: the packaged ones), by version.

    Files that do not end in ``.sql`` (a README) are ignored; a ``.sql`` file with another
    name, or two files with one version, is an error.
    """
    root = directory if directory is not None else packaged_migrations_dir()
    if not root.is_dir():
        return []
    migrations: dict[int, Migration] = {}
    for entry in root.iterdir():
        if not entry.name.endswith(".sql") or not entry.is_file():
            continue
        match = _FILE_NAME.match(entry.name)
        if match is None:
            raise MigrationError(
                f"migration file name {entry.name!r} does not have the form NNNN_description.sql",
                hint="rename it, e.g. 0003_add_step_index.sql (four digits, snake_case)",
            )
        version = int(match["version"])
        if version in migrations:
            raise MigrationError(
                f"migrations {migrations[version].filename} and {entry.name} have the same "
                f"version {version:04d}",
                hint="give the newer one the next free number",
            )
        text = entry.read_text(encoding="utf-8")
        migrations[version] = Migration(
            version=version,
            name=match["name"],
            filename=entry.name,
            checksum=checksum(text),
            sql=vouch(text),
        )
    return [migrations[version] for version in sorted(migrations)]


def migrate(store: Store, directory: Traversable | None = None) -> list[Migration]:
    """Apply every pending migration, each in its own transaction; return those applied now.

    Raises ``MigrationModifiedError`` before applying anything when an applied migration's
    file has changed.
    """
    migrations = load_migrations(directory)
    with store.transaction():
        store.execute("lock_schema_migrations", lock_key=MIGRATION_LOCK_KEY)
        store.execute("create_tasker_schema")
        store.execute("create_schema_migrations_table")
        applied = _applied(store)
    _check_unmodified(migrations, applied)
    done: list[Migration] = []
    for migration in migrations:
        if migration.version in applied:
            continue
        with store.transaction():
            store.execute("lock_schema_migrations", lock_key=MIGRATION_LOCK_KEY)
            # another process may have applied it while we waited for the lock
            now_applied = _applied(store)
            if migration.version in now_applied:
                _check_unmodified([migration], now_applied)
                continue
            store.execute_script(migration.sql)
            store.execute(
                "insert_schema_migration",
                version=migration.version,
                name=migration.name,
                checksum=migration.checksum,
            )
        done.append(migration)
    return done


def migration_status(store: Store, directory: Traversable | None = None) -> MigrationStatus:
    """Compare the database with the migration files; changes nothing."""
    migrations = load_migrations(directory)
    with store.transaction():
        present = bool(store.fetch_value("check_schema_migrations_table"))
        applied = _applied(store) if present else {}
    by_version = {migration.version: migration for migration in migrations}
    return MigrationStatus(
        applied=tuple(applied[version] for version in sorted(applied)),
        pending=tuple(m for m in migrations if m.version not in applied),
        modified=tuple(
            m
            for m in migrations
            if m.version in applied and applied[m.version].checksum != m.checksum
        ),
        unknown=tuple(applied[v] for v in sorted(applied) if v not in by_version),
    )


def _applied(store: Store) -> dict[int, AppliedMigration]:
    return {
        row["version"]: _applied_from_row(row) for row in store.fetch_all("list_schema_migrations")
    }


def _applied_from_row(row: dict[str, Any]) -> AppliedMigration:
    return AppliedMigration(
        version=row["version"],
        name=row["name"],
        checksum=row["checksum"],
        applied_at=row["applied_at"],
    )


def _check_unmodified(migrations: list[Migration], applied: dict[int, AppliedMigration]) -> None:
    changed = [
        m for m in migrations if m.version in applied and applied[m.version].checksum != m.checksum
    ]
    if changed:
        names = ", ".join(m.filename for m in changed)
        raise MigrationModifiedError(
            f"applied migration{'s' if len(changed) > 1 else ''} changed since "
            f"{'they were' if len(changed) > 1 else 'it was'} applied: {names}",
            hint="restore the applied text and put the change in a new migration (the "
            "embedded server can start over with `tasker-ctl db reset --yes`, losing its data)",
        )


def open_store(database_url: str | None = None) -> Store:
    """A store on the target database (``--database-url``, ``TASKER_DATABASE_URL`` or the
    embedded server, started if need be), its schema migrated: what every command that
    reads or changes tasks opens (any process may migrate)."""
    from tasker_ctl.db.settings import resolve_database_url

    store = connect(resolve_database_url(database_url).url)
    try:
        migrate(store)
    except BaseException:
        store.close()
        raise
    return store
