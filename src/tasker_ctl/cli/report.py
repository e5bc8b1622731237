"""``tasker-ctl report provenance|budget``: where a task's steps came from, and what its
planners may still spend."""

from __future__ import annotations

from typing import Annotated

import typer

from tasker_ctl.cli.options import (
    DatabaseUrlOption,
    LatestNamespaceOption,
    TaskReference,
    ViewJsonOption,
)


def register(app: typer.Typer) -> None:
    report_app = typer.Typer(
        help="Reports on one task: provenance of its steps, budget use.", no_args_is_help=True
    )
    app.add_typer(report_app, name="report")

    @report_app.command()
    def provenance(
        reference: TaskReference,
        namespace: LatestNamespaceOption = None,
        json_output: ViewJsonOption = False,
        database_url: DatabaseUrlOption = None,
    ) -> None:
        """Every step's provenance: created by what, from which step, planner and fragment,
        application or grammar handler."""
        from tasker_ctl.documents.tasks import inspected_task
        from tasker_ctl.report.inspect_json import provenance_document

        task = inspected_task(database_url, reference, namespace=namespace)
        if json_output:
            from tasker_ctl.report.json_output import write_document

            write_document(provenance_document(task))
            return
        from tasker_ctl.report.budget_view import provenance_view
        from tasker_ctl.report.run_view import make_console

        make_console().print(provenance_view(task))

    @report_app.command()
    def budget(
        reference: TaskReference,
        lineage: Annotated[
            bool,
            typer.Option("--lineage", help="The whole delegation chain's budgets, added up."),
        ] = False,
        namespace: LatestNamespaceOption = None,
        json_output: ViewJsonOption = False,
        database_url: DatabaseUrlOption = None,
    ) -> None:
        """The task's budget from its ledger: used, reserved and left of each resource."""
        from tasker_ctl.documents.operations import budget_document

        document = budget_document(database_url, reference, lineage=lineage, namespace=namespace)
        if json_output:
            from tasker_ctl.report.json_output import write_document

            write_document(document)
            return
        from tasker_ctl.report import budget_view
        from tasker_ctl.report.inspect_json import LineageBudgetDocument
        from tasker_ctl.report.run_view import make_console

        if isinstance(document, LineageBudgetDocument):
            make_console().print(budget_view.lineage_budget_view(document.lineage))
        else:
            make_console().print(budget_view.budget_view(document.budget))
