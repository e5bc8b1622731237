"""What an outcome's declared events become before they are written: which ones, their payload
and metadata, and the coded rejection of one that cannot be published (never an exception)."""

from __future__ import annotations

import math
from typing import Any

from tasker_ctl.engine.rules.domain_events import StepOutcome
from tasker_ctl.engine.worker.ancestors import AncestorResults
from tasker_ctl.engine.worker.attempt import Attempt, Outcome, PreparedStep
from tasker_ctl.engine.worker.domain_events import events_of, prepare_events
from tasker_ctl.sdk import HandlerRegistry
from tasker_ctl.sdk.domain_events import BasePublisher, StepEventContext
from tasker_ctl.template.model import StepDefinition
from tests.unit.engine.claimed_rows import claimed_step


def _attempt(events: list[dict[str, Any]], **columns: Any) -> Attempt:
    definition = StepDefinition.model_validate(
        {"name": "only", "handler": {"callable": "x.y"}, "publishes_events": events}
    )
    return Attempt(claimed_step(**columns), PreparedStep.of(definition), AncestorResults({}))


def _declared(name: str, condition: str = "success", **more: Any) -> dict[str, Any]:
    return {"name": name, "description": "d", "schema": more.pop("schema", {}), **more} | {
        "condition": condition
    }


def _success(result: Any) -> Outcome:
    envelope = {"success": True, "result": result, "metadata": {}, "error": None}
    return Outcome(True, envelope, retryable=False, retry_after=None, duration_ms=1)


def _failure(retryable: bool) -> Outcome:
    envelope = {
        "success": False,
        "result": None,
        "metadata": {"error_code": "BUSY"},
        "error": {"message": "busy", "retryable": retryable},
    }
    return Outcome(False, envelope, retryable=retryable, retry_after=None, duration_ms=1)


def test_the_outcome_picks_the_declarations_and_the_result_is_the_payload() -> None:
    attempt = _attempt(
        [_declared("a.done"), _declared("a.failed", "failure"), _declared("a.seen", "always")]
    )
    done = events_of(attempt, _success({"id": 7}), None, "w-1")
    assert [(e.index, e.name, e.payload) for e in done] == [
        (0, "a.done", {"id": 7}),
        (2, "a.seen", {"id": 7}),
    ]
    assert done[0].metadata["fired_by"] == "w-1"
    assert done[0].metadata["publisher"] == "default"
    # attempt 1 of 3, retryable: a retryable failure; its payload is {} (no result)
    failed = events_of(attempt, _failure(True), None, "w-1")
    assert [(e.name, e.payload) for e in failed] == [("a.failed", {}), ("a.seen", {})]
    assert events_of(_attempt([]), _success({}), None, "w") == []


def test_failures_are_expected_permanent_when_no_attempt_remains() -> None:
    declared = [
        _declared("a.retrying", "retryable_failure"),
        _declared("a.gave_up", "permanent_failure"),
    ]
    last = _attempt(declared, attempts=3)
    assert [e.name for e in events_of(last, _failure(True), None, "w")] == ["a.gave_up"]
    first = _attempt(declared)
    assert [e.name for e in events_of(first, _failure(False), None, "w")] == ["a.gave_up"]
    assert [e.name for e in events_of(first, _failure(True), None, "w")] == ["a.retrying"]


def test_payloads_that_cannot_be_published_are_rejected_with_a_code() -> None:
    attempt = _attempt(
        [
            _declared("a.strict", schema={"type": "object", "required": ["id"]}),
            _declared("a.bad_schema", schema={"properties": {"other": {"pattern": "("}}}),
            _declared("a.nan", publisher="nan"),
        ]
    )

    class NotANumber(BasePublisher):
        publisher_name = "nan"

        def transform_payload(self, ctx: StepEventContext) -> Any:
            return {"value": math.nan}

    registry = HandlerRegistry()
    registry.publishers.register(NotANumber())
    events = prepare_events(attempt, _success({"other": "x"}), StepOutcome.SUCCESS, registry, "w")
    rejections = {e.name: (e.rejection or {}).get("code") for e in events}
    assert rejections == {
        "a.strict": "DOMAIN_EVENT_SCHEMA_VIOLATION",
        "a.bad_schema": "DOMAIN_EVENT_SCHEMA_UNUSABLE",
        "a.nan": "DOMAIN_EVENT_PAYLOAD_NOT_STORABLE",
    }
    strict = events[0]
    assert strict.rejection is not None
    assert strict.rejection["problems"] == ["$: 'id' is a required property"]
    assert events[2].payload == {}


def test_a_publisher_whose_name_raises_still_publishes() -> None:
    class Nameless(BasePublisher):
        @property
        def publisher_name(self) -> str:
            raise RuntimeError("no name")

    registry = HandlerRegistry()
    registry.publishers._publishers["nameless"] = Nameless()
    [event] = prepare_events(
        _attempt([_declared("a.done", publisher="nameless")]),
        _success({"id": 1}),
        StepOutcome.SUCCESS,
        registry,
        "w",
    )
    assert event.rejection is None
    assert event.metadata["publisher"].endswith("Nameless")
