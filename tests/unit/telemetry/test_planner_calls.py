"""A planner's model call as OpenTelemetry sees it: a ``chat {model}`` span with the GenAI
semantic conventions' attributes in the task's trace (under the attempt span when one is
current), the token-usage histogram by token type, and nothing at all while telemetry is off."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from tasker_ctl.telemetry import (
    AttemptInfo,
    AttemptResult,
    PlannerCallInfo,
    PlannerCallResult,
    configure,
    start_planner_call,
)
from tasker_ctl.telemetry.api import NO_PLANNER_CALL_SPAN

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
TASK_SPAN_ID = "00f067aa0ba902b7"
INFO = PlannerCallInfo(
    task_uuid="t-1",
    step_uuid="s-1",
    step_name="plan_investigation",
    namespace="ops",
    provider="openai",
    model="gpt-4o-mini",
    attempt=2,
    planning_phase=1,
    max_output_tokens=4096,
    trace_id=TRACE_ID,
    span_id=TASK_SPAN_ID,
)
ANSWERED = PlannerCallResult(
    tokens_in=1200,
    tokens_out=340,
    response_model="gpt-4o-mini-2024-07-18",
    accepted=False,
    findings=3,
    cost_usd=Decimal("0.000384"),
)


class Recorded:
    def __init__(self) -> None:
        self.spans = InMemorySpanExporter()
        self.metrics = InMemoryMetricReader()
        self.tracer_provider = TracerProvider()
        self.tracer_provider.add_span_processor(SimpleSpanProcessor(self.spans))
        self.meter_provider = MeterProvider(metric_readers=[self.metrics])
        self.telemetry = configure(
            tracer_provider=self.tracer_provider, meter_provider=self.meter_provider
        )

    def chat_spans(self) -> list[ReadableSpan]:
        return [s for s in self.spans.get_finished_spans() if s.name.startswith("chat ")]

    def points(self, name: str) -> list[Any]:
        data = self.metrics.get_metrics_data()
        assert data is not None
        return [
            point
            for resource in data.resource_metrics
            for scope in resource.scope_metrics
            for metric in scope.metrics
            if metric.name == name
            for point in metric.data.data_points
        ]


@pytest.fixture
def recorded() -> Iterator[Recorded]:
    found = Recorded()
    yield found
    found.tracer_provider.shutdown()
    found.meter_provider.shutdown()


def test_a_model_call_is_a_chat_span_with_the_genai_attributes(recorded: Recorded) -> None:
    start_planner_call(recorded.telemetry, INFO).end(ANSWERED)
    (span,) = recorded.chat_spans()
    assert span.name == "chat gpt-4o-mini"
    assert span.kind is SpanKind.CLIENT
    assert dict(span.attributes or {}) == {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": "openai",
        "gen_ai.system": "openai",
        "gen_ai.request.model": "gpt-4o-mini",
        "gen_ai.request.max_tokens": 4096,
        "gen_ai.response.model": "gpt-4o-mini-2024-07-18",
        "gen_ai.usage.input_tokens": 1200,
        "gen_ai.usage.output_tokens": 340,
        "tasker.task.uuid": "t-1",
        "tasker.task.namespace": "ops",
        "tasker.step.name": "plan_investigation",
        "tasker.step.uuid": "s-1",
        "tasker.planning.attempt": 2,
        "tasker.planning.phase": 1,
        "tasker.planning.accepted": False,
        "tasker.planning.findings": 3,
        "tasker.planning.cost_usd": 0.000384,
    }
    assert span.status.status_code is StatusCode.UNSET
    # in the task's trace, under the task's span (no attempt span is current here)
    assert f"{span.context.trace_id:032x}" == TRACE_ID
    assert span.parent is not None
    assert f"{span.parent.span_id:016x}" == TASK_SPAN_ID


def test_a_failed_call_has_error_type_and_an_error_status(recorded: Recorded) -> None:
    failed = PlannerCallResult(
        tokens_in=None,
        tokens_out=None,
        response_model=None,
        accepted=None,
        findings=0,
        cost_usd=None,
        error_type="timeout",
    )
    start_planner_call(recorded.telemetry, INFO).end(failed)
    (span,) = recorded.chat_spans()
    attributes = dict(span.attributes or {})
    assert attributes["error.type"] == "timeout"
    assert span.status.status_code is StatusCode.ERROR
    for unknown in (
        "gen_ai.usage.input_tokens",
        "gen_ai.response.model",
        "tasker.planning.accepted",
    ):
        assert unknown not in attributes
    assert recorded.points("gen_ai.client.token.usage") == []
    (duration,) = recorded.points("gen_ai.client.operation.duration")
    assert duration.attributes["error.type"] == "timeout"


def test_the_call_is_a_child_of_the_current_attempt_span(recorded: Recorded) -> None:
    attempt = recorded.telemetry.start_attempt(
        AttemptInfo(
            task_uuid="t-1",
            namespace="ops",
            task_name="incident",
            task_version="1.0.0",
            step_name="plan_investigation",
            step_uuid="s-1",
            attempt=1,
            max_attempts=3,
            handler=None,
            worker_id="w-1",
            trace_id=TRACE_ID,
            task_span_id=TASK_SPAN_ID,
        )
    )
    with attempt.activate():
        start_planner_call(recorded.telemetry, INFO).end(ANSWERED)
    attempt.end(AttemptResult(success=True, duration_ms=5))
    (chat,) = recorded.chat_spans()
    (step,) = [s for s in recorded.spans.get_finished_spans() if s.name.startswith("step ")]
    assert chat.parent is not None
    assert chat.parent.span_id == step.context.span_id
    assert chat.context.trace_id == step.context.trace_id


def test_token_usage_is_a_histogram_by_token_type(recorded: Recorded) -> None:
    start_planner_call(recorded.telemetry, INFO).end(ANSWERED)
    points = {
        p.attributes["gen_ai.token.type"]: p for p in recorded.points("gen_ai.client.token.usage")
    }
    assert set(points) == {"input", "output"}
    assert (points["input"].sum, points["output"].sum) == (1200, 340)
    assert points["input"].attributes["gen_ai.request.model"] == "gpt-4o-mini"
    assert points["input"].attributes["gen_ai.operation.name"] == "chat"
    assert points["input"].attributes["gen_ai.provider.name"] == "openai"


def test_telemetry_off_records_nothing() -> None:
    span = start_planner_call(None, INFO)
    assert span is NO_PLANNER_CALL_SPAN
    span.end(ANSWERED)  # no error, nothing recorded


def test_traces_only_or_metrics_only(recorded: Recorded) -> None:
    traces_only = configure(tracer_provider=recorded.tracer_provider)
    start_planner_call(traces_only, INFO).end(ANSWERED)
    metrics_only = configure(meter_provider=recorded.meter_provider)
    start_planner_call(metrics_only, INFO).end(ANSWERED)
    assert len(recorded.chat_spans()) == 1
    assert len(recorded.points("gen_ai.client.token.usage")) == 2
