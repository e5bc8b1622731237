"""Validation reports as GitHub Actions workflow commands, which GitHub shows as annotations.

One ``::error``/``::warning``/``::notice`` line per finding, then one plain summary line. Under
``strict`` a warning fails the run, so it is written as ``::error`` to match the red check.
Info findings become notices only with ``verbose``; ``quiet`` keeps failing findings only.
"""

from __future__ import annotations

from tasker_ctl.report import fails, summary_sentence, tally
from tasker_ctl.template.diagnostics import Finding, Severity, ValidationReport

__all__ = ["escape_data", "escape_property", "render_github", "workflow_command"]

_COMMANDS: dict[Severity, str] = {
    Severity.ERROR: "error",
    Severity.WARNING: "warning",
    Severity.INFO: "notice",
}


def escape_data(value: str) -> str:
    """Escape a command's message the way the Actions runner unescapes it."""
    # '%' first, or the escapes added below would be escaped again
    return value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(value: str) -> str:
    """Escape a property value; ':' and ',' would otherwise end the value early."""
    return escape_data(value).replace(":", "%3A").replace(",", "%2C")


def workflow_command(finding: Finding, *, strict: bool = False) -> str:
    command = "error" if fails(finding, strict=strict) else _COMMANDS[finding.severity]
    # GitHub matches annotations to repository paths, which use forward slashes
    file = finding.file.replace("\\", "/")
    properties = [f"file={escape_property(file)}"]
    if finding.line is not None:
        properties.append(f"line={finding.line}")
        properties.append(f"col={finding.column or 1}")
    properties.append(f"title={escape_property(finding.code)}")
    message = finding.message if not finding.hint else f"{finding.message} (hint: {finding.hint})"
    return f"::{command} {','.join(properties)}::{escape_data(message)}"


def render_github(
    report: ValidationReport, *, strict: bool = False, quiet: bool = False, verbose: bool = False
) -> str:
    """The annotation lines and a summary, as text ending with a newline (empty when quiet)."""
    lines: list[str] = []
    for finding in report.findings:
        if quiet and not fails(finding, strict=strict):
            continue
        if finding.severity is Severity.INFO and not verbose:
            continue
        lines.append(workflow_command(finding, strict=strict))
    if not quiet:
        counts = tally(report, strict=strict)
        verdict = "failed" if counts.failing else "passed"
        lines.append(f"tasker-ctl validate {verdict}: {summary_sentence(counts)}")
    return "".join(line + "\n" for line in lines)
