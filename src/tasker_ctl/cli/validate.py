"""``tasker-ctl validate``: check templates offline."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    @app.command()
    def validate(paths: list[str]) -> None:
        """Validate TaskTemplate files, directories (recursively) and globs."""
        from tasker_ctl.template import validate_paths

        report = validate_paths(paths)
        for finding in report.findings:
            typer.echo(
                f"{finding.location}: {finding.severity.value} {finding.code} {finding.message}"
            )
        raise typer.Exit(report.exit_code())
