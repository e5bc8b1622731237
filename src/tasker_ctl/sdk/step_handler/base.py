"""``StepHandler``: the base class every handler derives from (``tasker_core.step_handler.base``).

A handler is instantiated once per dispatch, without arguments, and its ``call`` receives the
step's ``StepContext``. ``call`` may be ``async def``; the runner awaits it.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Awaitable
from typing import Any, TypeAlias

from tasker_ctl.sdk.types import ErrorType, StepContext, StepHandlerResult

__all__ = ["StepHandler", "StepHandlerCallResult"]

#: What ``call`` returns: a result, or (for ``async def call``) an awaitable of one.
StepHandlerCallResult: TypeAlias = StepHandlerResult | Awaitable[StepHandlerResult]


class StepHandler(ABC):
    """Base class of step handlers.

    ``handler_name`` is the registry key a template's ``handler.callable`` names;
    ``handler_version`` is informational. Subclasses implement ``call`` and usually build
    their result with ``success`` / ``failure``.
    """

    handler_name: str = ""
    handler_version: str = "1.0.0"

    @abstractmethod
    def call(self, context: StepContext) -> StepHandlerCallResult:
        """Execute the step. Exceptions that escape are recorded as failures by the runner."""

    @property
    def name(self) -> str:
        """``handler_name``, or the class name when it is empty."""
        return self.handler_name or type(self).__name__

    @property
    def version(self) -> str:
        return self.handler_version

    @property
    def capabilities(self) -> list[str]:
        return ["process"]

    def config_schema(self) -> dict[str, Any] | None:
        """A JSON Schema for ``step_config``, if the handler declares one."""
        return None

    def success(
        self, result: dict[str, Any] | None = None, metadata: dict[str, Any] | None = None
    ) -> StepHandlerResult:
        """A successful result (``None`` becomes ``{}``)."""
        return StepHandlerResult.success(result or {}, metadata)

    def failure(
        self,
        message: str,
        error_type: str | ErrorType = ErrorType.HANDLER_ERROR,
        retryable: bool = True,
        metadata: dict[str, Any] | None = None,
        error_code: str | None = None,
    ) -> StepHandlerResult:
        """A failed result; ``retryable=False`` fails the step without further attempts."""
        return StepHandlerResult.failure(
            message=message,
            error_type=error_type,
            retryable=retryable,
            metadata=metadata,
            error_code=error_code,
        )

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, version={self.version!r})"
