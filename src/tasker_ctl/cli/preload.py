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
        from tasker_ctl.preload.control import preloader_folder, running_preloaders
        from tasker_ctl.preload.place import find_place, supported, switched_off

        folder = preloader_folder(os.environ)
        preloaders = running_preloaders(folder, os.environ)
        enabled = supported() and not switched_off(os.environ)
        usable = find_place(os.environ) is not None
        if json_output:
            document = {
                "folder": str(folder),
                "enabled": enabled,
                "usable": usable,
                "preloaders": [preloader.as_json() for preloader in preloaders],
            }
            typer.echo(json.dumps(document, indent=2))
            return
        if not supported():
            typer.echo("preloading: not available on this platform (Linux only)")
        elif not enabled:
            typer.echo("preloading: off (TASKER_PRELOAD)")
        elif not usable:
            typer.echo(f"preloading: off (the folder {folder} is not private to this user)")
        else:
            typer.echo("preloading: on")
        typer.echo(f"folder: {folder}")
        if not preloaders:
            typer.echo("no preloader running")
        for preloader in preloaders:
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
        from tasker_ctl.preload.control import preloader_folder, stop_preloaders

        stopped = stop_preloaders(preloader_folder(os.environ))
        if json_output:
            typer.echo(json.dumps({"stopped": stopped}))
            return
        typer.echo(f"stopped {len(stopped)} preloader{'s' if len(stopped) != 1 else ''}")
