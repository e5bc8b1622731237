"""Errors raised while generating code."""

from __future__ import annotations

from tasker_ctl.errors import ExitCode, TaskerError


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
