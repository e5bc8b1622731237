"""Renderers: results turned into terminal text, JSON, SARIF, GitHub annotations and views.

Each format lives in its own module (for validation: ``validation_text``, ``validation_json``,
``sarif``, ``github``) and is imported on demand, so importing this package stays cheap. Only
this package and ``tasker_ctl.cli`` may import rich. The helpers here are shared by the
validation formats: which findings fail a run and how the one-line summary reads.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tasker_ctl.template.diagnostics import Finding, ValidationReport

__all__ = ["Tally", "fails", "plural", "summary_sentence", "tally"]


def fails(finding: Finding, *, strict: bool) -> bool:
    """Whether a finding fails the run: errors always, warnings with ``--strict``."""
    # compare by value: importing Severity would pull in the whole template package
    return finding.severity == "error" or (strict and finding.severity == "warning")


@dataclass(frozen=True)
class Tally:
    """The counts a summary line reports."""

    files: int
    errors: int
    warnings: int
    infos: int
    skipped: int
    failing: bool
    strict: bool


def tally(report: ValidationReport, *, strict: bool) -> Tally:
    findings = report.findings
    return Tally(
        files=len(report.files),
        errors=sum(1 for finding in findings if finding.severity == "error"),
        warnings=sum(1 for finding in findings if finding.severity == "warning"),
        infos=sum(1 for finding in findings if finding.severity == "info"),
        skipped=len(report.skipped),
        failing=report.fails(strict=strict),
        strict=strict,
    )


def plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def summary_sentence(counts: Tally) -> str:
    """``3 errors, 1 warning (12 info) in 5 files`` or ``5 files valid, 0 errors, ...``."""
    findings = f"{plural(counts.errors, 'error')}, {plural(counts.warnings, 'warning')}"
    if counts.infos:
        findings += f" ({counts.infos} info)"
    if counts.failing:
        sentence = f"{findings} in {plural(counts.files, 'file')}"
        if counts.strict and counts.warnings:
            sentence += "; warnings fail with --strict"
    else:
        sentence = f"{plural(counts.files, 'file')} valid, {findings}"
    if counts.skipped:
        sentence += f"; {plural(counts.skipped, 'YAML file')} skipped (not templates)"
    return sentence
