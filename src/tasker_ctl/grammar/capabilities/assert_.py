"""assert: an execution gate that lets the data through or fails the step."""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from tasker_ctl.grammar.capabilities._support import (
    GrammarCapability,
    LowerCase,
    evaluate,
    expect,
    is_truthy,
    truncate,
)
from tasker_ctl.grammar.capabilities.base import (
    CapabilityConfig,
    Category,
    ExpressionSite,
    FlowKind,
    InvocationContext,
    OutputFlow,
)
from tasker_ctl.grammar.errors import FailureKind, InvocationError

Quantifier = Literal["all", "any", "none"]
DEFAULT_ERROR = "assertion failed"


class Condition(BaseModel):
    """One named boolean check."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(
        default="unnamed",
        min_length=1,
        description="Name reported when the condition fails.",
    )
    expression: str = Field(
        min_length=1,
        description="jq expression over the envelope; true unless it yields null or false.",
    )


class AssertConfig(CapabilityConfig):
    """Fail the step unless a jq filter holds (simple form: filter), or unless named conditions
    hold under a quantifier (named form: conditions); exactly one form per invocation."""

    filter: str | None = Field(
        default=None,
        min_length=1,
        description=(
            "Simple form: jq expression over the envelope; the assertion holds unless it yields "
            "null or false. Use either filter or conditions."
        ),
    )
    conditions: list[Condition] | None = Field(
        default=None,
        min_length=1,
        description=(
            "Named form: the conditions to check, combined by quantifier; failures are reported "
            "by name. Use either filter or conditions."
        ),
    )
    quantifier: Annotated[Quantifier, LowerCase] = Field(
        default="all",
        description=(
            "Named form only: all (every condition holds), any (at least one holds) or none (no "
            "condition holds)."
        ),
    )
    error: str = Field(
        default=DEFAULT_ERROR,
        min_length=1,
        description="Message of the step's error when the assertion fails.",
    )
    dependency_precedent: str | None = Field(
        default=None,
        min_length=1,
        description=(
            "Name of a dependency step; when its result in deps is null or absent (for instance "
            "on a branch not taken) the assertion is skipped and the data passes through."
        ),
    )

    @model_validator(mode="after")
    def _one_form(self) -> AssertConfig:
        if self.filter is None and self.conditions is None:
            raise ValueError("an assert needs either 'filter' or 'conditions'")
        if self.filter is not None and self.conditions is not None:
            raise ValueError("an assert has either 'filter' or 'conditions', not both")
        if self.filter is not None and "quantifier" in self.model_fields_set:
            raise ValueError("'quantifier' applies to 'conditions', not to 'filter'")
        return self


class AssertCapability(GrammarCapability):
    name = "assert"
    category = Category.ASSERT
    summary = "Fail the step unless a jq condition (or a quantified set of them) holds."
    config_model = AssertConfig
    input_contract = "Reads the envelope through its conditions; checks, never changes, the data."
    output_contract = "Its input unchanged: prev, or context on the first invocation."
    failure_kinds = (FailureKind.EXECUTION, FailureKind.EXPRESSION_EVALUATION)
    examples: ClassVar[tuple[dict[str, Any], ...]] = (
        {
            "filter": ".prev.total <= .context.credit_limit",
            "error": "order total exceeds the credit limit",
        },
        {
            "conditions": [
                {"name": "has_items", "expression": ".prev.items | length > 0"},
                {"name": "positive_total", "expression": ".prev.total > 0"},
            ],
            "quantifier": "all",
        },
    )

    def expressions(self, config: CapabilityConfig) -> list[ExpressionSite]:
        parsed = expect(config, AssertConfig)
        if parsed.filter is not None:
            return [ExpressionSite("config.filter", parsed.filter)]
        return [
            ExpressionSite(f"config.conditions[{index}].expression", condition.expression)
            for index, condition in enumerate(parsed.conditions or [])
        ]

    def output_flow(self, config: CapabilityConfig) -> OutputFlow:
        expect(config, AssertConfig)
        return OutputFlow(FlowKind.PASS_THROUGH)

    def execute(self, config: CapabilityConfig, context: InvocationContext) -> Any:
        parsed = expect(config, AssertConfig)
        target = context.target
        if parsed.dependency_precedent is not None:
            deps = context.envelope.get("deps")
            if not isinstance(deps, dict) or deps.get(parsed.dependency_precedent) is None:
                return target
        if parsed.filter is not None:
            held = evaluate(context, parsed.filter, context.envelope, "config.filter")
            if not is_truthy(held):
                raise InvocationError(
                    FailureKind.EXECUTION,
                    f"{parsed.error} (filter: {truncate(parsed.filter)})",
                    details={"failed": [{"name": "filter", "expression": truncate(parsed.filter)}]},
                )
            return target
        conditions = parsed.conditions or []
        results = [
            is_truthy(
                evaluate(
                    context,
                    condition.expression,
                    context.envelope,
                    f"config.conditions[{index}].expression",
                )
            )
            for index, condition in enumerate(conditions)
        ]
        if parsed.quantifier == "all":
            failed = [c for c, held in zip(conditions, results, strict=True) if not held]
        elif parsed.quantifier == "any":
            failed = [] if any(results) else list(conditions)
        else:
            failed = [c for c, held in zip(conditions, results, strict=True) if held]
        if failed:
            named = ", ".join(f"{c.name} ({truncate(c.expression)})" for c in failed)
            verb = "held" if parsed.quantifier == "none" else "failed"
            raise InvocationError(
                FailureKind.EXECUTION,
                f"{parsed.error}: conditions {verb} under quantifier {parsed.quantifier}: {named}",
                details={
                    "quantifier": parsed.quantifier,
                    "failed": [
                        {"name": c.name, "expression": truncate(c.expression)} for c in failed
                    ],
                },
            )
        return target
