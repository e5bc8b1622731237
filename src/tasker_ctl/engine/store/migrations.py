"""Schema migrations: ``NNNN_description.sql`` files applied in order, each in a transaction.

``0001_baseline.sql`` creates the whole schema; later migrations only add to it (a function
they replace drops its old overload), and ``sql/schema.sql`` is the schema they leave, the
one place to read a function's current body. Applied migrations are recorded in
``tasker.schema_migrations`` with a checksum of their text; changing an applied file is an
error (``MIGRATION_MODIFIED``): add a new migration instead. Landed files are also pinned by
``migrations/checksums.sha256``, which the tests hold them to.

A database migrated with the set of migrations that preceded the baseline (``LEGACY_SET``) is
upgraded in place by ``migrate``, in one transaction, its tasks kept; one migrated with an
older set is refused, with the way out in the hint (docs/database.md).

Who migrates: ``open_store`` migrates the embedded database (tasker-ctl runs that server
itself); an external one changes only through ``tasker-ctl db migrate``, and ``open_store``
refuses a schema that is behind (``SCHEMA_BEHIND``). A database holding versions this binary
does not know is refused by both (``SCHEMA_AHEAD``).

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
from typing import TYPE_CHECKING, Any, LiteralString

from tasker_ctl.engine.store.connection import Store, connect
from tasker_ctl.engine.store.queries import vouch
from tasker_ctl.errors import (
    MigrationError,
    MigrationModifiedError,
    SchemaAheadError,
    SchemaBehindError,
)

if TYPE_CHECKING:
    from tasker_ctl.db.settings import DatabaseTarget

# any fixed 64-bit number works; this one spells "tasker m" in ASCII
MIGRATION_LOCK_KEY = 0x7461736B6572206D
_FILE_NAME = re.compile(r"^(?P<version>\d{4})_(?P<name>[a-z0-9_]+)\.sql$")

# The migrations that preceded the baseline, as their last versions were recorded: (version,
# name, checksum). A ledger holding exactly these rows is upgraded in place
# (sql/upgrades/legacy_to_baseline.sql); the files themselves are kept as test data in
# tests/fixtures/legacy_migrations/.
LEGACY_SET: tuple[tuple[int, str, str], ...] = (
    (1, "initial", "cddd90a45ebac063c18d74ebcd1ec263cca65f16acc2c13f2bdb36e0b0964cfe"),
    (2, "engine_functions", "20a64c629d155abdebdabde698fcbcc25cbf7a7093c25d8aa8c28ec9d0caabbf"),
    (3, "operator_functions", "ddf4115ddf20681c69b585acd82af129bd835a12ae1186664f9732b05407eceb"),
    (4, "staleness_dlq", "1832372eaa48e4af842dae9998c7ef6b3ba86757eb44cd41a21f3fe379fba4a8"),
    (5, "inspection", "62223f73c39465253b941a57658719bf712151fd8e83fbead06730bb21aef3ad"),
    (6, "grammar", "cb540425d91e08aaa3a11c6c4cb1fbbe7d983cdf156b703f9f6a38108fe3ee45"),
    (7, "claim_batches", "f67e7a007ed95b7467aa61a6acc163969b6625218807214ae9f995225ea3d4ba"),
)

_MIGRATE_HINT = (
    "run `tasker-ctl db migrate` against it (same --database-url or TASKER_DATABASE_URL): "
    "tasker-ctl changes the schema of a database it does not run itself only when asked"
)
_PRE_BASELINE_HINT = (
    "its tasks cannot be carried over: keep what you need with `pg_dump --schema=tasker`, "
    "then re-create the schema, `tasker-ctl db reset --yes` for the embedded server, or "
    "`DROP SCHEMA tasker CASCADE` and `tasker-ctl db migrate` for another one "
    '(docs/database.md, "Databases older than the baseline")'
)


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
    """How the database compares with the migration files.

    ``legacy``: the ledger holds exactly ``LEGACY_SET``, which ``migrate`` upgrades in place
    (``pending`` then lists the migrations after the baseline). ``pre_baseline``: it holds
    another set from before the baseline, which cannot be upgraded. Neither is ever set when
    the files are not the packaged ones.
    """

    applied: tuple[AppliedMigration, ...]
    pending: tuple[Migration, ...]
    modified: tuple[Migration, ...]
    unknown: tuple[AppliedMigration, ...]
    legacy: bool = False
    pre_baseline: bool = False

    @property
    def up_to_date(self) -> bool:
        return not (self.pending or self.modified or self.legacy or self.pre_baseline)

    @property
    def behind(self) -> bool:
        """``migrate`` would change the schema (and may: nothing refuses it)."""
        return bool(self.pending or self.legacy)

    def refuse_unusable(self) -> None:
        """Raise when no migration may run against the database: it knows versions this
        binary does not (``SCHEMA_AHEAD``), or its applied migrations are not this binary's
        (``MIGRATION_MODIFIED``: a changed file, or a set from before the baseline)."""
        if self.unknown:
            versions = ", ".join(f"{a.version:04d}_{a.name}" for a in self.unknown)
            raise SchemaAheadError(
                f"the database holds migrations this version of tasker-ctl does not know: "
                f"{versions}; a newer tasker-ctl migrated it",
                hint="use a tasker-ctl at least as new as the one that migrated it; this one "
                "neither reads nor changes a schema it does not know",
            )
        if self.pre_baseline:
            raise MigrationModifiedError(
                "the database was migrated by a development version of tasker-ctl from "
                "before the baseline migration, with migration files that have changed since",
                hint=_PRE_BASELINE_HINT,
            )
        if self.modified:
            _raise_modified(list(self.modified))


def packaged_migrations_dir() -> Traversable:
    """The ``migrations/`` directory shipped inside the package."""
    return files("tasker_ctl.engine.store.sql").joinpath("migrations")


def packaged_schema() -> Traversable:
    """``schema.sql``: the schema the packaged migrations leave, in one readable file."""
    return files("tasker_ctl.engine.store.sql").joinpath("schema.sql")


def checksum(text: str) -> str:
    """SHA-256 of a migration's text, blind to CRLF/LF so a Windows checkout matches."""
    return hashlib.sha256(text.replace("\r\n", "\n").encode("utf-8")).hexdigest()


def load_migrations(directory: Traversable | None = None) -> list[Migration]:
    """The migration files of ``directory`` (default: the packaged ones), by version.

    Files that do not end in ``.sql`` (a README, the checksum manifest) are ignored; a
    ``.sql`` file with another name, or two files with one version, is an error.
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

    With the packaged files, a database of ``LEGACY_SET`` is first upgraded in place to the
    baseline (which is then among the migrations returned). Raises before changing anything:
    ``SchemaAheadError`` when the database holds versions without a file,
    ``MigrationModifiedError`` when an applied migration's file has changed or the database
    predates the baseline.
    """
    migrations = load_migrations(directory)
    packaged = directory is None
    done: list[Migration] = []
    with store.transaction():
        store.execute("lock_schema_migrations", lock_key=MIGRATION_LOCK_KEY)
        store.execute("create_tasker_schema")
        store.execute("create_schema_migrations_table")
        status = _compare(migrations, _applied(store), packaged)
        status.refuse_unusable()
        recorded = {applied.version for applied in status.applied}
        if status.legacy:
            _upgrade_legacy(store, migrations[0])
            done.append(migrations[0])
            recorded = {migrations[0].version}
    for migration in migrations:
        if migration.version in recorded:
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
    return _compare(migrations, applied, directory is None)


def require_current(store: Store) -> None:
    """Refuse a database this binary must not use as it is: one it may not migrate
    (``MigrationStatus.refuse_unusable``) or one that is behind (``SCHEMA_BEHIND``).
    Changes nothing."""
    status = migration_status(store)
    status.refuse_unusable()
    if status.legacy:
        raise SchemaBehindError(
            "the database was migrated by the migrations that preceded the baseline and "
            "needs its upgrade in place (its tasks are kept)",
            hint=_MIGRATE_HINT,
        )
    if status.pending:
        names = ", ".join(m.filename for m in status.pending)
        what = "has no tasker schema yet" if not status.applied else "is behind this version"
        raise SchemaBehindError(
            f"the database {what}: {len(status.pending)} migration"
            f"{'s' if len(status.pending) > 1 else ''} to apply ({names})",
            hint=_MIGRATE_HINT,
        )


def open_store(database: DatabaseTarget | str | None = None) -> Store:
    """A store on the target database (a resolved target, else ``--database-url``,
    ``TASKER_DATABASE_URL`` or the embedded server, started if need be), ready for use: what
    every command that reads or changes tasks opens.

    The embedded database is migrated here; an external one must already be current
    (``require_current``), since only ``tasker-ctl db migrate`` changes its schema.
    """
    from tasker_ctl.db.settings import DatabaseTarget, TargetSource, resolve_database_url

    target = database if isinstance(database, DatabaseTarget) else resolve_database_url(database)
    store = connect(target.url, unavailable_hint=target.unavailable_hint())
    try:
        if target.source is TargetSource.EMBEDDED:
            migrate(store)
        else:
            require_current(store)
    except BaseException:
        store.close()
        raise
    return store


def _compare(
    migrations: list[Migration], applied: dict[int, AppliedMigration], packaged: bool
) -> MigrationStatus:
    recorded = tuple(applied[version] for version in sorted(applied))
    if packaged and migrations and applied:
        rows = {(a.version, a.name, a.checksum) for a in recorded}
        if rows == set(LEGACY_SET):
            return MigrationStatus(recorded, tuple(migrations[1:]), (), (), legacy=True)
        first = applied.get(migrations[0].version)
        if first is not None and first.name != migrations[0].name:
            return MigrationStatus(recorded, (), (), (), pre_baseline=True)
    by_version = {migration.version: migration for migration in migrations}
    return MigrationStatus(
        applied=recorded,
        pending=tuple(m for m in migrations if m.version not in applied),
        modified=tuple(
            m
            for m in migrations
            if m.version in applied and applied[m.version].checksum != m.checksum
        ),
        unknown=tuple(a for a in recorded if a.version not in by_version),
    )


def _upgrade_legacy(store: Store, baseline: Migration) -> None:
    """In the caller's transaction: the schema of ``LEGACY_SET`` becomes the baseline's, and
    the ledger says so. Tables and rows are not touched."""
    script = files("tasker_ctl.engine.store.sql").joinpath("upgrades", "legacy_to_baseline.sql")
    store.execute_script(vouch(script.read_text(encoding="utf-8")))
    store.execute("clear_schema_migrations")
    store.execute(
        "insert_schema_migration",
        version=baseline.version,
        name=baseline.name,
        checksum=baseline.checksum,
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
        _raise_modified(changed)


def _raise_modified(changed: list[Migration]) -> None:
    names = ", ".join(m.filename for m in changed)
    raise MigrationModifiedError(
        f"applied migration{'s' if len(changed) > 1 else ''} changed since "
        f"{'they were' if len(changed) > 1 else 'it was'} applied: {names}",
        hint="restore the applied text and put the change in a new migration (the "
        "embedded server can start over with `tasker-ctl db reset --yes`, losing its data)",
    )
