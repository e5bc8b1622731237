"""``tasker-ctl template ...``: commands about one template (visualize)."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    template_app = typer.Typer(help="Inspect a single template.", no_args_is_help=True)
    app.add_typer(template_app, name="template")
