"""Which declared domain events an outcome publishes (Tasker Core's conditions), and their keys."""

from __future__ import annotations

import uuid

import pytest

from tasker_ctl.engine.rules.domain_events import (
    StepOutcome,
    condition_holds,
    event_key,
    event_resource,
    failure_outcome,
    outcome_of_state,
)

SUCCESS, RETRYABLE, PERMANENT = (
    StepOutcome.SUCCESS,
    StepOutcome.RETRYABLE_FAILURE,
    StepOutcome.PERMANENT_FAILURE,
)


@pytest.mark.parametrize(
    ("condition", "published_for"),
    [
        ("success", {SUCCESS}),
        ("failure", {RETRYABLE, PERMANENT}),
        ("retryable_failure", {RETRYABLE}),
        ("permanent_failure", {PERMANENT}),
        ("always", {SUCCESS, RETRYABLE, PERMANENT}),
    ],
)
def test_each_condition_holds_for_its_outcomes(
    condition: str, published_for: set[StepOutcome]
) -> None:
    assert {outcome for outcome in StepOutcome if condition_holds(condition, outcome)} == (
        published_for
    )


def test_a_failure_is_retryable_only_when_error_and_step_are_and_attempts_remain() -> None:
    def outcome(error: bool, step: bool, attempt: int) -> StepOutcome:
        return failure_outcome(
            error_retryable=error, step_retryable=step, attempt=attempt, max_attempts=3
        )

    assert outcome(True, True, 2) is RETRYABLE
    assert outcome(True, True, 3) is PERMANENT  # attempts spent
    assert outcome(False, True, 1) is PERMANENT  # a permanent error
    assert outcome(True, False, 1) is PERMANENT  # retry.retryable: false
    assert outcome_of_state("waiting_for_retry") is RETRYABLE
    assert outcome_of_state("error") is PERMANENT


def test_keys_differ_by_attempt_and_declaration_and_fit_the_column() -> None:
    step = uuid.uuid4()
    keys = {event_key(step, attempt, index) for attempt in (1, 2) for index in (0, 1)}
    assert len(keys) == 4
    assert event_key(step, 1, 0) == event_key(step, 1, 0)
    assert max(len(key) for key in keys) <= 128
    assert len(event_key(step, 2**31 - 1, 9999)) <= 128
    assert event_resource("payments") == "payments_domain_events"
