"""OpenTelemetry traces and metrics of the engine (imported only when telemetry is on).

Spans
    ``task {namespace}.{name}``: one per task, emitted once, when the task reaches a terminal
    state, by the process whose transaction put it there. Its ids are the ones stored on the
    task (``tasks.trace_id``, ``tasks.span_id``), its start is ``requested_at`` and its end
    the terminal transition.

    ``step {template step name}``: one per step attempt, by the worker that runs it, a child
    of the task's span. The parent is rebuilt from the stored ids as a remote span context,
    so workers on any machine join the same trace without talking to each other.

    ``chat {model}``: one per model call of a planning step, with the OpenTelemetry GenAI
    semantic conventions' attributes (``gen_ai.*``) and the planning step's (``tasker.*``).
    Its parent is the current span when that belongs to the task's trace (the planning
    step's attempt span), the task's span otherwise.

Metrics
    ``tasker.step.attempts`` (counter), ``tasker.step.attempt.duration`` (histogram, ms),
    ``tasker.tasks.finished`` (counter), and the GenAI conventions' ``gen_ai.client.token.usage``
    (histogram, by ``gen_ai.token.type``) and ``gen_ai.client.operation.duration`` (histogram,
    s). Attribute names are the ``ATTR_*`` constants below and ``telemetry.genai``'s.

A span whose id was chosen at task creation cannot be made through the public API, which
asks the tracer's ``IdGenerator`` for every new id. ``PresetIdGenerator`` hands out the ids
put in place by ``preset_ids`` for exactly one span, and random ones otherwise; the task span
is started inside that block.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from contextvars import ContextVar
from datetime import datetime
from typing import Any

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.metrics import MeterProvider
from opentelemetry.sdk.metrics import MeterProvider as SdkMeterProvider
from opentelemetry.sdk.metrics.export import (
    ConsoleMetricExporter,
    MetricExporter,
    PeriodicExportingMetricReader,
)
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import Tracer as SdkTracer
from opentelemetry.sdk.trace import TracerProvider as SdkTracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter, SpanExporter
from opentelemetry.sdk.trace.id_generator import IdGenerator, RandomIdGenerator
from opentelemetry.trace import (
    NonRecordingSpan,
    Span,
    SpanContext,
    Status,
    StatusCode,
    TraceFlags,
    TracerProvider,
)
from opentelemetry.util.types import AttributeValue

from tasker_ctl import __version__
from tasker_ctl.telemetry.api import (
    AttemptInfo,
    AttemptResult,
    FinishedTask,
    PlannerCallInfo,
)
from tasker_ctl.telemetry.errors import TelemetryExporterMissingError
from tasker_ctl.telemetry.genai import PlannerCall, PlannerCallInstruments, start_chat_span
from tasker_ctl.telemetry.settings import TelemetrySettings

INSTRUMENTATION_SCOPE = "tasker_ctl"

ATTR_TASK_UUID = "tasker.task.uuid"
ATTR_NAMESPACE = "tasker.task.namespace"
ATTR_TASK_NAME = "tasker.task.name"
ATTR_TASK_VERSION = "tasker.task.version"
ATTR_TASK_STATE = "tasker.task.state"
ATTR_STEP_COUNT = "tasker.task.step_count"
ATTR_CORRELATION_ID = "tasker.task.correlation_id"
ATTR_STEP_NAME = "tasker.step.name"
ATTR_STEP_UUID = "tasker.step.uuid"
ATTR_ATTEMPT = "tasker.step.attempt"
ATTR_MAX_ATTEMPTS = "tasker.step.max_attempts"
ATTR_HANDLER = "tasker.step.handler"
ATTR_WORKER = "tasker.worker.id"
ATTR_CREATED_BY = "tasker.step.created_by"
ATTR_HANDLER_TYPE = "tasker.step.handler_type"
ATTR_PLANNING_STEP_UUID = "tasker.step.planning_step_uuid"
ATTR_FRAGMENT_ID = "tasker.step.fragment_id"
ATTR_PLANNING_PHASE = "tasker.step.planning_phase"
ATTR_COMPOSITION_SOURCE = "tasker.step.composition_source"
ATTR_OUTCOME = "tasker.step.outcome"
ATTR_ERROR_TYPE = "error.type"
ATTR_RETRYABLE = "tasker.step.retryable"
ATTR_RECORDED = "tasker.step.recorded"

METRIC_ATTEMPTS = "tasker.step.attempts"
METRIC_ATTEMPT_DURATION = "tasker.step.attempt.duration"
METRIC_TASKS_FINISHED = "tasker.tasks.finished"

# the span id and trace id PresetIdGenerator gives the next span started in this context
_PRESET: ContextVar[tuple[int, int] | None] = ContextVar("tasker_preset_ids", default=None)


class PresetIdGenerator(IdGenerator):
    """Random ids, except inside ``preset_ids``: there the next span gets the given ones."""

    def __init__(self, fallback: IdGenerator | None = None) -> None:
        self.fallback = fallback or RandomIdGenerator()

    def generate_trace_id(self) -> int:
        preset = _PRESET.get()
        return preset[0] if preset is not None else self.fallback.generate_trace_id()

    def generate_span_id(self) -> int:
        preset = _PRESET.get()
        if preset is None:
            return self.fallback.generate_span_id()
        _PRESET.set(None)  # one span only; preset_ids restores the outer value
        return preset[1]

    def is_trace_id_random(self) -> bool:
        # stored trace ids are random (secrets.token_hex at task creation)
        return True


@contextmanager
def preset_ids(trace_id: int, span_id: int) -> Iterator[None]:
    """The next span started in this block (as a root) gets these ids."""
    token = _PRESET.set((trace_id, span_id))
    try:
        yield
    finally:
        _PRESET.reset(token)


class OtelTelemetry:
    """``Telemetry`` on OpenTelemetry providers; either may be None (that signal is off).

    An SDK tracer's id generator is wrapped in a ``PresetIdGenerator`` (task spans need
    their stored ids); a tracer of another implementation still gets attempt spans, but
    task spans are skipped, as their ids could not be honoured.
    """

    def __init__(
        self,
        tracer_provider: TracerProvider | None = None,
        meter_provider: MeterProvider | None = None,
    ) -> None:
        self.tracer_provider = tracer_provider
        self.meter_provider = meter_provider
        self._tracer: trace.Tracer | None = None
        self._presets = False
        if tracer_provider is not None:
            self._tracer = tracer_provider.get_tracer(INSTRUMENTATION_SCOPE, __version__)
            if isinstance(self._tracer, SdkTracer):
                if not isinstance(self._tracer.id_generator, PresetIdGenerator):
                    self._tracer.id_generator = PresetIdGenerator(self._tracer.id_generator)
                self._presets = True
        self._meter = None
        self._planner_calls: PlannerCallInstruments | None = None
        if meter_provider is not None:
            meter = meter_provider.get_meter(INSTRUMENTATION_SCOPE, __version__)
            self._meter = meter
            self._attempts = meter.create_counter(
                METRIC_ATTEMPTS, unit="{attempt}", description="Step attempts run, by outcome."
            )
            self._durations = meter.create_histogram(
                METRIC_ATTEMPT_DURATION,
                unit="ms",
                description="How long step handlers ran, per attempt.",
            )
            self._finished = meter.create_counter(
                METRIC_TASKS_FINISHED,
                unit="{task}",
                description="Tasks that reached a terminal state, by state.",
            )
            self._planner_calls = PlannerCallInstruments(meter)

    def start_attempt(self, info: AttemptInfo) -> _AttemptSpan:
        span: Span | None = None
        if self._tracer is not None:
            span = self._tracer.start_span(
                f"step {info.step_name}",
                context=_parent_context(info.trace_id, info.task_span_id),
                attributes=_attempt_attributes(info),
            )
        return _AttemptSpan(self, info, span)

    def start_planner_call(self, info: PlannerCallInfo) -> PlannerCall:
        span: Span | None = None
        if self._tracer is not None:
            span = start_chat_span(
                self._tracer, info, _in_trace_or(_parent_context(info.trace_id, info.span_id))
            )
        return PlannerCall(info, span, self._planner_calls)

    def task_finished(self, task: FinishedTask) -> None:
        if self._meter is not None:
            self._finished.add(1, {ATTR_NAMESPACE: task.namespace, ATTR_TASK_STATE: task.state})
        if self._tracer is None or not self._presets or not task.trace_id or not task.span_id:
            return
        with preset_ids(int(task.trace_id, 16), int(task.span_id, 16)):
            span = self._tracer.start_span(
                f"task {task.namespace}.{task.task_name}",
                context=Context(),  # a root: the trace's first span
                attributes=_task_attributes(task),
                start_time=_nanoseconds(task.requested_at),
            )
        if task.state == "complete":
            span.set_status(Status(StatusCode.OK))
        elif task.state == "error":
            span.set_status(Status(StatusCode.ERROR, f"task ended in {task.state}"))
        span.end(end_time=_nanoseconds(task.finished_at))

    def flush(self) -> None:
        for provider in (self.tracer_provider, self.meter_provider):
            force_flush = getattr(provider, "force_flush", None)
            if callable(force_flush):
                force_flush()

    def _record_attempt(self, info: AttemptInfo, result: AttemptResult) -> None:
        if self._meter is None:
            return
        attributes = {
            ATTR_NAMESPACE: info.namespace,
            ATTR_HANDLER: info.handler or "",
            ATTR_OUTCOME: "success" if result.success else "error",
            ATTR_CREATED_BY: info.created_by or "",
            ATTR_HANDLER_TYPE: info.handler_type or "",
        }
        self._attempts.add(1, attributes)
        self._durations.record(result.duration_ms, attributes)


class _AttemptSpan:
    def __init__(self, owner: OtelTelemetry, info: AttemptInfo, span: Span | None) -> None:
        self._owner, self._info, self._span = owner, info, span

    def activate(self) -> AbstractContextManager[object]:
        if self._span is None:
            return _nothing()
        return trace.use_span(
            self._span, end_on_exit=False, record_exception=False, set_status_on_exception=False
        )

    def end(self, result: AttemptResult) -> None:
        span = self._span
        if span is not None:
            span.set_attribute(ATTR_OUTCOME, "success" if result.success else "error")
            span.set_attribute(ATTR_RECORDED, result.recorded)
            if result.success:
                span.set_status(Status(StatusCode.OK))
            else:
                span.set_attribute(ATTR_RETRYABLE, result.retryable)
                span.set_attribute(ATTR_ERROR_TYPE, result.error_type or "unknown")
                span.set_status(Status(StatusCode.ERROR, result.error_message))
            span.end()
        self._owner._record_attempt(self._info, result)


@contextmanager
def _nothing() -> Iterator[None]:
    yield


def _parent_context(trace_id: str | None, span_id: str | None) -> Context:
    if not trace_id or not span_id:
        return Context()  # a task without a stored trace context: the attempt starts a trace
    parent = SpanContext(
        trace_id=int(trace_id, 16),
        span_id=int(span_id, 16),
        is_remote=True,
        # sampled: the task's span is a root that the default (parent-based) sampler keeps
        trace_flags=TraceFlags(TraceFlags.SAMPLED),
    )
    return trace.set_span_in_context(NonRecordingSpan(parent), Context())


def _in_trace_or(task_parent: Context) -> Context:
    """The current span when it is in the same trace as ``task_parent`` (a planning step's
    attempt span, current while the attempt runs), else ``task_parent`` itself."""
    current = trace.get_current_span()
    wanted = trace.get_current_span(task_parent).get_span_context()
    found = current.get_span_context()
    if found.is_valid and wanted.is_valid and found.trace_id == wanted.trace_id:
        return trace.set_span_in_context(current, Context())
    return task_parent


def _attempt_attributes(info: AttemptInfo) -> dict[str, AttributeValue]:
    attributes: dict[str, AttributeValue] = {
        ATTR_TASK_UUID: info.task_uuid,
        ATTR_NAMESPACE: info.namespace,
        ATTR_TASK_NAME: info.task_name,
        ATTR_TASK_VERSION: info.task_version,
        ATTR_STEP_NAME: info.step_name,
        ATTR_STEP_UUID: info.step_uuid,
        ATTR_ATTEMPT: info.attempt,
        ATTR_MAX_ATTEMPTS: info.max_attempts,
        ATTR_WORKER: info.worker_id,
    }
    optional: dict[str, Any] = {
        ATTR_HANDLER: info.handler,
        ATTR_CREATED_BY: info.created_by,
        ATTR_HANDLER_TYPE: info.handler_type,
        ATTR_PLANNING_STEP_UUID: info.planning_step_uuid,
        ATTR_FRAGMENT_ID: info.fragment_id,
        ATTR_PLANNING_PHASE: info.planning_phase,
        ATTR_COMPOSITION_SOURCE: info.composition_source,
    }
    attributes.update({key: value for key, value in optional.items() if value is not None})
    return attributes


def _task_attributes(task: FinishedTask) -> dict[str, AttributeValue]:
    attributes: dict[str, AttributeValue] = {
        ATTR_TASK_UUID: task.task_uuid,
        ATTR_NAMESPACE: task.namespace,
        ATTR_TASK_NAME: task.task_name,
        ATTR_TASK_VERSION: task.task_version,
        ATTR_TASK_STATE: task.state,
        ATTR_STEP_COUNT: task.step_count,
    }
    if task.correlation_id:
        attributes[ATTR_CORRELATION_ID] = task.correlation_id
    return attributes


def _nanoseconds(moment: datetime) -> int:
    return int(moment.timestamp() * 1_000_000) * 1000


def from_settings(settings: TelemetrySettings) -> OtelTelemetry:
    """Providers with the exporters ``settings`` name, made the global ones when none is set
    yet (so that spans a handler starts join the attempt's trace), and shut down at exit by
    the SDK, which exports what is still buffered."""
    resource = Resource.create(
        {
            **settings.resource_attributes,
            "service.name": settings.service_name,
            "service.version": __version__,
        }
    )
    tracer_provider = None
    if settings.traces:
        tracer_provider = SdkTracerProvider(resource=resource, id_generator=PresetIdGenerator())
        for name in settings.traces:
            exporter = _span_exporter(name, settings.traces_protocol)
            tracer_provider.add_span_processor(BatchSpanProcessor(exporter))
        if isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider):
            trace.set_tracer_provider(tracer_provider)
    meter_provider = None
    if settings.metrics:
        readers = [
            PeriodicExportingMetricReader(_metric_exporter(name, settings.metrics_protocol))
            for name in settings.metrics
        ]
        meter_provider = SdkMeterProvider(resource=resource, metric_readers=readers)
    return OtelTelemetry(tracer_provider, meter_provider)


def _span_exporter(name: str, protocol: str) -> SpanExporter:
    if name == "console":
        # standard error: standard output carries the command's own output (--json)
        return ConsoleSpanExporter(out=sys.stderr)
    exporter: SpanExporter = _otlp(protocol, "trace_exporter").OTLPSpanExporter()
    return exporter


def _metric_exporter(name: str, protocol: str) -> MetricExporter:
    if name == "console":
        return ConsoleMetricExporter(out=sys.stderr)
    exporter: MetricExporter = _otlp(protocol, "metric_exporter").OTLPMetricExporter()
    return exporter


def _otlp(protocol: str, module: str) -> Any:
    package = "grpc" if protocol == "grpc" else "http"
    name = f"opentelemetry.exporter.otlp.proto.{package}.{module}"
    try:
        return importlib.import_module(name)
    except ImportError as error:
        distribution = f"opentelemetry-exporter-otlp-proto-{package}"
        # the otel extra brings the HTTP exporter only
        install = "'tasker-ctl[otel]'" if package == "http" else distribution
        raise TelemetryExporterMissingError(
            f"OTLP export ({protocol}) needs {distribution}, which cannot be imported: {error}",
            hint=f"pip install {install}, or set the OTEL_*_EXPORTER variables to console or none",
        ) from None
