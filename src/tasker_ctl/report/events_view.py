"""Transition events in the terminal: one aligned line per event, printed as they come.

Columns: time (UTC, milliseconds), the task's first 8 hex digits, task or step, the step's
name (the namespace for a task's own transitions), the states left and entered, the event,
then the attempt and, for a step not created by the template, what created it; a step
parked at a gate says it waits for approval.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.console import Console
from rich.text import Text

from tasker_ctl.report.run_view import STATE_STYLES, TASK_STYLES

if TYPE_CHECKING:
    from tasker_ctl.engine.views import TransitionEvent

__all__ = ["event_line", "render_event"]

_NAME_WIDTH = 28
_STATE_WIDTH = 20
_EVENT_WIDTH = 16


def event_line(event: TransitionEvent) -> Text:
    """The event as one line of styled text."""
    stamp = event.occurred_at.strftime("%Y-%m-%dT%H:%M:%S.") + (
        f"{event.occurred_at.microsecond // 1000:03d}Z"
    )
    line = Text(stamp, style="dim")
    line.append(f"  {event.task_uuid.hex[:8]}  ")
    styles = TASK_STYLES if event.entity == "task" else STATE_STYLES
    if event.entity == "task":
        line.append("task  ", style="bold")
        line.append(event.namespace_name.ljust(_NAME_WIDTH), style="dim")
    else:
        line.append("step  ")
        line.append((event.step_name or "").ljust(_NAME_WIDTH))
    line.append(" ")
    line.append((event.from_state or "-").rjust(_STATE_WIDTH), style="dim")
    line.append(" → ")
    line.append(event.to_state.ljust(_STATE_WIDTH), style=styles.get(event.to_state, ""))
    line.append(f" {event.event.ljust(_EVENT_WIDTH)}")
    if event.entity == "step" and event.attempt:
        line.append(f" attempt {event.attempt}")
    if event.created_by not in (None, "template"):
        line.append(f" [{event.created_by}]", style="magenta")
    if event.metadata.get("awaiting_approval"):
        # parked at a gate: the state is waiting_for_retry, but a person must decide
        line.append(" waiting for approval", style="bold yellow")
    line.rstrip()
    return line


def render_event(event: TransitionEvent, console: Console) -> None:
    """Print the event's line (never wrapped: a long line stays one line in a log)."""
    console.print(event_line(event), soft_wrap=True)
