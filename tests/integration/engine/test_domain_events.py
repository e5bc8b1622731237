"""Domain events a step declares (``publishes_events``): written into the outbox with the outcome
they describe, by condition, once per attempt, fenced like the outcome itself.

Real workers on a real database; the outbox is read back directly and through
``tasker.domain_events`` (the consumers' view).
"""

from __future__ import annotations

import threading
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from tasker_ctl.engine.store.connection import Store
from tasker_ctl.engine.views.domain_events import follow_domain_events, read_domain_events
from tasker_ctl.engine.views.events import EARLIEST
from tasker_ctl.engine.worker.ancestors import AncestorResults
from tasker_ctl.engine.worker.attempt import Attempt, Outcome, PreparedTemplate
from tasker_ctl.engine.worker.claimed_step import ClaimedStep
from tasker_ctl.engine.worker.loop import Worker, WorkerOptions
from tasker_ctl.template.model import TaskTemplate
from tasker_ctl.template.validator import load_template
from tests.conftest import PROJECT_ROOT
from tests.integration.engine.conftest import (
    Engine,
    claim,
    clocked_store,
    make_template,
    step,
)
from tests.integration.engine.handlers import domain_events as handlers

QUICK = {"backoff": "linear", "backoff_base_ms": 20, "max_backoff_ms": 100}
OBJECT = {"type": "object"}


def _event(name: str, condition: str, mode: str = "durable", **more: Any) -> dict[str, Any]:
    return {
        "name": name,
        "description": f"{name} happened",
        "schema": more.pop("schema", OBJECT),
        "condition": condition,
        "delivery_mode": mode,
        **more,
    }


def _outbox(engine: Engine, task_uuid: uuid.UUID) -> list[dict[str, Any]]:
    return engine.rows(
        "SELECT o.*, s.name AS step_name FROM tasker.grammar_outbox o"
        " JOIN tasker.workflow_steps s USING (workflow_step_uuid)"
        " WHERE o.task_uuid = %s ORDER BY s.name, o.attempt, o.invocation_index",
        task_uuid,
    )


def _published(engine: Engine, task_uuid: uuid.UUID) -> list[tuple[str, str, int, str]]:
    return [
        (row["step_name"], row["event_name"], row["attempt"], row["step_outcome"])
        for row in _outbox(engine, task_uuid)
        if row["rejection"] is None
    ]


@pytest.fixture(autouse=True)
def _publishers(engine: Engine) -> None:
    engine.registry.register_module(handlers)
    handlers.ANNOUNCED.clear()


def test_each_outcome_publishes_the_events_whose_condition_it_meets(engine: Engine) -> None:
    order_schema = {"type": "object", "required": ["order_id", "validation_timestamp"]}
    template = make_template(
        [
            step(
                "validate",
                "events.order",
                publishes_events=[
                    _event("order.validated", "success", "fast", schema=order_schema),
                    _event("order.rejected", "failure"),
                ],
            ),
            step(
                "pay",
                "events.payment",
                "validate",
                config={"fail_times": 1},
                retry={**QUICK, "max_attempts": 3},
                publishes_events=[
                    _event("payment.processed", "success"),
                    _event("payment.retrying", "retryable_failure"),
                    _event("payment.failed", "permanent_failure"),
                    _event("payment.attempted", "always", "broadcast"),
                ],
            ),
        ],
        name="domain_events_paths",
    )
    task = engine.submit(template, {"order_id": "o-1"})
    assert engine.run(task.task_uuid, timeout=20) == "complete"

    assert _published(engine, task.task_uuid) == [
        ("pay", "payment.retrying", 1, "retryable_failure"),
        ("pay", "payment.attempted", 1, "retryable_failure"),
        ("pay", "payment.processed", 2, "success"),
        ("pay", "payment.attempted", 2, "success"),
        ("validate", "order.validated", 1, "success"),
    ]
    rows = {(r["event_name"], r["attempt"]): r for r in _outbox(engine, task.task_uuid)}
    steps = engine.steps(task.task_uuid)
    validated = rows[("order.validated", 1)]
    assert validated["payload"] == {
        "order_id": "o-1",
        "validation_timestamp": "2026-01-01T00:00:00Z",
        "validation_checks": ["order_id_present"],
    }
    assert validated["delivery_mode"] == "fast"
    assert validated["source"] == "step"
    assert validated["publication_condition"] == "success"
    assert validated["resource"] == "engine_tests_domain_events"
    assert validated["workflow_step_uuid"] == steps["validate"]["workflow_step_uuid"]
    assert validated["metadata"]["step_name"] == "validate"
    assert validated["metadata"]["publisher"] == "default"
    # a success's payload is its result; a failure has none: {} (as in Tasker Core)
    assert rows[("payment.processed", 2)]["payload"]["transaction_id"] == "TXN-2"
    assert rows[("payment.retrying", 1)]["payload"] == {}
    assert rows[("payment.attempted", 2)]["delivery_mode"] == "broadcast"
    # the consumers' view carries the task's namespace and correlation id
    seen = engine.rows(
        "SELECT event_name, namespace_name, correlation_id, step_name FROM tasker.domain_events"
        " WHERE task_uuid = %s",
        task.task_uuid,
    )
    assert len(seen) == 5
    assert {row["namespace_name"] for row in seen} == {"engine_tests"}
    assert {row["correlation_id"] for row in seen} == {
        engine.task(task.task_uuid)["correlation_id"]
    }


def test_failures_publish_failure_events_and_spent_retries_are_permanent(engine: Engine) -> None:
    declared = [
        _event("step.ok", "success"),
        _event("step.failed", "failure"),
        _event("step.retrying", "retryable_failure"),
        _event("step.gave_up", "permanent_failure"),
    ]
    broken = make_template(
        [step("broken", "fail.permanent", publishes_events=declared)], name="events_broken"
    )
    flaky = make_template(
        [
            step(
                "flaky",
                "events.payment",
                config={"fail_times": 99},
                retry={**QUICK, "max_attempts": 2},
                publishes_events=declared,
            )
        ],
        name="events_flaky",
    )
    published = []
    for template in (broken, flaky):
        task = engine.submit(template, {})
        assert engine.run(task.task_uuid, timeout=20) == "blocked_by_failures"
        published += _published(engine, task.task_uuid)
    assert published == [
        ("broken", "step.failed", 1, "permanent_failure"),
        ("broken", "step.gave_up", 1, "permanent_failure"),
        ("flaky", "step.failed", 1, "retryable_failure"),
        ("flaky", "step.retrying", 1, "retryable_failure"),
        ("flaky", "step.failed", 2, "permanent_failure"),
        ("flaky", "step.gave_up", 2, "permanent_failure"),
    ]


def test_a_payload_that_breaks_its_schema_is_recorded_as_rejected(engine: Engine) -> None:
    strict = {"type": "object", "required": ["transaction_id"]}
    template = make_template(
        [
            step(
                "pay",
                "events.payment",
                config={"no_transaction": True},
                publishes_events=[_event("payment.processed", "success", schema=strict)],
            )
        ],
        name="domain_events_schema",
    )
    task = engine.submit(template, {})
    # publishing never fails the step (Tasker Core's rule)
    assert engine.run(task.task_uuid, timeout=20) == "complete"
    [row] = _outbox(engine, task.task_uuid)
    assert row["rejection"]["code"] == "DOMAIN_EVENT_SCHEMA_VIOLATION"
    assert "transaction_id" in row["rejection"]["message"]
    assert row["payload"] == {"amount": 10}
    assert not engine.rows(
        "SELECT 1 FROM tasker.domain_events WHERE task_uuid = %s", task.task_uuid
    )


def test_custom_publishers_transform_skip_or_fail(engine: Engine) -> None:
    template = make_template(
        [
            step(
                "pay",
                "events.payment",
                config={"fail_times": 1},
                retry={**QUICK, "max_attempts": 2},
                publishes_events=[
                    _event("payment.processed", "success", publisher="payments.PaymentPublisher"),
                    # found by module.Name in a handler module
                    _event(
                        "payment.failed",
                        "failure",
                        publisher="tests.integration.engine.handlers.domain_events"
                        ".PaymentPublisher",
                        schema={"type": "object", "required": ["error_code", "error_message"]},
                    ),
                    _event("payment.silent", "always", publisher="silent"),
                    _event("payment.broken", "success", publisher="broken"),
                    _event("payment.other", "success", publisher="not.Loaded"),
                ],
            )
        ],
        name="domain_events_publishers",
    )
    task = engine.submit(template, {})
    assert engine.run(task.task_uuid, timeout=20) == "complete"
    rows = {(r["event_name"], r["attempt"]): r for r in _outbox(engine, task.task_uuid)}
    assert set(rows) == {
        ("payment.failed", 1),
        ("payment.processed", 2),
        ("payment.broken", 2),
        ("payment.other", 2),
    }
    failed = rows[("payment.failed", 1)]
    assert failed["payload"] == {
        "error_code": "BUSY",
        "error_message": "gateway busy on attempt 1",
        "attempt": 1,
    }
    assert failed["rejection"] is None
    processed = rows[("payment.processed", 2)]
    assert processed["payload"]["publisher"] == "payments.PaymentPublisher"
    assert processed["metadata"]["publisher_type"] == "custom"
    assert processed["publisher"] == "payments.PaymentPublisher"
    assert rows[("payment.broken", 2)]["rejection"]["code"] == "DOMAIN_EVENT_PUBLISHER_FAILED"
    # a publisher that is not loaded: the default one stands in, as in Tasker Core
    other = rows[("payment.other", 2)]
    assert other["rejection"] is None
    assert other["metadata"]["publisher_not_loaded"] == "not.Loaded"
    assert other["payload"]["transaction_id"] == "TXN-2"
    # after_publish hears of committed events only
    assert [name for name, _ in handlers.ANNOUNCED] == ["payment.failed", "payment.processed"]


def _attempt(template: TaskTemplate, claimed: dict[str, Any]) -> Attempt:
    prepared = PreparedTemplate(template).step("only")
    return Attempt(ClaimedStep.from_row(claimed), prepared, AncestorResults({}))


def _success(attempt: Attempt) -> Outcome:
    envelope = {
        "step_uuid": str(attempt.step.step_uuid),
        "success": True,
        "result": {"by": attempt.step.lease.owner},
        "metadata": {"attempt": attempt.number},
        "status": "completed",
        "error": None,
    }
    return Outcome(True, envelope, retryable=False, retry_after=None, duration_ms=1)


def test_a_taken_over_attempt_publishes_nothing_and_a_rerun_publishes_once(
    engine: Engine, store: Store, database_url: str
) -> None:
    template = make_template(
        [step("only", "ok.noop", publishes_events=[_event("only.done", "success")])],
        name="domain_events_fenced",
    )
    task = engine.submit(template, {})
    first = claim(store, task.task_uuid, "crashed-worker", lease=5)
    assert first is not None
    worker = Worker(database_url, engine.registry, WorkerOptions(worker_id="w"))
    worker.stop.set()  # record only: claim nothing after
    try:
        # the first worker died holding attempt 1; 10 s later its lease is gone and another
        # worker runs the step again
        with clocked_store(database_url, engine.db_now() + timedelta(seconds=10)) as other:
            second = claim(other, task.task_uuid, "second-worker", lease=5)
            assert second is not None
            assert second["attempts"] == 2
            rerun = _attempt(template, second)
            assert worker.recorder.record_now(other, rerun, _success(rerun))
            # the first attempt's late outcome is refused, and writes no event
            late = _attempt(template, first)
            assert not worker.recorder.record_now(store, late, _success(late))
            # the rerun's outcome recorded a second time: refused, nothing written twice
            assert not worker.recorder.record_now(other, rerun, _success(rerun))
    finally:
        worker.claims.heartbeat.close()
    rows = _outbox(engine, task.task_uuid)
    assert [(r["event_name"], r["attempt"]) for r in rows] == [("only.done", 2)]
    assert rows[0]["payload"] == {"by": "second-worker"}
    assert engine.steps(task.task_uuid)["only"]["current_state"] == "complete"


CORPUS = PROJECT_ROOT.parent / "shared" / "corpus" / "tasker-core" / "tests" / "fixtures"
SCENARIOS = [
    CORPUS / "task_templates" / "python" / "domain_event_publishing_py.yaml",
    CORPUS / "task_templates" / "python" / "domain_event_publishing_dsl_py.yaml",
]


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.stem)
def test_the_corpus_publishing_scenarios_publish_their_events(engine: Engine, path: Path) -> None:
    if not path.is_file():
        pytest.skip(f"the shared corpus is absent ({path})")
    template = load_template(path)
    # the handlers of Tasker Core's examples, under the callables the template names
    for declared in template.steps:
        callable_name = declared.handler.callable
        answering = type("Handler", (handlers.CorpusHandler,), {"handler_name": callable_name})
        engine.registry.register(callable_name, answering)
    task = engine.submit(template, {"order_id": str(uuid.uuid4()), "customer_id": "c-1"})
    state = engine.run(task.task_uuid, timeout=20)
    assert state == "complete", [s["results"] for s in engine.steps(task.task_uuid).values()]
    published = engine.rows(
        "SELECT event_name, delivery_mode FROM tasker.domain_events WHERE task_uuid = %s"
        " ORDER BY occurred_at, event_name",
        task.task_uuid,
    )
    assert sorted((r["event_name"], r["delivery_mode"]) for r in published) == [
        ("inventory.updated", "fast"),
        ("notification.sent", "fast"),
        ("order.validated", "fast"),
        ("payment.processed", "durable"),
    ]


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.stem)
def test_a_failed_payment_in_the_corpus_scenarios_publishes_through_the_step_publisher(
    engine: Engine, path: Path
) -> None:
    if not path.is_file():
        pytest.skip(f"the shared corpus is absent ({path})")
    # the test environment: one attempt per step, so the payment fails for good
    template = load_template(path, environment="test")
    for declared in template.steps:
        callable_name = declared.handler.callable
        answering = type("Handler", (handlers.CorpusHandler,), {"handler_name": callable_name})
        engine.registry.register(callable_name, answering)
    payment = next(s for s in template.steps if "process_payment" in s.name)
    publisher_name = payment.publishes_events[0].publisher
    assert publisher_name is not None
    publisher = type(
        "Publisher", (handlers.CorpusPaymentPublisher,), {"publisher_name": publisher_name}
    )
    engine.registry.publishers.register(publisher())
    order_id = str(uuid.uuid4())
    context = {"order_id": order_id, "customer_id": "c-1", "simulate_failure": True}
    task = engine.submit(template, context)
    assert engine.run(task.task_uuid, timeout=20) == "blocked_by_failures"
    rows = {row["event_name"]: row for row in _outbox(engine, task.task_uuid)}
    assert set(rows) == {"order.validated", "payment.failed"}
    # payment.failed names no publisher: the step's first declaration's builds its payload
    failed = rows["payment.failed"]
    assert failed["rejection"] is None
    assert failed["publisher"] == publisher_name
    assert (failed["step_outcome"], failed["delivery_mode"]) == ("permanent_failure", "durable")
    assert failed["payload"]["error_code"] == "PAYMENT_DECLINED"
    assert failed["payload"]["order_id"] == order_id


def test_following_yields_each_event_once_as_it_is_committed(engine: Engine, store: Store) -> None:
    template = make_template(
        [step("only", "events.order", publishes_events=[_event("order.validated", "success")])],
        name="domain_events_follow",
    )
    first = engine.submit(template, {"order_id": "o-1"})
    assert engine.run(first.task_uuid, timeout=20) == "complete"
    stop = threading.Event()
    following = follow_domain_events(store, since=EARLIEST, poll_interval=0.01, stop=stop)
    try:
        assert next(following).task_uuid == first.task_uuid
        # a second task's event, committed while the follower waits, comes next: the first
        # one is not yielded again though every poll reads it
        second = engine.submit(template, {"order_id": "o-2"})
        assert engine.run(second.task_uuid, timeout=20) == "complete"
        later = next(following)
        assert (later.task_uuid, later.payload["order_id"]) == (second.task_uuid, "o-2")
    finally:
        stop.set()
    listed = read_domain_events(store, event_name="order.validated")
    assert [event.task_uuid for event in listed] == [first.task_uuid, second.task_uuid]
    assert read_domain_events(store, event_name="no.such") == []
