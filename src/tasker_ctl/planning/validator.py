"""``check_fragment``: a planner's fragment checked against its frame in nine stages.

1 the format (``parse_fragment``); 2 what handlers name exists and is allowed; 3 composition
structure, the strict mutation policy and what compositions reach; 4 configs; 5 the DAG;
6 references; 7 data contracts; 8 bounds and budget; 9 the fragment's place in the frame
(stages 6, 8 and 9 also check nested planning steps: ``stages_nesting``).
Every stage runs and every finding is collected (up to ``MAX_FINDINGS``); when the fragment
does not parse, the later stages run on each step that parses on its own. Nothing raises,
whatever the input: the data comes from a model.
"""

from __future__ import annotations

from collections.abc import Callable

from pydantic import BaseModel, ConfigDict, Field, computed_field

from tasker_ctl.planning.findings import (
    FRAGMENT_CODES,
    MAX_FINDINGS,
    FragmentFinding,
    parse_fragment,
)
from tasker_ctl.planning.fragment import Fragment
from tasker_ctl.planning.frame import FragmentFrame
from tasker_ctl.planning.stages_base import Draft
from tasker_ctl.planning.stages_graph import check_bounds, check_dag, check_frame
from tasker_ctl.planning.stages_handlers import check_compositions, check_existence
from tasker_ctl.planning.stages_inputs import check_input_reads
from tasker_ctl.planning.stages_nesting import (
    check_nested_bounds,
    check_nested_frame,
    check_planner_context,
)
from tasker_ctl.planning.stages_reach import check_reach
from tasker_ctl.planning.stages_references import check_references
from tasker_ctl.template.diagnostics import Finding, Severity

__all__ = ["FragmentCheck", "FragmentFinding", "check_fragment"]

_STAGES: tuple[Callable[[Draft], None], ...] = (
    check_existence,
    check_compositions,
    check_reach,
    check_dag,
    check_references,
    check_planner_context,
    check_input_reads,
    check_bounds,
    check_nested_bounds,
    check_frame,
    check_nested_frame,
)


class FragmentCheck(BaseModel):
    """The outcome of ``check_fragment``."""

    model_config = ConfigDict(extra="forbid")

    fragment: Fragment | None = Field(description="the parsed fragment (None: stage 1 failed)")
    findings: list[FragmentFinding] = Field(default_factory=list)
    depth: int | None = Field(
        default=None, description="the longest chain of steps (None: unknown, or a cycle)"
    )
    step_count: int = 0

    @computed_field  # type: ignore[prop-decorator]
    @property
    def accepted(self) -> bool:
        """A fragment, and no finding of severity error."""
        return self.fragment is not None and not any(
            finding.severity is Severity.ERROR for finding in self.findings
        )

    @property
    def errors(self) -> list[FragmentFinding]:
        return [finding for finding in self.findings if finding.severity is Severity.ERROR]


def check_fragment(
    data: object, frame: FragmentFrame, *, source: str = "<fragment>"
) -> FragmentCheck:
    """Every finding about ``data`` as a fragment for ``frame``'s planning step."""
    parsed = parse_fragment(data, source=source)
    fragment = parsed if isinstance(parsed, Fragment) else None
    first = [] if isinstance(parsed, Fragment) else [_staged(finding) for finding in parsed]
    draft = Draft.of(data, fragment, frame, source)
    for stage in _STAGES:
        try:
            stage(draft)
        except Exception as error:  # a check's own bug must not let a fragment through
            draft.add(
                "FRAGMENT_SCHEMA_INVALID",
                f"the fragment could not be checked completely ({type(error).__name__}: {error})",
            )
    later = sorted(draft.findings, key=lambda finding: finding.stage)
    findings = [*first, *later]
    if len(findings) > MAX_FINDINGS:
        rest = len(findings) - MAX_FINDINGS
        findings = findings[:MAX_FINDINGS]
        findings.append(
            FragmentFinding(
                code="FRAGMENT_TOO_LARGE",
                severity=Severity.ERROR,
                message=f"{rest} further problems are not listed",
                file=source,
                stage=1,
            )
        )
    return FragmentCheck(
        fragment=fragment,
        findings=findings,
        depth=draft.depth,
        step_count=draft.step_count,
    )


def check_answer(text: str, frame: FragmentFrame, *, source: str = "<answer>") -> FragmentCheck:
    """Every finding about a planner's answer: its JSON decoded within the project's limits
    (``bounded_json``: size, depth, numbers, what jsonb cannot store), then every stage. An
    answer that is not such JSON is one stage-1 finding, ``FRAGMENT_NOT_JSON``."""
    from tasker_ctl.bounded_json import loads
    from tasker_ctl.errors import JsonInputError

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
        return FragmentCheck(fragment=None, findings=[finding], depth=None, step_count=0)
    return check_fragment(data, frame, source=source)


def _staged(finding: Finding) -> FragmentFinding:
    if isinstance(finding, FragmentFinding):
        return finding
    info = FRAGMENT_CODES.get(finding.code)
    return FragmentFinding(**finding.model_dump(), stage=info.stage if info is not None else 1)
