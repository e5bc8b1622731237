"""``tasker-ctl preload status|stop``: this user's preloaders (``tasker_ctl.preload``)."""

from __future__ import annotations

import json
import os
from typing import Annotated

import typer

_JSON_HELP = "Print one JSON object: the folder, whether preloading is on, the preloaders."


def register(app: typer.Typer) -> None:
    preload_app = typer.Typer(
        help="Preloaders: processes that keep tasker-ctl loaded so that commands start warm.",
        no_args_is_help=True,
    )
    app.add_typer(preload_app, name="preload")

    @preload_app.command()
    def status(
        json_output: Annotated[bool, typer.Option("--json", help=_JSON_HELP)] = False,
    ) -> None:
        """Show the preloaders running for this user, and whether this environment's commands
        go to one (TASKER_PRELOAD=off: never; only on Linux)."""
        from tasker_ctl.db.idle_stop import describe_seconds
        from tasker_ctl.preload.control import preload_status

        status = preload_status(os.environ)
        if json_output:
            typer.echo(json.dumps(status.as_json(), indent=2))
            return
        if not status.supported:
            typer.echo("preloading: not available on this platform (Linux only)")
        elif not status.settings.enabled:
            typer.echo("preloading: off (TASKER_PRELOAD)")
        elif not status.usable:
            typer.echo(f"preloading: off (the folder {status.folder} is not private to you)")
        else:
            typer.echo("preloading: on")
        idle = status.settings
        typer.echo(f"idle stop: {describe_seconds(idle.idle_seconds)} ({idle.idle_source})")
        typer.echo(f"folder: {status.folder}")
        if not status.preloaders:
            typer.echo("no preloader running")
        for preloader in status.preloaders:
            mark = " (this environment)" if preloader.this_environment else ""
            typer.echo(f"preloader {preloader.place.key}: process {preloader.pid}{mark}")

    @preload_app.command()
    def stop(
        json_output: Annotated[
            bool, typer.Option("--json", help="Print the process ids stopped as JSON.")
        ] = False,
    ) -> None:
        """Stop every preloader of this user; commands they are running run on. The next
        command of a preloaded kind starts one again, unless TASKER_PRELOAD=off."""
        from tasker_ctl.preload.control import stop_preloaders
        from tasker_ctl.preload.place import folder_for

        stopped = stop_preloaders(folder_for(os.environ))
        if json_output:
            typer.echo(json.dumps({"stopped": stopped}))
            return
        typer.echo(f"stopped {len(stopped)} preloader{'s' if len(stopped) != 1 else ''}")
