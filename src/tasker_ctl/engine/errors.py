"""Errors of the orchestrator that callers are expected to handle."""

from __future__ import annotations

from tasker_ctl.errors import ExitCode, TaskerError, UsageError


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


class StepNotFoundError(UsageError, LookupError):
    """An operator command names a step that its task does not have."""

    code = "STEP_NOT_FOUND"


class TaskFinishedError(UsageError):
    """An operator command would change a task that has already finished (a terminal state)."""

    code = "TASK_ALREADY_FINISHED"


class StepStateError(UsageError):
    """An operator command cannot act on a step in its current state."""

    code = "STEP_STATE_INVALID"


class StepRunningError(StepStateError):
    """A step has an attempt running; settling it by hand needs ``--force``."""

    code = "STEP_RUNNING"


class StepWaitingForParentsError(StepStateError):
    """A step cannot be settled by hand before all its parents have finished."""

    code = "STEP_WAITING_FOR_PARENTS"


class MissingReasonError(UsageError):
    """An operator command was given no reason (``--reason``) for its change."""

    code = "REASON_REQUIRED"


class UnknownTaskStatusError(UsageError):
    """``task list --status`` names a state that tasks do not have."""

    code = "UNKNOWN_TASK_STATUS"


class ResultJsonError(UsageError):
    """A manual step result is not JSON, or not a JSON object."""

    code = "INVALID_RESULT_JSON"


class ResultSchemaViolationError(UsageError):
    """A manual step result breaks its step's ``result_schema``; nothing was changed."""

    code = "RESULT_SCHEMA_VIOLATION"

    def __init__(self, message: str, violations: list[str], *, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.violations = violations


class ManualResultError(UsageError):
    """A manual step result cannot be acted on (a decision step's outcome names steps it may
    not create, say); ``code`` is the engine's code for the problem."""

    code = "MANUAL_RESULT_INVALID"

    def __init__(self, message: str, code: str, *, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.code = code


class ManualCompletionUnsupportedError(UsageError):
    """A step cannot be completed by hand: its template definition is gone, or its kind of
    result would have to grow the task in ways only its handler's run does."""

    code = "MANUAL_COMPLETION_UNSUPPORTED"


class WorkerThreadDiedError(TaskerError):
    """A worker thread ended with an exception the engine does not expect (a bug): the
    process ends with a non-zero exit code so that a supervisor restarts it."""

    code = "WORKER_THREAD_DIED"
    exit_code = ExitCode.INTERNAL
