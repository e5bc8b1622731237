"""CONVERGENCE_AFTER_DECISION: a convergence step behind a decision is created only with one of
its dependencies, so a decision that chooses no branches leaves it out (as Tasker Core does;
tests/integration/engine/test_decision_no_branches.py runs it)."""

from __future__ import annotations

from tasker_ctl.template import validate_text
from tasker_ctl.template.diagnostics import Finding, Severity

CODE = "CONVERGENCE_AFTER_DECISION"
HEAD = "name: t\nnamespace_name: ns\nversion: 1.0.0\nsteps:\n"


def findings(text: str) -> list[Finding]:
    return [f for f in validate_text(HEAD + text).findings if f.code == CODE]


def test_a_convergence_after_a_decision_is_information() -> None:
    [finding] = findings(
        "  - {name: intake, handler: {callable: x.I}}\n"
        "  - {name: route, type: decision, dependencies: [intake], handler: {callable: x.R}}\n"
        "  - {name: a, dependencies: [route], handler: {callable: x.A}}\n"
        "  - {name: b, dependencies: [route], handler: {callable: x.B}}\n"
        "  - {name: join, type: deferred_convergence, dependencies: [a, b],"
        " handler: {callable: x.J}}\n"
    )
    assert finding.severity is Severity.INFO
    assert finding.step == "join"
    assert "decision 'route'" in finding.message
    assert "chooses no branches, the task completes without it" in finding.message
    assert finding.hint is not None
    assert "route to a branch that does nothing" in finding.hint


def test_a_convergence_after_a_batch_only_is_not_reported() -> None:
    assert not findings(
        "  - name: split\n    type: batchable\n"
        "    handler: {callable: x.S, initialization: {worker_template_name: work}}\n"
        "  - name: work\n    type: batch_worker\n    dependencies: [split]\n"
        "    handler: {callable: x.W}\n"
        "    batch_config: {batch_size: 10, worker_template: work, failure_strategy: fail_fast}\n"
        "  - {name: total, type: deferred_convergence, dependencies: [work],"
        " handler: {callable: x.T}}\n"
    )
