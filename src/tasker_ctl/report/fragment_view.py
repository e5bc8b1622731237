"""How ``tasker-ctl fragment validate|explain`` show a fragment's findings and data flow.

Findings are the project's ``Finding``s, so text and SARIF are the ``validate`` renderers; the
JSON document of ``validate`` (``FragmentCheckOutput``, built by
``tasker_ctl.documents.fragments``) adds what only a fragment has: its stage, step count and
depth; ``explain``'s is the ``FragmentExplanation`` itself.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, TextIO

from pydantic import Field

from tasker_ctl.planning.findings import FragmentFinding
from tasker_ctl.report.json_output import StrictOutput
from tasker_ctl.template.diagnostics import FileReport, Severity, ValidationReport
from tasker_ctl.template.source import escape_unsafe

if TYPE_CHECKING:
    from tasker_ctl.planning.explain import FragmentExplanation


class FragmentCheckOutput(StrictOutput):
    """The document ``fragment validate --json`` writes."""

    fragment: str = Field(description="the fragment's file as given, or <fragment>/<stdin>")
    template: str = Field(description="'namespace/name@version' of the template")
    planning_step: str
    accepted: bool = Field(description="true when no finding is an error")
    step_count: int
    depth: int | None = Field(description="the longest chain of steps; null when unknown")
    findings: list[FragmentFinding]


def as_report(check: FragmentCheckOutput) -> ValidationReport:
    """The check as a validation report of one file, for the ``validate`` renderers."""
    return ValidationReport(
        files=[
            FileReport(file=check.fragment, template=check.template, findings=list(check.findings))
        ]
    )


def summary_line(check: FragmentCheckOutput) -> str:
    depth = "-" if check.depth is None else str(check.depth)
    shape = f"{check.step_count} step(s), depth {depth}"
    if check.accepted:
        return f"fragment accepted: {shape}"
    errors = [finding for finding in check.findings if finding.severity is Severity.ERROR]
    return f"fragment refused: {len(errors)} error(s); {shape}"


def render_explanation_text(explanation: FragmentExplanation, out: TextIO) -> None:
    """The data flow, one block per step, then the edges around the fill and the findings."""
    write = out.write
    write(
        f"fragment for {escape_unsafe(explanation.template)}, planning step "
        f"'{escape_unsafe(explanation.planning_step)}' -> convergence "
        f"'{escape_unsafe(explanation.convergence)}'\n"
    )
    if not explanation.steps:
        write("  no steps: the convergence runs next\n")
    for step in explanation.steps:
        name = escape_unsafe(step.name)
        handler = escape_unsafe(step.handler)
        write(f"\n  {name}  ({step.handler_kind} {handler}; result: {step.output})\n")
        if step.dependencies:
            write(f"    after: {escape_unsafe(', '.join(step.dependencies))}\n")
        for flow in step.inputs:
            origin = {
                "task_context": "task context",
                "fragment_step": f"planned step '{flow.source_step}'",
                "template_step": f"template step '{flow.source_step}'",
                "unknown": "nowhere known",
            }[flow.origin]
            field = f" field {flow.path}" if flow.path else ""
            write(
                f"    {escape_unsafe(flow.name)} <- {escape_unsafe(origin)}{escape_unsafe(field)}"
                f" ({flow.type})\n"
            )
    write("\n  edges the materialization adds:\n")
    for edge in explanation.edges:
        write(f"    {escape_unsafe(edge.source)} -> {escape_unsafe(edge.target)}  ({edge.kind})\n")
    if explanation.findings:
        write("\n  findings:\n")
        for finding in explanation.findings:
            write(
                f"    {finding.severity.value}  {finding.code}  (stage {finding.stage})  "
                f"{finding.path}  {escape_unsafe(finding.message)}\n"
            )
            if finding.hint:
                write(f"      hint: {escape_unsafe(finding.hint)}\n")
    verdict = "accepted" if explanation.accepted else "refused"
    depth = "-" if explanation.depth is None else str(explanation.depth)
    write(f"\n{verdict}: {explanation.step_count} step(s), depth {depth}\n")
