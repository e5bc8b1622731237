"""OpenTelemetry of real runs, with the SDK's in-memory exporter and reader: one span per
task, emitted once by the worker that finished it, with the ids stored on the task; one child
span per step attempt, whoever created the step; metrics of attempts and finished tasks."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode

from tasker_ctl.engine.operator.repairs import Actor, cancel_task
from tasker_ctl.engine.worker.loop import Worker
from tasker_ctl.sdk.step_handler.functional import step_handler
from tasker_ctl.sdk.types import StepContext
from tasker_ctl.telemetry import configure, install_telemetry, reset_telemetry
from tests.integration.engine.conftest import Engine, make_template, step
from tests.integration.engine.test_batches import batch_template
from tests.integration.engine.test_decisions import APPROVAL

QUICK = {"backoff": "linear", "backoff_base_ms": 20, "max_backoff_ms": 100, "max_attempts": 3}


class Recorded:
    def __init__(self) -> None:
        self.spans = InMemorySpanExporter()
        self.metrics = InMemoryMetricReader()
        self.tracer_provider = TracerProvider()
        self.tracer_provider.add_span_processor(SimpleSpanProcessor(self.spans))
        self.meter_provider = MeterProvider(metric_readers=[self.metrics])

    def finished(self) -> list[ReadableSpan]:
        return list(self.spans.get_finished_spans())

    def task_spans(self) -> list[ReadableSpan]:
        return [span for span in self.finished() if span.name.startswith("task ")]

    def attempt_spans(self) -> list[ReadableSpan]:
        return [span for span in self.finished() if span.name.startswith("step ")]

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
def otel() -> Iterator[Recorded]:
    recorded = Recorded()
    install_telemetry(
        configure(tracer_provider=recorded.tracer_provider, meter_provider=recorded.meter_provider)
    )
    yield recorded
    reset_telemetry()
    recorded.tracer_provider.shutdown()
    recorded.meter_provider.shutdown()


def _hex(value: int, digits: int) -> str:
    return f"{value:0{digits}x}"


def _attributes(span: ReadableSpan) -> dict[str, Any]:
    return dict(span.attributes or {})


def _check_trace(engine: Engine, otel: Recorded, task_uuid: Any) -> ReadableSpan:
    """One task span with the stored ids; every attempt span its child, in its trace."""
    stored = engine.task(task_uuid)
    (task_span,) = otel.task_spans()
    assert task_span.context is not None
    assert _hex(task_span.context.trace_id, 32) == stored["trace_id"]
    assert _hex(task_span.context.span_id, 16) == stored["span_id"]
    assert task_span.parent is None
    assert task_span.start_time is not None
    assert task_span.end_time is not None
    assert task_span.start_time == int(stored["requested_at"].timestamp() * 1e6) * 1000
    # the span ends at the task's last transition; completed_at is stamped by another
    # clock_timestamp() call of the same statement, milliseconds apart on a busy machine
    assert abs(task_span.end_time - stored["completed_at"].timestamp() * 1e9) < 100e6
    for span in otel.attempt_spans():
        assert span.context is not None
        assert span.parent is not None
        assert _hex(span.context.trace_id, 32) == stored["trace_id"]
        assert _hex(span.parent.span_id, 16) == stored["span_id"]
        assert _attributes(span)["tasker.task.uuid"] == str(task_uuid)
    return task_span


def test_a_task_span_and_a_child_span_per_attempt(engine: Engine, otel: Recorded) -> None:
    template = make_template(
        [step("first", "ok.noop"), step("second", "ok.noop", "first")], name="traced"
    )
    task = engine.submit(template, {})
    assert engine.run(task.task_uuid) == "complete"
    task_span = _check_trace(engine, otel, task.task_uuid)
    assert task_span.name == "task engine_tests.traced"
    assert task_span.status.status_code is StatusCode.OK
    assert _attributes(task_span) == {
        "tasker.task.uuid": str(task.task_uuid),
        "tasker.task.namespace": "engine_tests",
        "tasker.task.name": "traced",
        "tasker.task.version": "1.0.0",
        "tasker.task.state": "complete",
        "tasker.task.step_count": 2,
        "tasker.task.correlation_id": str(engine.task(task.task_uuid)["correlation_id"]),
    }
    attempts = sorted(otel.attempt_spans(), key=lambda span: span.start_time or 0)
    assert [span.name for span in attempts] == ["step first", "step second"]
    steps = engine.steps(task.task_uuid)
    first = _attributes(attempts[0])
    assert first["tasker.step.uuid"] == str(steps["first"]["workflow_step_uuid"])
    assert first["tasker.step.attempt"] == 1
    assert first["tasker.step.handler"] == "ok.noop"
    assert first["tasker.step.created_by"] == "template"
    assert first["tasker.step.handler_type"] == "application"
    assert first["tasker.step.outcome"] == "success"
    assert first["tasker.worker.id"] == "test-worker-0"
    assert all(span.status.status_code is StatusCode.OK for span in attempts)
    finished = otel.points("tasker.tasks.finished")
    assert [(p.attributes["tasker.task.state"], p.value) for p in finished] == [("complete", 1)]


def test_a_retried_step_has_a_span_per_attempt(engine: Engine, otel: Recorded) -> None:
    template = make_template(
        [step("only", "fail.flaky", retry=QUICK, config={"fail_times": 1})], name="retried"
    )
    task = engine.submit(template, {})
    assert engine.run(task.task_uuid) == "complete"
    _check_trace(engine, otel, task.task_uuid)
    failed, succeeded = sorted(otel.attempt_spans(), key=lambda s: s.start_time or 0)
    assert _attributes(failed)["tasker.step.attempt"] == 1
    assert _attributes(succeeded)["tasker.step.attempt"] == 2
    assert failed.status.status_code is StatusCode.ERROR
    assert failed.status.description == "attempt 1 failed"
    assert _attributes(failed)["tasker.step.retryable"] is True
    assert _attributes(failed)["error.type"] == "retryable_error"
    assert succeeded.status.status_code is StatusCode.OK
    attempts = {
        p.attributes["tasker.step.outcome"]: p.value for p in otel.points("tasker.step.attempts")
    }
    assert attempts == {"error": 1, "success": 1}
    durations = otel.points("tasker.step.attempt.duration")
    assert sum(p.count for p in durations) == 2
    assert {p.attributes["tasker.step.handler"] for p in durations} == {"fail.flaky"}


@pytest.mark.parametrize(
    ("template", "context", "created"),
    [
        (APPROVAL, {"route": ["manager_review", "finance_review"]}, "decision_point"),
        (batch_template(), {"items": 35, "batch_size": 10}, "batch_spawn"),
    ],
    ids=["decision", "batch"],
)
def test_run_time_steps_are_traced_like_template_steps(
    engine: Engine, otel: Recorded, template: Any, context: Any, created: str
) -> None:
    task = engine.submit(template, context)
    assert engine.run(task.task_uuid, workers=3) == "complete"
    _check_trace(engine, otel, task.task_uuid)
    steps = engine.steps(task.task_uuid)
    spans = {_attributes(span)["tasker.step.name"]: span for span in otel.attempt_spans()}
    assert set(spans) == set(steps)  # one attempt each
    for name, row in steps.items():
        attributes = _attributes(spans[name])
        assert attributes["tasker.step.created_by"] == row["created_by"]
        assert attributes["tasker.step.handler_type"] == "application"
    assert {_attributes(s)["tasker.step.created_by"] for s in spans.values()} == {
        "template",
        created,
    }
    counted: dict[str, int] = {}
    for point in otel.points("tasker.step.attempts"):  # a series per handler and origin
        origin = point.attributes["tasker.step.created_by"]
        counted[origin] = counted.get(origin, 0) + point.value
    assert sum(counted.values()) == len(steps)
    assert set(counted) == {"template", created}


def test_parallel_last_steps_emit_the_task_span_once(engine: Engine, otel: Recorded) -> None:
    leaves = [step(f"leaf_{n}", "ok.jitter", "root") for n in range(8)]
    template = make_template([step("root", "ok.noop"), *leaves], name="fan_out")
    for n in range(3):
        task = engine.submit(template, {"n": n})
        assert engine.run(task.task_uuid, workers=4) == "complete"
    assert len(otel.task_spans()) == 3
    assert len(otel.attempt_spans()) == 27
    (finished,) = otel.points("tasker.tasks.finished")
    assert finished.value == 3


def test_a_blocked_task_has_failed_attempts_and_no_task_span(
    engine: Engine, otel: Recorded
) -> None:
    template = make_template(
        [step("prepare", "ok.noop"), step("charge", "fail.permanent", "prepare")], name="blocked"
    )
    task = engine.submit(template, {})
    assert engine.run(task.task_uuid) == "blocked_by_failures"
    assert otel.task_spans() == []  # blocked is not the end: an operator may repair it
    (charge,) = [s for s in otel.attempt_spans() if s.name == "step charge"]
    assert charge.status.status_code is StatusCode.ERROR
    assert _attributes(charge)["tasker.step.retryable"] is False
    assert _attributes(charge)["error.type"] == "permanent_error"


def test_spans_a_handler_starts_are_children_of_its_attempt(engine: Engine, otel: Recorded) -> None:
    tracer = otel.tracer_provider.get_tracer("handler")

    @step_handler("traced.inner")
    def inner(context: StepContext) -> dict[str, Any]:
        with tracer.start_as_current_span("handler work"):
            return {"ok": True}

    engine.registry.register("traced.inner", inner)
    template = make_template(
        [
            step("direct", "traced.inner"),
            # with a timeout the handler runs on a thread of its own
            step("bounded", "traced.inner", "direct", timeout_seconds=5),
        ],
        name="nested",
    )
    task = engine.submit(template, {})
    assert engine.run(task.task_uuid) == "complete"
    attempts = {span.name: span for span in otel.attempt_spans()}
    inner_spans = [span for span in otel.finished() if span.name == "handler work"]
    assert len(inner_spans) == 2
    parents = {span.parent.span_id for span in inner_spans if span.parent is not None}
    assert parents == {
        attempts["step direct"].context.span_id,  # type: ignore[union-attr]
        attempts["step bounded"].context.span_id,  # type: ignore[union-attr]
    }


def test_without_telemetry_workers_carry_none(engine: Engine) -> None:
    install_telemetry(None)
    try:
        assert Worker(engine.url, engine.registry).telemetry is None
    finally:
        reset_telemetry()


def test_an_operator_who_ends_a_task_emits_its_span(engine: Engine, otel: Recorded) -> None:
    template = make_template(
        [step("prepare", "ok.noop"), step("charge", "fail.permanent", "prepare")], name="ended"
    )
    task = engine.submit(template, {})
    assert engine.run(task.task_uuid) == "blocked_by_failures"
    assert otel.task_spans() == []
    cancel_task(engine.store, task.task_uuid, Actor.of("customer withdrew", by="ops"))
    (span,) = otel.task_spans()
    assert _attributes(span)["tasker.task.state"] == "cancelled"
    assert span.context is not None
    assert (
        _hex(span.context.trace_id, 32)
        == engine.rows("SELECT trace_id FROM tasker.tasks WHERE task_uuid = %s", task.task_uuid)[0][
            "trace_id"
        ]
    )


def test_a_planning_steps_model_call_is_a_genai_span_under_its_attempt(
    engine: Engine, otel: Recorded
) -> None:
    from pathlib import Path

    from tasker_ctl.engine import run_template

    examples = Path(__file__).resolve().parents[3] / "examples" / "planning"
    report = run_template(
        examples / "incident.yaml",
        context={"incident_id": "INC-4211", "service": "checkout"},
        handlers=[str(examples / "incident_handlers.py")],
        database_url=engine.url,
        planner=f"replay:{examples / 'incident.cassette.yaml'}",
        new_task=True,
    )
    assert report.status == "complete"
    (chat,) = [span for span in otel.finished() if span.name.startswith("chat ")]
    (planner,) = [span for span in otel.attempt_spans() if span.name == "step plan_investigation"]
    # a replayed call is asked of the cassette; the recorded answer names the model
    assert chat.name == f"chat {examples / 'incident.cassette.yaml'}"
    assert chat.parent is not None
    assert chat.context is not None
    assert planner.context is not None
    assert chat.parent.span_id == planner.context.span_id  # under the planning step's attempt
    assert chat.context.trace_id == planner.context.trace_id
    attributes = _attributes(chat)
    assert attributes["gen_ai.operation.name"] == "chat"
    assert attributes["gen_ai.provider.name"] == "replay"
    assert attributes["gen_ai.response.model"] == "gpt-4.1-mini"
    assert (attributes["gen_ai.usage.input_tokens"], attributes["gen_ai.usage.output_tokens"]) == (
        2210,
        342,
    )
    assert attributes["tasker.planning.accepted"] is True
    assert attributes["tasker.step.name"] == "plan_investigation"
    tokens = {
        point.attributes["gen_ai.token.type"]: point.sum
        for point in otel.points("gen_ai.client.token.usage")
    }
    assert tokens == {"input": 2210, "output": 342}
