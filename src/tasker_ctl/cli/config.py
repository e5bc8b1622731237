"""``tasker-ctl config show``: the configuration in force here, each setting with its source
(the project configuration, ``tasker.toml`` or ``[tool.tasker-ctl]``; docs/configuration.md)."""

from __future__ import annotations

from typing import Annotated

import typer

_JSON_HELP = "Print the configuration as one JSON object (docs/configuration.md)."


def register(app: typer.Typer) -> None:
    config_app = typer.Typer(
        help="The project configuration (tasker.toml or [tool.tasker-ctl] in pyproject.toml).",
        no_args_is_help=True,
    )
    app.add_typer(config_app, name="config")

    @config_app.command()
    def show(
        json_output: Annotated[bool, typer.Option("--json", help=_JSON_HELP)] = False,
    ) -> None:
        """Show each setting in force here and where it came from.

        An option beats an environment variable, which beats the project configuration
        (the nearest tasker.toml or pyproject.toml with [tool.tasker-ctl] from here up),
        which beats the defaults. Reads only: starts and creates nothing.
        """
        from tasker_ctl.db.effective import effective_configuration
        from tasker_ctl.report.config_view import config_json, config_lines

        configuration = effective_configuration()
        if json_output:
            typer.echo(config_json(configuration))
            return
        for line in config_lines(configuration):
            typer.echo(line)
