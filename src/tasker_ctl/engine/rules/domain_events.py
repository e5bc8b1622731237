"""Which domain events a step's outcome publishes, as Tasker Core decides it (pure rules).

A step declares events in ``publishes_events``; each has a condition. An outcome is a success,
a retryable failure (the step will run again) or a permanent failure (it will not: the error
was not retryable, the step is not, or its attempts are spent). ``failure`` holds for both
failures, ``always`` for every outcome. The database decides which failure it was
(``tasker.fail_step``); ``failure_outcome`` predicts its answer so that publishers run before
the outcome's transaction, and the transaction keeps only the events the answer allows.
"""

from __future__ import annotations

import uuid
from enum import StrEnum

__all__ = [
    "PAYLOAD_NOT_STORABLE",
    "PUBLISHER_FAILED",
    "SCHEMA_UNUSABLE",
    "SCHEMA_VIOLATION",
    "StepOutcome",
    "condition_holds",
    "event_key",
    "event_resource",
    "failure_outcome",
    "outcome_of_state",
]

# Why an event was recorded as rejected instead of published (the row's rejection.code)
SCHEMA_VIOLATION = "DOMAIN_EVENT_SCHEMA_VIOLATION"
SCHEMA_UNUSABLE = "DOMAIN_EVENT_SCHEMA_UNUSABLE"
PAYLOAD_NOT_STORABLE = "DOMAIN_EVENT_PAYLOAD_NOT_STORABLE"
PUBLISHER_FAILED = "DOMAIN_EVENT_PUBLISHER_FAILED"


class StepOutcome(StrEnum):
    SUCCESS = "success"
    RETRYABLE_FAILURE = "retryable_failure"
    PERMANENT_FAILURE = "permanent_failure"


def condition_holds(condition: str, outcome: StepOutcome) -> bool:
    """Whether a declaration with ``condition`` is published for ``outcome``."""
    if condition == "always":
        return True
    if condition == "failure":
        return outcome is not StepOutcome.SUCCESS
    return condition == outcome.value


def failure_outcome(
    *, error_retryable: bool, step_retryable: bool, attempt: int, max_attempts: int
) -> StepOutcome:
    """The failure ``tasker.fail_step`` will record: retryable only when the error and the
    step both are and attempts remain."""
    if error_retryable and step_retryable and attempt < max_attempts:
        return StepOutcome.RETRYABLE_FAILURE
    return StepOutcome.PERMANENT_FAILURE


def outcome_of_state(step_state: str) -> StepOutcome:
    """The failure a step's state after ``fail_step`` says it was."""
    if step_state == "waiting_for_retry":
        return StepOutcome.RETRYABLE_FAILURE
    return StepOutcome.PERMANENT_FAILURE


def event_key(step_uuid: uuid.UUID, attempt: int, index: int) -> str:
    """The outbox key of declaration ``index``'s event for one attempt: the same however
    often that attempt's outcome is written, different for every attempt."""
    return f"step:{step_uuid}:{attempt}:{index}"


def event_resource(namespace: str) -> str:
    """Where a step's events are published: Tasker Core's queue name for the namespace."""
    return f"{namespace}_domain_events"
