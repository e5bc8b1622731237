"""Domain events as people and scripts read them: the outbox, oldest first.

``DomainEvent`` is one row of the outbox (``tasker.grammar_outbox``) with its task's namespace
and correlation id and its step's name: an event a step declared (``source`` 'step') or a
composition's ``emit`` wrote ('emit'). A rejected event (its payload broke its schema, could
not be stored, or its publisher raised) carries its ``rejection``; the others were published.
``read_domain_events`` reads them in order; ``follow_domain_events`` polls for new ones. They
are what ``tasker-ctl events --domain`` prints; external consumers read the view
``tasker.domain_events`` (docs/domain-events.md).
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from tasker_ctl.engine.store.clock import database_now
from tasker_ctl.engine.store.connection import Store
from tasker_ctl.engine.views.events import (
    DEFAULT_LIMIT,
    DEFAULT_OVERLAP,
    DEFAULT_POLL_INTERVAL,
    EARLIEST,
    PAGE_SIZE,
    lower_bound,
)
from tasker_ctl.errors import UsageError

_NIL_UUID = uuid.UUID(int=0)


class DomainEvent(BaseModel):
    """One domain event in the outbox."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    event_uuid: uuid.UUID = Field(description="The event's UUID (consumers deduplicate on it).")
    occurred_at: datetime = Field(description="When it was written, by the engine's clock (UTC).")
    event_name: str = Field(description="The declared name, e.g. 'payment.processed'.")
    event_version: str | None = Field(description="An emit's event_version; null for a step's.")
    delivery_mode: str = Field(
        description="durable, fast or broadcast (a step's); async or sync (an emit's)."
    )
    payload: Any = Field(description="The payload: the step's result or its publisher's.")
    metadata: dict[str, Any] = Field(
        description="task_uuid, step_uuid, step_name, namespace, correlation_id, fired_at, "
        "fired_by, publisher and what a custom publisher added."
    )
    source: Literal["step", "emit"] = Field(
        description="A step's declaration ('step') or a composition's emit ('emit')."
    )
    resource: str = Field(description="Where it is published: '<namespace>_domain_events'.")
    task_uuid: uuid.UUID | None = Field(description="The task.")
    namespace_name: str | None = Field(description="The task's namespace.")
    correlation_id: uuid.UUID | None = Field(description="The task's correlation id.")
    workflow_step_uuid: uuid.UUID | None = Field(description="The step.")
    step_name: str | None = Field(description="The step's name.")
    attempt: int | None = Field(description="The attempt whose outcome published it.")
    step_outcome: str | None = Field(description="success, retryable_failure or permanent_failure.")
    publication_condition: str | None = Field(description="The declaration's condition.")
    publisher: str | None = Field(description="The declaration's custom publisher.")
    idempotency_key: str = Field(description="Unique per step, attempt and declaration.")
    published_at: datetime | None = Field(
        description="When a relay marked it delivered; null until then."
    )
    rejection: dict[str, Any] | None = Field(
        description="Why it was not published: {code, message, problems}; null when it was."
    )

    @field_validator("occurred_at", "published_at")
    @classmethod
    def _in_utc(cls, value: datetime | None) -> datetime | None:
        return None if value is None else value.astimezone(UTC)

    def log_record(self) -> dict[str, Any]:
        """The event as a JSON object: what ``events --domain --json`` prints per line."""
        return self.model_dump(mode="json")


def read_domain_events(
    store: Store,
    *,
    task_uuid: uuid.UUID | None = None,
    event_name: str | None = None,
    since: datetime | timedelta | None = None,
    limit: int = DEFAULT_LIMIT,
) -> list[DomainEvent]:
    """At most ``limit`` events, oldest first: of one task or all, of one name or all, from
    ``since`` on (a duration counts back from the database's clock)."""
    if limit < 1:
        raise UsageError(f"limit must be at least 1, not {limit}")
    return _page(store, task_uuid, event_name, lower_bound(store, since), None, limit)


def follow_domain_events(
    store: Store,
    *,
    task_uuid: uuid.UUID | None = None,
    event_name: str | None = None,
    since: datetime | timedelta | None = None,
    poll_interval: float = DEFAULT_POLL_INTERVAL,
    overlap: timedelta = DEFAULT_OVERLAP,
    stop: threading.Event | None = None,
) -> Iterator[DomainEvent]:
    """Yield events as they are committed until ``stop`` is set: those from ``since`` on
    first (without it, only those written after the call), then new ones every
    ``poll_interval`` seconds. As ``views.events.follow_events`` does, each poll reads the
    ``overlap`` before the newest event again, so one whose transaction committed late is
    still yielded, once."""
    stop = stop or threading.Event()
    seen: dict[uuid.UUID, datetime] = {}
    newest = database_now(store) if since is None else lower_bound(store, since)
    floor = newest
    if since is None:
        for event in _scan(store, task_uuid, event_name, newest - overlap):
            if event.occurred_at < newest:
                seen[event.event_uuid] = event.occurred_at
        floor = EARLIEST
    while not stop.is_set():
        lower = floor if newest - floor <= overlap else newest - overlap
        for event in _scan(store, task_uuid, event_name, lower):
            if event.event_uuid in seen:
                continue
            seen[event.event_uuid] = event.occurred_at
            newest = max(newest, event.occurred_at)
            yield event
        lower = floor if newest - floor <= overlap else newest - overlap
        seen = {key: moment for key, moment in seen.items() if moment >= lower}
        stop.wait(poll_interval)


def _scan(
    store: Store, task_uuid: uuid.UUID | None, event_name: str | None, since: datetime
) -> Iterator[DomainEvent]:
    after: tuple[datetime, uuid.UUID] | None = None
    while True:
        page = _page(store, task_uuid, event_name, since, after, PAGE_SIZE)
        yield from page
        if len(page) < PAGE_SIZE:
            return
        after = (page[-1].occurred_at, page[-1].event_uuid)


def _page(
    store: Store,
    task_uuid: uuid.UUID | None,
    event_name: str | None,
    since: datetime,
    after: tuple[datetime, uuid.UUID] | None,
    limit: int,
) -> list[DomainEvent]:
    after_at, after_uuid = after if after is not None else (since, _NIL_UUID)
    rows = store.fetch_all(
        "read_domain_events",
        since=since,
        after_at=after_at,
        after_uuid=after_uuid,
        task_uuid=task_uuid,
        event_name=event_name,
        rejected=True,
        limit=limit,
    )
    return [DomainEvent.model_validate(row) for row in rows]
