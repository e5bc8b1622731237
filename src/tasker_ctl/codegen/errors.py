"""Errors raised while generating code."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tasker_ctl.errors import ExitCode, TaskerError, TemplateLoadError

if TYPE_CHECKING:
    from tasker_ctl.template.diagnostics import FileReport


class CodegenError(TaskerError):
    """A template cannot be turned into code (an unsupported schema construct, a failed write).

    Problems with the command's own arguments (a package name that is not an identifier, a
    missing ``--scaffolds`` directory, an output path that cannot be written) are usage errors
    and exit with 2; problems found in the template exit with 1.
    """

    exit_code = ExitCode.FINDINGS

    def __init__(
        self,
        message: str,
        *,
        code: str = "CODEGEN_ERROR",
        hint: str | None = None,
        exit_code: ExitCode | None = None,
    ) -> None:
        super().__init__(message, hint=hint)
        self.code = code
        if exit_code is not None:
            self.exit_code = exit_code


class TemplateInvalidError(TemplateLoadError):
    """The template has errors; nothing is generated. ``report`` holds the findings."""

    def __init__(self, report: FileReport) -> None:
        # severities are a StrEnum: comparing values keeps this module free of template imports
        errors = [f for f in report.findings if f.severity == "error"]
        super().__init__(
            f"template '{report.file}' has {len(errors)} error(s); nothing was generated",
            hint=f"run 'tasker-ctl validate {report.file}' to see every finding",
        )
        self.report = report
