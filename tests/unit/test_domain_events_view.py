"""One line per domain event: what ``tasker-ctl events --domain`` prints."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from tasker_ctl.engine.views import DomainEvent
from tasker_ctl.report.domain_events_view import domain_event_line

TASK = uuid.UUID("d79d2068-0000-4000-8000-000000000000")


def _event(**changes: Any) -> DomainEvent:
    fields: dict[str, Any] = {
        "event_uuid": uuid.uuid4(),
        "occurred_at": datetime(2026, 1, 31, 12, 0, 0, 449000, tzinfo=UTC),
        "event_name": "payment.processed",
        "event_version": None,
        "delivery_mode": "durable",
        "payload": {"transaction_id": "TXN-1"},
        "metadata": {},
        "source": "step",
        "resource": "shop_domain_events",
        "task_uuid": TASK,
        "namespace_name": "shop",
        "correlation_id": uuid.uuid4(),
        "workflow_step_uuid": uuid.uuid4(),
        "step_name": "charge",
        "attempt": 2,
        "step_outcome": "success",
        "publication_condition": "success",
        "publisher": "shop.Receipts",
        "idempotency_key": "step:x:2:0",
        "published_at": None,
        "rejection": None,
    }
    return DomainEvent.model_validate({**fields, **changes})


def test_a_published_event_shows_step_attempt_publisher_and_payload() -> None:
    line = domain_event_line(_event()).plain
    assert line.startswith("2026-01-31T12:00:00.449Z  d79d2068  payment.processed")
    assert "durable" in line
    assert "charge (attempt 2, success) [shop.Receipts]" in line
    assert line.endswith('{"transaction_id":"TXN-1"}')


def test_a_rejected_event_shows_its_code_and_a_long_payload_is_cut() -> None:
    rejected = _event(rejection={"code": "DOMAIN_EVENT_SCHEMA_VIOLATION", "message": "why"})
    assert domain_event_line(rejected).plain.endswith("rejected DOMAIN_EVENT_SCHEMA_VIOLATION: why")
    long = domain_event_line(_event(payload={"text": "x" * 500}, publisher=None)).plain
    assert long.endswith("…")
    assert "[" not in long.split("(attempt")[1].split(")")[1]
    emitted = domain_event_line(_event(source="emit", attempt=None, step_outcome=None)).plain
    assert "charge (emit)" in emitted
