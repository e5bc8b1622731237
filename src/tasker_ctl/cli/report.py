"""``tasker-ctl report provenance|budget``: where a task's steps came from, and what its
planners may still spend."""

from __future__ import annotations

import sys
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
        from tasker_ctl.engine.store import open_store
        from tasker_ctl.engine.views import inspect_task, resolve_task
        from tasker_ctl.report.budget_view import provenance_view
        from tasker_ctl.report.inspect_json import document_json, provenance_document
        from tasker_ctl.report.run_view import make_console

        with open_store(database_url) as store:
            task = inspect_task(store, resolve_task(store, reference, namespace=namespace))
        if json_output:
            sys.stdout.write(document_json(provenance_document(task)))
            return
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
        from tasker_ctl.engine.store import open_store
        from tasker_ctl.engine.views import resolve_task, task_budget, task_lineage
        from tasker_ctl.report import budget_view
        from tasker_ctl.report.inspect_json import (
            BudgetDocument,
            LineageBudgetDocument,
            document_json,
        )
        from tasker_ctl.report.run_view import make_console

        with open_store(database_url) as store:
            task_uuid = resolve_task(store, reference, namespace=namespace)
            if lineage:
                chain = task_lineage(store, task_uuid)
            else:
                spent = task_budget(store, task_uuid)
        if lineage:
            if json_output:
                sys.stdout.write(document_json(LineageBudgetDocument(lineage=chain)))
            else:
                make_console().print(budget_view.lineage_budget_view(chain))
            return
        if json_output:
            sys.stdout.write(document_json(BudgetDocument(budget=spent)))
            return
        make_console().print(budget_view.budget_view(spent))
