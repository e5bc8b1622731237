"""What ``tasker-ctl worker`` prints: a line when it starts, one per step attempt it finishes,
one per stale task its sweeper takes out of the running and one when it stops. Plain lines,
one whole line per event, so that a log of many workers stays readable and can be grepped;
with ``--json`` each line is one JSON object (``json_line``) of the models below.

Every time is UTC, ISO 8601 with its date and a ``Z`` (``report.times``), as ``events`` shows
them: a log read on another machine, or next to the database's times, needs no conversion.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import TYPE_CHECKING, Literal

from pydantic import Field

from tasker_ctl.report.dlq_view import describe_stale_task
from tasker_ctl.report.json_output import StrictOutput
from tasker_ctl.report.times import utc_stamp

if TYPE_CHECKING:
    from tasker_ctl.engine import StepFinished, WorkerStart
    from tasker_ctl.engine.operator import SweepReport

__all__ = [
    "StaleTaskLine",
    "StartedLine",
    "StepLine",
    "StoppedLine",
    "json_line",
    "stale_records",
    "started_line",
    "started_record",
    "step_line",
    "step_record",
    "stopped_line",
    "stopped_record",
    "swept_lines",
]

Outcome = Literal["complete", "retry", "failed"]


class StartedLine(StrictOutput):
    event: Literal["worker.started"] = "worker.started"
    at: str = Field(description="UTC, ISO 8601 with a Z")
    worker_id: str
    namespaces: list[str] | None = Field(description="null: every namespace")
    concurrency: int
    isolation: str = Field(description="'thread' or 'process': where handlers run")
    handlers: int = Field(description="handlers registered")
    database: str = Field(description="the database, described without secrets")


class StepLine(StrictOutput):
    event: Literal["step.finished"] = "step.finished"
    at: str
    outcome: Outcome = Field(description="'retry': failed, and will be attempted again")
    task_uuid: uuid.UUID
    namespace: str
    task_name: str
    step_name: str
    attempt: int
    max_attempts: int
    duration_ms: int
    error: str | None


class StaleTaskLine(StrictOutput):
    event: Literal["task.stale"] = "task.stale"
    at: str
    task_uuid: uuid.UUID
    namespace: str
    task_name: str
    task_version: str
    state: str
    outcome: str = Field(description="what the sweeper did (docs/dlq.md)")
    dlq_entry_uuid: uuid.UUID | None
    description: str = Field(description="the text line's description of the task")


class StoppedLine(StrictOutput):
    event: Literal["worker.stopped"] = "worker.stopped"
    at: str
    worker_id: str
    step_attempts: int


def json_line(record: StrictOutput) -> str:
    """One record as one line of JSON."""
    return record.model_dump_json()


def _outcome(step: StepFinished) -> Outcome:
    return "complete" if step.success else "retry" if step.will_retry else "failed"


def started_record(start: WorkerStart, now: datetime) -> StartedLine:
    return StartedLine(
        at=utc_stamp(now),
        worker_id=start.worker_id,
        namespaces=start.namespaces,
        concurrency=start.concurrency,
        isolation=start.isolation,
        handlers=start.handlers,
        database=start.database,
    )


def started_line(start: WorkerStart, now: datetime) -> str:
    namespaces = ", ".join(start.namespaces) if start.namespaces else "all"
    processes = " (handler processes)" if start.isolation == "process" else ""
    return (
        f"{utc_stamp(now)} worker {start.worker_id} started: namespaces {namespaces}, "
        f"concurrency {start.concurrency}{processes}, {start.handlers} handlers registered, "
        f"database {start.database}"
    )


def step_record(step: StepFinished, now: datetime) -> StepLine:
    return StepLine(
        at=utc_stamp(now),
        outcome=_outcome(step),
        task_uuid=step.task_uuid,
        namespace=step.namespace,
        task_name=step.task_name,
        step_name=step.step_name,
        attempt=step.attempt,
        max_attempts=step.max_attempts,
        duration_ms=step.duration_ms,
        error=step.error,
    )


def step_line(step: StepFinished, now: datetime) -> str:
    line = (
        f"{utc_stamp(now)} {_outcome(step):<8} "
        f"{step.namespace}/{step.task_name} {step.step_name} "
        f"attempt {step.attempt}/{step.max_attempts} {step.duration_ms} ms "
        f"task {step.task_uuid}"
    )
    if step.error:
        line += f": {step.error}"
    return line


def stale_records(report: SweepReport, now: datetime) -> list[StaleTaskLine]:
    return [
        StaleTaskLine(
            at=utc_stamp(now),
            task_uuid=task.task_uuid,
            namespace=task.namespace,
            task_name=task.task_name,
            task_version=task.task_version,
            state=task.state,
            outcome=str(task.outcome),
            dlq_entry_uuid=task.dlq_entry_uuid,
            description=describe_stale_task(task),
        )
        for task in report.stale
    ]


def swept_lines(report: SweepReport, now: datetime) -> list[str]:
    stamp = utc_stamp(now)
    return [f"{stamp} stale    {describe_stale_task(task)}" for task in report.stale]


def stopped_record(worker_id: str, attempts: int, now: datetime) -> StoppedLine:
    return StoppedLine(at=utc_stamp(now), worker_id=worker_id, step_attempts=attempts)


def stopped_line(worker_id: str, attempts: int, now: datetime) -> str:
    return f"{utc_stamp(now)} worker {worker_id} stopped after {attempts} step attempts"
