"""``tasker-ctl generate``: typed models, handler stubs, tests and scaffold packages.

Each command calls one function of ``tasker_ctl.codegen`` and writes, prints or compares what it
returns. With ``--check`` nothing is written: the command exits 1 and prints a unified diff when
the files on disk differ from what would be generated. A scaffold's ``handlers.py`` is the
user's: kept on later runs, completed with stubs for new steps (``codegen.scaffold``).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from tasker_ctl.errors import ExitCode, PathNotFoundError, UsageError

if TYPE_CHECKING:
    from tasker_ctl.codegen import Generation, ScaffoldCheck, ScaffoldWrite

STDOUT = "-"

TemplateArgument = Annotated[
    Path, typer.Argument(metavar="TEMPLATE", help="The TaskTemplate YAML file.", show_default=False)
]
OutputOption = Annotated[
    str | None,
    typer.Option(
        "--output",
        "-o",
        metavar="FILE",
        help="Write to FILE instead of standard output ('-' is standard output).",
    ),
]
CheckOption = Annotated[
    bool,
    typer.Option(
        "--check",
        help="Write nothing; exit 1 with a diff if the output file differs "
        "from what would be generated.",
    ),
]
ScaffoldsOption = Annotated[
    Path | None,
    typer.Option(
        "--scaffolds",
        metavar="DIR",
        help="A directory of Jinja2 scaffolds that override the shipped ones (same file names).",
    ),
]

_EPILOG = (
    "Exit codes: 0 generated (or up to date with --check); 1 the template has errors, or "
    "--check found differences; 2 bad usage or unreadable files."
)


def register(app: typer.Typer) -> None:
    generate_app = typer.Typer(
        help="Generate typed code from a template's contracts.", no_args_is_help=True
    )
    app.add_typer(generate_app, name="generate")

    @generate_app.command(epilog=_EPILOG)
    def models(
        template: TemplateArgument, output: OutputOption = None, check: CheckOption = False
    ) -> None:
        """Pydantic models: {Task}Input from input_schema, {Step}Result per result_schema."""
        from tasker_ctl.codegen import generate_models

        _single(lambda base: generate_models(_existing(template)), output, check)

    @generate_app.command(epilog=_EPILOG)
    def handlers(
        template: TemplateArgument,
        output: OutputOption = None,
        check: CheckOption = False,
        scaffolds: ScaffoldsOption = None,
        json_flag: Annotated[
            bool,
            typer.Option(
                "--json",
                help="Print a JSON document of what is generated (template, language, files "
                "with path and content); with --output the file is written too.",
            ),
        ] = False,
    ) -> None:
        """Typed handler stubs, one per step, importing the models from '.models'."""
        from tasker_ctl.codegen import generate_handlers

        if json_flag:
            _handlers_json(template, output, check, scaffolds)
            return
        _single(
            lambda base: generate_handlers(_existing(template), base=base, scaffolds=scaffolds),
            output,
            check,
        )

    @generate_app.command(epilog=_EPILOG)
    def tests(
        template: TemplateArgument,
        output: OutputOption = None,
        check: CheckOption = False,
        scaffolds: ScaffoldsOption = None,
    ) -> None:
        """pytest tests for the handlers, importing them from '.handlers'."""
        from tasker_ctl.codegen import generate_tests

        _single(
            lambda base: generate_tests(_existing(template), base=base, scaffolds=scaffolds),
            output,
            check,
        )

    @generate_app.command(epilog=_EPILOG)
    def scaffold(
        template: TemplateArgument,
        output: Annotated[
            Path,
            typer.Option(
                "--output", "-o", metavar="DIR", help="The package directory to create or update."
            ),
        ],
        check: Annotated[
            bool,
            typer.Option(
                "--check",
                help="Write nothing; exit 1 with a diff if a generated file differs from what "
                "would be generated, or if handlers.py has no handler for some step.",
            ),
        ] = False,
        force: Annotated[
            bool,
            typer.Option(
                "--force",
                help="Replace handlers.py with fresh stubs too (it is otherwise kept, and only "
                "stubs for new steps are added to it).",
            ),
        ] = False,
        scaffolds: ScaffoldsOption = None,
    ) -> None:
        """A package: __init__, models, handlers, tests and conftest, ready for pytest and mypy.

        models.py, test_handlers.py, conftest.py and __init__.py are generated: every run
        rewrites them. handlers.py is yours: written once, then kept; a later run only adds
        stubs for steps that have no handler yet.
        """
        from tasker_ctl.codegen import check_scaffold, generate_scaffold, write_scaffold

        if check and force:
            raise UsageError(
                "--check writes nothing, so --force has nothing to overwrite",
                hint="run with --check to compare, or with --force to regenerate",
            )
        generation = _run(
            lambda: generate_scaffold(_existing(template), output, scaffolds=scaffolds)
        )
        if check:
            _report_scaffold_check(check_scaffold(generation, output))
            return
        _report_scaffold_write(write_scaffold(generation, output, force=force))


def _handlers_json(template: Path, output: str | None, check: bool, scaffolds: Path | None) -> None:
    """``generate handlers --json``: the document the handler_generate tool answers too."""
    from tasker_ctl.documents.templates import handlers_document
    from tasker_ctl.report.json_output import write_document

    if check:
        raise UsageError(
            "--check compares files and prints a diff, not JSON", hint="drop --json or --check"
        )
    target = None if output in (None, STDOUT) else Path(str(output))
    document = handlers_document(
        _existing(template),
        shown=str(template),
        base=target.parent if target else Path.cwd(),
        output=target.as_posix() if target else None,
        scaffolds=scaffolds,
    )
    for warning in document.warnings:
        typer.echo(f"warning: {warning}", err=True)
    if target is not None:
        from tasker_ctl.codegen import GeneratedFile, write_files

        write_files([GeneratedFile(target.name, document.files[0].content)], target.parent)
    write_document(document)


def _existing(template: Path) -> Path:
    if not template.exists():
        raise PathNotFoundError(
            f"template '{template}' does not exist", hint="name a TaskTemplate YAML file"
        )
    if template.is_dir():
        raise UsageError(f"'{template}' is a directory", hint="name one TaskTemplate YAML file")
    return template


def _run(produce: Callable[[], Generation]) -> Generation:
    # a template with errors is TEMPLATE_INVALID: the app's root prints its errors
    generation = produce()
    for warning in generation.warnings:
        typer.echo(f"warning: {warning}", err=True)
    return generation


def _single(produce: Callable[[Path], Any], output: str | None, check: bool) -> None:
    to_stdout = output in (None, STDOUT)
    if check and to_stdout:
        raise UsageError(
            "--check needs --output FILE to compare with",
            hint="e.g. tasker-ctl generate models t.yaml -o models.py --check",
        )
    target = None if to_stdout else Path(str(output))
    generation = _run(lambda: produce(target.parent if target else Path.cwd()))
    content = generation.files[0].content
    if target is None:
        typer.echo(content, nl=False)
        return
    from tasker_ctl.codegen import GeneratedFile, diff_files, write_files

    renamed = [GeneratedFile(target.name, content)]
    if check:
        _report_drift(diff_files(renamed, target.parent))
        return
    write_files(renamed, target.parent)
    typer.echo(f"wrote {target.as_posix()}", err=True)


def _report_scaffold_write(changes: ScaffoldWrite) -> None:
    for path in changes.written:
        typer.echo(f"wrote {path.as_posix()}", err=True)
    for path in changes.replaced:
        typer.echo(f"replaced {path.as_posix()} with fresh stubs (--force)", err=True)
    for path in changes.kept:
        typer.echo(
            f"kept {path.as_posix()} (yours: every step has a handler; --force replaces it)",
            err=True,
        )
    for path, steps in changes.stubs_added.items():
        typer.echo(
            f"added to {path.as_posix()}: stub(s) for step(s) "
            + ", ".join(f"'{step.step}' ({step.callable})" for step in steps)
            + "; your handlers are kept as they were",
            err=True,
        )


def _report_scaffold_check(check: ScaffoldCheck) -> None:
    """Steps without a handler, then the diffs; exit 1 if there is either."""
    missing = [(path, step) for path, steps in check.missing.items() for step in steps]
    for path, step in missing:
        typer.echo(f"{path.as_posix()}: no handler for step '{step.step}' ({step.callable})")
    if missing:
        typer.echo(
            f"{len(missing)} step(s) without a handler; run the command without --check to add "
            "their stubs",
            err=True,
        )
    if check.diffs or not missing:
        _report_drift(check.diffs, exit_after=not missing)
    if missing:
        raise typer.Exit(int(ExitCode.FINDINGS))


def _report_drift(diffs: list[str], *, exit_after: bool = True) -> None:
    if not diffs:
        typer.echo("generated files are up to date", err=True)
        return
    for diff in diffs:
        typer.echo(diff, nl=False)
    typer.echo(
        f"{len(diffs)} generated file(s) differ from the template; regenerate them without --check",
        err=True,
    )
    if exit_after:
        raise typer.Exit(int(ExitCode.FINDINGS))
