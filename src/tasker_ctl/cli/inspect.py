"""``tasker-ctl inspect task``: what ran, what was planned and why, in layers.

Without an option, the overview (layer 1); ``--step NAME`` one step in full; ``--planning``,
``--fragment``, ``--composition`` the planner's calls, the fragments it produced and the
grammar compositions; ``--lineage`` the delegation chain. ``--json`` prints the layer's
document (docs/inspect.md); ``inspect schema VIEW`` prints its JSON Schema.
"""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING, Annotated

import typer

from tasker_ctl.cli.options import (
    DatabaseUrlOption,
    LatestNamespaceOption,
    TaskReference,
    ViewJsonOption,
)

if TYPE_CHECKING:
    from pydantic import BaseModel
    from rich.console import Console, RenderableType

_EPILOG = (
    "Exit codes: 0 shown; 2 an unknown task or step, a bad option, or no database. "
    "docs/inspect.md describes every view and its JSON document."
)


def register(app: typer.Typer) -> None:
    inspect_app = typer.Typer(
        help="Inspect tasks: what ran, what was planned and why.", no_args_is_help=True
    )
    app.add_typer(inspect_app, name="inspect")

    @inspect_app.command(epilog=_EPILOG)
    def task(
        reference: TaskReference,
        step: Annotated[
            str | None,
            typer.Option("--step", "-s", metavar="NAME", help="One step in full."),
        ] = None,
        planning: Annotated[
            bool, typer.Option("--planning", help="Planner calls: prompt, fragment, usage.")
        ] = False,
        fragment: Annotated[
            bool, typer.Option("--fragment", help="Planned fragments and their steps.")
        ] = False,
        composition: Annotated[
            bool, typer.Option("--composition", help="Grammar compositions and invocations.")
        ] = False,
        lineage: Annotated[
            bool, typer.Option("--lineage", help="Tasks linked by parent_correlation_id.")
        ] = False,
        full: Annotated[
            bool, typer.Option("--all", help="List every batch worker instead of folding.")
        ] = False,
        whole: Annotated[
            bool,
            typer.Option(
                "--full",
                help="With --planning or --fragment: prompts, capability texts, answers and "
                "fragments whole, not cut.",
            ),
        ] = False,
        namespace: LatestNamespaceOption = None,
        json_output: ViewJsonOption = False,
        database_url: DatabaseUrlOption = None,
    ) -> None:
        """Show a task in layers: overview, one step, planning, fragments, compositions,
        lineage."""
        chosen = [
            name
            for name, on in (
                ("--step", step is not None),
                ("--planning", planning),
                ("--fragment", fragment),
                ("--composition", composition),
                ("--lineage", lineage),
            )
            if on
        ]
        if len(chosen) > 1:
            from tasker_ctl.errors import UsageError

            raise UsageError(
                f"{' and '.join(chosen)} are different views; choose one",
                hint="run the command once per view",
            )
        from tasker_ctl.documents import tasks as documents

        document: BaseModel
        if step is not None:
            document = documents.inspect_step_document(
                database_url, reference, step, namespace=namespace
            )
        elif planning:
            document = documents.planning_document(
                database_url, reference, full=whole, namespace=namespace
            )
        else:
            view: documents.TaskView = (
                "lineage"
                if lineage
                else "fragment"
                if fragment
                else "composition"
                if composition
                else "overview"
            )
            document = documents.inspect_task_document(
                database_url, reference, view=view, full=whole, namespace=namespace
            )
        if json_output:
            from tasker_ctl.report.json_output import write_document

            write_document(document)
            return
        console = _console()
        console.print(_view_text(document, fold=not full, ascii_only=_ascii_only(console)))

    @inspect_app.command()
    def schema(
        view: Annotated[
            str,
            typer.Argument(
                metavar="VIEW",
                help="overview, step, planning, fragment, composition, lineage, provenance, "
                "budget or lineage_budget.",
            ),
        ],
    ) -> None:
        """Print the JSON Schema of a view's --json document."""
        from tasker_ctl.errors import UsageError
        from tasker_ctl.report.inspect_json import DOCUMENTS

        model = DOCUMENTS.get(view)
        if model is None:
            raise UsageError(
                f"unknown view '{view}'", hint=f"choose one of: {', '.join(DOCUMENTS)}"
            )
        schema_document = model.model_json_schema(by_alias=True, mode="serialization")
        sys.stdout.write(json.dumps(schema_document, indent=2) + "\n")


def _view_text(document: BaseModel, *, fold: bool, ascii_only: bool) -> RenderableType:
    """The text of the view whose document ``inspect task`` built."""
    from tasker_ctl.report import inspect_json as documents
    from tasker_ctl.report import inspect_layers_view as layers
    from tasker_ctl.report import inspect_view as views

    if isinstance(document, documents.StepDocument):
        return views.step_detail(document.step)
    if isinstance(document, documents.PlanningDocument):
        return layers.planning_view(document.planning)
    if isinstance(document, documents.FragmentDocument):
        return layers.fragment_view(document.fragment)
    if isinstance(document, documents.CompositionDocument):
        return layers.composition_view(document.composition)
    if isinstance(document, documents.LineageDocument):
        return layers.lineage_view(document.lineage)
    assert isinstance(document, documents.OverviewDocument)
    return views.overview(document.task, ascii_only=ascii_only, fold=fold)


def _console() -> Console:
    from tasker_ctl.report.run_view import make_console

    return make_console()


def _ascii_only(console: Console) -> bool:
    return not console.encoding.lower().startswith("utf")
