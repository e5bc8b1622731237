"""``task audit``: the JSON document of a step's trail, and its text.

The document (``StepAuditOutput``) holds the step's attempts, each with how it ended and, where
its result was kept, its error, and every transition with who made it and why (an operator's
``--by`` and ``--reason``, from the transition's metadata). The text shows the same: the
attempts, then the transitions, one line each.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import datetime
from typing import Any, Literal

from pydantic import Field

from tasker_ctl.report.json_output import StrictOutput, ToolOutput
from tasker_ctl.report.times import utc_stamp

__all__ = [
    "AUDIT_FORMAT_VERSION",
    "AuditAttempt",
    "AuditTransition",
    "StepAuditOutput",
    "audit_lines",
]

AUDIT_FORMAT_VERSION = 1
_STATE_WIDTH = 20
_LONGEST_ERROR = 200


class AuditTransition(StrictOutput):
    at: datetime
    from_state: str | None
    to_state: str
    event: str
    attempt: int | None
    action: str | None = Field(
        description="the operator's action (retry_step, approve_step, ...); null for the engine"
    )
    by: str | None = Field(description="the operator (--by), or the worker or sweeper")
    reason: str | None = Field(description="the operator's --reason, or what the engine noted")
    metadata: dict[str, Any]


class AuditAttempt(StrictOutput):
    number: int
    started_at: datetime
    ended_at: datetime | None = Field(description="null while the attempt runs")
    duration_ms: int | None
    outcome: str = Field(description="the state the attempt left the step in, or 'running'")
    worker: str | None
    error: Any = Field(
        description="the attempt's failure (message, error_type, error_code, retryable); "
        "null when it did not fail, or when its result was not kept"
    )


class StepAuditOutput(StrictOutput):
    """The whole document written by ``tasker-ctl task audit TASK STEP --json``."""

    version: Literal[1] = Field(description="format version; bumped on breaking changes")
    tool: ToolOutput
    task_uuid: uuid.UUID
    task: str = Field(description="namespace/name@version")
    step: str
    state: str = Field(description="the step's state now")
    attempts: int
    max_attempts: int
    operator_actions: int = Field(description="transitions an operator made")
    attempt_history: list[AuditAttempt]
    transitions: list[AuditTransition] = Field(description="oldest first")


def audit_lines(audit: StepAuditOutput) -> Iterator[str]:
    """The trail as lines of text: a heading, the attempts, the transitions."""
    yield (
        f"step {audit.step} of task {audit.task_uuid} ({audit.task}): {audit.state}, "
        f"{audit.attempts}/{audit.max_attempts} attempts"
    )
    yield ""
    yield f"attempts ({len(audit.attempt_history)})" if audit.attempt_history else "no attempts"
    for attempt in audit.attempt_history:
        took = "" if attempt.duration_ms is None else f" in {attempt.duration_ms} ms"
        worker = f" by {attempt.worker}" if attempt.worker else ""
        started = utc_stamp(attempt.started_at)
        yield f"  #{attempt.number}  {started}  {attempt.outcome}{took}{worker}"
        if attempt.error is not None:
            yield f"      error: {_error_text(attempt.error)}"
    yield ""
    yield f"transitions ({len(audit.transitions)}, {audit.operator_actions} by an operator)"
    for item in audit.transitions:
        line = (
            f"  {utc_stamp(item.at)}  {(item.from_state or '-').rjust(_STATE_WIDTH)} -> "
            f"{item.to_state.ljust(_STATE_WIDTH)} {item.event}"
        )
        if item.attempt:
            line += f"  attempt {item.attempt}"
        if item.action is not None:
            line += f"  [{item.action} by {item.by or 'unknown'}: {item.reason or 'no reason'}]"
        elif item.reason:
            line += f"  ({item.reason})"
        yield line.rstrip()


def _error_text(error: Any) -> str:
    if isinstance(error, dict) and error.get("message") is not None:
        kind = error.get("error_type") or error.get("error_code")
        text = f"{kind}: {error['message']}" if kind else str(error["message"])
        return _short(text)
    return _short(json.dumps(error, ensure_ascii=False, default=str))


def _short(text: str) -> str:
    single = " ".join(text.split())
    return single if len(single) <= _LONGEST_ERROR else single[: _LONGEST_ERROR - 1] + "…"
