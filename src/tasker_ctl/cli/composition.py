"""``tasker-ctl composition validate|explain FILE``: check a composition before it runs.

FILE is a composition (YAML or JSON) or a template; with a template, ``--step`` picks the
step (default: every step with a composition). ``validate`` reports findings like
``tasker-ctl validate`` (same renderers and exit codes); ``explain`` shows the data flow,
statically and, given sample inputs or Tasker Core's ``*_fixtures.json``, as it runs.
"""

from __future__ import annotations

import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from tasker_ctl.cli.json_flag import JsonFlagOption, chosen_format
from tasker_ctl.cli.options import Policy, PolicyOption
from tasker_ctl.errors import ExitCode, SampleJsonError


class ReportFormat(StrEnum):
    TEXT = "text"
    JSON = "json"
    SARIF = "sarif"


FileArgument = Annotated[
    Path,
    typer.Argument(
        metavar="FILE",
        help="A composition (YAML or JSON) or a template with composition steps.",
        show_default=False,
    ),
]
StepOption = Annotated[
    str | None,
    typer.Option(
        "--step",
        metavar="NAME",
        help="With a template: the step whose composition to check (default: every one).",
        show_default=False,
    ),
]


def _sample_option(flag: str, what: str) -> Any:
    return typer.Option(
        flag,
        metavar="JSON|@FILE",
        help=f"{what}: inline JSON or @FILE.",
        show_default=False,
    )


def register(app: typer.Typer) -> None:
    composition_app = typer.Typer(
        help="Validate compositions and explain their data flow.", no_args_is_help=True
    )
    app.add_typer(composition_app, name="composition")

    @composition_app.command(
        epilog="Exit codes: 0 no failing findings; 1 errors (or warnings with --strict); "
        "2 bad usage or an unreadable file."
    )
    def validate(
        file: FileArgument,
        step: StepOption = None,
        output_format: Annotated[
            ReportFormat,
            typer.Option("--format", "-f", case_sensitive=False, help="Report format."),
        ] = ReportFormat.TEXT,
        json_flag: JsonFlagOption = False,
        strict: Annotated[
            bool, typer.Option("--strict", help="Treat warnings as failures.")
        ] = False,
        policy: PolicyOption = Policy.CHECKPOINTED,
    ) -> None:
        """Check a composition: capabilities, configs, jq expressions, checkpoints, the data
        each expression reads, and the outcome against its schema."""
        from tasker_ctl.documents.grammar import composition_report

        output_format = chosen_format(
            output_format, json_flag=json_flag, default=ReportFormat.TEXT, json=ReportFormat.JSON
        )
        report = composition_report(path=file, step=step, policy=policy.value)
        if output_format is ReportFormat.TEXT:
            from tasker_ctl.report.validation_text import make_console, render_text

            render_text(report, make_console(sys.stdout), strict=strict, quiet=False, verbose=False)
        elif output_format is ReportFormat.JSON:
            from tasker_ctl.report.json_output import write_document
            from tasker_ctl.report.validation_json import build_output

            # composition_validation's document, from the report the exit code needs too
            write_document(build_output(report, strict=strict))
        else:
            from tasker_ctl.report.sarif import render_sarif

            sys.stdout.write(render_sarif(report, strict=strict))
        raise typer.Exit(report.exit_code(strict=strict))

    @composition_app.command(
        epilog="Exit codes: 0 explained (a simulation completed or waits at a gate); 1 the "
        "simulation failed; 2 bad usage or an unreadable file."
    )
    def explain(
        file: FileArgument,
        step: StepOption = None,
        sample_context: Annotated[
            str | None, _sample_option("--sample-context", "The task context")
        ] = None,
        sample_deps: Annotated[
            str | None, _sample_option("--sample-deps", "Dependency results by step name")
        ] = None,
        sample_step: Annotated[
            str | None, _sample_option("--sample-step", "Step metadata (name, attempt, ...)")
        ] = None,
        mock_outputs: Annotated[
            str | None,
            _sample_option(
                "--mock-outputs", "Outputs of acquire/persist/emit invocations by index"
            ),
        ] = None,
        fixtures: Annotated[
            Path | None,
            typer.Option(
                "--fixtures",
                metavar="FILE",
                help="A Tasker Core *_fixtures.json: its input and acquire data drive the "
                "simulation.",
                show_default=False,
            ),
        ] = None,
        case: Annotated[
            str | None,
            typer.Option(
                "--case",
                metavar="NAME",
                help="With --fixtures: simulate one of its failure_cases instead.",
                show_default=False,
            ),
        ] = None,
        json_output: Annotated[
            bool, typer.Option("--json", help="Print the trace as JSON.")
        ] = False,
    ) -> None:
        """Show what each invocation reads and produces; with samples or fixtures, run the
        composition against them (no network, no database) and show the real data flow."""
        from tasker_ctl.documents.grammar import composition_explanation

        trace = composition_explanation(
            path=file,
            step=step,
            sample_context=_json_value(sample_context, "--sample-context"),
            sample_deps=_json_value(sample_deps, "--sample-deps"),
            sample_step=_json_value(sample_step, "--sample-step"),
            mock_outputs=_json_value(mock_outputs, "--mock-outputs"),
            fixtures=fixtures,
            case=case,
        )
        if json_output:
            from tasker_ctl.report.json_output import write_document

            write_document(trace)
        else:
            from tasker_ctl.report.grammar_view import render_explanation
            from tasker_ctl.report.run_view import make_console

            render_explanation(trace, make_console())
        failure = trace.failure
        if failure is not None and failure.kind != "gate_pending":
            # the composition fails on these inputs: a script or CI must see it (a gate that
            # waits for a decision is not a failure)
            where = "" if failure.failed_index is None else f" at invocation {failure.failed_index}"
            typer.echo(f"simulation failed{where}: {failure.kind}: {failure.message}", err=True)
            raise typer.Exit(int(ExitCode.FINDINGS))


def _json_value(value: str | None, option: str) -> Any:
    if value is None:
        return None
    from tasker_ctl.cli.json_options import read_json_option

    return read_json_option(value, option, SampleJsonError)[0]
