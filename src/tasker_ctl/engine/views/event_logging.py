"""Transition events as ``logging`` records, and a formatter that writes them as JSON lines.

``log_events`` forwards events to the ``tasker_ctl.events`` logger: one record per event,
with a one-line message and the event's JSON object in ``extra`` (``record.tasker_event``).
``JsonEventFormatter`` turns such records into the same objects ``tasker-ctl events --json``
prints, plus ``level``, ``logger`` and ``message``; other records become ``time``, ``level``,
``logger`` and ``message`` (and ``exception`` when there is one). For example, to ship the
events of a task run in-process to a file::

    handler = logging.FileHandler("events.log")
    handler.setFormatter(JsonEventFormatter())
    logging.getLogger(EVENTS_LOGGER).addHandler(handler)
    log_events(read_events(store, task_uuid=task_uuid))
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from tasker_ctl.engine.views.events import TransitionEvent, describe_event

EVENTS_LOGGER = "tasker_ctl.events"
EVENT_ATTRIBUTE = "tasker_event"


def log_events(
    events: Iterable[TransitionEvent],
    *,
    logger: logging.Logger | None = None,
    level: int = logging.INFO,
) -> int:
    """Log each event (to ``tasker_ctl.events`` unless ``logger`` is given); how many."""
    target = logger or logging.getLogger(EVENTS_LOGGER)
    count = 0
    for event in events:
        if target.isEnabledFor(level):
            target.log(level, describe_event(event), extra={EVENT_ATTRIBUTE: event.log_record()})
        count += 1
    return count


class JsonEventFormatter(logging.Formatter):
    """One JSON object per record (no newline inside: one line each)."""

    def format(self, record: logging.LogRecord) -> str:
        event = getattr(record, EVENT_ATTRIBUTE, None)
        payload: dict[str, Any]
        if isinstance(event, dict):
            payload = dict(event)
        else:
            moment = datetime.fromtimestamp(record.created, UTC)
            payload = {"time": moment.isoformat()}
        payload.update(level=record.levelname, logger=record.name, message=record.getMessage())
        if record.exc_info:
            payload["exception"] = self.formatException(record.exc_info)
        return json.dumps(payload, default=str, separators=(",", ":"))
