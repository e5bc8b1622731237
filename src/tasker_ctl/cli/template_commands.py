"""``tasker-ctl template ...``: commands about one template (visualize)."""

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


def _load(file: str, environment: str | None) -> TaskTemplate:
    """Read and validate FILE (or stdin); print failing findings and raise on errors."""
    from tasker_ctl.errors import (
        PathNotFoundError,
        TemplateLoadError,
        UnknownEnvironmentError,
        UsageError,
    )
    from tasker_ctl.template.diagnostics import Severity
    from tasker_ctl.template.source import parse_document, read_document
    from tasker_ctl.template.validator import check_document

    if file == STDIN:
        from tasker_ctl.template.limits import MAX_TEMPLATE_BYTES

        shown = "<stdin>"
        # one byte past the limit is enough to refuse a larger input (INPUT_TOO_LARGE)
        text = sys.stdin.buffer.read(MAX_TEMPLATE_BYTES + 1)
        document = parse_document(text, path=Path(shown), display_path=shown)
    else:
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
        shown = file
        document = read_document(path, shown)
    report, template = check_document(document, environment=environment)
    errors = [finding for finding in report.findings if finding.severity is Severity.ERROR]
    if template is None or errors:
        refused = TemplateLoadError(
            f"template '{shown}' has {len(errors)} error(s); nothing to draw",
            hint=f"run 'tasker-ctl validate {file}' for every finding"
            if file != STDIN
            else "fix the errors above and try again",
        )
        refused.report = report  # type: ignore[attr-defined]  # printed by the app's root
        raise refused
    undeclared = next((f for f in report.findings if f.code == "ENVIRONMENT_NOT_DECLARED"), None)
    if undeclared is not None:
        raise UnknownEnvironmentError(
            f"environment '{environment}' is not declared by '{shown}'", hint=undeclared.hint
        )
    return template


def _emit(view: DagView, view_format: ViewFormat, output: Path | None) -> None:
    from tasker_ctl.errors import UsageError
    from tasker_ctl.report import dag, dag_tree

    if view_format is ViewFormat.TREE and output is None:
        dag_tree.print_tree(view)  # to the terminal: colour unless NO_COLOR or not a TTY
        return
    renderers = {
        ViewFormat.TREE: dag_tree.tree_text,
        ViewFormat.MERMAID: dag.render_mermaid,
        ViewFormat.DOT: dag.render_dot,
        ViewFormat.JSON: dag.render_json,
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
