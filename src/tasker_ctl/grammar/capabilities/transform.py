"""transform: reshape, compute and decide with one jq filter."""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import Field

from tasker_ctl.grammar.capabilities._support import (
    GrammarCapability,
    JsonSchema,
    check_output,
    evaluate,
    expect,
)
from tasker_ctl.grammar.capabilities.base import (
    CapabilityConfig,
    Category,
    ExpressionSite,
    InvocationContext,
    OutputFlow,
)
from tasker_ctl.grammar.errors import FailureKind


class TransformConfig(CapabilityConfig):
    """Pure data transformation: one jq filter over the envelope, its result checked against
    the declared output schema."""

    filter: str = Field(
        min_length=1,
        description=(
            "jq filter over the envelope {context, deps, prev, step}; its first output is the "
            "invocation's output. Reshaping, arithmetic, aggregation and rule evaluation are all "
            "written here."
        ),
    )
    output: JsonSchema | None = Field(
        default=None,
        description=(
            "JSON Schema of the filter's result. Required by composition validation (it is what "
            "later invocations and the outcome are checked against); the result is validated "
            "against it at run time."
        ),
    )


class TransformCapability(GrammarCapability):
    name = "transform"
    category = Category.TRANSFORM
    summary = "Reshape, compute or decide with a jq filter; the result is checked against output."
    config_model = TransformConfig
    input_contract = (
        "Reads anything in the envelope {context, deps, prev, step} through its filter."
    )
    output_contract = "The filter's first result, conforming to the declared output schema."
    failure_kinds = (FailureKind.EXPRESSION_EVALUATION, FailureKind.OUTPUT_VALIDATION)
    examples: ClassVar[tuple[dict[str, Any], ...]] = (
        {
            "filter": "{total: ([.prev.items[] | .price * .quantity] | add)}",
            "output": {
                "type": "object",
                "required": ["total"],
                "properties": {"total": {"type": "number"}},
            },
        },
    )

    def expressions(self, config: CapabilityConfig) -> list[ExpressionSite]:
        parsed = expect(config, TransformConfig)
        return [ExpressionSite("config.filter", parsed.filter)]

    def output_flow(self, config: CapabilityConfig) -> OutputFlow:
        return OutputFlow.declared(expect(config, TransformConfig).output)

    def execute(self, config: CapabilityConfig, context: InvocationContext) -> Any:
        parsed = expect(config, TransformConfig)
        result = evaluate(context, parsed.filter, context.envelope, "config.filter")
        return check_output(result, parsed.output, "config.output")
