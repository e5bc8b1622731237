"""Findings and reports: what validation produces, independent of how it is rendered.

A ``Finding`` is one problem at one place; a ``FileReport`` holds the findings of one file and a
``ValidationReport`` those of a whole run. Renderers (text, JSON, SARIF, GitHub annotations) live in
``tasker_ctl.report`` and only read these models.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field


class Severity(StrEnum):
    """How serious a finding is. Errors fail validation; warnings fail it with ``--strict``."""

    ERROR = "error"
    WARNING = "warning"
    INFO = "info"

    @property
    def rank(self) -> int:
        return {"error": 0, "warning": 1, "info": 2}[self.value]


class Finding(BaseModel):
    """One coded problem, located as precisely as the source allows."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    code: str
    severity: Severity
    message: str
    hint: str | None = None
    file: str
    line: int | None = Field(default=None, description="1-based line, when known")
    column: int | None = Field(default=None, description="1-based column, when known")
    path: str = Field(default="$", description="JSON path of the offending key or value")
    step: str | None = Field(default=None, description="name of the step concerned, if any")

    @property
    def location(self) -> str:
        if self.line is None:
            return self.file
        return f"{self.file}:{self.line}:{self.column or 1}"


class FileReport(BaseModel):
    """The findings of one file, sorted by position."""

    model_config = ConfigDict(extra="forbid")

    file: str
    template: str | None = Field(default=None, description="'namespace/name@version' if known")
    findings: list[Finding] = Field(default_factory=list)

    def count(self, severity: Severity) -> int:
        return sum(1 for finding in self.findings if finding.severity is severity)

    def fails(self, *, strict: bool = False) -> bool:
        return any(_fails(finding.severity, strict) for finding in self.findings)


class ValidationReport(BaseModel):
    """The result of validating one or more files."""

    model_config = ConfigDict(extra="forbid")

    files: list[FileReport] = Field(default_factory=list)
    skipped: list[str] = Field(
        default_factory=list, description="YAML files found in directories that are not templates"
    )
    environment: str | None = None

    @property
    def findings(self) -> list[Finding]:
        return [finding for report in self.files for finding in report.findings]

    def count(self, severity: Severity) -> int:
        return sum(report.count(severity) for report in self.files)

    def fails(self, *, strict: bool = False) -> bool:
        return any(report.fails(strict=strict) for report in self.files)

    @property
    def io_errors(self) -> list[Finding]:
        """Findings about files that could not be read at all."""
        return [finding for finding in self.findings if finding.code == "FILE_UNREADABLE"]

    def exit_code(self, *, strict: bool = False) -> int:
        """0 clean, 1 failing findings, 2 when a file could not be read."""
        if self.io_errors:
            return 2
        return 1 if self.fails(strict=strict) else 0


def _fails(severity: Severity, strict: bool) -> bool:
    return severity is Severity.ERROR or (strict and severity is Severity.WARNING)
