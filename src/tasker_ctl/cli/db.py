"""``tasker-ctl db ...``: start, stop, reset, migrate and inspect the database.

Without ``--database-url`` or ``TASKER_DATABASE_URL`` the commands use the project's embedded
server (``.tasker/pgdata``, or ``TASKER_HOME``). Heavy modules are imported inside commands.
"""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING, Annotated

import typer

from tasker_ctl.cli.options import DatabaseUrlOption

if TYPE_CHECKING:
    from tasker_ctl.db.settings import DatabaseTarget
    from tasker_ctl.engine.store import MigrationStatus


def register(app: typer.Typer) -> None:
    db_app = typer.Typer(
        help="Manage the database: embedded server, migrations.", no_args_is_help=True
    )
    app.add_typer(db_app, name="db")

    @db_app.command()
    def migrate(database_url: DatabaseUrlOption = None) -> None:
        """Apply pending schema migrations (starts the embedded server when needed).

        The one command that migrates an external database; a database made by the
        migrations that preceded the baseline is upgraded in place, its tasks kept.
        """
        from tasker_ctl.db.settings import resolve_database_url
        from tasker_ctl.engine.store import connect, migration_status
        from tasker_ctl.engine.store import migrate as apply_migrations

        target = resolve_database_url(database_url)
        typer.echo(f"database: {target.describe()}")
        with connect(target.url) as store:
            legacy = migration_status(store).legacy
            applied = apply_migrations(store)
        for migration in applied:
            if legacy and migration.version == 1:
                typer.echo(
                    f"upgraded in place to {migration.filename} (from the migrations before "
                    "the baseline; tasks kept)"
                )
            else:
                typer.echo(f"applied {migration.filename}")
        if not applied:
            typer.echo("migrations: up to date, nothing to apply")

    @db_app.command()
    def status(database_url: DatabaseUrlOption = None) -> None:
        """Show the target database, whether it is reachable, and its migrations.

        Never starts the embedded server.
        """
        from tasker_ctl.db.settings import configured_database_url, running_embedded_target

        target = configured_database_url(database_url) or running_embedded_target()
        if target is None:
            _show_stopped_embedded()
            return
        _show_target_status(target)

    @db_app.command()
    def start() -> None:
        """Start the embedded server, or report the one already running."""
        from tasker_ctl.db.embedded import data_dir, start_embedded

        _warn_if_url_configured()
        url = start_embedded()
        typer.echo(f"embedded PostgreSQL running ({data_dir()})")
        typer.echo(f"url: {url}")

    @db_app.command()
    def stop() -> None:
        """Stop the embedded server (its data is kept)."""
        from tasker_ctl.db.embedded import data_dir, stop_embedded

        _warn_if_url_configured()
        stopped = stop_embedded()
        typer.echo(f"embedded PostgreSQL {'stopped' if stopped else 'was not running'}")
        typer.echo(f"data: {data_dir()}")

    @db_app.command()
    def reset(
        yes: Annotated[
            bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")
        ] = False,
    ) -> None:
        """Stop the embedded server and delete its data directory."""
        from tasker_ctl.db.embedded import data_dir, reset_embedded
        from tasker_ctl.errors import ConfirmationRequiredError

        _warn_if_url_configured()
        directory = data_dir()
        if not yes:
            if not sys.stdin.isatty():
                raise ConfirmationRequiredError(
                    f"reset deletes {directory} and every database in it",
                    hint="pass --yes to confirm",
                )
            typer.confirm(f"Delete {directory} and every database in it?", abort=True)
        deleted = reset_embedded()
        typer.echo(f"{'deleted' if deleted else 'nothing to delete at'} {directory}")


def _show_stopped_embedded() -> None:
    from tasker_ctl.db.embedded import embedded_status
    from tasker_ctl.engine.store import load_migrations

    embedded = embedded_status()
    typer.echo(f"target: embedded PostgreSQL ({embedded.data_dir})")
    if embedded.initialized:
        state = "starting" if embedded.running else "not running"
        version = f"PostgreSQL {embedded.major_version}, " if embedded.major_version else ""
        typer.echo(f"server: {state} ({version}data: {_size(embedded.size_bytes)})")
    else:
        typer.echo("server: not created yet")
    typer.echo(f"migrations: {len(load_migrations())} in this version of tasker-ctl")
    typer.echo("hint: `tasker-ctl db migrate` starts the server and applies them")


def _show_target_status(target: DatabaseTarget) -> None:
    from tasker_ctl.db.settings import TargetSource
    from tasker_ctl.engine.store import connect, migration_status

    typer.echo(f"target: {target.describe()}")
    if target.source is TargetSource.EMBEDDED:
        typer.echo(f"url: {target.url}")
    with connect(target.url) as store:
        typer.echo("reachable: yes")
        typer.echo(f"server: PostgreSQL {store.server_version()}")
        report = migration_status(store)
    typer.echo(f"migrations: {_migration_summary(report)}")
    for migration in report.pending:
        typer.echo(f"  pending: {migration.filename}")
    for migration in report.modified:
        typer.echo(f"  modified since applied: {migration.filename}")
    for applied in report.unknown:
        typer.echo(f"  applied but unknown to this version: {applied.version:04d}_{applied.name}")
    if report.legacy:
        typer.echo("  upgrade in place pending: from the migrations before the baseline")
    if report.behind:
        typer.echo("hint: run `tasker-ctl db migrate`")
    if report.unknown or report.pre_baseline:
        report.refuse_unusable()


def _migration_summary(report: MigrationStatus) -> str:
    if report.pre_baseline or report.legacy:
        return f"{len(report.applied)} applied before the baseline migration"
    text = f"{len(report.applied)} applied, {len(report.pending)} pending"
    if report.modified:
        text += f", {len(report.modified)} modified"
    return text


def _warn_if_url_configured() -> None:
    from tasker_ctl.db.settings import DATABASE_URL_ENV

    if os.environ.get(DATABASE_URL_ENV, "").strip():
        typer.echo(
            f"note: {DATABASE_URL_ENV} is set, so other commands use that server, "
            "not the embedded one",
            err=True,
        )


def _size(size: int) -> str:
    value = float(size)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GB"
