"""The errors of the MCP server, each with its stable code; a tool answers them as a structured
error (``{"error": {"code", "message", "hint", "problems"}}``), never as a traceback."""

from __future__ import annotations

from tasker_ctl.errors import UsageError

__all__ = [
    "ConfirmationInvalidError",
    "ConfirmationStaleError",
    "CursorInvalidError",
    "McpExtraMissing",
    "PathOutsideProjectError",
    "ToolArgumentsError",
    "ToolSelectionError",
    "WriteNotAllowedError",
]


class McpExtraMissing(UsageError):
    """``tasker-ctl mcp serve`` needs the ``mcp`` SDK, installed by the ``[mcp]`` extra."""

    code = "MCP_EXTRA_MISSING"


class ToolSelectionError(UsageError):
    """``--tools`` names a tier that does not exist, or chooses none."""

    code = "TOOLS_INVALID"


class PathOutsideProjectError(UsageError):
    """A path a client named resolves outside the project the server serves."""

    code = "PATH_OUTSIDE_PROJECT"


class ToolArgumentsError(UsageError):
    """A tool's arguments do not match its input schema; every problem is listed."""

    code = "TOOL_ARGUMENTS_INVALID"

    def __init__(self, message: str, *, problems: list[dict[str, str]], hint: str | None = None):
        super().__init__(message, hint=hint)
        self.problems = problems


class WriteNotAllowedError(UsageError):
    """A write tool was called on a server started without ``--allow-write``."""

    code = "WRITE_NOT_ALLOWED"


class ConfirmationInvalidError(UsageError):
    """A confirm without a token, or with one this server did not issue for this call."""

    code = "CONFIRMATION_INVALID"


class ConfirmationStaleError(UsageError):
    """A confirm whose token expired, was used already, or whose target changed since."""

    code = "CONFIRMATION_STALE"


class CursorInvalidError(UsageError):
    """A cursor this server did not issue for this call."""

    code = "CURSOR_INVALID"
