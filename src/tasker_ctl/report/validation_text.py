"""Validation reports for people: findings grouped by file, coloured by severity, one summary.

By default errors and warnings are shown and info findings only counted; ``verbose`` shows
them too, along with clean and skipped files. ``quiet`` prints only the findings that fail the
run and nothing at all when it passes. Colour follows rich's terminal detection, so ``NO_COLOR``,
``FORCE_COLOR`` and pipes behave as users expect.
"""

from __future__ import annotations

from typing import TextIO

from rich.console import Console
from rich.text import Text

from tasker_ctl.report import fails, summary_sentence, tally
from tasker_ctl.template.diagnostics import FileReport, Finding, Severity, ValidationReport
from tasker_ctl.template.source import escape_unsafe

__all__ = ["SEVERITY_STYLES", "make_console", "render_text"]

SEVERITY_STYLES: dict[Severity, str] = {
    Severity.ERROR: "bold red",
    Severity.WARNING: "yellow",
    Severity.INFO: "blue",
}
_FAILING_STYLE = SEVERITY_STYLES[Severity.ERROR]
_PASS_MARK = "✓"
_FAIL_MARK = "✗"


def make_console(target: Console | TextIO | None = None, *, plain: bool = False) -> Console:
    """A console writing to ``target`` (stdout when None); an existing Console is reused.

    ``plain`` turns styling off even under ``FORCE_COLOR``, for reports written to files.
    """
    if isinstance(target, Console):
        return target
    # highlighting would colour numbers and paths inside messages at random
    return Console(file=target, highlight=False, force_terminal=False if plain else None)


def render_text(
    report: ValidationReport,
    target: Console | TextIO | None = None,
    *,
    strict: bool = False,
    quiet: bool = False,
    verbose: bool = False,
) -> None:
    """Print ``report`` to ``target`` (a Console, a text file, or stdout when None)."""
    console = make_console(target)
    if quiet:
        for finding in report.findings:
            if fails(finding, strict=strict):
                _print_finding(console, finding, strict=strict)
        return
    first = True
    for file_report in report.files:
        shown = [finding for finding in file_report.findings if _visible(finding, verbose)]
        if not shown and not verbose:
            continue
        if not first:
            console.print()
        first = False
        _print_header(console, file_report, strict=strict)
        for finding in shown:
            _print_finding(console, finding, strict=strict)
        if not file_report.findings:
            _print_line(console, Text.assemble("  ", ("no findings", "green")))
    if verbose and report.skipped:
        if not first:
            console.print()
        first = False
        for skipped in report.skipped:
            _print_line(
                console,
                Text.assemble(("skipped ", "dim"), skipped, (" (not a TaskTemplate)", "dim")),
            )
    if not first:
        console.print()
    _print_summary(console, report, strict=strict)


def _visible(finding: Finding, verbose: bool) -> bool:
    return verbose or finding.severity is not Severity.INFO


def _print_header(console: Console, file_report: FileReport, *, strict: bool) -> None:
    header = Text.assemble((escape_unsafe(file_report.file), "bold underline"))
    if file_report.template:
        header.append(f"  {escape_unsafe(file_report.template)}", style="dim")
    if file_report.fails(strict=strict):
        header.append(f"  {_FAIL_MARK}", style=_FAILING_STYLE)
    _print_line(console, header)


def _print_finding(console: Console, finding: Finding, *, strict: bool) -> None:
    # under --strict a warning fails the run, so it is coloured like an error
    style = _FAILING_STYLE if fails(finding, strict=strict) else SEVERITY_STYLES[finding.severity]
    line = Text.assemble(
        "  ",
        (escape_unsafe(finding.location), "bold"),
        "  ",
        (finding.severity.value, style),
        "  ",
        (finding.code, style),
        "  ",
        escape_unsafe(finding.message),
    )
    _print_line(console, line)
    if finding.hint:
        hint = escape_unsafe(finding.hint)
        _print_line(console, Text.assemble("    ", ("hint:", "cyan"), " ", hint))


def _print_summary(console: Console, report: ValidationReport, *, strict: bool) -> None:
    counts = tally(report, strict=strict)
    mark, style = (_FAIL_MARK, _FAILING_STYLE) if counts.failing else (_PASS_MARK, "bold green")
    _print_line(console, Text.assemble((mark, style), " ", summary_sentence(counts)))


def _print_line(console: Console, text: Text) -> None:
    # soft_wrap keeps each finding on one line however narrow the terminal (or 80 columns for
    # a pipe), so the output stays greppable and locations stay clickable
    console.print(text, soft_wrap=True)
