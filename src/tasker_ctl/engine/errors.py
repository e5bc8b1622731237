"""Errors of the orchestrator that callers are expected to handle."""

from __future__ import annotations

from tasker_ctl.errors import ExitCode, TaskerError


class InvalidContextError(TaskerError):
    """A task's context does not satisfy its template's input_schema; nothing was created."""

    code = "INVALID_CONTEXT"
    exit_code = ExitCode.USAGE

    def __init__(self, message: str, violations: list[str], *, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.violations = violations


class DuplicateTaskError(TaskerError):
    """A task with the same identity (template and context) already exists."""

    code = "DUPLICATE_TASK"
    exit_code = ExitCode.USAGE

    def __init__(self, message: str, task_uuid: str, *, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.task_uuid = task_uuid


class HandlerNotFoundError(TaskerError):
    """No handler is registered for a step's callable."""

    code = "HANDLER_NOT_FOUND"
    exit_code = ExitCode.USAGE


class DependencyCycleError(TaskerError):
    """The template's steps depend on each other in a cycle: such a task could never finish."""

    code = "CYCLE_DETECTED"
    exit_code = ExitCode.USAGE

    def __init__(self, message: str, cycles: list[list[str]], *, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.cycles = cycles
