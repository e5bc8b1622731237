"""``tasker-ctl template ...``: commands about one template (visualize, inspect) and one that
writes a template from a structured spec (generate)."""

from __future__ import annotations

import sys
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from tasker_ctl.cli.json_flag import JsonFlagOption, chosen_format
from tasker_ctl.cli.options import OutputFileOption

if TYPE_CHECKING:
    from tasker_ctl.report.dag import DagView
    from tasker_ctl.template.model import TaskTemplate

STDIN = "-"

_EPILOG = (
    "Exit codes: 0 drawn; 1 the template has errors (shown as 'tasker-ctl validate' shows "
    "them); 2 bad usage, a file that does not exist or cannot be read, or an environment the "
    "template does not declare."
)


_INSPECT_EPILOG = (
    "Exit codes: 0 inspected (errors in the template are counted, not fatal); 1 a template "
    "whose shape cannot be read; 2 bad usage, a file that does not exist or cannot be read, "
    "or an environment the template does not declare."
)
_GENERATE_EPILOG = (
    "Exit codes: 0 written and valid; 1 the template written has errors; 2 bad usage, or a "
    "spec that cannot make a template (every problem listed, TEMPLATE_SPEC_INVALID)."
)


class ViewFormat(StrEnum):
    TREE = "tree"
    MERMAID = "mermaid"
    DOT = "dot"
    JSON = "json"


def register(app: typer.Typer) -> None:
    template_app = typer.Typer(help="Inspect a single template.", no_args_is_help=True)
    app.add_typer(template_app, name="template")

    @template_app.command(epilog=_EPILOG)
    def visualize(
        file: Annotated[
            str,
            typer.Argument(metavar="FILE", help="TaskTemplate YAML file, or '-' to read stdin."),
        ],
        view_format: Annotated[
            ViewFormat,
            typer.Option("--format", "-f", case_sensitive=False, help="Output format."),
        ] = ViewFormat.TREE,
        json_flag: JsonFlagOption = False,
        environment: Annotated[
            str | None,
            typer.Option(
                "--environment", "-e", help="Apply this environment's overrides before drawing."
            ),
        ] = None,
        output: OutputFileOption = None,
    ) -> None:
        """Draw the planned DAG of one template: what exists at task start, what appears later.

        Every format marks the steps created at run time (by a decision, batch or planning step).
        """
        from tasker_ctl.report.dag import build_dag_view

        view_format = chosen_format(
            view_format, json_flag=json_flag, default=ViewFormat.TREE, json=ViewFormat.JSON
        )
        view = build_dag_view(_load(file, environment))
        _emit(view, view_format, output)

    @template_app.command(epilog=_INSPECT_EPILOG)
    def inspect(
        file: Annotated[
            Path, typer.Argument(metavar="FILE", help="TaskTemplate YAML file.", show_default=False)
        ],
        json_flag: Annotated[
            bool, typer.Option("--json", help="Print the document as JSON.")
        ] = False,
        environment: Annotated[
            str | None,
            typer.Option("--environment", "-e", help="Apply this environment's overrides first."),
        ] = None,
    ) -> None:
        """One template's structure: its input fields and, per step, the handler, dependencies
        and dependents, retry and timeout, the result's fields, and whether it runs a
        composition or plans; with the count of what validate finds.

        A template with errors is inspected too (they are counted); one whose shape cannot be
        read is refused.
        """
        from tasker_ctl.documents.templates import inspect_document

        document = inspect_document(file, shown=str(file), environment=environment)
        if json_flag:
            from tasker_ctl.report.json_output import write_document

            write_document(document)
            return
        from tasker_ctl.report.template_view import render_inspection

        render_inspection(document)

    @template_app.command(epilog=_GENERATE_EPILOG)
    def generate(
        spec_file: Annotated[
            Path,
            typer.Argument(
                metavar="SPEC_FILE",
                help="The spec: YAML or JSON with name, namespace, version, description, "
                "steps (name, description, handler, depends_on, outputs) and input.",
                show_default=False,
            ),
        ],
        output: Annotated[
            Path | None,
            typer.Option(
                "--output",
                "-o",
                metavar="FILE",
                dir_okay=False,
                help="Write the template to FILE (replaced if it exists) instead of printing it.",
            ),
        ] = None,
        json_flag: Annotated[
            bool,
            typer.Option(
                "--json", help="Print a JSON document: the YAML, its findings, whether it is valid."
            ),
        ] = False,
    ) -> None:
        """Write a TaskTemplate from a structured spec: each step's handler.callable (default
        '<namespace>.<step>'), dependencies and a closed result_schema from its typed outputs,
        the input_schema from the input fields. The template is validated before it is shown.

        Every problem of the spec is reported at once, with the path of the element at fault
        (steps/1/depends_on/0: an unknown step, a cycle...). docs/cli/template.md shows a spec.
        """
        from tasker_ctl.documents.template_spec import spec_from_data, template_document

        spec = spec_from_data(_read_spec(spec_file))
        shown = output.as_posix() if output is not None else None
        document = template_document(spec, written_to=shown)
        if output is not None:
            _write_text(output, document.yaml)
        if json_flag:
            from tasker_ctl.report.json_output import write_document

            write_document(document)
        elif output is None:
            typer.echo(document.yaml, nl=False)
        else:
            typer.echo(f"wrote {shown}", err=True)
        for finding in document.findings:
            typer.echo(f"{finding.severity}[{finding.code}]: {finding.message}", err=True)
        if not document.valid:
            raise typer.Exit(1)


def _read_spec(path: Path) -> object:
    """The spec file's data, read as a template is (bounded, YAML 1.2, JSON included)."""
    from tasker_ctl.errors import PathNotFoundError, TemplateSpecError
    from tasker_ctl.template.source import read_document

    if not path.is_file():
        raise PathNotFoundError(f"'{path}' is not a file", hint="name the spec's YAML or JSON file")
    document = read_document(path, str(path))
    if document.problems:
        raise TemplateSpecError.listing(
            [
                {"path": "(file)", "code": problem.code, "problem": problem.message}
                for problem in document.problems
            ]
        )
    return document.data


def _write_text(output: Path, text: str) -> None:
    from tasker_ctl.errors import UsageError

    try:
        output.write_text(text, encoding="utf-8")
    except OSError as exc:
        reason = exc.strerror or exc.__class__.__name__
        raise UsageError(
            f"cannot write '{output}': {reason}", hint="check the directory exists and is writable"
        ) from exc


def _load(file: str, environment: str | None) -> TaskTemplate:
    """Read and validate FILE (or stdin); print failing findings and raise on errors."""
    from tasker_ctl.documents.templates import drawable_template
    from tasker_ctl.errors import PathNotFoundError, UsageError
    from tasker_ctl.template.source import parse_document, read_document

    if file == STDIN:
        from tasker_ctl.template.limits import MAX_TEMPLATE_BYTES

        shown = "<stdin>"
        # one byte past the limit is enough to refuse a larger input (INPUT_TOO_LARGE)
        text = sys.stdin.buffer.read(MAX_TEMPLATE_BYTES + 1)
        document = parse_document(text, path=Path(shown), display_path=shown)
        return drawable_template(document, environment=environment)
    path = Path(file)
    if not path.exists():
        raise PathNotFoundError(
            f"'{file}' does not exist",
            hint="name a TaskTemplate YAML file, or '-' to read one from stdin",
        )
    if path.is_dir():
        raise UsageError(
            f"'{file}' is a directory; visualize draws one template",
            hint="name one .yaml file ('tasker-ctl validate' takes directories)",
        )
    return drawable_template(read_document(path, file), environment=environment, rerun=file)


def _emit(view: DagView, view_format: ViewFormat, output: Path | None) -> None:
    from tasker_ctl.errors import UsageError
    from tasker_ctl.report import dag, dag_tree
    from tasker_ctl.report.json_output import document_text

    if view_format is ViewFormat.TREE and output is None:
        dag_tree.print_tree(view)  # to the terminal: colour unless NO_COLOR or not a TTY
        return
    renderers = {
        ViewFormat.TREE: dag_tree.tree_text,
        ViewFormat.MERMAID: dag.render_mermaid,
        ViewFormat.DOT: dag.render_dot,
        # the document the template_visualize tool answers too
        ViewFormat.JSON: document_text,
    }
    text = renderers[view_format](view)
    if output is None:
        typer.echo(text, nl=False)
        return
    try:
        output.write_text(text, encoding="utf-8")
    except OSError as exc:
        reason = exc.strerror or exc.__class__.__name__
        raise UsageError(
            f"cannot write '{output}': {reason}", hint="check the directory exists and is writable"
        ) from exc
    typer.echo(f"wrote the {view_format.value} view of {view.template} to {output}", err=True)
