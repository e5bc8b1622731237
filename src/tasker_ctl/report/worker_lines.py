"""What ``tasker-ctl worker`` prints: a line when it starts, one per step attempt it finishes
and one per stale task its sweeper takes out of the running. Plain lines, one whole line per
event, so that a log of many workers stays readable and can be grepped."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from tasker_ctl.report.dlq_view import describe_stale_task

if TYPE_CHECKING:
    from tasker_ctl.engine import StepFinished, WorkerStart
    from tasker_ctl.engine.operator import SweepReport

__all__ = ["started_line", "step_line", "swept_lines"]


def started_line(start: WorkerStart) -> str:
    namespaces = ", ".join(start.namespaces) if start.namespaces else "all"
    processes = " (handler processes)" if start.isolation == "process" else ""
    return (
        f"worker {start.worker_id} started: namespaces {namespaces}, concurrency "
        f"{start.concurrency}{processes}, {start.handlers} handlers registered, "
        f"database {start.database}"
    )


def step_line(step: StepFinished, now: datetime) -> str:
    outcome = "complete" if step.success else "retry" if step.will_retry else "failed"
    line = (
        f"{now.strftime('%H:%M:%S')} {outcome:<8} "
        f"{step.namespace}/{step.task_name} {step.step_name} "
        f"attempt {step.attempt}/{step.max_attempts} {step.duration_ms} ms "
        f"task {step.task_uuid}"
    )
    if step.error:
        line += f": {step.error}"
    return line


def swept_lines(report: SweepReport, now: datetime) -> list[str]:
    stamp = now.strftime("%H:%M:%S")
    return [f"{stamp} stale    {describe_stale_task(task)}" for task in report.stale]
