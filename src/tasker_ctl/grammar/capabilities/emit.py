"""emit: publish a domain event; a mutation, so always checkpointed.

The operation receives the evaluated payload and a metadata mapping that always carries
``correlation_id`` (or None), ``event_version`` (or None) and ``delivery_mode``; the idempotency
key travels as its own argument.
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from tasker_ctl.grammar.capabilities._support import (
    OUTPUT_DESCRIPTION,
    GrammarCapability,
    JsonSchema,
    LowerCase,
    ResourceName,
    evaluate,
    evaluate_string,
    expect,
    finish,
    is_truthy,
    result_shape_description,
    result_sites,
    validate_success_description,
)
from tasker_ctl.grammar.capabilities.base import (
    CapabilityConfig,
    Category,
    Expression,
    ExpressionSite,
    FlowKind,
    InvocationContext,
    OutputFlow,
)
from tasker_ctl.grammar.errors import FailureKind

DeliveryMode = Literal["async", "sync"]
RESULT_ENVELOPE = "{data, confirmed, event_name, event_version}"
EVENT_NAME_PATTERN = r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$"
NOT_EMITTED = {"emitted": False, "reason": "condition not met"}
# what the output is when the condition stops the event, for static data-flow checks
NOT_EMITTED_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["emitted", "reason"],
    "properties": {"emitted": {"const": False}, "reason": {"type": "string"}},
}


def _number_as_text(value: Any) -> Any:
    # YAML reads an unquoted ``event_version: 1.0`` as a number
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return value


class EmitMetadata(BaseModel):
    """Envelope fields of the published event."""

    model_config = ConfigDict(extra="forbid")

    correlation_id: Expression | None = Field(
        default=None,
        description=(
            "jq expression over the envelope producing the string that ties the event to its "
            "business transaction."
        ),
    )
    idempotency_key: Expression | None = Field(
        default=None,
        description=(
            "jq expression over the envelope producing the string consumers deduplicate on; "
            "when absent a key derived from the task, step and invocation is used, identical on "
            "every retry."
        ),
    )


class EmitConfig(CapabilityConfig):
    """Publish a domain event (something that happened, named in the past tense), optionally
    only when a condition holds; the output is the publication result (or result_shape applied
    to the result envelope {data, confirmed, event_name, event_version})."""

    event_name: str = Field(
        max_length=128,
        pattern=EVENT_NAME_PATTERN,
        description=(
            "Dotted lowercase event name, entity then past-tense verb: 'order.confirmed', "
            "'customer.onboarded'."
        ),
    )
    event_version: Annotated[str, BeforeValidator(_number_as_text)] | None = Field(
        default=None,
        min_length=1,
        max_length=64,
        description="Version of the event's payload contract, e.g. '1.0'.",
    )
    delivery_mode: Annotated[DeliveryMode, LowerCase] = Field(
        default="async",
        description=(
            "async: publish and continue; sync: wait until the event bus confirms the event."
        ),
    )
    resource: ResourceName = Field(
        default="events", description="Name of the event bus resource to publish on."
    )
    condition: Expression | None = Field(
        default=None,
        description=(
            "jq expression over the envelope; when it yields null or false nothing is published "
            'and the output is {"emitted": false, "reason": "condition not met"}.'
        ),
    )
    payload: Expression = Field(
        description="jq expression over the envelope producing the event's payload."
    )
    metadata: EmitMetadata | None = Field(
        default=None, description="Correlation id and idempotency key of the event."
    )
    validate_success: Expression | None = Field(
        default=None, description=validate_success_description(RESULT_ENVELOPE)
    )
    result_shape: Expression | None = Field(
        default=None, description=result_shape_description(RESULT_ENVELOPE)
    )
    output: JsonSchema | None = Field(default=None, description=OUTPUT_DESCRIPTION)


class EmitCapability(GrammarCapability):
    name = "emit"
    category = Category.EMIT
    summary = (
        "Publish a domain event built from the envelope, optionally only when a condition holds."
    )
    config_model = EmitConfig
    mutating = True
    supports_idempotency_key = True
    input_contract = "Reads the envelope through condition, payload and metadata."
    output_contract = (
        "The publication result (or result_shape of it), or {emitted: false, reason} when the "
        "condition is not met."
    )
    failure_kinds = (
        FailureKind.EXPRESSION_EVALUATION,
        FailureKind.RESOURCE_NOT_FOUND,
        FailureKind.RESOURCE_UNAVAILABLE,
        FailureKind.TIMEOUT,
        FailureKind.EXECUTION,
        FailureKind.OUTPUT_VALIDATION,
    )
    examples: ClassVar[tuple[dict[str, Any], ...]] = (
        {
            "event_name": "order.confirmed",
            "event_version": "1.0",
            "condition": {"expression": ".prev.total > 0"},
            "payload": {"expression": "{order_id: .prev.order_id, total: .prev.total}"},
            "metadata": {"correlation_id": {"expression": ".context.order_id"}},
        },
    )

    def expressions(self, config: CapabilityConfig) -> list[ExpressionSite]:
        parsed = expect(config, EmitConfig)
        sites = []
        if parsed.condition is not None:
            sites.append(ExpressionSite("config.condition.expression", parsed.condition.expression))
        sites.append(ExpressionSite("config.payload.expression", parsed.payload.expression))
        if parsed.metadata is not None:
            for name in ("correlation_id", "idempotency_key"):
                field = getattr(parsed.metadata, name)
                if field is not None:
                    sites.append(
                        ExpressionSite(f"config.metadata.{name}.expression", field.expression)
                    )
        return [*sites, *result_sites(parsed.validate_success, parsed.result_shape)]

    def output_flow(self, config: CapabilityConfig) -> OutputFlow:
        parsed = expect(config, EmitConfig)
        if parsed.output is None or parsed.condition is None:
            return OutputFlow.declared(parsed.output)
        return OutputFlow(FlowKind.DECLARED, {"anyOf": [parsed.output, NOT_EMITTED_SCHEMA]})

    def execute(self, config: CapabilityConfig, context: InvocationContext) -> Any:
        parsed = expect(config, EmitConfig)
        envelope = context.envelope
        if parsed.condition is not None:
            held = evaluate(
                context, parsed.condition.expression, envelope, "config.condition.expression"
            )
            if not is_truthy(held):
                return dict(NOT_EMITTED)
        payload = evaluate(
            context, parsed.payload.expression, envelope, "config.payload.expression"
        )
        correlation_id: str | None = None
        key = context.idempotency_key.value
        if parsed.metadata is not None:
            if parsed.metadata.correlation_id is not None:
                correlation_id = evaluate_string(
                    context,
                    parsed.metadata.correlation_id.expression,
                    envelope,
                    "config.metadata.correlation_id.expression",
                )
            if parsed.metadata.idempotency_key is not None:
                key = evaluate_string(
                    context,
                    parsed.metadata.idempotency_key.expression,
                    envelope,
                    "config.metadata.idempotency_key.expression",
                )
        metadata = {
            "correlation_id": correlation_id,
            "event_version": parsed.event_version,
            "delivery_mode": parsed.delivery_mode,
        }
        result = context.operations.emit(
            parsed.resource,
            parsed.event_name,
            payload,
            metadata,
            key,
            invocation_index=context.index,
        )
        result_envelope = {
            "data": result.get("data"),
            "confirmed": result.get("confirmed"),
            "event_name": parsed.event_name,
            "event_version": parsed.event_version,
        }
        return finish(
            context,
            result_envelope,
            validate_success=parsed.validate_success,
            result_shape=parsed.result_shape,
            output=parsed.output,
            capability="emit",
        )
