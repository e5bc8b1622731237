"""The dead-letter queue: an investigation record of tasks the engine gave up on.

As in Tasker Core, the DLQ is not a requeue. A task stays in ``tasker.tasks`` (in ``error``);
its entry in ``tasker.tasks_dlq`` says why and when, keeps a snapshot of the task and its
steps as they were, and records what an operator concluded (``resolve_dlq_entry``).
Resolving an entry changes nothing else: the task stays in ``error``. Entries are written by
staleness sweeps (``tasker_ctl.engine.operator.staleness``). See docs/dlq.md.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field

from tasker_ctl.engine.errors import (
    DlqEntryAlreadyResolvedError,
    DlqEntryNotFoundError,
    InvalidDlqEntryIdError,
    InvalidLimitError,
    InvalidResolutionStatusError,
    InvalidResolverError,
    ResolutionNotesRequiredError,
)
from tasker_ctl.engine.operator.repairs import default_actor
from tasker_ctl.engine.store.connection import Row, Store

EntryStatus = Literal["pending", "manually_resolved", "permanently_failed", "cancelled"]
ResolutionStatus = Literal["manually_resolved", "permanently_failed", "cancelled"]

ENTRY_STATUSES: tuple[EntryStatus, ...] = get_args(EntryStatus)
RESOLUTION_STATUSES: tuple[ResolutionStatus, ...] = get_args(ResolutionStatus)
DEFAULT_LIST_LIMIT = 50
# the width of tasks_dlq.resolved_by
_RESOLVER_MAX = 255


class _Closed(BaseModel):
    model_config = ConfigDict(extra="forbid")


class DlqEntrySummary(_Closed):
    """One entry, as ``dlq list`` shows it."""

    dlq_entry_uuid: uuid.UUID
    task_uuid: uuid.UUID
    namespace: str
    task_name: str
    task_version: str
    task_state: str = Field(description="the task's state now")
    original_state: str = Field(description="the task's state when the entry was made")
    reason: str = Field(description="e.g. 'staleness_timeout'")
    dlq_timestamp: datetime
    resolution_status: EntryStatus
    resolution_timestamp: datetime | None
    resolved_by: str | None
    thresholds: list[str] = Field(
        description="the staleness thresholds the task was past (empty for other reasons)"
    )


class DlqEntry(DlqEntrySummary):
    """One entry with everything recorded about it."""

    workflow_step_uuid: uuid.UUID | None
    resolution_notes: str | None
    metadata: dict[str, Any] = Field(description="why the entry was made (see docs/dlq.md)")
    task_snapshot: dict[str, Any] = Field(description="the task and its steps when it was made")
    created_at: datetime
    updated_at: datetime


class DlqStatsRow(_Closed):
    reason: str
    resolution_status: EntryStatus
    entries: int
    oldest: datetime
    newest: datetime


class DlqStats(_Closed):
    """Entries counted by reason and resolution status."""

    total: int
    pending: int
    by_reason_and_status: list[DlqStatsRow]


def parse_entry_uuid(text: str | uuid.UUID) -> uuid.UUID:
    """A DLQ entry's UUID from what a person typed."""
    if isinstance(text, uuid.UUID):
        return text
    try:
        return uuid.UUID(text.strip())
    except ValueError:
        raise InvalidDlqEntryIdError(
            f"'{text}' is not a DLQ entry UUID",
            hint="copy the entry's UUID from 'tasker-ctl dlq list'",
        ) from None


def check_status_filter(status: str | None) -> EntryStatus | None:
    """A status to list entries by; None lists every status."""
    if status is None:
        return None
    for known in ENTRY_STATUSES:
        if status == known:
            return known
    raise InvalidResolutionStatusError(
        f"unknown DLQ status '{status}'",
        hint="use one of: " + ", ".join(ENTRY_STATUSES),
    )


def list_dlq_entries(
    store: Store, *, status: str | None = None, limit: int = DEFAULT_LIST_LIMIT
) -> list[DlqEntrySummary]:
    """Entries, newest first; only those of ``status`` when it is given."""
    wanted = check_status_filter(status)
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        raise InvalidLimitError(
            f"the list limit must be a whole number, 1 or more, not {limit!r}",
            hint="it caps how many entries are shown, newest first",
        )
    rows = store.fetch_all("list_dlq_entries", status=wanted, limit=limit)
    return [DlqEntrySummary(**_summary_fields(row)) for row in rows]


def dlq_entry(store: Store, entry_uuid: str | uuid.UUID) -> DlqEntry:
    """One entry with its snapshot and metadata."""
    key = parse_entry_uuid(entry_uuid)
    row = store.fetch_one("fetch_dlq_entry", entry_uuid=key)
    if row is None:
        raise _not_found(key)
    return DlqEntry(
        **_summary_fields(row),
        workflow_step_uuid=row["workflow_step_uuid"],
        resolution_notes=row["resolution_notes"],
        metadata=_object(row["metadata"]),
        task_snapshot=_object(row["task_snapshot"]),
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


def resolve_dlq_entry(
    store: Store,
    entry_uuid: str | uuid.UUID,
    *,
    status: str,
    notes: str,
    resolved_by: str | None = None,
) -> DlqEntry:
    """Record an operator's resolution of a pending entry, and return the entry.

    The task itself does not change. An entry is resolved once: resolving it again raises
    ``DlqEntryAlreadyResolvedError``, and the first resolution stays as it was.
    """
    key = parse_entry_uuid(entry_uuid)
    resolution = _resolution_status(status)
    text = notes.strip()
    if not text:
        raise ResolutionNotesRequiredError(
            "the resolution needs notes: what was found and what was done",
            hint="pass --notes 'TEXT'",
        )
    who = (resolved_by if resolved_by is not None else default_actor()).strip()
    if not who or len(who) > _RESOLVER_MAX:
        raise InvalidResolverError(
            f"the resolver's name must be 1 to {_RESOLVER_MAX} characters, not {len(who)}",
            hint="pass --by NAME, or set TASKER_ACTOR",
        )
    with store.transaction():
        current = store.fetch_one("lock_dlq_entry", entry_uuid=key)
        if current is None:
            raise _not_found(key)
        if current["resolution_status"] != "pending":
            raise DlqEntryAlreadyResolvedError(
                f"DLQ entry {key} was already resolved as {current['resolution_status']} by "
                f"{current['resolved_by'] or 'unknown'} at "
                f"{_stamp(current['resolution_timestamp'])}",
                status=str(current["resolution_status"]),
                resolved_by=current["resolved_by"],
                resolved_at=current["resolution_timestamp"],
                hint="a resolution is kept as it was recorded; "
                f"see it with: tasker-ctl dlq show {key}",
            )
        store.execute(
            "resolve_dlq_entry", entry_uuid=key, status=resolution, notes=text, resolved_by=who
        )
    return dlq_entry(store, key)


def dlq_stats(store: Store) -> DlqStats:
    rows = [
        DlqStatsRow(
            reason=row["dlq_reason"],
            resolution_status=row["resolution_status"],
            entries=row["entries"],
            oldest=row["oldest"],
            newest=row["newest"],
        )
        for row in store.fetch_all("count_dlq_entries")
    ]
    return DlqStats(
        total=sum(row.entries for row in rows),
        pending=sum(row.entries for row in rows if row.resolution_status == "pending"),
        by_reason_and_status=rows,
    )


def _resolution_status(status: str) -> ResolutionStatus:
    for known in RESOLUTION_STATUSES:
        if status == known:
            return known
    hint = "use one of: " + ", ".join(RESOLUTION_STATUSES)
    if status == "pending":
        hint = "an entry cannot be set back to pending; " + hint
    raise InvalidResolutionStatusError(f"'{status}' is not a resolution status", hint=hint)


def _summary_fields(row: Row) -> dict[str, Any]:
    return {
        "dlq_entry_uuid": row["dlq_entry_uuid"],
        "task_uuid": row["task_uuid"],
        "namespace": row["namespace_name"],
        "task_name": row["task_name"],
        "task_version": row["task_version"],
        "task_state": row["task_state"],
        "original_state": row["original_state"],
        "reason": row["dlq_reason"],
        "dlq_timestamp": row["dlq_timestamp"],
        "resolution_status": row["resolution_status"],
        "resolution_timestamp": row["resolution_timestamp"],
        "resolved_by": row["resolved_by"],
        "thresholds": _threshold_names(row["metadata"]),
    }


def _threshold_names(metadata: Any) -> list[str]:
    """The names of the thresholds in a staleness entry's metadata; entries written by other
    tools may have any shape, so anything else yields none."""
    found = metadata.get("thresholds") if isinstance(metadata, dict) else None
    if not isinstance(found, list):
        return []
    return [str(item["name"]) for item in found if isinstance(item, dict) and "name" in item]


def _object(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {"value": value}


def _stamp(value: datetime | None) -> str:
    return value.isoformat() if value is not None else "an unknown time"


def _not_found(key: uuid.UUID) -> DlqEntryNotFoundError:
    return DlqEntryNotFoundError(
        f"DLQ entry {key} does not exist",
        hint="list entries with 'tasker-ctl dlq list'; check the database "
        "(--database-url / TASKER_DATABASE_URL)",
    )
