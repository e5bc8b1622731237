"""gate: a person approves or rejects before the composition goes on.

Until a decision is recorded the invocation raises ``ApprovalPending`` (a ``GatePending``) and
the engine suspends the step; a later run of the step finds the decision through
``Operations.gate_decision`` and either passes the data on or fails the step for good.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, ClassVar

from pydantic import Field

from tasker_ctl.grammar.capabilities._support import GrammarCapability, evaluate, expect
from tasker_ctl.grammar.capabilities.base import (
    CapabilityConfig,
    Category,
    Expression,
    ExpressionSite,
    FlowKind,
    InvocationContext,
    OutputFlow,
)
from tasker_ctl.grammar.errors import ApprovalPending, FailureKind, InvocationError

APPROVED = "approved"
REJECTED = "rejected"


class GateConfig(CapabilityConfig):
    """Wait for a person to approve or reject; on approval the data passes through unchanged,
    on rejection the step fails without retry."""

    prompt: str = Field(
        min_length=1,
        max_length=4096,
        description="The question the approver answers, e.g. 'Refund more than 500 EUR?'.",
    )
    approvers: list[Annotated[str, Field(min_length=1, max_length=256)]] = Field(
        default=[],
        description="Names of the people allowed to decide; anyone when empty.",
    )
    summary: Expression | None = Field(
        default=None,
        description=(
            "jq expression over the envelope whose value is shown to the approver next to the "
            "prompt (the facts needed to decide)."
        ),
    )


class GateCapability(GrammarCapability):
    name = "gate"
    category = Category.GATE
    summary = (
        "Pause the step until a person approves (data passes through) or rejects (step fails)."
    )
    config_model = GateConfig
    input_contract = "Reads the envelope only through summary; the decision comes from a person."
    output_contract = (
        "Its input unchanged (prev, or context on the first invocation) once approved."
    )
    failure_kinds = (FailureKind.GATE_REJECTED, FailureKind.EXPRESSION_EVALUATION)
    examples: ClassVar[tuple[dict[str, Any], ...]] = (
        {
            "prompt": "Issue this refund?",
            "approvers": ["finance-lead"],
            "summary": {"expression": "{customer: .context.customer_id, amount: .prev.amount}"},
        },
    )

    def expressions(self, config: CapabilityConfig) -> list[ExpressionSite]:
        parsed = expect(config, GateConfig)
        if parsed.summary is None:
            return []
        return [ExpressionSite("config.summary.expression", parsed.summary.expression)]

    def output_flow(self, config: CapabilityConfig) -> OutputFlow:
        expect(config, GateConfig)
        return OutputFlow(FlowKind.PASS_THROUGH)

    def execute(self, config: CapabilityConfig, context: InvocationContext) -> Any:
        parsed = expect(config, GateConfig)
        decision = context.operations.gate_decision(context.index)
        if decision is None:
            summary = None
            if parsed.summary is not None:
                summary = evaluate(
                    context,
                    parsed.summary.expression,
                    context.envelope,
                    "config.summary.expression",
                )
            raise ApprovalPending(
                parsed.prompt,
                approvers=list(parsed.approvers),
                summary=summary,
                invocation_index=context.index,
            )
        verdict, by = _read(decision)
        if parsed.approvers and by not in parsed.approvers:
            raise InvocationError(
                FailureKind.EXECUTION,
                f"the decision was recorded by {by!r}, who is not one of the gate's approvers",
                retryable=False,
            )
        if verdict == REJECTED:
            reason = decision.get("reason")
            message = f"rejected by {by}: {reason}" if reason else f"rejected by {by}"
            raise InvocationError(
                FailureKind.GATE_REJECTED,
                message,
                retryable=False,
                details={"by": by, "reason": reason, "at": decision.get("at")},
            )
        return context.target


def _read(decision: Mapping[str, Any]) -> tuple[str, str]:
    verdict = decision.get("decision")
    verdict = verdict.lower() if isinstance(verdict, str) else verdict
    if verdict not in {APPROVED, REJECTED}:
        raise InvocationError(
            FailureKind.EXECUTION,
            "the recorded gate decision is neither 'approved' nor 'rejected'",
            retryable=False,
        )
    by = decision.get("by")
    return str(verdict), str(by) if by is not None else "unknown"
