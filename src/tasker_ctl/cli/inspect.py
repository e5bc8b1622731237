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
        from tasker_ctl.engine.store import open_store
        from tasker_ctl.engine.views import (
            composition_layer,
            fragment_layer,
            inspect_step,
            inspect_task,
            planning_layer,
            resolve_task,
            task_lineage,
        )
        from tasker_ctl.report import inspect_json as documents
        from tasker_ctl.report import inspect_layers_view as layers
        from tasker_ctl.report import inspect_view as views

        document: BaseModel
        renderable: RenderableType
        with open_store(database_url) as store:
            task_uuid = resolve_task(store, reference, namespace=namespace)
            if step is not None:
                detail = inspect_step(store, task_uuid, step)
                document = documents.StepDocument(step=detail)
                renderable = views.step_detail(detail)
            elif lineage:
                chain = task_lineage(store, task_uuid)
                document = documents.LineageDocument(lineage=chain)
                renderable = layers.lineage_view(chain)
            else:
                overview = inspect_task(store, task_uuid)
                if planning:
                    layer = planning_layer(store, overview, full=whole)
                    document = documents.PlanningDocument(planning=layer)
                    renderable = layers.planning_view(layer)
                elif fragment:
                    fragments = fragment_layer(store, overview, full=whole)
                    document = documents.FragmentDocument(fragment=fragments)
                    renderable = layers.fragment_view(fragments)
                elif composition:
                    compositions = composition_layer(store, overview)
                    document = documents.CompositionDocument(composition=compositions)
                    renderable = layers.composition_view(compositions)
                else:
                    document = documents.OverviewDocument(task=overview)
                    console = _console()
                    renderable = views.overview(
                        overview, ascii_only=_ascii_only(console), fold=not full
                    )
        if json_output:
            sys.stdout.write(documents.document_json(document))
            return
        _console().print(renderable)

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


def _console() -> Console:
    from tasker_ctl.report.run_view import make_console

    return make_console()


def _ascii_only(console: Console) -> bool:
    return not console.encoding.lower().startswith("utf")
