"""Showing why a template was refused, the same way in every command."""

from __future__ import annotations

import sys

from tasker_ctl.template.diagnostics import FileReport


def print_failing_findings(report: FileReport | None) -> None:
    """Print a refused template's errors to stderr, as ``tasker-ctl validate --quiet`` would."""
    if report is None:
        return
    from tasker_ctl.report.validation_text import render_text
    from tasker_ctl.template import ValidationReport

    render_text(ValidationReport(files=[report]), sys.stderr, quiet=True)
