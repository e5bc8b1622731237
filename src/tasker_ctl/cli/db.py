"""``tasker-ctl db ...``: start, stop, reset, migrate and inspect the database.

Without ``--database-url``, ``TASKER_DATABASE_URL`` or a project configuration's
``database_url`` the commands use the project's embedded server (the nearest ``.tasker``, or
``TASKER_HOME``; docs/database.md). Heavy modules are imported inside commands.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Annotated

import typer

from tasker_ctl.cli.options import CreatingDatabaseUrlOption, DatabaseUrlOption

if TYPE_CHECKING:
    from tasker_ctl.db.settings import DatabaseTarget

_STATUS_JSON_HELP = "Print the status as one JSON object (docs/database.md)."


def register(app: typer.Typer) -> None:
    db_app = typer.Typer(
        help="Manage the database: embedded server, migrations.", no_args_is_help=True
    )
    app.add_typer(db_app, name="db")

    @db_app.command()
    def migrate(database_url: CreatingDatabaseUrlOption = None) -> None:
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
        with connect(target.url, unavailable_hint=target.unavailable_hint()) as store:
            legacy = migration_status(store).legacy
            applied = apply_migrations(store)
        _echo(migrated_lines(applied, legacy=legacy))

    @db_app.command()
    def status(
        database_url: DatabaseUrlOption = None,
        json_output: Annotated[bool, typer.Option("--json", help=_STATUS_JSON_HELP)] = False,
    ) -> None:
        """Show the target database, whether it is reachable, and its migrations.

        Never starts the embedded server, and never creates one.
        """
        from tasker_ctl.db.settings import configured_database_url, running_embedded_target

        target = configured_database_url(database_url) or running_embedded_target()
        if target is None:
            _show_stopped_embedded(json_output)
            return
        _show_target_status(target, json_output)

    @db_app.command()
    def start() -> None:
        """Start the embedded server, or report the one already running.

        It is created in the nearest .tasker folder (or project root), else in ./.tasker,
        and stops by itself after a while without clients (TASKER_IDLE_STOP).
        """
        from tasker_ctl.db.embedded import data_dir, start_embedded
        from tasker_ctl.db.idle_stop import describe_seconds, idle_stop_setting

        _warn_if_url_configured()
        idle = idle_stop_setting()
        url = start_embedded(idle_stop_after=idle.seconds)
        typer.echo(f"embedded PostgreSQL running ({data_dir()})")
        typer.echo(f"url: {url}")
        typer.echo(f"idle stop: {describe_seconds(idle.seconds)} (from {idle.source})")

    @db_app.command()
    def stop(
        all_servers: Annotated[
            bool,
            typer.Option(
                "--all",
                help="Stop every embedded server tasker-ctl started for you, wherever it is.",
            ),
        ] = False,
    ) -> None:
        """Stop the embedded server (its data is kept)."""
        if all_servers:
            from tasker_ctl.db.registry import stop_recorded_servers
            from tasker_ctl.report.db_view import stopped_servers_lines

            _echo(stopped_servers_lines(stop_recorded_servers()))
            return
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


def _show_stopped_embedded(json_output: bool) -> None:
    from tasker_ctl.db.embedded import embedded_status
    from tasker_ctl.engine.store import load_migrations
    from tasker_ctl.report.db_view import status_json, stopped_embedded_lines

    status, known = embedded_status(), len(load_migrations())
    if json_output:
        typer.echo(status_json(None, embedded=status, known=known))
        return
    _echo(stopped_embedded_lines(status, known))


def _show_target_status(target: DatabaseTarget, json_output: bool) -> None:
    from tasker_ctl.db.embedded import embedded_status
    from tasker_ctl.db.settings import TargetSource
    from tasker_ctl.engine.store import connect, load_migrations, migration_status
    from tasker_ctl.report.db_view import reachable_lines, status_json, target_lines

    embedded = target.source is TargetSource.EMBEDDED
    if not json_output:
        _echo(target_lines(target, embedded=embedded))
    with connect(target.url, unavailable_hint=target.unavailable_hint()) as store:
        version = store.server_version()
        report = migration_status(store)
    if json_output:
        typer.echo(
            status_json(
                target,
                embedded=embedded_status() if embedded else None,
                known=len(load_migrations()),
                server_version=version,
                report=report,
            )
        )
    else:
        _echo(reachable_lines(version, report))
    if report.unknown or report.pre_baseline:
        report.refuse_unusable()


def _echo(lines: list[str]) -> None:
    for line in lines:
        typer.echo(line)


def _warn_if_url_configured() -> None:
    from tasker_ctl.db.settings import configured_database_url

    target = configured_database_url()
    if target is not None:
        typer.echo(
            f"note: {target.origin} names a database server, so other commands use that "
            "server, not the embedded one",
            err=True,
        )
