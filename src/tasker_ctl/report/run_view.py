"""What ``tasker-ctl run`` shows while a task runs, and the summary once it rests.

On a terminal a rich ``Live`` table of the steps (state, attempts, time) is redrawn by rich's
refresh thread at most ``refresh_per_second`` times a second, however often the runner reports;
with many steps it becomes a progress bar over the active and failed steps only, so the view
fits the screen. Anywhere else (a pipe, a CI log, ``NO_COLOR``, ``TERM=dumb``) every change of
state is one plain line, which stays readable in logs and can be grepped.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, TextIO

from rich import box
from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.progress_bar import ProgressBar
from rich.table import Table
from rich.text import Text

from tasker_ctl.report.run_outcome import RUN_AGAIN, approval_lines

if TYPE_CHECKING:
    from types import TracebackType

    from tasker_ctl.engine.views import StepReport, TaskReport

__all__ = [
    "MANY_STEPS",
    "RunView",
    "failure_hint",
    "format_duration",
    "make_console",
    "planned_note",
    "render_summary",
    "steps_table",
    "submitted_lines",
    "wants_live",
]

MANY_STEPS = 15  # above this the live view is a progress bar plus the active steps
MAX_ACTIVE_ROWS = 15
SLOWEST_SHOWN = 10

STATE_STYLES = {
    "pending": "dim",
    "enqueued": "blue",
    "in_progress": "bold cyan",
    "enqueued_for_orchestration": "cyan",
    "enqueued_as_error_for_orchestration": "yellow",
    "waiting_for_retry": "yellow",
    "waiting_for_approval": "bold yellow",
    "complete": "green",
    "error": "bold red",
    "cancelled": "magenta",
    "resolved_manually": "magenta",
}
TASK_STYLES = {"complete": "bold green", "blocked_by_failures": "bold red", "error": "bold red"}
DONE_STATES = frozenset({"complete", "resolved_manually", "cancelled"})
QUIET_STATES = DONE_STATES | {"pending"}
WAITING_FOR_APPROVAL = "waiting_for_approval"  # engine.views.task_report's name for it


def make_console(stream: TextIO | None = None) -> Console:
    # highlighting would colour numbers and UUIDs inside messages at random
    return Console(file=stream, highlight=False)


def wants_live(console: Console) -> bool:
    """Whether ``console`` can take a redrawn display rather than plain lines."""
    return console.is_terminal and not console.is_dumb_terminal and not console.no_color


def format_duration(milliseconds: float | None) -> str:
    if milliseconds is None:
        return ""
    if milliseconds < 1000:
        return f"{int(milliseconds)} ms"
    seconds = milliseconds / 1000
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, rest = divmod(int(seconds), 60)
    return f"{minutes} min {rest} s"


def failure_hint(step: StepReport, task: str = "TASK") -> str:
    """What to do about a failed step of ``task``, judged by how it failed."""
    error = step.error if isinstance(step.error, dict) else {}
    kind = error.get("error_type")
    if kind == "handler_not_found":
        return "pass --handlers with the file, directory or module that defines the handler"
    if kind == "result_schema_violation":
        return "make the handler return what the step's result_schema describes"
    if kind == "timeout":
        return "raise the step's timeout_seconds or make the handler faster"
    repair = f"fix the cause, then: tasker-ctl task retry-step {task} {step.name} --reason ..."
    if error.get("retryable") and step.attempts >= step.max_attempts:
        return f"it failed on all {step.max_attempts} attempts; {repair}"
    return repair


class RunView:
    """Feed it every ``TaskReport`` the runner produces (``on_update``); use as a context."""

    def __init__(
        self,
        console: Console,
        *,
        live: bool | None = None,
        many_steps: int = MANY_STEPS,
        refresh_per_second: float = 8.0,
        clock: Callable[[], float] = time.monotonic,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.console = console
        self.live = wants_live(console) if live is None else live
        self.many_steps = many_steps
        self._refresh = refresh_per_second
        self._clock, self._now = clock, now
        self._started = clock()
        self._report: TaskReport | None = None
        self._seen: dict[str, tuple[str, int]] = {}
        self._status: str | None = None
        self._display: Live | None = None

    @property
    def elapsed(self) -> float:
        """Seconds since the view was created."""
        return self._clock() - self._started

    def __enter__(self) -> RunView:
        if self.live:
            self._display = Live(
                console=self.console,
                get_renderable=self.renderable,
                refresh_per_second=self._refresh,
                transient=True,
                redirect_stdout=False,
                redirect_stderr=False,
            )
            self._display.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._display is not None:
            self._display.stop()
            self._display = None

    def update(self, report: TaskReport) -> None:
        # the refresh thread reads _report; swapping one reference needs no lock
        self._report = report
        if not self.live:
            self._print_changes(report)

    def note(self, message: str, style: str = "yellow") -> None:
        """A message above the live display (or a plain line)."""
        self.console.print(Text(message, style=style), soft_wrap=True)

    def renderable(self) -> RenderableType:
        report = self._report
        if report is None:
            return Text("starting…", style="dim")
        header = self._header(report)
        if len(report.steps) <= self.many_steps:
            return Group(header, steps_table(report.steps, self._now()))
        active = [step for step in report.steps if step.state not in QUIET_STATES]
        parts: list[RenderableType] = [header, _progress(report.steps)]
        if active:
            parts.append(steps_table(active[:MAX_ACTIVE_ROWS], self._now()))
        if len(active) > MAX_ACTIVE_ROWS:
            parts.append(Text(f"… {len(active) - MAX_ACTIVE_ROWS} more active steps", "dim"))
        return Group(*parts)

    def _header(self, report: TaskReport) -> Text:
        header = Text(report.identity, style="bold")
        header.no_wrap, header.overflow = True, "ellipsis"
        header.append(f"  task {report.task_uuid}  ", style="dim")
        header.append(report.status, style=TASK_STYLES.get(report.status, "cyan"))
        header.append(f"  {format_duration(self.elapsed * 1000)}", style="dim")
        return header

    def _print_changes(self, report: TaskReport) -> None:
        stamp = f"{self.elapsed:6.1f}s"
        if self._status is None:
            self._print_status(report, stamp)
        for step in report.steps:
            seen = (step.state, step.attempts)
            previous = self._seen.get(step.name)
            self._seen[step.name] = seen
            if seen == previous or (previous is None and step.state == "pending"):
                continue
            line = Text(f"{stamp}  {step.name}  ")
            line.append(step.state, style=STATE_STYLES.get(step.state, ""))
            details = _details(step)
            if details:
                line.append(f"  {details}")
            # the step's first printed line (pending ones are not printed) names its planner
            first = previous is None or previous[0] == "pending"
            if first and step.planning_step is not None:
                line.append(f"  (planned by {step.planning_step})", style="dim")
            self.console.print(line, soft_wrap=True)
        if report.status != self._status:
            self._print_status(report, stamp)

    def _print_status(self, report: TaskReport, stamp: str) -> None:
        line = Text(f"{stamp}  task {report.identity} ")
        if self._status is None:
            line.append(f"{report.task_uuid} {'resumed' if report.resumed else 'created'}: ")
        line.append(report.status, style=TASK_STYLES.get(report.status, "cyan"))
        self.console.print(line, soft_wrap=True)
        self._status = report.status


def render_summary(
    report: TaskReport,
    console: Console,
    *,
    elapsed: float | None = None,
    interrupted: bool = False,
    timed_out: bool = False,
    resume_command: str | None = None,
    many_steps: int = MANY_STEPS,
    after_decision: str = RUN_AGAIN,
) -> None:
    """The outcome: status, total time, each step's time and attempts, the failure and hint;
    for a step waiting at a gate, what the approver must know and how to decide
    (``after_decision`` says what happens next)."""
    total = report.duration_ms if report.duration_ms is not None else None
    if total is None and elapsed is not None:
        total = int(elapsed * 1000)
    identity = report.identity
    if report.succeeded:
        line = Text(f"✓ {identity} complete", style="bold green")
    elif report.waiting_for_approval:
        line = Text(f"⏸ {identity} waiting for approval", style="bold yellow")
    elif report.resting:
        line = Text(f"✗ {identity} {report.status}", style="bold red")
    else:
        why = "interrupted while " if interrupted else "timed out while " if timed_out else ""
        line = Text(f"■ {identity} {why}{report.status}", style="bold yellow")
    if total is not None:
        line.append(f" {'in' if report.succeeded else 'after'} {format_duration(total)}")
    if report.resumed:
        line.append(" (resumed an identical task)", style="dim")
    console.print()
    console.print(line, soft_wrap=True)
    console.print(Text(f"task {report.task_uuid}", style="dim"), soft_wrap=True)
    if report.budget:
        from tasker_ctl.report.budget_view import budget_sentence

        console.print(Text(f"budget: {budget_sentence(report.budget)}"), soft_wrap=True)
    steps, hidden = _summary_steps(report.steps, many_steps)
    if steps:
        console.print(steps_table(steps, datetime.now(UTC)))
    if hidden:
        console.print(Text(f"… {hidden} more steps complete", style="dim"))
    for step in report.failed_steps:
        error = Text(f"error in step '{step.name}': {_error_line(step)}", style="red")
        console.print(error, soft_wrap=True)
        console.print(Text(f"  hint: {failure_hint(step, str(report.task_uuid))}"), soft_wrap=True)
    for waiting in approval_lines(report, after_decision=after_decision):
        console.print(Text(waiting, style="" if waiting[:1] == " " else "yellow"), soft_wrap=True)
    if (interrupted or timed_out) and not report.resting:
        console.print("the task is resumable: run the same command again to continue")
        if resume_command:
            console.print(Text(f"  {resume_command}", style="bold"), soft_wrap=True)


def submitted_lines(report: TaskReport) -> list[str]:
    """What ``task submit`` says: the task created, or the identical one found instead."""
    if report.resumed:
        lines = [
            f"task {report.task_uuid} already exists ({report.identity}, {report.status})",
            "  hint: pass --new to submit another task with the same context",
        ]
    else:
        lines = [
            f"submitted task {report.task_uuid} ({report.identity}, {len(report.steps)} steps)"
        ]
    return [*lines, f"  see it with: tasker-ctl task show {report.task_uuid}"]


def steps_table(steps: Iterable[StepReport], now: datetime) -> Table:
    """Name, coloured state, attempts, time (so far, for running steps), the planning step
    that planned it (a column shown when some step was planned) and the last error."""
    steps = list(steps)
    planned = any(step.planning_step is not None for step in steps)
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, header_style="bold")
    columns = ("step", "state", "attempts", "time", *(("planned by",) if planned else ()), "")
    for column in columns:
        table.add_column(column, no_wrap=column != "")
    for step in steps:
        cells: list[RenderableType] = [
            step.name,
            Text(step.state, style=STATE_STYLES.get(step.state, "")),
            _attempts(step),
            _time(step, now),
        ]
        if planned:
            cells.append(planned_note(step))
        cells.append(Text(_error_message(step), style="red") if step.state != "complete" else "")
        table.add_row(*cells)
    return table


def planned_note(step: StepReport) -> Text:
    """``↳ plan_investigation`` for a step planned by that planning step; empty for the
    others."""
    if step.planning_step is None:
        return Text("")
    return Text(f"↳ {step.planning_step}", style="dim")


def _time(step: StepReport, now: datetime) -> str:
    if step.duration_ms is not None:
        return format_duration(step.duration_ms)
    if step.started_at is None:
        return ""
    return format_duration(max((now - step.started_at).total_seconds() * 1000, 0))


def _summary_steps(steps: list[StepReport], many: int) -> tuple[list[StepReport], int]:
    """All steps, or (when there are many) the unfinished ones and the slowest."""
    if len(steps) <= many:
        return steps, 0
    slow = sorted(steps, key=lambda step: step.duration_ms or 0, reverse=True)[:SLOWEST_SHOWN]
    keep = {id(step) for step in slow} | {id(s) for s in steps if s.state not in DONE_STATES}
    shown = [step for step in steps if id(step) in keep]
    return shown, len(steps) - len(shown)


def _progress(steps: list[StepReport]) -> Table:
    done = sum(1 for step in steps if step.state in DONE_STATES)
    running = sum(1 for step in steps if step.state == "in_progress")
    failed = sum(1 for step in steps if step.state == "error")
    grid = Table.grid(padding=(0, 2))
    counts = Text(f"{done}/{len(steps)} steps done, {running} running")
    if failed:
        counts.append(f", {failed} failed", style="bold red")
    grid.add_row(ProgressBar(total=len(steps), completed=done, width=40), counts)
    return grid


def _attempts(step: StepReport) -> str:
    # a step waiting at a gate has used no attempt on the wait: 0/N says so
    if step.attempts or step.state == WAITING_FOR_APPROVAL:
        return f"{step.attempts}/{step.max_attempts}"
    return "-"


def _details(step: StepReport) -> str:
    if step.state == WAITING_FOR_APPROVAL:
        return f"attempts {_attempts(step)}: {step.awaiting_approval or 'a gate'}"
    if step.state == "complete":
        return f"{format_duration(step.duration_ms)}, attempt {_attempts(step)}".lstrip(", ")
    if step.state in ("in_progress", "enqueued") and step.attempts:
        return f"attempt {step.attempts + (step.state == 'enqueued')}/{step.max_attempts}"
    message = _error_message(step)
    return f"attempt {_attempts(step)} failed: {message}" if message else ""


def _error_message(step: StepReport) -> str:
    if step.state == WAITING_FOR_APPROVAL:  # what stops it is the question, not a failure
        return ""
    error = step.error if isinstance(step.error, dict) else {}
    return str(error.get("message") or "")


def _error_line(step: StepReport) -> str:
    error = step.error if isinstance(step.error, dict) else {}
    tags = [str(tag) for tag in (error.get("error_type"), error.get("error_code")) if tag]
    where = f" (attempt {step.attempts}/{step.max_attempts})"
    return f"{_error_message(step) or 'failed'}{where}" + (f" [{', '.join(tags)}]" if tags else "")
