"""Validation reports as JSON: a documented, versioned format for scripts and other tools.

The shape is fixed by the ``ValidationOutput`` model below and documented in
``docs/cli/validate.md``. Adding a key is a minor change; renaming or removing one bumps
``version``. Every finding is included, whatever the verbosity, and keys keep model order.
"""

from __future__ import annotations

import json
from typing import Literal

from pydantic import Field

from tasker_ctl.report import tally
from tasker_ctl.report.json_output import StrictOutput, ToolOutput, this_tool
from tasker_ctl.template.diagnostics import FileReport, Finding, Severity, ValidationReport

__all__ = [
    "FORMAT_VERSION",
    "FileOutput",
    "FindingOutput",
    "SummaryOutput",
    "ToolOutput",
    "ValidationOutput",
    "build_output",
    "render_json",
]

FORMAT_VERSION = 1


class SummaryOutput(StrictOutput):
    files: int = Field(description="templates validated (skipped files not included)")
    errors: int
    warnings: int
    infos: int
    skipped: int = Field(description="YAML files found in directories that are not templates")
    valid: bool = Field(description="true when nothing fails (errors; warnings under strict)")


class FindingOutput(StrictOutput):
    code: str = Field(description="stable code from the diagnostics catalogue")
    severity: Severity = Field(description="'error', 'warning' or 'info'")
    message: str
    hint: str | None
    line: int | None = Field(description="1-based line, null when unknown")
    column: int | None = Field(description="1-based column, null when unknown")
    path: str = Field(description="JSON path of the offending key or value, '$' for the file")
    step: str | None = Field(description="name of the step concerned, if any")


class FileOutput(StrictOutput):
    file: str = Field(description="the path as given or as found in a directory")
    template: str | None = Field(description="'namespace/name@version' when known")
    valid: bool
    findings: list[FindingOutput]


class ValidationOutput(StrictOutput):
    """The whole document written by ``tasker-ctl validate --format json``."""

    version: Literal[1] = Field(description="format version; bumped on breaking changes")
    tool: ToolOutput
    environment: str | None = Field(description="the --environment applied, if any")
    strict: bool = Field(description="whether warnings fail the run")
    summary: SummaryOutput
    files: list[FileOutput]
    skipped: list[str]


def build_output(report: ValidationReport, *, strict: bool = False) -> ValidationOutput:
    counts = tally(report, strict=strict)
    return ValidationOutput(
        version=FORMAT_VERSION,
        tool=this_tool(),
        environment=report.environment,
        strict=strict,
        summary=SummaryOutput(
            files=counts.files,
            errors=counts.errors,
            warnings=counts.warnings,
            infos=counts.infos,
            skipped=counts.skipped,
            valid=not counts.failing,
        ),
        files=[_file(file_report, strict) for file_report in report.files],
        skipped=list(report.skipped),
    )


def render_json(report: ValidationReport, *, strict: bool = False) -> str:
    """The report as indented JSON text, ending with a newline."""
    data = build_output(report, strict=strict).model_dump(mode="json")
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def _file(file_report: FileReport, strict: bool) -> FileOutput:
    return FileOutput(
        file=file_report.file,
        template=file_report.template,
        valid=not file_report.fails(strict=strict),
        findings=[_finding(finding) for finding in file_report.findings],
    )


def _finding(finding: Finding) -> FindingOutput:
    return FindingOutput(
        code=finding.code,
        severity=finding.severity,
        message=finding.message,
        hint=finding.hint,
        line=finding.line,
        column=finding.column,
        path=finding.path,
        step=finding.step,
    )
