"""``tasker-ctl events --domain``: the domain events in the outbox, one line (or one JSON
object) each, and the one-event-per-line writer both kinds of event share. A helper of
``cli/events.py``; it registers no command.

``tasker_ctl.engine.views.domain_events`` reads the events and
``tasker_ctl.report.domain_events_view`` renders the text lines; both are imported here, when
the option is given.
"""

from __future__ import annotations

import json
import sys
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

import typer

if TYPE_CHECKING:
    from rich.console import Console

    from tasker_ctl.engine.store import Store
    from tasker_ctl.engine.views import DomainEvent


def print_domain_events(
    store: Store,
    *,
    task_uuid: uuid.UUID | None,
    name: str | None,
    since: datetime | timedelta | None,
    follow: bool,
    limit: int | None,
    json_output: bool,
) -> None:
    """Print the events (oldest first), or follow new ones with ``follow``."""
    from tasker_ctl.engine.views import (
        DEFAULT_LIMIT,
        EARLIEST,
        follow_domain_events,
        read_domain_events,
    )

    task = task_uuid
    write = event_writer(json_output, flush=follow, render=_render_domain_event)
    if not follow:
        cap = limit or DEFAULT_LIMIT
        found = read_domain_events(
            store, task_uuid=task, event_name=name, since=since, limit=cap + 1
        )
        for event in found[:cap]:
            write(event)
        if len(found) > cap:
            typer.echo(
                f"note: more than {cap} domain events match; narrow them with --since, --task "
                "or --name, or raise --limit",
                err=True,
            )
        return
    # a task's events are printed before its new ones; all tasks': only new ones
    start = since if since is not None else (None if task is None else EARLIEST)
    for printed, event in enumerate(
        follow_domain_events(store, task_uuid=task, event_name=name, since=start), start=1
    ):
        write(event)
        if limit is not None and printed >= limit:
            return


class LoggedEvent(Protocol):
    """An event that prints as one JSON object (``log_record``)."""

    def log_record(self) -> dict[str, Any]: ...


EventT = TypeVar("EventT", bound=LoggedEvent)


def event_writer(
    json_output: bool, *, flush: bool, render: Callable[[], Callable[[EventT, Console], None]]
) -> Callable[[EventT], None]:
    """Print one event per line: its JSON object, or the text line ``render()`` gives (loaded
    only for text, so that JSON lines never import rich)."""
    if json_output:

        def write_json(event: EventT) -> None:
            sys.stdout.write(json.dumps(event.log_record(), separators=(",", ":")) + "\n")
            if flush:  # a follower's lines reach a log file or a pipe as they happen
                sys.stdout.flush()

        return write_json
    from tasker_ctl.report.run_view import make_console

    console, render_one = make_console(), render()

    def write_text(event: EventT) -> None:
        render_one(event, console)

    return write_text


def _render_domain_event() -> Callable[[DomainEvent, Console], None]:
    from tasker_ctl.report.domain_events_view import render_domain_event

    return render_domain_event
