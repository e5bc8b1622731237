"""``tasker-ctl validate``: check templates offline and report in the format asked for.

The command parses options, calls ``validate_paths`` (and reads a template from standard input
for ``-``), hands the report to a renderer from ``tasker_ctl.report`` and exits with the
report's exit code. Renderers and the template package
are imported inside the command so that ``tasker-ctl --version`` does not pay for them.
"""

from __future__ import annotations

import sys
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, TextIO

import typer

from tasker_ctl.cli.json_flag import JsonFlagOption, chosen_format
from tasker_ctl.cli.options import Policy, PolicyOption, configured_templates
from tasker_ctl.errors import UsageError

if TYPE_CHECKING:
    from tasker_ctl.template import ValidationReport
    from tasker_ctl.template.diagnostics import FileReport

STDIN = "-"
STDIN_NAME = "<stdin>"


class OutputFormat(StrEnum):
    """Formats ``--format`` accepts."""

    TEXT = "text"
    JSON = "json"
    SARIF = "sarif"
    GITHUB = "github"


_EPILOG = (
    "Exit codes: 0 no failing findings; 1 errors found (or warnings with --strict); "
    "2 bad usage, a path that does not exist, no templates found or an unreadable file."
)


def register(app: typer.Typer) -> None:
    @app.command(epilog=_EPILOG)
    def validate(
        paths: Annotated[
            list[str] | None,
            typer.Argument(
                metavar="PATH",
                help="Template files, directories (searched recursively for .yaml/.yml files "
                "that look like templates), quoted glob patterns, or '-' for a template read "
                "from standard input (its findings name the file '<stdin>'). Default: the "
                "project configuration's templates (docs/configuration.md).",
                show_default=False,
                callback=configured_templates,
            ),
        ] = None,
        output_format: Annotated[
            OutputFormat,
            typer.Option(
                "--format",
                "-f",
                case_sensitive=False,
                help="Report format: 'text' for people, 'json' for scripts (every finding, "
                "documented schema), 'sarif' for GitHub code scanning and other SARIF viewers, "
                "'github' for GitHub Actions annotations.",
            ),
        ] = OutputFormat.TEXT,
        json_flag: JsonFlagOption = False,
        strict: Annotated[
            bool,
            typer.Option(
                "--strict",
                help="Treat warnings as failures: they are shown as failing and make the "
                "exit code 1.",
            ),
        ] = False,
        quiet: Annotated[
            bool,
            typer.Option(
                "--quiet",
                "-q",
                help="Print only the findings that fail (errors, plus warnings with --strict) "
                "and nothing when all templates pass. Applies to text and github formats.",
            ),
        ] = False,
        verbose: Annotated[
            bool,
            typer.Option(
                "--verbose",
                "-v",
                help="Also show info findings, files without findings and skipped YAML files. "
                "Applies to text and github formats; json and sarif always hold every finding.",
            ),
        ] = False,
        environment: Annotated[
            str | None,
            typer.Option(
                "--environment",
                "-e",
                metavar="NAME",
                help="Apply the template's 'environments.NAME' overrides (retry, timeout, "
                "handler initialization) before validating, as Tasker Core does when it "
                "loads the template in that environment.",
                show_default=False,
            ),
        ] = None,
        only_templates: Annotated[
            bool,
            typer.Option(
                "--only-templates",
                help="Skip YAML files that are not TaskTemplates even when named directly, "
                "and succeed when no template is left. For pre-commit hooks, which are "
                "handed every staged YAML file.",
            ),
        ] = False,
        policy: PolicyOption = Policy.CHECKPOINTED,
        output: Annotated[
            Path | None,
            typer.Option(
                "--output",
                "-o",
                metavar="FILE",
                help="Write the report to FILE (UTF-8, replaced if it exists) instead of "
                "standard output; a one-line summary still goes to standard error.",
                dir_okay=False,
                show_default=False,
            ),
        ] = None,
    ) -> None:
        """Validate TaskTemplate files, directories (recursively) and globs.

        Every finding has a stable code (see docs/diagnostics.md), a location and a hint.

        Errors fail the run; warnings fail it with --strict; info findings never do.
        """
        if quiet and verbose:
            raise typer.BadParameter(
                "--quiet and --verbose cannot be used together", param_hint="'--quiet'"
            )
        output_format = chosen_format(
            output_format, json_flag=json_flag, default=OutputFormat.TEXT, json=OutputFormat.JSON
        )
        report = _validate(
            paths or [], environment, only_templates, {"mutation_policy": policy.value}
        )
        if output is None:
            _render(report, sys.stdout, output_format, strict, quiet, verbose)
        else:
            _render_to_file(report, output, output_format, strict, quiet, verbose)
        raise typer.Exit(report.exit_code(strict=strict))


def _validate(
    paths: list[str],
    environment: str | None,
    only_templates: bool,
    rule_options: dict[str, str],
) -> ValidationReport:
    from tasker_ctl.documents.templates import validation_report
    from tasker_ctl.template import ValidationReport

    if paths.count(STDIN) > 1:
        raise UsageError("'-' is given twice", hint="standard input holds one template")
    files = [path for path in paths if path != STDIN]
    if files or STDIN not in paths:
        report = validation_report(
            files,
            environment=environment,
            only_templates=only_templates,
            policy=rule_options["mutation_policy"],
        )
    else:
        report = ValidationReport(environment=environment)
    if STDIN in paths:
        read = _validate_stdin(environment, only_templates, rule_options)
        if read is None:
            report.skipped.append(STDIN_NAME)
        else:
            report.files.append(read)
    return report


def _validate_stdin(
    environment: str | None, only_templates: bool, rule_options: dict[str, str]
) -> FileReport | None:
    """The findings of the template on standard input, named ``<stdin>`` (None: skipped by
    --only-templates as not a template)."""
    from tasker_ctl.template.limits import MAX_TEMPLATE_BYTES
    from tasker_ctl.template.source import parse_document
    from tasker_ctl.template.validator import check_document, looks_like_template

    # one byte past the limit is enough to refuse a larger input (INPUT_TOO_LARGE)
    text = sys.stdin.buffer.read(MAX_TEMPLATE_BYTES + 1)
    document = parse_document(text, path=Path(STDIN_NAME), display_path=STDIN_NAME)
    if only_templates and not looks_like_template(document):
        return None
    return check_document(document, environment=environment, rule_options=rule_options)[0]


def _render(
    report: ValidationReport,
    stream: TextIO,
    output_format: OutputFormat,
    strict: bool,
    quiet: bool,
    verbose: bool,
) -> None:
    if output_format is OutputFormat.TEXT:
        from tasker_ctl.report.validation_text import make_console, render_text

        # a report file must stay free of escape codes even when FORCE_COLOR is set
        console = make_console(stream, plain=stream is not sys.stdout)
        render_text(report, console, strict=strict, quiet=quiet, verbose=verbose)
        return
    if output_format is OutputFormat.JSON:
        # the document the template_validate tool answers too
        from tasker_ctl.documents.templates import validation_output
        from tasker_ctl.report.json_output import document_text

        stream.write(document_text(validation_output(report, strict=strict)))
    elif output_format is OutputFormat.SARIF:
        from tasker_ctl.report.sarif import render_sarif

        stream.write(render_sarif(report, strict=strict))
    else:
        from tasker_ctl.report.github import render_github

        stream.write(render_github(report, strict=strict, quiet=quiet, verbose=verbose))
    stream.flush()


def _render_to_file(
    report: ValidationReport,
    output: Path,
    output_format: OutputFormat,
    strict: bool,
    quiet: bool,
    verbose: bool,
) -> None:
    from tasker_ctl.report import summary_sentence, tally

    try:
        with output.open("w", encoding="utf-8") as stream:
            _render(report, stream, output_format, strict, quiet, verbose)
    except OSError as error:
        raise UsageError(
            f"cannot write the report to '{output}': {error.strerror or error}",
            hint="check that the directory exists and is writable",
        ) from error
    if not quiet:
        counts = tally(report, strict=strict)
        mark = "✗" if counts.failing else "✓"
        typer.echo(f"{mark} {summary_sentence(counts)} (report written to {output})", err=True)
