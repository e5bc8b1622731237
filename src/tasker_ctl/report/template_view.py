"""Templates and their schemas in the terminal: the text of ``tasker-ctl template inspect``,
``schema inspect``, ``schema compare`` and ``schema diff`` (their ``--json`` is the document
itself). Renderers only read the documents of ``tasker_ctl.documents``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.console import Console
from rich.markup import escape
from rich.table import Table

if TYPE_CHECKING:
    from tasker_ctl.documents.schema_diff import SchemaDiff
    from tasker_ctl.documents.schemas import SchemaComparison, SchemaInspection, SchemaOutput
    from tasker_ctl.documents.templates import TemplateInspection, TopField

__all__ = [
    "render_comparison",
    "render_diff",
    "render_inspection",
    "render_schemas",
]


def _console() -> Console:
    return Console(highlight=False, soft_wrap=True)


def _fields(fields: list[TopField]) -> str:
    return ", ".join(
        f"{field.name}: {field.type or 'any'}{'' if field.required else '?'}" for field in fields
    )


def render_inspection(document: TemplateInspection) -> None:
    console = _console()
    console.print(f"[bold]{escape(document.template)}[/bold]  {escape(document.file)}")
    if document.description:
        console.print(escape(document.description))
    if document.input_fields is not None:
        console.print(f"input: {escape(_fields(document.input_fields)) or '(no fields)'}")
    table = Table(show_edge=False, pad_edge=False)
    for column in ("step", "type", "handler", "depends on", "retry", "timeout", "result"):
        # a name cut with an ellipsis could not be copied: fold it instead
        table.add_column(column, overflow="fold")
    for step in document.steps:
        kinds = [
            kind
            for kind, on in (("composition", step.composition), ("planning", step.planning))
            if on
        ]
        retry = f"{step.retry.max_attempts}x {step.retry.backoff}" if step.retry.retryable else "no"
        result = _fields(step.result_fields) if step.result_schema else "(no result_schema)"
        table.add_row(
            escape(step.name),
            escape(" ".join([step.type, *kinds])),
            escape(step.handler),
            escape(", ".join(step.dependencies)),
            retry,
            f"{step.timeout_seconds}s" if step.timeout_seconds else "",
            escape(result),
        )
    console.print(table)
    counts = document.findings
    console.print(
        f"findings: {counts.errors} error(s), {counts.warnings} warning(s), "
        f"{counts.infos} info(s)" + ("" if document.valid else "; run 'tasker-ctl validate'")
    )


def _schema(console: Console, title: str, output: SchemaOutput | None) -> None:
    if output is None:
        console.print(f"[bold]{escape(title)}[/bold]: none declared")
        return
    console.print(f"[bold]{escape(title)}[/bold]")
    if not output.fields:
        console.print("  (no fields)")
    for field in output.fields:
        kind = field.type or "any"
        if field.items:
            kind += f" of {field.items}"
        line = f"  {field.path}  {kind}  {'required' if field.required else 'optional'}"
        if field.description:
            line += f"  {field.description}"
        console.print(escape(line))
    if output.truncated:
        console.print("  ... (the schema goes deeper or wider than is listed)")


def render_schemas(document: SchemaInspection) -> None:
    console = _console()
    console.print(f"{escape(document.template)}  {escape(document.file)}")
    _schema(console, "input_schema", document.input_schema)
    for step in document.steps:
        _schema(console, f"{step.step}: result_schema", step.result_schema)


def render_comparison(document: SchemaComparison) -> None:
    console = _console()
    console.print(
        escape(f"{document.template}: what '{document.consumer}' reads of '{document.producer}'")
    )
    for read in document.reads:
        field = read.field or "(the whole result)"
        console.print(escape(f"  {read.status:<16} {field}  {read.expression}  ({read.where})"))
    if not document.reads:
        console.print("  no reads declared")
    for issue in document.issues:
        console.print(escape(f"{issue.severity}[{issue.code}]: {issue.message}"))
    console.print("compatible" if document.compatible else "[bold]incompatible[/bold]")


def render_diff(document: SchemaDiff) -> None:
    console = _console()
    console.print(escape(f"{document.old} -> {document.new}"))
    for change in document.changes:
        mark = "BREAKING" if change.breaking else "ok      "
        if change.scope == "step":
            what = f"step '{change.step}' {change.kind.removeprefix('step_')}"
        else:
            where = change.scope if change.step is None else f"{change.scope} of '{change.step}'"
            what = f"{where}: {change.kind} {change.path}"
            if change.old or change.new:
                what += f" ({change.old or '-'} -> {change.new or '-'})"
        console.print(escape(f"  {mark} {what}: {change.reason}"))
    summary = document.summary
    console.print(
        f"{summary.breaking} breaking change(s), {summary.non_breaking} non-breaking"
        if document.changes
        else "no schema changes"
    )
