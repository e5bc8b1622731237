"""Telemetry from the environment, injected providers, the process-wide instance, and the
preset ids of task spans."""

from __future__ import annotations

import logging
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode

import tasker_ctl.telemetry as telemetry_module
from tasker_ctl.telemetry import (
    AttemptInfo,
    AttemptResult,
    FinishedTask,
    TelemetryExporterMissingError,
    configure,
    current_telemetry,
    from_environment,
    install_telemetry,
    otel,
    reset_telemetry,
)
from tasker_ctl.telemetry.otel import OtelTelemetry, PresetIdGenerator, preset_ids

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
TASK_SPAN_ID = "00f067aa0ba902b7"


@pytest.fixture(autouse=True)
def _forget_telemetry() -> Iterator[None]:
    reset_telemetry()
    yield
    reset_telemetry()


@pytest.fixture(autouse=True)
def _keep_the_global_provider(monkeypatch: pytest.MonkeyPatch) -> None:
    # providers made from the environment become the global one when there is none: not in
    # a test process, where they would outlive the test
    monkeypatch.setattr(otel.trace, "set_tracer_provider", lambda provider: None)


@pytest.fixture
def spans() -> InMemorySpanExporter:
    return InMemorySpanExporter()


@pytest.fixture
def provider(spans: InMemorySpanExporter) -> TracerProvider:
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(spans))
    return tracer_provider


def _info(**fields: object) -> AttemptInfo:
    values: dict[str, object] = {
        "task_uuid": "11111111-2222-3333-4444-555555555555",
        "namespace": "shop",
        "task_name": "checkout",
        "task_version": "1.0.0",
        "step_name": "charge",
        "step_uuid": "66666666-7777-8888-9999-000000000000",
        "attempt": 2,
        "max_attempts": 3,
        "handler": "shop.charge",
        "worker_id": "host:1:abcd",
        "trace_id": TRACE_ID,
        "task_span_id": TASK_SPAN_ID,
        "created_by": "planning_step",
        "handler_type": "grammar",
        "fragment_id": "frag-1",
        "planning_phase": 1,
        "composition_source": "dynamic",
    }
    values.update(fields)
    return AttemptInfo(**values)  # type: ignore[arg-type]


def test_nothing_is_configured_without_variables() -> None:
    assert from_environment({}) is None


def test_console_exporters_from_the_environment() -> None:
    made = from_environment({"OTEL_TRACES_EXPORTER": "console", "OTEL_METRICS_EXPORTER": "console"})
    assert isinstance(made, OtelTelemetry)
    assert made.tracer_provider is not None
    assert made.meter_provider is not None
    resource = made.tracer_provider.resource  # type: ignore[attr-defined]
    assert resource.attributes["service.name"] == "tasker-ctl"
    made.tracer_provider.shutdown()  # type: ignore[attr-defined]
    made.meter_provider.shutdown()  # type: ignore[attr-defined]


def test_without_the_sdk_telemetry_stays_off_with_a_warning(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(telemetry_module, "sdk_available", lambda: False)
    with caplog.at_level(logging.WARNING, logger="tasker_ctl.telemetry"):
        assert from_environment({"OTEL_TRACES_EXPORTER": "console"}) is None
    assert "tasker-ctl[otel]" in caplog.text


def test_an_otlp_exporter_that_is_not_installed_is_a_coded_error() -> None:
    pytest.importorskip("opentelemetry.sdk")
    try:
        import opentelemetry.exporter.otlp.proto.grpc  # noqa: F401
    except ImportError:
        pass
    else:
        pytest.skip("the gRPC exporter is installed here")
    with pytest.raises(TelemetryExporterMissingError) as raised:
        from_environment({"OTEL_TRACES_EXPORTER": "otlp", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"})
    assert raised.value.code == "TELEMETRY_EXPORTER_MISSING"
    assert "opentelemetry-exporter-otlp-proto-grpc" in raised.value.message


def test_the_process_telemetry_is_read_once_and_can_be_replaced(
    monkeypatch: pytest.MonkeyPatch, provider: TracerProvider
) -> None:
    monkeypatch.delenv("OTEL_TRACES_EXPORTER", raising=False)
    monkeypatch.delenv("OTEL_METRICS_EXPORTER", raising=False)
    monkeypatch.delenv("OTEL_EXPORTER_OTLP_ENDPOINT", raising=False)
    monkeypatch.delenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", raising=False)
    monkeypatch.delenv("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", raising=False)
    assert current_telemetry() is None
    monkeypatch.setenv("OTEL_TRACES_EXPORTER", "console")
    assert current_telemetry() is None  # read once
    injected = configure(tracer_provider=provider)
    install_telemetry(injected)
    assert current_telemetry() is injected
    reset_telemetry()
    read: list[str] = []
    monkeypatch.setattr(
        telemetry_module, "from_environment", lambda environ: read.append("read") or injected
    )
    assert current_telemetry() is injected
    assert current_telemetry() is injected
    assert read == ["read"]


def test_telemetry_off_imports_no_opentelemetry() -> None:
    script = textwrap.dedent(
        """
        import os, sys
        for name in list(os.environ):
            if name.startswith("OTEL_"):
                del os.environ[name]
        from tasker_ctl.cli import build_app
        from tasker_ctl.engine import running
        from tasker_ctl.engine.worker import loop
        from tasker_ctl.telemetry import current_telemetry
        build_app()
        assert current_telemetry() is None
        loaded = sorted(name for name in sys.modules if name.startswith("opentelemetry"))
        print(loaded)
        sys.exit(1 if loaded else 0)
        """
    )
    finished = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=False
    )
    assert finished.returncode == 0, finished.stdout + finished.stderr


def test_an_attempt_span_is_a_child_of_the_task_span_with_provenance(
    provider: TracerProvider, spans: InMemorySpanExporter
) -> None:
    telemetry = configure(tracer_provider=provider)
    span = telemetry.start_attempt(_info())
    span.end(AttemptResult(False, 12, "timeout", "too slow", retryable=True))
    (finished,) = spans.get_finished_spans()
    assert finished.name == "step charge"
    assert finished.context is not None
    assert finished.parent is not None
    assert f"{finished.context.trace_id:032x}" == TRACE_ID
    assert f"{finished.parent.span_id:016x}" == TASK_SPAN_ID
    assert finished.parent.is_remote
    attributes = dict(finished.attributes or {})
    assert attributes["tasker.step.attempt"] == 2
    assert attributes["tasker.step.created_by"] == "planning_step"
    assert attributes["tasker.step.handler_type"] == "grammar"
    assert attributes["tasker.step.fragment_id"] == "frag-1"
    assert attributes["tasker.step.composition_source"] == "dynamic"
    assert "tasker.step.planning_step_uuid" not in attributes  # not set: not an attribute
    assert attributes["error.type"] == "timeout"
    assert attributes["tasker.step.retryable"] is True
    assert finished.status.status_code is StatusCode.ERROR
    assert finished.status.description == "too slow"


def test_an_attempt_without_a_stored_trace_starts_its_own(
    provider: TracerProvider, spans: InMemorySpanExporter
) -> None:
    configure(tracer_provider=provider).start_attempt(_info(trace_id=None, task_span_id=None)).end(
        AttemptResult(True, 1)
    )
    (finished,) = spans.get_finished_spans()
    assert finished.parent is None
    assert finished.status.status_code is StatusCode.OK


def test_the_task_span_has_the_stored_ids_and_times(
    provider: TracerProvider, spans: InMemorySpanExporter
) -> None:
    requested = datetime(2026, 1, 2, 3, 4, 5, 123456, tzinfo=UTC)
    telemetry = configure(tracer_provider=provider)
    telemetry.task_finished(
        FinishedTask(
            task_uuid="11111111-2222-3333-4444-555555555555",
            namespace="shop",
            task_name="checkout",
            task_version="1.0.0",
            state="complete",
            step_count=3,
            requested_at=requested,
            finished_at=requested + timedelta(seconds=2),
            trace_id=TRACE_ID,
            span_id=TASK_SPAN_ID,
        )
    )
    (task,) = spans.get_finished_spans()
    assert task.name == "task shop.checkout"
    assert task.parent is None
    assert task.context is not None
    assert (f"{task.context.trace_id:032x}", f"{task.context.span_id:016x}") == (
        TRACE_ID,
        TASK_SPAN_ID,
    )
    assert task.start_time == 1767323045123456000
    assert task.end_time == task.start_time + 2_000_000_000
    assert dict(task.attributes or {})["tasker.task.step_count"] == 3
    # spans started afterwards get random ids again
    telemetry.start_attempt(_info(trace_id=None, task_span_id=None)).end(AttemptResult(True, 1))
    assert spans.get_finished_spans()[-1].context.span_id != int(TASK_SPAN_ID, 16)  # type: ignore[union-attr]


def test_preset_ids_serve_one_span_only() -> None:
    generator = PresetIdGenerator()
    with preset_ids(7, 9):
        assert generator.generate_trace_id() == 7
        assert generator.generate_span_id() == 9
        assert generator.generate_span_id() != 9
    assert generator.generate_trace_id() != 7


def test_attempt_metrics() -> None:
    reader = InMemoryMetricReader()
    telemetry = configure(meter_provider=MeterProvider(metric_readers=[reader]))
    telemetry.start_attempt(_info()).end(AttemptResult(True, 40))
    telemetry.start_attempt(_info()).end(AttemptResult(False, 60, "handler_error"))
    data = reader.get_metrics_data()
    assert data is not None
    metrics = {
        m.name: m for rm in data.resource_metrics for sm in rm.scope_metrics for m in sm.metrics
    }
    attempts = {
        point.attributes["tasker.step.outcome"]: point.value  # type: ignore[index]
        for point in metrics["tasker.step.attempts"].data.data_points  # type: ignore[union-attr]
    }
    assert attempts == {"success": 1, "error": 1}
    durations = metrics["tasker.step.attempt.duration"]
    assert durations.unit == "ms"
    # one series per outcome: the two attempts differ in nothing else
    assert sorted(
        (point.count, point.sum)  # type: ignore[union-attr]
        for point in durations.data.data_points
    ) == [(1, 40), (1, 60)]
