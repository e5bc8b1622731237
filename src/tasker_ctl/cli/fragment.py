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
from tasker_ctl.errors import (
    ContextJsonError,
    FragmentFileError,
    PathNotFoundError,
    UsageError,
)

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
        from tasker_ctl.planning.validator import check_fragment
        from tasker_ctl.report import fragment_view

        output_format = chosen_format(
            output_format, json_flag=json_flag, default=ReportFormat.TEXT, json=ReportFormat.JSON
        )
        document = _read_fragment(fragment)
        frame = _frame(template, step, context, results, remaining_steps)
        source = document.display_path
        check = check_fragment(document.data, frame, source=source)
        check = check.model_copy(update={"findings": _placed(check.findings, document)})
        identity = frame.template.identifier
        if output_format is ReportFormat.JSON:
            sys.stdout.write(
                fragment_view.render_check_json(
                    check, source=source, template=identity, planning_step=step
                )
            )
        elif output_format is ReportFormat.SARIF:
            from tasker_ctl.report.sarif import render_sarif

            report = fragment_view.as_report(check, source=source, template=identity)
            sys.stdout.write(render_sarif(report))
        else:
            from tasker_ctl.report.validation_text import make_console, render_text

            report = fragment_view.as_report(check, source=source, template=identity)
            render_text(report, make_console(sys.stdout))
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
        from tasker_ctl.planning.explain import explain_fragment
        from tasker_ctl.report import fragment_view

        document = _read_fragment(fragment)
        frame = _frame(template, step, context, results, remaining_steps)
        explanation = explain_fragment(document.data, frame, source=document.display_path)
        placed = _placed(explanation.findings, document)
        explanation = explanation.model_copy(update={"findings": placed})
        if json_output:
            sys.stdout.write(fragment_view.render_explanation_json(explanation))
        else:
            fragment_view.render_explanation_text(explanation, sys.stdout)
        raise typer.Exit(0 if explanation.accepted else 1)


def _read_fragment(argument: str) -> SourceDocument:
    """The fragment file (or standard input) as data with positions; a coded error when it
    is not YAML or JSON."""
    from tasker_ctl.template.limits import MAX_TEMPLATE_BYTES
    from tasker_ctl.template.source import parse_document, read_document

    if argument == "-":
        raw = sys.stdin.buffer.read(MAX_TEMPLATE_BYTES + 1)
        document = parse_document(raw, path=Path("-"), display_path="<stdin>")
    else:
        path = Path(argument)
        if not path.exists():
            raise PathNotFoundError(f"fragment '{argument}' does not exist", hint="check the path")
        if not path.is_file():
            raise UsageError(
                f"fragment '{argument}' is not a file", hint="name a YAML or JSON file"
            )
        document = read_document(path, argument)
    if document.problems:
        problem = document.problems[0]
        where = f":{problem.position[0]}:{problem.position[1]}" if problem.position else ""
        raise FragmentFileError(
            f"{document.display_path}{where}: {problem.message}",
            hint="a fragment is one YAML or JSON document (docs/fragments.md)",
        )
    return document


def _frame(
    template: Path,
    step: str,
    context: str | None,
    results: str | None,
    remaining_steps: int | None,
) -> FragmentFrame:
    from tasker_ctl.cli.json_options import read_json_option
    from tasker_ctl.planning.frame import FragmentFrame
    from tasker_ctl.template.validator import load_checked

    if not template.exists():
        raise PathNotFoundError(f"template '{template}' does not exist", hint="check the path")
    loaded = load_checked(template)
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
    return FragmentFrame(
        loaded.template,
        step,
        context=context_value,
        results=results_value,
        remaining_steps=remaining_steps,
    )


def _placed(findings: list[Any], document: SourceDocument) -> list[Any]:
    """The findings with the line and column of their path in the fragment file."""
    placed = []
    for finding in findings:
        position = document.positions.locate(tuple(getattr(finding, "keys", ())))
        if position is None:
            placed.append(finding)
        else:
            placed.append(finding.model_copy(update={"line": position[0], "column": position[1]}))
    return placed
