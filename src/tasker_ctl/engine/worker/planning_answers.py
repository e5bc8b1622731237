"""A planner's answer judged: decoded within limits, checked by the fragment validator, and the
findings kept as a planning step's failure carries them (no database)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from tasker_ctl.engine.errors import PlanningFailure
from tasker_ctl.sdk.types import StepHandlerResult

if TYPE_CHECKING:
    from tasker_ctl.planning.frame import FragmentFrame
    from tasker_ctl.planning.validator import FragmentCheck

MAX_FAILURE_FINDINGS = 20
"""Findings a planning step's failure carries (every one is in its planning attempts)."""


def failure_result(failure: PlanningFailure) -> StepHandlerResult:
    """A planning step's failure: the code, the message and the last findings."""
    metadata: dict[str, Any] = {"error_code": failure.code}
    if failure.findings:
        metadata["findings"] = findings_json(failure.findings[:MAX_FAILURE_FINDINGS])
    if failure.hint:
        metadata["hint"] = failure.hint
    if failure.retry_after is not None:
        metadata["retry_after"] = failure.retry_after
    return StepHandlerResult.failure(
        failure.message,
        error_type="planner_unavailable" if failure.retryable else "planning_failed",
        retryable=failure.retryable,
        error_code=failure.code,
        metadata=metadata,
    )


def findings_json(findings: Sequence[Any]) -> list[dict[str, Any]]:
    """Findings as ``planning_attempts.findings`` and a failure's metadata keep them (a
    finding model, or one read back from a checkpoint)."""
    kept = []
    for finding in findings:
        dumped = (
            finding.model_dump(mode="json") if hasattr(finding, "model_dump") else vars(finding)
        )
        kept.append(
            {
                key: dumped.get(key)
                for key in ("code", "severity", "stage", "step", "path", "message", "hint")
            }
        )
    return kept


def judge_answer(text: str, frame: FragmentFrame, *, source: str) -> FragmentCheck:
    """The validator's verdict on an answer (``check_answer``: decoded, then every stage)."""
    from tasker_ctl.planning.validator import check_answer

    return check_answer(text, frame, source=source)


def summary(findings: Sequence[Any], limit: int = 3) -> str:
    """The first findings in one line: ``CODE at PATH: message; ...``."""
    shown = [f"{f.code} at {f.path}: {f.message}" for f in findings[:limit]]
    more = len(findings) - limit
    if more > 0:
        shown.append(f"and {more} more")
    return "; ".join(shown) or "no findings"


def accepted_pending(rows: Sequence[Mapping[str, Any]]) -> Mapping[str, Any] | None:
    """The last attempt, when it was accepted (its fill may not be written yet)."""
    answered = [row for row in rows if row["status"] in ("answered", "interrupted", "failed")]
    if answered and answered[-1]["accepted"] and answered[-1]["fragment"] is not None:
        return answered[-1]
    return None
