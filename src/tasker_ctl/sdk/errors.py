"""Exceptions a handler raises to say whether its failure is worth retrying.

Mirrors ``tasker_core.errors``: ``RetryableError`` and its subclasses ask for a retry,
``PermanentError`` and its subclasses forbid one. This hierarchy is separate from
``tasker_ctl.errors`` (the toolchain's own errors): these describe a *step's* outcome.

``is_retryable`` is the classification Tasker Core intends for an exception that escapes a
class handler's ``call`` (its ``ErrorClassifier``); ``failure_for_exception`` turns such an
exception into the failure result a runner records.
"""

from __future__ import annotations

import traceback
from typing import Any

from tasker_ctl.sdk.types import StepHandlerResult

__all__ = [
    "AuthenticationError",
    "AuthorizationError",
    "BusinessLogicError",
    "ConfigurationError",
    "FFIError",
    "NetworkError",
    "NotFoundError",
    "PermanentError",
    "RateLimitError",
    "ResourceContentionError",
    "RetryableError",
    "ServiceUnavailableError",
    "TaskerError",
    "TimeoutError",
    "ValidationError",
    "failure_for_exception",
    "is_permanent",
    "is_retryable",
]


class TaskerError(Exception):
    """Base of the handler error hierarchy.

    ``error_code`` and ``retry_after`` are also stored in ``metadata`` under their own names,
    and the keys of ``context`` are merged into ``metadata`` (top level), because metadata is
    what reaches the stored step result. The dictionaries passed in are copied, never mutated.
    """

    retryable: bool = True

    def __init__(
        self,
        message: str,
        *,
        retryable: bool | None = None,
        metadata: dict[str, Any] | None = None,
        error_code: str | None = None,
        retry_after: float | None = None,
        context: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        if retryable is not None:
            self.retryable = retryable
        self.metadata: dict[str, Any] = dict(metadata or {})
        self.error_code = error_code
        self.retry_after = retry_after
        if error_code is not None:
            self.metadata["error_code"] = error_code
        if retry_after is not None:
            self.metadata["retry_after"] = retry_after
        if context is not None:
            self.metadata.update(context)

    def to_dict(self) -> dict[str, Any]:
        """The error as plain data: class name, message, retryability and metadata."""
        return {
            "error_type": type(self).__name__,
            "message": self.message,
            "retryable": self.retryable,
            "metadata": dict(self.metadata),
        }


class RetryableError(TaskerError):
    """A transient failure: the step is retried while attempts remain."""

    retryable = True


class PermanentError(TaskerError):
    """A failure that cannot succeed on retry: the step fails at once."""

    retryable = False


# Shadows the builtin on purpose: the name is part of the tasker_core API.
class TimeoutError(RetryableError):
    """An operation took too long."""


class NetworkError(RetryableError):
    """A connection or DNS failure."""


class RateLimitError(RetryableError):
    """An upstream service refused the call for now; ``retry_after`` may say how long."""


class ServiceUnavailableError(RetryableError):
    """An upstream service is down or overloaded."""


class ResourceContentionError(RetryableError):
    """A lock or other shared resource could not be acquired."""


class ValidationError(PermanentError):
    """The input does not satisfy the step's requirements."""


class NotFoundError(PermanentError):
    """A required entity does not exist."""


class AuthenticationError(PermanentError):
    """Credentials were rejected."""


class AuthorizationError(PermanentError):
    """The caller lacks permission."""


class ConfigurationError(PermanentError):
    """The step or system is misconfigured."""


class BusinessLogicError(PermanentError):
    """The operation violates a business rule."""


class FFIError(TaskerError):
    """A failure at the boundary to the runtime; retryable unless stated otherwise."""

    retryable = True


# Python errors that signal a bug or bad input: retrying the same code on the same data
# cannot help.
_PERMANENT_BUILTINS: tuple[type[BaseException], ...] = (
    ValueError,
    TypeError,
    KeyError,
    AttributeError,
    IndexError,
    AssertionError,
    SyntaxError,
    NameError,
    ImportError,
    NotImplementedError,
)


def is_retryable(exc: BaseException) -> bool:
    """Whether a step that failed with ``exc`` should be retried.

    An explicit ``retryable`` attribute wins (every ``TaskerError`` has one); Python errors
    that signal bad input or code are permanent; everything else, including connection,
    timeout and OS errors, is retried, so that an unknown error never loses a task.
    """
    explicit = getattr(exc, "retryable", None)
    if explicit is not None:
        return bool(explicit)
    return not isinstance(exc, _PERMANENT_BUILTINS)


def is_permanent(exc: BaseException) -> bool:
    """The opposite of ``is_retryable``."""
    return not is_retryable(exc)


def failure_for_exception(exc: BaseException) -> StepHandlerResult:
    """The failure a runner records when ``exc`` escapes a handler's ``call``.

    Tasker Core's executor marks every escaping exception retryable (a defect: a class handler
    raising ``PermanentError`` is retried until its attempts run out). This applies the
    classification Tasker Core intends instead (``is_retryable``). The error type is the
    exception's class name, as in Tasker Core; the metadata carries the traceback plus, for a
    ``TaskerError``, its own metadata (so ``error_code`` reaches the stored result).
    """
    metadata: dict[str, Any] = {}
    error_code: str | None = None
    if isinstance(exc, TaskerError):
        metadata.update(exc.metadata)
        error_code = exc.error_code
    metadata["traceback"] = "".join(traceback.format_exception(exc))
    return StepHandlerResult.failure(
        message=str(exc),
        error_type=type(exc).__name__,
        retryable=is_retryable(exc),
        metadata=metadata,
        error_code=error_code,
    )
