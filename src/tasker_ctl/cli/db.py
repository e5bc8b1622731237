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
        from tasker_ctl.report.db_view import migrated_lines

        target = resolve_database_url(database_url)
        typer.echo(f"database: {target.describe()}")
        with connect(target.url) as store:
            legacy = migration_status(store).legacy
            applied = apply_migrations(store)
        _echo(migrated_lines(applied, legacy=legacy))

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
    from tasker_ctl.report.db_view import stopped_embedded_lines

    _echo(stopped_embedded_lines(embedded_status(), len(load_migrations())))


def _show_target_status(target: DatabaseTarget) -> None:
    from tasker_ctl.db.settings import TargetSource
    from tasker_ctl.engine.store import connect, migration_status
    from tasker_ctl.report.db_view import reachable_lines, target_lines

    _echo(target_lines(target, embedded=target.source is TargetSource.EMBEDDED))
    with connect(target.url) as store:
        version = store.server_version()
        report = migration_status(store)
    _echo(reachable_lines(version, report))
    if report.unknown or report.pre_baseline:
        report.refuse_unusable()


def _echo(lines: list[str]) -> None:
    for line in lines:
        typer.echo(line)


def _warn_if_url_configured() -> None:
    from tasker_ctl.db.settings import DATABASE_URL_ENV

    if os.environ.get(DATABASE_URL_ENV, "").strip():
        typer.echo(
            f"note: {DATABASE_URL_ENV} is set, so other commands use that server, "
            "not the embedded one",
            err=True,
        )
