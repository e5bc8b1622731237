"""A planner's answer judged: decoded within limits, checked by the fragment validator, and the
findings kept as a planning step's failure carries them (no database)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from tasker_ctl.bounded_json import loads
from tasker_ctl.errors import JsonInputError
from tasker_ctl.sdk.types import StepHandlerResult

if TYPE_CHECKING:
    from tasker_ctl.planning.frame import FragmentFrame
    from tasker_ctl.planning.validator import FragmentCheck

MAX_FAILURE_FINDINGS = 20
"""Findings a planning step's failure carries (every one is in its planning attempts)."""


class PlanningFailure(Exception):
    """Why a planning step's attempt ends without a fragment: a coded failure."""

    def __init__(
        self,
        code: str,
        message: str,
        *,
        retryable: bool = False,
        retry_after: float | None = None,
        findings: Sequence[Any] = (),
        hint: str | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.retryable = retryable
        self.retry_after = retry_after
        self.findings = list(findings)
        self.hint = hint

    def result(self) -> StepHandlerResult:
        """The step's failure: the code, the message and the last findings."""
        metadata: dict[str, Any] = {"error_code": self.code}
        if self.findings:
            metadata["findings"] = findings_json(self.findings[:MAX_FAILURE_FINDINGS])
        if self.hint:
            metadata["hint"] = self.hint
        if self.retry_after is not None:
            metadata["retry_after"] = self.retry_after
        return StepHandlerResult.failure(
            self.message,
            error_type="planning_failed" if not self.retryable else "planner_unavailable",
            retryable=self.retryable,
            error_code=self.code,
            metadata=metadata,
        )


def findings_json(findings: Sequence[Any]) -> list[dict[str, Any]]:
    """Findings as ``planning_attempts.findings`` and a failure's metadata keep them."""
    kept = []
    for finding in findings:
        dumped = finding.model_dump(mode="json")
        kept.append(
            {
                key: dumped.get(key)
                for key in ("code", "severity", "stage", "step", "path", "message", "hint")
            }
        )
    return kept


def judge_answer(text: str, frame: FragmentFrame, *, source: str) -> FragmentCheck:
    """The validator's verdict on an answer: its JSON decoded within the project's limits (a
    text that is not JSON is a stage-1 finding), then every stage."""
    from tasker_ctl.planning.validator import FragmentCheck, FragmentFinding, check_fragment
    from tasker_ctl.template.diagnostics import Severity

    try:
        data = loads(text)
    except JsonInputError as error:
        finding = FragmentFinding(
            code="FRAGMENT_NOT_JSON",
            severity=Severity.ERROR,
            message=f"the answer is not a JSON fragment: {error.message}",
            hint="answer with one call of the tool whose arguments are the fragment",
            file=source,
            stage=1,
        )
        return FragmentCheck(fragment=None, findings=[finding])
    return check_fragment(data, frame, source=source)


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
