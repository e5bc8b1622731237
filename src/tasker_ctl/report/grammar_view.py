"""The action grammar in the terminal: the vocabulary, one entry, and a composition's trace."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

if TYPE_CHECKING:
    from tasker_ctl.grammar.document import CapabilityDoc, PatternDoc, VocabularyDocument
    from tasker_ctl.grammar.explain import ExplanationTrace

__all__ = ["render_explanation", "render_vocabulary_entry", "render_vocabulary_list"]


def render_vocabulary_list(document: VocabularyDocument, console: Console) -> None:
    """Capabilities (mutating ones marked) and patterns, one line each."""
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, header_style="bold")
    for column in ("capability", "category", "", "summary"):
        table.add_column(column, no_wrap=column != "summary")
    for capability in document.capabilities:
        table.add_row(
            Text(capability.name, style="bold"),
            capability.category,
            Text("mutating", style="yellow") if capability.mutating else "",
            capability.summary,
        )
    console.print(table)
    if document.patterns:
        patterns = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, header_style="bold")
        for column in ("pattern", "uses", "summary"):
            patterns.add_column(column, no_wrap=column != "summary")
        for pattern in document.patterns:
            patterns.add_row(
                Text(pattern.name, style="bold"), ", ".join(pattern.capabilities), pattern.summary
            )
        console.print(patterns)
    console.print(
        Text(
            f"vocabulary {document.vocabulary_hash}; 'tasker-ctl grammar inspect NAME' for one "
            "entry, 'tasker-ctl grammar document' for all of it",
            style="dim",
        )
    )


def render_vocabulary_entry(document: VocabularyDocument, name: str, console: Console) -> None:
    """Everything about one capability or pattern."""
    for capability in document.capabilities:
        if capability.name == name:
            _capability(capability, console)
            return
    for pattern in document.patterns:
        if pattern.name == name:
            _pattern(pattern, console)
            return


def _capability(entry: CapabilityDoc, console: Console) -> None:
    title = Text(entry.name, style="bold")
    title.append(f"  {entry.category}", style="cyan")
    if entry.mutating:
        title.append("  mutating: must be a checkpoint", style="yellow")
    console.print(title)
    console.print(entry.summary)
    if entry.input_contract:
        console.print(Text.assemble(("reads   ", "dim"), entry.input_contract))
    if entry.output_contract:
        console.print(Text.assemble(("returns ", "dim"), entry.output_contract))
    if entry.failure_kinds:
        console.print(Text.assemble(("fails   ", "dim"), ", ".join(entry.failure_kinds)))
    _fields(entry.fields or [], console)
    _examples(entry.examples or [], console)


def _pattern(entry: PatternDoc, console: Console) -> None:
    title = Text(entry.name, style="bold")
    title.append(f"  pattern of {', '.join(entry.capabilities)}", style="cyan")
    console.print(title)
    console.print(entry.description or entry.summary)
    _fields(entry.fields or [], console)
    _examples(entry.examples or [], console)


def _fields(fields: list[Any], console: Console) -> None:
    if not fields:
        return
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, header_style="bold")
    table.add_column("field", no_wrap=True)
    table.add_column("type", max_width=24)
    table.add_column("meaning", ratio=1)
    for field in fields:
        kind = Text(field.type)
        if field.required:
            kind.append(", required", style="yellow")
        elif field.default not in (None, "null"):
            kind.append(f" = {field.default}", style="dim")
        table.add_row(field.path, kind, field.description)
    console.print()
    console.print(table)


def _examples(examples: list[dict[str, Any]], console: Console) -> None:
    for example in examples[:2]:
        console.print()
        console.print(Text("example", style="dim"))
        console.print(json.dumps(example, indent=2), markup=False, highlight=False)


def render_explanation(trace: ExplanationTrace, console: Console) -> None:
    """Each invocation: what it reads, where ``prev`` comes from, what it produced."""
    data = trace.model_dump(mode="json")
    name = data.get("name") or "composition"
    console.print(Text(str(name), style="bold"))
    outcome = data.get("outcome") or {}
    if outcome.get("description"):
        console.print(Text(str(outcome["description"]).strip(), style="dim"))
    for invocation in data.get("invocations") or []:
        _invocation(invocation, console)
    findings = (data.get("validation") or {}).get("findings") or data.get("findings") or []
    if findings:
        console.print()
        for finding in findings:
            severity = str(finding.get("severity", "info"))
            style = {"error": "red", "warning": "yellow"}.get(severity, "dim")
            line = Text(f"{severity} {finding.get('code')}", style=style)
            line.append(f"  {finding.get('message')}")
            console.print(line, soft_wrap=True)


def _invocation(invocation: dict[str, Any], console: Console) -> None:
    console.print()
    head = Text(f"[{invocation.get('index')}] {invocation.get('capability')}", style="bold")
    if invocation.get("checkpoint"):
        head.append("  checkpoint", style="cyan")
    if invocation.get("mutating"):
        head.append("  mutating", style="yellow")
    status = invocation.get("status")
    if status:
        head.append(f"  {status}", style="red" if status == "failed" else "green")
    console.print(head)
    envelope = invocation.get("envelope_available") or invocation.get("envelope") or {}
    source = envelope.get("prev_source")
    console.print(Text(f"  prev: {source or 'null (first invocation or unknown)'}", style="dim"))
    for expression in invocation.get("expressions") or []:
        paths = ", ".join(expression.get("referenced_paths") or []) or "-"
        console.print(Text(f"  {expression.get('field_path')} reads {paths}"), soft_wrap=True)
    if "simulated_output" in invocation and invocation.get("simulated_output") is not None:
        text = json.dumps(invocation["simulated_output"], ensure_ascii=False)
        if len(text) > 400:
            text = text[:400] + f"… ({len(text) - 400} more characters; --json shows all)"
        console.print(Text(f"  output: {text}"), soft_wrap=True)
    error = invocation.get("error")
    if error:
        message = error.get("message") if isinstance(error, dict) else error
        console.print(Text(f"  failed: {message}", style="red"), soft_wrap=True)
