"""The transition event model, ``--since`` parsing, the logging integration and the text line."""

from __future__ import annotations

import io
import json
import logging
import uuid
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from pydantic import ValidationError
from rich.console import Console

from tasker_ctl.engine.views.event_logging import EVENTS_LOGGER, JsonEventFormatter, log_events
from tasker_ctl.engine.views.events import TransitionEvent, describe_event
from tasker_ctl.report.events_view import event_line, render_event

TASK = uuid.UUID("11111111-2222-3333-4444-555555555555")
STEP = uuid.UUID("66666666-7777-8888-9999-000000000000")
AT = datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=UTC)

FIELDS = [
    "event_uuid",
    "entity",
    "occurred_at",
    "task_uuid",
    "namespace_name",
    "correlation_id",
    "trace_id",
    "workflow_step_uuid",
    "step_name",
    "from_state",
    "to_state",
    "event",
    "attempt",
    "sort_key",
    "metadata",
    "created_by",
    "handler_type",
    "planning_step_uuid",
    "fragment_id",
    "planning_phase",
    "composition_source",
]


def row(**fields: Any) -> dict[str, Any]:
    """A row of tasker.transition_events: a step's completion unless told otherwise."""
    values: dict[str, Any] = {
        "event_uuid": uuid.uuid4(),
        "entity": "step",
        "occurred_at": AT,
        "task_uuid": TASK,
        "namespace_name": "shop",
        "correlation_id": uuid.uuid4(),
        "trace_id": "4bf92f3577b34da6a3ce929d0e0e4736",
        "workflow_step_uuid": STEP,
        "step_name": "proc_001",
        "from_state": "in_progress",
        "to_state": "complete",
        "event": "Complete",
        "attempt": 2,
        "sort_key": 6,
        "metadata": {"worker": "w1", "duration_ms": 12},
        "created_by": "batch_spawn",
        "handler_type": "application",
        "planning_step_uuid": None,
        "fragment_id": None,
        "planning_phase": None,
        "composition_source": None,
    }
    values.update(fields)
    return values


def task_row(**fields: Any) -> dict[str, Any]:
    step_fields = dict.fromkeys(
        [
            "workflow_step_uuid",
            "step_name",
            "attempt",
            "created_by",
            "handler_type",
            "planning_step_uuid",
            "fragment_id",
            "planning_phase",
            "composition_source",
        ]
    )
    task_fields: dict[str, Any] = {
        "entity": "task",
        "from_state": "evaluating_results",
        "to_state": "complete",
        "event": "AllStepsSuccessful",
        "sort_key": 6,
        "metadata": {},
    }
    return row(**{**step_fields, **task_fields, **fields})


def test_the_model_mirrors_the_view_columns() -> None:
    assert list(TransitionEvent.model_fields) == FIELDS
    # every field says what it is
    assert all(field.description for field in TransitionEvent.model_fields.values())


def test_an_unknown_column_is_refused() -> None:
    with pytest.raises(ValidationError, match="extra"):
        TransitionEvent.model_validate(row(surprise=1))
    with pytest.raises(ValidationError):
        TransitionEvent.model_validate(row(entity="fragment"))


def test_times_are_utc_and_the_json_record_has_every_field() -> None:
    local = AT.astimezone(timezone(timedelta(hours=-5)))
    event = TransitionEvent.model_validate(row(occurred_at=local))
    assert event.occurred_at == AT
    assert event.occurred_at.utcoffset() == timedelta(0)
    record = event.log_record()
    assert list(record) == FIELDS
    assert record["occurred_at"] == "2026-01-02T03:04:05.678000Z"
    assert record["task_uuid"] == str(TASK)
    assert json.loads(json.dumps(record)) == record


def test_task_and_step_events_have_one_shape() -> None:
    step = TransitionEvent.model_validate(row()).log_record()
    task = TransitionEvent.model_validate(task_row()).log_record()
    assert list(step) == list(task)
    assert task["workflow_step_uuid"] is None
    assert task["attempt"] is None


def test_positions_order_events_as_the_reader_does() -> None:
    first = TransitionEvent.model_validate(row(sort_key=1))
    later_same_time = TransitionEvent.model_validate(task_row(sort_key=1))
    later = TransitionEvent.model_validate(row(occurred_at=AT + timedelta(microseconds=1)))
    assert first.position < later_same_time.position < later.position


def test_describe_names_what_moved() -> None:
    step = TransitionEvent.model_validate(row())
    assert describe_event(step) == (
        f"step proc_001 of task {TASK} in_progress -> complete (Complete, attempt 2) [batch_spawn]"
    )
    task = TransitionEvent.model_validate(task_row(from_state=None, to_state="pending"))
    assert describe_event(task) == f"task {TASK} (new) -> pending (AllStepsSuccessful)"


def test_log_events_forwards_the_event_dict_in_extra() -> None:
    records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    logger = logging.getLogger(EVENTS_LOGGER)
    handler, level = Keep(), logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        events = [TransitionEvent.model_validate(row()), TransitionEvent.model_validate(task_row())]
        assert log_events(events) == 2
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
    assert [record.getMessage() for record in records] == [describe_event(e) for e in events]
    assert records[0].tasker_event == events[0].log_record()  # type: ignore[attr-defined]
    assert records[0].levelno == logging.INFO


def test_the_json_formatter_writes_the_event_with_log_fields() -> None:
    event = TransitionEvent.model_validate(row())
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonEventFormatter())
    logger = logging.getLogger("tests.events.json")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    log_events([event], logger=logger)
    logger.warning("plain %s", "record")
    try:
        raise ValueError("boom")
    except ValueError:
        logger.exception("failed")
    first, second, third = (json.loads(line) for line in stream.getvalue().splitlines())
    assert first == {
        **event.log_record(),
        "level": "INFO",
        "logger": "tests.events.json",
        "message": describe_event(event),
    }
    assert second["message"] == "plain record"
    assert second["level"] == "WARNING"
    assert datetime.fromisoformat(second["time"]).tzinfo is not None
    assert "ValueError: boom" in third["exception"]


def test_the_text_line_is_aligned_and_names_the_origin() -> None:
    step = event_line(TransitionEvent.model_validate(row())).plain
    task = event_line(TransitionEvent.model_validate(task_row())).plain
    assert step.startswith("2026-01-02T03:04:05.678Z  11111111  step  proc_001 ")
    assert step.endswith("Complete         attempt 2 [batch_spawn]")
    assert task.startswith("2026-01-02T03:04:05.678Z  11111111  task  shop ")
    # the arrow stands in the same column on every line
    assert step.index("→") == task.index("→")
    console = Console(file=io.StringIO(), width=40, no_color=True)
    render_event(TransitionEvent.model_validate(row()), console)
    printed = console.file.getvalue()  # type: ignore[attr-defined]
    assert printed.count("\n") == 1  # never wrapped


def test_a_step_parked_at_a_gate_says_it_waits_for_approval() -> None:
    parked = row(
        from_state="in_progress",
        to_state="waiting_for_retry",
        event="WaitForRetry",
        metadata={"awaiting_approval": True, "gate": 1},
    )
    line = event_line(TransitionEvent.model_validate(parked)).plain
    assert line.endswith("waiting for approval")
    assert "waiting for approval" not in event_line(TransitionEvent.model_validate(row())).plain
