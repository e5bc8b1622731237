"""Transition events: every task and step transition in one shape, whatever created the step.

A step created by the template, a decision, a batch or a planner moves through the same
states, and its transitions read the same: ``TransitionEvent`` is a row of the view
``tasker.transition_events``. ``read_events`` reads them in order; ``follow_events`` polls
for new ones. They are what ``tasker-ctl events`` prints and, one JSON object per line, the
structured log stream (``event_logging`` forwards them to ``logging``; docs/telemetry.md).
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, NamedTuple

from pydantic import BaseModel, ConfigDict, Field, field_validator

from tasker_ctl.engine.store.clock import database_now
from tasker_ctl.engine.store.connection import Store
from tasker_ctl.engine.views.task_report import task_not_found
from tasker_ctl.errors import UsageError

DEFAULT_LIMIT = 1000
PAGE_SIZE = 500
DEFAULT_POLL_INTERVAL = 1.0
# How long after it was recorded an event may still become visible (its transaction commits
# late) and be picked up by follow_events. The engine's transactions last milliseconds.
DEFAULT_OVERLAP = timedelta(seconds=5)
EARLIEST = datetime.min.replace(tzinfo=UTC)
_NIL_UUID = uuid.UUID(int=0)


class EventPosition(NamedTuple):
    """Where an event stands in the reading order; events after it come after this."""

    occurred_at: datetime
    entity: str
    sort_key: int
    event_uuid: uuid.UUID


class TransitionEvent(BaseModel):
    """One transition of a task or of one of its steps (a row of ``transition_events``).

    The step fields are null for a task's own transitions. The provenance fields are the
    step's, the same for every transition of it.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    event_uuid: uuid.UUID = Field(
        description="The transition row's UUID, unique across task and step transitions "
        "(a log consumer can drop duplicates by it)."
    )
    entity: Literal["task", "step"] = Field(
        description="Whose transition: the task's own ('task') or one of its steps' ('step')."
    )
    occurred_at: datetime = Field(
        description="When the transition was recorded, by the engine's clock (UTC)."
    )
    task_uuid: uuid.UUID = Field(description="The task.")
    namespace_name: str = Field(description="The task's namespace.")
    correlation_id: uuid.UUID = Field(description="The task's correlation id.")
    trace_id: str | None = Field(
        description="The task's W3C trace id (32 hex digits), shared by its OpenTelemetry "
        "spans; null for a task created before tasks carried one."
    )
    workflow_step_uuid: uuid.UUID | None = Field(description="The step (null for a task).")
    step_name: str | None = Field(
        description="The step's name (a batch worker's includes its batch: proc_001)."
    )
    from_state: str | None = Field(description="The state left; null for the first one.")
    to_state: str = Field(description="The state entered.")
    event: str = Field(
        description="The transition's event name from the rules tables (Start, Complete, "
        "WaitForRetry, ...)."
    )
    attempt: int | None = Field(
        description="A step's attempt the transition belongs to (0 before its first claim); "
        "null for a task."
    )
    sort_key: int = Field(description="Its place among its task's or step's transitions (1..).")
    metadata: dict[str, Any] = Field(
        description="What the writer recorded with it: the worker and duration_ms of an "
        "attempt, the reason of a lost lease, an operator's actor and reason, ..."
    )
    created_by: str | None = Field(
        description="What created the step: template, decision_point, batch_spawn or planning_step."
    )
    handler_type: str | None = Field(
        description="application (a handler) or grammar (a composition of capabilities)."
    )
    planning_step_uuid: uuid.UUID | None = Field(
        description="The planning step whose fragment created the step."
    )
    fragment_id: str | None = Field(description="The planned fragment the step came from.")
    planning_phase: int | None = Field(description="The planning phase that created the step.")
    composition_source: str | None = Field(
        description="A grammar step's composition: a pattern's name, or 'dynamic'."
    )

    @field_validator("occurred_at")
    @classmethod
    def _in_utc(cls, value: datetime) -> datetime:
        # the session's time zone must not leak into logs
        return value.astimezone(UTC)

    @property
    def position(self) -> EventPosition:
        return EventPosition(self.occurred_at, self.entity, self.sort_key, self.event_uuid)

    def log_record(self) -> dict[str, Any]:
        """The event as a JSON object: what ``tasker-ctl events --json`` prints per line."""
        return self.model_dump(mode="json")


def read_events(
    store: Store,
    *,
    task_uuid: uuid.UUID | None = None,
    since: datetime | timedelta | None = None,
    after: EventPosition | None = None,
    limit: int = DEFAULT_LIMIT,
) -> list[TransitionEvent]:
    """At most ``limit`` events in order: of one task or of all, from ``since`` on (a
    duration counts back from the database's clock), after the event at ``after``.

    Raises ``TaskNotFoundError`` for a ``task_uuid`` that names no task.
    """
    if limit < 1:
        raise UsageError(f"limit must be at least 1, not {limit}")
    lower = lower_bound(store, since)
    events = _page(store, task_uuid, lower, after, limit)
    if not events and task_uuid is not None:
        _require_task(store, task_uuid)
    return events


def read_last_events(
    store: Store,
    *,
    task_uuid: uuid.UUID | None = None,
    since: datetime | timedelta | None = None,
    count: int,
) -> list[TransitionEvent]:
    """The last ``count`` events in order (``tasker-ctl events --tail``): of one task or of
    all, from ``since`` on. Raises ``TaskNotFoundError`` for an unknown ``task_uuid``."""
    if count < 1:
        raise UsageError(f"--tail must be at least 1, not {count}")
    params: dict[str, Any] = {"since": lower_bound(store, since), "limit": count}
    if task_uuid is None:
        rows = store.fetch_all("read_transition_events_tail", **params)
    else:
        rows = store.fetch_all("read_task_transition_events_tail", task_uuid=task_uuid, **params)
        if not rows:
            _require_task(store, task_uuid)
    return [TransitionEvent.model_validate(row) for row in reversed(rows)]


def follow_events(
    store: Store,
    *,
    task_uuid: uuid.UUID | None = None,
    since: datetime | timedelta | None = None,
    poll_interval: float = DEFAULT_POLL_INTERVAL,
    overlap: timedelta = DEFAULT_OVERLAP,
    stop: threading.Event | None = None,
    page_size: int = PAGE_SIZE,
    already: Iterable[TransitionEvent] = (),
) -> Iterator[TransitionEvent]:
    """Yield events as they are committed, until ``stop`` is set (or the caller stops
    iterating): first those from ``since`` on, then new ones every ``poll_interval``
    seconds. Without ``since`` only events committed after the call are yielded.

    Transactions do not commit in the order their rows were recorded: each poll reads again
    the ``overlap`` before the newest event seen and drops the events already yielded, so an
    event that becomes visible up to ``overlap`` after it was recorded is still yielded
    (after newer ones). Events in ``already`` (printed before, e.g. by ``read_last_events``)
    are not yielded again. Raises ``TaskNotFoundError`` for an unknown ``task_uuid``.
    """
    if task_uuid is not None:
        _require_task(store, task_uuid)
    stop = stop or threading.Event()
    # yielded, by when they were recorded
    seen: dict[uuid.UUID, datetime] = {event.event_uuid: event.occurred_at for event in already}
    if since is None:
        newest = database_now(store)
        # what is already committed is not new, even if recorded within the overlap
        for event in _scan(store, task_uuid, newest - overlap, page_size):
            if event.occurred_at < newest:  # one recorded since the clock was read is new
                seen[event.event_uuid] = event.occurred_at
        floor = EARLIEST
    else:
        floor = newest = lower_bound(store, since)
    while not stop.is_set():
        lower = _window_start(floor, newest, overlap)
        for event in _scan(store, task_uuid, lower, page_size):
            if event.event_uuid in seen:
                continue
            seen[event.event_uuid] = event.occurred_at
            newest = max(newest, event.occurred_at)
            yield event
        # events recorded before the next scan's bound will not be read again
        lower = _window_start(floor, newest, overlap)
        seen = {key: moment for key, moment in seen.items() if moment >= lower}
        stop.wait(poll_interval)


def describe_event(event: TransitionEvent) -> str:
    """One plain line: what moved, from where to where, by which event."""
    change = f"{event.from_state or '(new)'} -> {event.to_state} ({event.event}"
    if event.entity == "task":
        return f"task {event.task_uuid} {change})"
    change += f", attempt {event.attempt})" if event.attempt else ")"
    origin = f" [{event.created_by}]" if event.created_by not in (None, "template") else ""
    return f"step {event.step_name} of task {event.task_uuid} {change}{origin}"


def _scan(
    store: Store, task_uuid: uuid.UUID | None, since: datetime, page_size: int
) -> Iterator[TransitionEvent]:
    after: EventPosition | None = None
    while True:
        page = _page(store, task_uuid, since, after, page_size)
        yield from page
        if len(page) < page_size:
            return
        after = page[-1].position


def _page(
    store: Store,
    task_uuid: uuid.UUID | None,
    since: datetime,
    after: EventPosition | None,
    limit: int,
) -> list[TransitionEvent]:
    if after is None:
        # before every event recorded at `since`: '' sorts before 'step' and 'task'
        after = EventPosition(since, "", -(2**31), _NIL_UUID)
    params: dict[str, Any] = {
        "since": max(since, after.occurred_at),
        "after_at": after.occurred_at,
        "after_entity": after.entity,
        "after_sort_key": after.sort_key,
        "after_uuid": after.event_uuid,
        "limit": limit,
    }
    if task_uuid is None:
        rows = store.fetch_all("read_transition_events_since", **params)
    else:
        rows = store.fetch_all("read_task_transition_events", task_uuid=task_uuid, **params)
    return [TransitionEvent.model_validate(row) for row in rows]


def _window_start(floor: datetime, newest: datetime, overlap: timedelta) -> datetime:
    # compared before subtracting: newest may be EARLIEST, which has nothing before it
    return floor if newest - floor <= overlap else newest - overlap


def lower_bound(store: Store, since: datetime | timedelta | None) -> datetime:
    """The earliest time a window reaches: ``since`` counted back from the engine's clock
    when it is a duration, the very start of time when there is none."""
    if since is None:
        return EARLIEST
    if isinstance(since, timedelta):
        return database_now(store) - since
    return since


def _require_task(store: Store, task_uuid: uuid.UUID) -> None:
    if not store.fetch_value("fetch_event_task_exists", task_uuid=task_uuid):
        raise task_not_found(task_uuid)
