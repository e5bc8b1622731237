"""Errors raised while generating code."""

from __future__ import annotations

from tasker_ctl.errors import ExitCode, TaskerError


class CodegenError(TaskerError):
    """A template cannot be turned into code (an unsupported schema construct, a failed write)."""

    exit_code = ExitCode.FINDINGS

    def __init__(
        self, message: str, *, code: str = "CODEGEN_ERROR", hint: str | None = None
    ) -> None:
        super().__init__(message, hint=hint)
        self.code = code
