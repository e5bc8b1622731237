"""What a test gets from ``tasker_run_template``: a run it can read and assert on.

``TemplateRun`` wraps the engine's ``TaskReport`` with the questions a test asks (the task's
state, each step's state, result and error); ``assert_complete`` fails with a message that
names every step that did not complete and the error its handler raised, so a failing test
says why without a trip to ``tasker-ctl inspect``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any, Literal, Protocol

if TYPE_CHECKING:
    from tasker_ctl.engine.views import StepReport, TaskReport
    from tasker_ctl.trust import TrustPolicy

COMPLETE = "complete"
_MESSAGE_LIMIT = 2000  # a handler's error message, shown in full up to this many characters
_TRACEBACK_LINES = 20  # the end of a failure's traceback: where the handler raised


@dataclass(frozen=True)
class TemplateRun:
    """One task of a template, run to a resting state (or until the run's timeout)."""

    report: TaskReport

    @property
    def state(self) -> str:
        """The task's state: ``complete``, ``blocked_by_failures``, ``error``, ..."""
        return self.report.status

    @property
    def succeeded(self) -> bool:
        return self.report.status == COMPLETE

    @property
    def step_states(self) -> dict[str, str]:
        """Step name -> its state, in the order the task created the steps."""
        return {step.name: step.state for step in self.report.steps}

    @property
    def results(self) -> dict[str, Any]:
        """Step name -> the result it stored, for the steps that completed."""
        return {step.name: step.result for step in self.report.steps if step.state == COMPLETE}

    @property
    def errors(self) -> dict[str, Any]:
        """Step name -> its last failure (message, error_type, ...), for steps that failed."""
        return {step.name: step.error for step in self.report.steps if step.error is not None}

    def step(self, name: str) -> StepReport:
        """The step called ``name``; a ``KeyError`` naming the steps there are otherwise."""
        for step in self.report.steps:
            if step.name == name:
                return step
        known = ", ".join(step.name for step in self.report.steps) or "none"
        raise KeyError(f"the task has no step '{name}' (its steps: {known})")

    def describe(self) -> str:
        """The task and every step on a line of its own, failures with their error."""
        report = self.report
        lines = [f"task {report.identity} ({report.task_uuid}) is {report.status}"]
        for step in report.steps:
            line = f"  {step.name}: {step.state}"
            if step.attempts:
                line += f" after {step.attempts} of {step.max_attempts} attempt(s)"
            if step.error is not None:
                line += f"\n    {_error_text(step.error)}"
            if step.awaiting_approval is not None:
                line += f"\n    waiting for approval: {step.awaiting_approval}"
            lines.append(line)
        return "\n".join(lines)

    def assert_complete(self) -> None:
        """Fail, showing every step and the failing steps' errors, unless the task completed."""
        __tracebackhide__ = True  # pytest shows the test's line, not this one
        assert_task_complete(self)


def assert_task_complete(run: TemplateRun) -> None:
    """``AssertionError`` with the run described (``TemplateRun.describe``) unless the task
    completed."""
    __tracebackhide__ = True
    if run.succeeded:
        return
    failing = [name for name, state in run.step_states.items() if state != COMPLETE]
    headline = f"the task did not complete: it is {run.state}"
    if failing:
        headline += f"; steps not complete: {', '.join(failing)}"
    raise AssertionError(f"{headline}\n{run.describe()}")


def _error_text(error: Any) -> str:
    """A failure as a test's reader wants it: the exception, its message, and where it was
    raised (the handler's traceback, when the failure kept one)."""
    if not isinstance(error, dict):
        return _cut(str(error))
    found = error.get("metadata")
    metadata: dict[str, Any] = found if isinstance(found, dict) else {}
    kind = (
        metadata.get("exception_type")
        or error.get("error_type")
        or error.get("error_code")
        or "error"
    )
    text = f"{kind}: {_cut(str(error.get('message') or '(no message)'))}"
    retryable = error.get("retryable")
    if retryable is not None:
        text += " (retryable)" if retryable else " (not retryable)"
    if error.get("error_code"):
        text += f" [{error['error_code']}]"
    trace = metadata.get("traceback")
    if isinstance(trace, str) and trace.strip():
        lines = trace.rstrip("\n").splitlines()[-_TRACEBACK_LINES:]
        text += "\n" + "\n".join(f"      {line}" for line in lines)
    return text


def _cut(message: str) -> str:
    return message if len(message) <= _MESSAGE_LIMIT else message[:_MESSAGE_LIMIT] + " ..."


class TemplateRunner(Protocol):
    """``tasker_run_template``: run a template's task in this test's own database.

    Every call creates a new task (never resuming one), runs it with ``handlers`` until it
    rests (complete, failed, or waiting for an approval) or ``timeout`` seconds pass, and
    returns the run. ``check_handlers`` (on by default) refuses to start when a step's
    ``handler.callable`` resolves to nothing.
    """

    def __call__(
        self,
        template: str | Path,
        *,
        context: Any = None,
        handlers: Iterable[str | ModuleType] = (),
        environment: str | None = None,
        workers: int = 1,
        timeout: float | None = None,
        check_handlers: bool = True,
        trust: TrustPolicy | None = None,
        isolation: Literal["thread", "process"] = "thread",
    ) -> TemplateRun: ...
