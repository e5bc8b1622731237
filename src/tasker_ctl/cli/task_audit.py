"""``tasker-ctl task audit``: one step's trail, every transition with who made it and why, and
every attempt with how it ended (``tasker_ctl.documents.tasks.step_audit_document``)."""

from __future__ import annotations

from typing import Annotated

import typer

from tasker_ctl.cli.options import (
    DatabaseUrlOption,
    LatestNamespaceOption,
    StepArgument,
    TaskArgument,
)

_EPILOG = (
    "Exit codes: 0 shown; 2 bad usage, an unknown task or step, or no database. "
    "docs/operations.md describes the JSON document."
)


def register(task_app: typer.Typer) -> None:
    """Add ``audit`` to the ``task`` group."""

    @task_app.command(epilog=_EPILOG)
    def audit(
        task: TaskArgument,
        step_name: StepArgument,
        namespace: LatestNamespaceOption = None,
        database_url: DatabaseUrlOption = None,
        json_output: Annotated[
            bool,
            typer.Option("--json", help="Print the trail as one JSON document."),
        ] = False,
    ) -> None:
        """Show a step's audit trail: each transition (when, from and to, the attempt, and
        who and why for an operator's action) and each attempt with its outcome and error."""
        from tasker_ctl.documents.tasks import step_audit_document

        document = step_audit_document(database_url, task, step_name, namespace=namespace)
        if json_output:
            from tasker_ctl.report.json_output import write_document

            write_document(document)
            return
        from tasker_ctl.report.step_audit import audit_lines

        for line in audit_lines(document):
            typer.echo(line)
