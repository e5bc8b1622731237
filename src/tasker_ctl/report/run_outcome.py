"""What a run that did not complete says on standard error: plain lines, no rich, so that
``tasker-ctl run --json`` writes them without loading the live view's renderers."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tasker_ctl.engine.views import TaskReport

__all__ = ["RUN_AGAIN", "approval_lines", "outcome_lines"]

SUMMARY_LIMIT = 2000  # characters of a gate's summary shown; the JSON report has it all
RUN_AGAIN = "then run the same command again to continue"


def outcome_lines(
    report: TaskReport, *, interrupted: bool, timed_out: bool, resume: str
) -> list[str]:
    """Why a run that printed its task as JSON did not end with exit code 0: the lines for
    standard error (none when the task completed)."""
    lines = []
    for step in report.failed_steps:
        error = step.error if isinstance(step.error, dict) else {}
        lines.append(f"error in step '{step.name}': {error.get('message') or 'failed'}")
    lines.extend(approval_lines(report))
    if interrupted or timed_out:
        why = "interrupted" if interrupted else "timed out"
        lines.append(f"{why}: the task is resumable; resume with: {resume}")
    return lines


def approval_lines(report: TaskReport, *, after_decision: str = RUN_AGAIN) -> list[str]:
    """Each step waiting at a gate: its prompt, the gate's summary (the facts the approver
    needs), who may decide and the command lines that approve and reject."""
    from tasker_ctl.report.run_json import decide_commands

    lines: list[str] = []
    for step in report.steps:
        if step.awaiting_approval is None:
            continue
        lines.append(f"step '{step.name}' waits for approval: {step.awaiting_approval}")
        approval = step.approval
        if approval is not None and approval.summary is not None:
            lines.append(f"  summary: {_summary_text(approval.summary)}")
        if approval is not None and approval.approvers:
            lines.append(f"  approvers: {', '.join(approval.approvers)}")
        approve, reject = decide_commands(report.task_uuid, step)
        lines.append(f"  approve: {approve}")
        lines.append(f"  reject:  {reject}")
        lines.append(f"  {after_decision}")
    return lines


def _summary_text(summary: object) -> str:
    text = summary if isinstance(summary, str) else json.dumps(summary, ensure_ascii=False)
    return text if len(text) <= SUMMARY_LIMIT else text[: SUMMARY_LIMIT - 1] + "…"
