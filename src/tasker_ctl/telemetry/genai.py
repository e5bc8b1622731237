"""A planner's model call in OpenTelemetry's GenAI semantic conventions (imported only when
telemetry is on, by ``telemetry.otel``).

The span is ``chat {model}`` (kind CLIENT) with the conventions' ``gen_ai.*`` attributes and
the planning step's ``tasker.*`` ones; ``PlannerCallInstruments`` records the conventions'
``gen_ai.client.token.usage`` (by ``gen_ai.token.type``: input, output) and
``gen_ai.client.operation.duration``. docs/telemetry.md lists them.
"""

from __future__ import annotations

import time

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.metrics import Meter
from opentelemetry.trace import Span, Status, StatusCode
from opentelemetry.util.types import AttributeValue

from tasker_ctl.telemetry.api import PlannerCallInfo, PlannerCallResult

# gen_ai.system is the older name of gen_ai.provider.name, set too for backends that read
# only that one
GEN_AI_OPERATION = "gen_ai.operation.name"
GEN_AI_PROVIDER = "gen_ai.provider.name"
GEN_AI_SYSTEM = "gen_ai.system"
GEN_AI_REQUEST_MODEL = "gen_ai.request.model"
GEN_AI_RESPONSE_MODEL = "gen_ai.response.model"
GEN_AI_MAX_TOKENS = "gen_ai.request.max_tokens"
GEN_AI_INPUT_TOKENS = "gen_ai.usage.input_tokens"
GEN_AI_OUTPUT_TOKENS = "gen_ai.usage.output_tokens"
GEN_AI_TOKEN_TYPE = "gen_ai.token.type"
GEN_AI_CHAT = "chat"
ERROR_TYPE = "error.type"

ATTR_TASK_UUID = "tasker.task.uuid"
ATTR_NAMESPACE = "tasker.task.namespace"
ATTR_STEP_NAME = "tasker.step.name"
ATTR_STEP_UUID = "tasker.step.uuid"
ATTR_PLANNING_ATTEMPT = "tasker.planning.attempt"
ATTR_PLANNING_PHASE = "tasker.planning.phase"
ATTR_PLANNING_ACCEPTED = "tasker.planning.accepted"
ATTR_PLANNING_FINDINGS = "tasker.planning.findings"
ATTR_PLANNING_COST = "tasker.planning.cost_usd"

METRIC_TOKEN_USAGE = "gen_ai.client.token.usage"
METRIC_OPERATION_DURATION = "gen_ai.client.operation.duration"


class PlannerCallInstruments:
    """The GenAI conventions' client metrics, on one meter."""

    def __init__(self, meter: Meter) -> None:
        self._tokens = meter.create_histogram(
            METRIC_TOKEN_USAGE,
            unit="{token}",
            description="Tokens used by planners' model calls, input and output.",
        )
        self._durations = meter.create_histogram(
            METRIC_OPERATION_DURATION, unit="s", description="How long planners' model calls took."
        )

    def record(self, info: PlannerCallInfo, result: PlannerCallResult, seconds: float) -> None:
        attributes: dict[str, AttributeValue] = {
            GEN_AI_OPERATION: GEN_AI_CHAT,
            GEN_AI_PROVIDER: info.provider,
            GEN_AI_REQUEST_MODEL: info.model,
            ATTR_NAMESPACE: info.namespace,
        }
        if result.response_model:
            attributes[GEN_AI_RESPONSE_MODEL] = result.response_model
        if result.error_type:
            attributes[ERROR_TYPE] = result.error_type
        self._durations.record(seconds, attributes)
        for kind, tokens in (("input", result.tokens_in), ("output", result.tokens_out)):
            if tokens is not None:
                self._tokens.record(tokens, {**attributes, GEN_AI_TOKEN_TYPE: kind})


def start_chat_span(tracer: trace.Tracer, info: PlannerCallInfo, parent: Context) -> Span:
    """The ``chat {model}`` span of one call, started now under ``parent``."""
    return tracer.start_span(
        f"{GEN_AI_CHAT} {info.model}",
        context=parent,
        kind=trace.SpanKind.CLIENT,
        attributes=call_attributes(info),
    )


class PlannerCall:
    """One call's span (None: traces are off) and metrics (None: metrics are off)."""

    def __init__(
        self,
        info: PlannerCallInfo,
        span: Span | None,
        instruments: PlannerCallInstruments | None,
    ) -> None:
        self._info, self._span, self._instruments = info, span, instruments
        self._started = time.monotonic()

    def end(self, result: PlannerCallResult) -> None:
        seconds = max(0.0, time.monotonic() - self._started)
        span = self._span
        if span is not None:
            span.set_attributes(result_attributes(result))
            if result.error_type:
                span.set_status(Status(StatusCode.ERROR, result.error_type))
            span.end()
        if self._instruments is not None:
            self._instruments.record(self._info, result, seconds)


def call_attributes(info: PlannerCallInfo) -> dict[str, AttributeValue]:
    """What is known when the call starts."""
    return {
        GEN_AI_OPERATION: GEN_AI_CHAT,
        GEN_AI_PROVIDER: info.provider,
        GEN_AI_SYSTEM: info.provider,
        GEN_AI_REQUEST_MODEL: info.model,
        GEN_AI_MAX_TOKENS: info.max_output_tokens,
        ATTR_TASK_UUID: info.task_uuid,
        ATTR_NAMESPACE: info.namespace,
        ATTR_STEP_NAME: info.step_name,
        ATTR_STEP_UUID: info.step_uuid,
        ATTR_PLANNING_ATTEMPT: info.attempt,
        ATTR_PLANNING_PHASE: info.planning_phase,
    }


def result_attributes(result: PlannerCallResult) -> dict[str, AttributeValue]:
    """What the call's end adds; a value not known (None) is left out."""
    optional: dict[str, AttributeValue | None] = {
        GEN_AI_RESPONSE_MODEL: result.response_model,
        GEN_AI_INPUT_TOKENS: result.tokens_in,
        GEN_AI_OUTPUT_TOKENS: result.tokens_out,
        ATTR_PLANNING_ACCEPTED: result.accepted,
        # an attribute is a double at best; the budget ledger keeps the exact amount
        ATTR_PLANNING_COST: None if result.cost_usd is None else float(result.cost_usd),
        ERROR_TYPE: result.error_type,
    }
    found: dict[str, AttributeValue] = {ATTR_PLANNING_FINDINGS: result.findings}
    found.update({key: value for key, value in optional.items() if value is not None})
    return found
