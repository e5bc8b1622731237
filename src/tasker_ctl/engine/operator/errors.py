"""Errors of staleness sweeps and the dead-letter queue that callers are expected to handle."""

from __future__ import annotations

from datetime import datetime

from tasker_ctl.errors import ExitCode, TaskerError, UsageError


class InvalidDlqEntryIdError(UsageError):
    """A DLQ entry was named by something that is not a UUID."""

    code = "INVALID_DLQ_ENTRY_UUID"


class DlqEntryNotFoundError(UsageError, LookupError):
    """No DLQ entry has the UUID given."""

    code = "DLQ_ENTRY_NOT_FOUND"


class InvalidResolutionStatusError(UsageError):
    """A resolution status (or a status filter) is not one of the DLQ's statuses."""

    code = "INVALID_RESOLUTION_STATUS"


class ResolutionNotesRequiredError(UsageError):
    """A resolution was given no notes: the record must say what was done and why."""

    code = "RESOLUTION_NOTES_REQUIRED"


class InvalidResolverError(UsageError):
    """The name recorded as the resolver is empty or longer than the column holds."""

    code = "INVALID_RESOLVER"


class DlqEntryAlreadyResolvedError(TaskerError):
    """The entry was resolved before: a resolution is recorded once and never overwritten."""

    code = "DLQ_ENTRY_ALREADY_RESOLVED"
    exit_code = ExitCode.FINDINGS

    def __init__(
        self,
        message: str,
        *,
        status: str,
        resolved_by: str | None,
        resolved_at: datetime | None,
        hint: str | None = None,
    ) -> None:
        super().__init__(message, hint=hint)
        self.status = status
        self.resolved_by = resolved_by
        self.resolved_at = resolved_at


class InvalidLimitError(UsageError):
    """A listing was asked for with a limit below 1."""

    code = "INVALID_LIMIT"


class InvalidSweepOptionError(UsageError):
    """A staleness sweep was asked for with a limit, interval or threshold that cannot work."""

    code = "INVALID_SWEEP_OPTION"
