"""``tasker-ctl fragment validate|explain FRAGMENT --template T --step S``: check a planner's
fragment against a template's planning step as a dry run, with no database and no model.

FRAGMENT is a YAML or JSON file, or ``-`` for standard input. ``validate`` reports findings
like ``tasker-ctl validate`` (exit 0 accepted, 1 findings); ``explain`` shows the data flow the
fragment would have and the edges its materialization would add.
"""

from __future__ import annotations

import sys
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from tasker_ctl.cli.json_flag import JsonFlagOption, chosen_format
from tasker_ctl.errors import ContextJsonError

if TYPE_CHECKING:
    from tasker_ctl.planning.frame import FragmentFrame
    from tasker_ctl.template.source import SourceDocument


class ReportFormat(StrEnum):
    TEXT = "text"
    JSON = "json"
    SARIF = "sarif"


FragmentArgument = Annotated[
    str,
    typer.Argument(
        metavar="FRAGMENT",
        help="The fragment: a YAML or JSON file, or - for standard input.",
        show_default=False,
    ),
]
TemplateOption = Annotated[
    Path,
    typer.Option(
        "--template",
        "-t",
        metavar="FILE",
        help="The template whose planning step the fragment fills.",
        show_default=False,
    ),
]
StepOption = Annotated[
    str,
    typer.Option(
        "--step",
        "-s",
        metavar="NAME",
        help="The template's 'type: planning' step.",
        show_default=False,
    ),
]
ContextOption = Annotated[
    str | None,
    typer.Option(
        "--context",
        metavar="JSON|@FILE",
        help="The task context: task-context references must then find their fields in it.",
        show_default=False,
    ),
]
ResultsOption = Annotated[
    str | None,
    typer.Option(
        "--results",
        metavar="JSON|@FILE",
        help="Known results of upstream steps, as an object keyed by step name.",
        show_default=False,
    ),
]
RemainingOption = Annotated[
    int | None,
    typer.Option(
        "--remaining-steps",
        min=0,
        metavar="N",
        help="Steps the task's budget still allows (default: only the planning bounds).",
        show_default=False,
    ),
]


def register(app: typer.Typer) -> None:
    fragment_app = typer.Typer(
        help="Check a planner's workflow fragment against a template's planning step.",
        no_args_is_help=True,
    )
    app.add_typer(fragment_app, name="fragment")

    @fragment_app.command(
        epilog="Exit codes: 0 the fragment is accepted; 1 findings (or the template has "
        "errors); 2 bad usage or an unreadable fragment."
    )
    def validate(
        fragment: FragmentArgument,
        template: TemplateOption,
        step: StepOption,
        context: ContextOption = None,
        results: ResultsOption = None,
        remaining_steps: RemainingOption = None,
        output_format: Annotated[
            ReportFormat,
            typer.Option("--format", "-f", case_sensitive=False, help="Report format."),
        ] = ReportFormat.TEXT,
        json_flag: JsonFlagOption = False,
    ) -> None:
        """Check a fragment in all nine stages (format, handlers, compositions, configs, DAG,
        references, data contracts, bounds, frame) as the worker would, with no database."""
        from tasker_ctl.documents.fragments import fragment_validation
        from tasker_ctl.report import fragment_view

        output_format = chosen_format(
            output_format, json_flag=json_flag, default=ReportFormat.TEXT, json=ReportFormat.JSON
        )
        document = _read_fragment(fragment)
        frame = _frame(template, step, context, results, remaining_steps)
        check = fragment_validation(document, frame)
        if output_format is ReportFormat.JSON:
            from tasker_ctl.report.json_output import write_document

            write_document(check)
        elif output_format is ReportFormat.SARIF:
            from tasker_ctl.report.sarif import render_sarif

            sys.stdout.write(render_sarif(fragment_view.as_report(check)))
        else:
            from tasker_ctl.report.validation_text import make_console, render_text

            render_text(fragment_view.as_report(check), make_console(sys.stdout))
            typer.echo(fragment_view.summary_line(check))
        raise typer.Exit(0 if check.accepted else 1)

    @fragment_app.command(
        epilog="Exit codes: 0 explained and accepted; 1 explained with findings (or the "
        "template has errors); 2 bad usage or an unreadable fragment."
    )
    def explain(
        fragment: FragmentArgument,
        template: TemplateOption,
        step: StepOption,
        context: ContextOption = None,
        results: ResultsOption = None,
        remaining_steps: RemainingOption = None,
        json_output: Annotated[
            bool, typer.Option("--json", help="Print the data flow as JSON.")
        ] = False,
    ) -> None:
        """Show the data flow the fragment would have: where each input comes from (a task
        context field, an upstream step's field) with its schema type, the edges the
        materialization adds (planning step to roots, leaves to the convergence), and the
        findings."""
        from tasker_ctl.documents.fragments import fragment_explanation
        from tasker_ctl.report import fragment_view

        document = _read_fragment(fragment)
        frame = _frame(template, step, context, results, remaining_steps)
        explanation = fragment_explanation(document, frame)
        if json_output:
            from tasker_ctl.report.json_output import write_document

            write_document(explanation)
        else:
            fragment_view.render_explanation_text(explanation, sys.stdout)
        raise typer.Exit(0 if explanation.accepted else 1)


def _read_fragment(argument: str) -> SourceDocument:
    """The fragment file (or standard input) as data with positions; a coded error when it
    is not YAML or JSON."""
    from tasker_ctl.documents.fragments import read_fragment, usable_fragment
    from tasker_ctl.template.limits import MAX_TEMPLATE_BYTES
    from tasker_ctl.template.source import parse_document

    if argument == "-":
        raw = sys.stdin.buffer.read(MAX_TEMPLATE_BYTES + 1)
        return usable_fragment(parse_document(raw, path=Path("-"), display_path="<stdin>"))
    return read_fragment(Path(argument), argument)


def _frame(
    template: Path,
    step: str,
    context: str | None,
    results: str | None,
    remaining_steps: int | None,
) -> FragmentFrame:
    from tasker_ctl.cli.json_options import read_json_option
    from tasker_ctl.documents.fragments import fragment_frame

    context_value = None
    if context is not None:
        context_value, _ = read_json_option(context, "--context", ContextJsonError)
    results_value: Any = None
    if results is not None:
        results_value, where = read_json_option(results, "--results", ContextJsonError)
        if not isinstance(results_value, dict):
            raise ContextJsonError(
                f"{where} must be a JSON object keyed by step name",
                hint='e.g. --results \'{"collect_signals": {"signals": []}}\'',
            )
    return fragment_frame(
        template,
        step,
        context=context_value,
        results=results_value,
        remaining_steps=remaining_steps,
    )
