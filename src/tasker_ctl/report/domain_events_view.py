"""Domain events in the terminal: one line per event, printed as they come.

Columns: time (UTC, milliseconds), the task's first 8 hex digits, the event's name, its
delivery mode, the step with its attempt and outcome (or ``emit`` for a composition's), the
custom publisher in brackets, then the payload in compact JSON, cut to one line. A rejected
event says so, with its code and why, instead of its payload.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from rich.console import Console
from rich.text import Text

if TYPE_CHECKING:
    from tasker_ctl.engine.views import DomainEvent

__all__ = ["domain_event_line", "render_domain_event"]

_NAME_WIDTH = 28
_MODE_WIDTH = 9
_PAYLOAD_WIDTH = 120


def domain_event_line(event: DomainEvent) -> Text:
    """The event as one line of styled text."""
    moment = event.occurred_at
    line = Text(
        moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z", style="dim"
    )
    task = event.task_uuid.hex[:8] if event.task_uuid is not None else "-" * 8
    line.append(f"  {task}  ")
    line.append(event.event_name.ljust(_NAME_WIDTH), style="bold")
    line.append(f" {event.delivery_mode.ljust(_MODE_WIDTH)}", style="cyan")
    if event.source == "step":
        line.append(f" {event.step_name or '?'} (attempt {event.attempt}, {event.step_outcome})")
    else:
        line.append(f" {event.step_name or '?'} (emit)")
    if event.publisher:
        line.append(f" [{event.publisher}]", style="magenta")
    if event.rejection is not None:
        code = event.rejection.get("code", "REJECTED")
        line.append(f"  rejected {code}: {event.rejection.get('message', '')}", style="red")
    else:
        payload = json.dumps(event.payload, separators=(",", ":"), ensure_ascii=False)
        if len(payload) > _PAYLOAD_WIDTH:
            payload = payload[: _PAYLOAD_WIDTH - 1] + "…"
        line.append(f"  {payload}", style="dim")
    return line


def render_domain_event(event: DomainEvent, console: Console) -> None:
    """Print the event's line (never wrapped: a long line stays one line in a log)."""
    console.print(domain_event_line(event), soft_wrap=True)
