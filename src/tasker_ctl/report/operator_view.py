"""The operator commands in the terminal: a table of tasks, and what a repair changed."""

from __future__ import annotations

import sys
from datetime import datetime
from typing import TYPE_CHECKING

from rich.console import Console
from rich.text import Text

from tasker_ctl.report.run_view import STATE_STYLES, TASK_STYLES, make_console
from tasker_ctl.report.times import utc_stamp

if TYPE_CHECKING:
    from tasker_ctl.engine.operator import RepairOutcome
    from tasker_ctl.engine.views import TaskPage

__all__ = ["render_repair", "render_task_list", "show_repair"]

# the states worth naming in a task's step counts, in this order; the rest are summed up
_NOTABLE_STEP_STATES = (
    "error",
    "waiting_for_approval",
    "in_progress",
    "waiting_for_retry",
    "enqueued",
    "pending",
)
_DONE_STEP_STATES = ("complete", "resolved_manually")


def render_task_list(page: TaskPage, console: Console) -> None:
    """Two lines a task: its UUID (whole, to copy into a command), status and template;
    then its steps by state and its times (created, and changed: its latest transition or a
    step's). A table of all of it would not fit a terminal. A page that is not the last
    says so, with the option that prints the next one."""
    tasks = page.tasks
    if not tasks:
        console.print("no tasks found", style="dim")
        return
    for task in tasks:
        first = Text(str(task.task_uuid), style="bold")
        first.append("  ")
        first.append(task.status, style=TASK_STYLES.get(task.status, ""))
        first.append(f"  {task.identity}")
        second = Text("  steps ")
        second.append_text(step_counts_text(task.step_counts))
        second.append(
            f"   created {_moment(task.created_at)}   changed {_moment(task.updated_at)}",
            style="dim",
        )
        console.print(first, soft_wrap=True)
        console.print(second, soft_wrap=True)
    count = f"{len(tasks)} task{'s' if len(tasks) != 1 else ''}"
    if page.next_cursor is None:
        console.print(Text(count, style="dim"))
        return
    console.print(
        Text(f"{count} shown (--limit {page.limit}); more match. Next page: ", style="yellow")
        + Text(f"--after {page.next_cursor}", style="bold"),
        soft_wrap=True,
    )


def step_counts_text(counts: dict[str, int]) -> Text:
    """``3/5 done, 1 error, 1 pending``: finished steps, then the states worth a look."""
    total = sum(counts.values())
    done = sum(counts.get(state, 0) for state in _DONE_STEP_STATES)
    text = Text(f"{done}/{total} done")
    for state in (*_NOTABLE_STEP_STATES, "cancelled"):
        if counts.get(state):
            text.append(", ")
            text.append(f"{counts[state]} {state}", style=STATE_STYLES.get(state, ""))
    return text


def show_repair(outcome: RepairOutcome, *, json_output: bool) -> None:
    """What a repair changed, on standard output: one JSON object, or text for people."""
    if json_output:
        from tasker_ctl.report.operator_json import render_repair_json

        sys.stdout.write(render_repair_json(outcome))
        return
    render_repair(outcome, make_console())


def render_repair(outcome: RepairOutcome, console: Console) -> None:
    report = outcome.report
    identity = report.identity
    if outcome.step is None:
        cancelled = outcome.cancelled_steps
        line = f"cancelled task {outcome.task_uuid} ({identity})"
        if cancelled:
            line += f": {len(cancelled)} step{'s' if len(cancelled) != 1 else ''} cancelled"
            line += f" ({', '.join(cancelled)})"
    else:
        states = [outcome.step_state_before, outcome.step_state_after]
        if outcome.action == "retry_step" and outcome.step_state_after != "pending":
            states.insert(1, "pending")  # a retried step passes through pending
        line = f"step '{outcome.step}' of task {outcome.task_uuid} ({identity}): " + " → ".join(
            str(state) for state in states
        )
        if outcome.action == "retry_step":
            line += " (attempts reset)"
    console.print(Text(line, style="bold"), soft_wrap=True)
    console.print(Text(f"  by {outcome.by}: {outcome.reason}"), soft_wrap=True)
    console.print(Text(f"  task: {_task_change(outcome)}"), soft_wrap=True)
    if outcome.blocking_steps:
        names = ", ".join(f"'{name}'" for name in outcome.blocking_steps)
        console.print(
            Text(f"  still blocked by failed step(s) {names}; repair them too", style="yellow"),
            soft_wrap=True,
        )
    console.print(Text(f"  see it with: tasker-ctl task show {outcome.task_uuid}", style="dim"))


def _task_change(outcome: RepairOutcome) -> str:
    before, after = outcome.task_state_before, outcome.task_state_after
    change = f"{before} → {after}" if before != after else f"still {after}"
    if outcome.resumed:
        change += " (resumed)"
    if outcome.enqueued:
        change += f", {outcome.enqueued} step{'s' if outcome.enqueued != 1 else ''} enqueued"
    return change


def _moment(moment: datetime) -> str:
    return utc_stamp(moment, precision="seconds")
