"""Writing a step's domain events into the outbox, in the transaction of the outcome they
describe: an outcome refused (its attempt was taken over) or rolled back leaves none of its
events, and one written twice leaves each once (the key names step, attempt and declaration).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from tasker_ctl.engine.graph.submission import QueryRunner
from tasker_ctl.engine.rules.domain_events import (
    StepOutcome,
    condition_holds,
    event_key,
    event_resource,
)
from tasker_ctl.engine.store.connection import Json


@dataclass(frozen=True)
class PreparedEvent:
    """One declared event of an outcome, built before the outcome's transaction."""

    index: int  # the declaration's place in publishes_events
    name: str
    condition: str
    delivery_mode: str
    publisher: str | None
    payload: Any
    metadata: dict[str, Any]
    # why it is recorded without being published ({code, message, problems}), or None
    rejection: dict[str, Any] | None = None
    # the publisher's after_publish, called once the transaction committed
    announce: Callable[[], None] | None = field(default=None, compare=False)


@dataclass(frozen=True)
class EventSource:
    """The attempt whose outcome the events describe."""

    step_uuid: uuid.UUID
    task_uuid: uuid.UUID
    namespace: str
    attempt: int


def write_step_events(
    store: QueryRunner,
    source: EventSource,
    outcome: StepOutcome,
    events: Sequence[PreparedEvent],
) -> list[PreparedEvent]:
    """Write the events whose condition ``outcome`` meets (the database's answer: an event
    prepared for another outcome is left out); those newly written."""
    written = []
    for event in events:
        if not condition_holds(event.condition, outcome):
            continue
        inserted = store.fetch_one(
            "insert_step_domain_event",
            key=event_key(source.step_uuid, source.attempt, event.index),
            resource=event_resource(source.namespace),
            event_name=event.name,
            delivery_mode=event.delivery_mode,
            payload=Json(event.payload),
            metadata=Json(event.metadata),
            task_uuid=source.task_uuid,
            step_uuid=source.step_uuid,
            index=event.index,
            attempt=source.attempt,
            step_outcome=outcome.value,
            condition=event.condition,
            publisher=event.publisher,
            rejection=None if event.rejection is None else Json(event.rejection),
        )
        if inserted is not None:  # None: an earlier run of this recording wrote it
            written.append(event)
    return written
