"""The one way tasker-ctl shows a time: UTC, ISO 8601, with its date and a ``Z``.

A worker's log, ``events``, the task views and the JSON documents all read alike, whatever the
machine's or the database session's time zone: ``2026-03-01T12:00:05.123Z``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal

__all__ = ["utc_now", "utc_stamp"]


def utc_now() -> datetime:
    """Now, in UTC (never the machine's local time)."""
    return datetime.now(UTC)


def utc_stamp(
    moment: datetime, *, precision: Literal["seconds", "milliseconds"] = "milliseconds"
) -> str:
    """``moment`` as ``2026-03-01T12:00:05.123Z`` (or ``...T12:00:05Z`` to the second).

    A naive datetime is refused: which zone it was read in is unknown, and guessing the
    machine's local one is how times in two zones end up side by side."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"a time without a zone cannot be shown as UTC: {moment!r}")
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat(timespec=precision) + "Z"
