"""The single exception hierarchy of tasker-ctl, with stable error codes and exit codes.

Validation findings are *collected* into reports (see ``tasker_ctl.template.diagnostics``);
exceptions are for conditions that stop an operation: bad command-line input, unreadable
paths, environment problems. The CLI maps every ``TaskerError`` to a message and an exit code.
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """Process exit codes shared by every command."""

    OK = 0
    FINDINGS = 1
    USAGE = 2
    INTERNAL = 3


class TaskerError(Exception):
    """Base class of every error tasker-ctl raises on purpose."""

    code: str = "TASKER_ERROR"
    exit_code: ExitCode = ExitCode.USAGE

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message


class UsageError(TaskerError):
    """The command was called with arguments that cannot work."""

    code = "USAGE_ERROR"


class PathNotFoundError(UsageError):
    """A path named on the command line does not exist or a glob matched nothing."""

    code = "PATH_NOT_FOUND"


class NoTemplatesFoundError(UsageError):
    """The paths given contain no TaskTemplate files."""

    code = "NO_TEMPLATES_FOUND"


class FileReadError(TaskerError):
    """A file exists but cannot be read (permissions, I/O failure)."""

    code = "FILE_UNREADABLE"


class TemplateLoadError(TaskerError):
    """A single template was required but it has errors (raised by ``load_template``)."""

    code = "TEMPLATE_INVALID"
    exit_code = ExitCode.FINDINGS


class UnknownEnvironmentError(UsageError):
    """``--environment`` names an environment the template does not declare."""

    code = "UNKNOWN_ENVIRONMENT"


class StepNotFoundError(UsageError):
    """A step named on the command line does not exist in the template."""

    code = "STEP_NOT_FOUND"
