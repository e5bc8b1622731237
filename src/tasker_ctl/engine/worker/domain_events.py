"""The domain events an attempt's outcome publishes, built before the outcome is recorded.

For each ``publishes_events`` declaration whose condition the outcome meets, its publisher
(the one it names, else the one the step's first declaration names, as in Tasker Core; a
custom one from the handler modules, else the default: the step's result) builds the payload
and metadata or skips the event. The payload is then checked: it must be storable
and match the declaration's ``schema``. An event that fails a check, or whose publisher
raised, is still recorded, with a coded ``rejection`` instead of being published; the step's
outcome is never changed by its events (Tasker Core's rule: publishing never fails a step).
``graph.domain_events`` writes what this builds in the outcome's transaction.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from tasker_ctl.engine.graph.domain_events import EventSource, PreparedEvent
from tasker_ctl.engine.rules.domain_events import (
    PAYLOAD_NOT_STORABLE,
    PUBLISHER_FAILED,
    SCHEMA_UNUSABLE,
    SCHEMA_VIOLATION,
    StepOutcome,
    condition_holds,
    failure_outcome,
)
from tasker_ctl.engine.worker.attempt import Attempt, Outcome
from tasker_ctl.engine.worker.claimed_step import ClaimedStep
from tasker_ctl.engine.worker.stored_outcome import MESSAGE_LIMIT, readable, stored_metadata
from tasker_ctl.errors import SchemaUnusableError
from tasker_ctl.sdk.contracts import compile_schema
from tasker_ctl.sdk.domain_events import (
    BasePublisher,
    DefaultPublisher,
    EventDeclaration,
    StepEventContext,
)
from tasker_ctl.sdk.registry import HandlerRegistry
from tasker_ctl.storable import storable_text, unstorable
from tasker_ctl.template.model import EventDeclaration as DeclaredEvent

logger = logging.getLogger("tasker_ctl.engine.worker")

# at most this many schema violations are kept with a rejected event
PROBLEM_LIMIT = 20
_DEFAULT = DefaultPublisher()


def events_of(
    attempt: Attempt, outcome: Outcome, registry: HandlerRegistry | None, worker_id: str
) -> list[PreparedEvent]:
    """The events ``outcome`` publishes: for a failure, those of the failure the database
    is expected to make of it (``tasker.fail_step`` has the last word)."""
    if not attempt.definition.publishes_events:
        return []
    step = attempt.step
    expected = (
        StepOutcome.SUCCESS
        if outcome.success
        else failure_outcome(
            error_retryable=outcome.retryable,
            step_retryable=step.retryable,
            attempt=attempt.number,
            max_attempts=step.max_attempts,
        )
    )
    return prepare_events(attempt, outcome, expected, registry, worker_id)


def event_source(step: ClaimedStep) -> EventSource:
    """The attempt the events of ``step``'s outcome belong to."""
    return EventSource(step.step_uuid, step.task_uuid, step.namespace_name, step.attempt)


def prepare_events(
    attempt: Attempt,
    outcome: Outcome,
    expected: StepOutcome,
    registry: HandlerRegistry | None,
    worker_id: str,
) -> list[PreparedEvent]:
    """The events of ``attempt``'s declarations that ``expected`` publishes. Never raises:
    a fault here must not keep the outcome from being recorded."""
    prepared = []
    try:
        for index, declared in enumerate(attempt.definition.publishes_events):
            if not condition_holds(declared.condition.value, expected):
                continue
            event = _prepare(index, declared, attempt, outcome, expected, registry, worker_id)
            if event is not None:
                prepared.append(event)
    except Exception as error:
        logger.error("domain events of %s not prepared: %s", attempt.step.name, error)
    return prepared


def announce(events: list[PreparedEvent]) -> None:
    """Tell the publishers of events now committed (their ``after_publish``); never raises."""
    for event in events:
        if event.announce is None or event.rejection is not None:
            continue
        try:
            event.announce()
        except Exception as error:  # a publisher's hook: logged, never the worker's failure
            logger.warning("after_publish of %s raised: %s", event.name, readable(error))


def _prepare(
    index: int,
    declared: DeclaredEvent,
    attempt: Attempt,
    outcome: Outcome,
    expected: StepOutcome,
    registry: HandlerRegistry | None,
    worker_id: str,
) -> PreparedEvent | None:
    # Tasker Core publishes every event of a step through its first declaration's publisher;
    # a declaration that names its own uses that one
    named = declared.publisher or attempt.definition.publishes_events[0].publisher
    publisher, missing = _publisher(registry, named)
    context = _context(declared, attempt, outcome, expected)
    metadata: dict[str, Any] = {
        "task_uuid": context.task_uuid,
        "step_uuid": context.step_uuid,
        "step_name": context.step_name,
        "namespace": context.namespace,
        "correlation_id": context.correlation_id,
        "fired_at": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
        "fired_by": worker_id,
        "publisher": _name_of(publisher),
    }
    if missing is not None:
        metadata["publisher_not_loaded"] = missing

    def made(
        payload: Any, rejection: dict[str, Any] | None, extra: dict[str, Any] | None = None
    ) -> PreparedEvent:
        full = stored_metadata({**metadata, **(extra or {})})
        return PreparedEvent(
            index=index,
            name=declared.name,
            condition=declared.condition.value,
            delivery_mode=declared.delivery_mode.value,
            publisher=named,
            payload=payload,
            metadata=full,
            rejection=rejection,
            announce=lambda: publisher.after_publish(declared.name, payload, full),
        )

    payload: Any = None
    try:
        if not publisher.should_publish(context):
            return None
        payload = publisher.transform_payload(context)
        extra = dict(publisher.additional_metadata(context) or {})
        if not publisher.before_publish(declared.name, payload, {**metadata, **extra}):
            return None
    except Exception as error:
        try:
            publisher.on_publish_error(declared.name, error, payload)
        except Exception as hook_error:
            logger.warning("on_publish_error of %s raised: %s", declared.name, hook_error)
        name = named or _name_of(publisher)
        return made(
            {},
            _rejection(
                PUBLISHER_FAILED,
                f"publisher '{name}' raised {error.__class__.__name__}: {readable(error)}",
            ),
        )
    problem = unstorable(payload)
    if problem is not None:
        message = f"the payload cannot be stored: {problem}"
        return made({}, _rejection(PAYLOAD_NOT_STORABLE, message))
    return made(payload, _schema_rejection(declared, payload), extra)


def _publisher(
    registry: HandlerRegistry | None, name: str | None
) -> tuple[BasePublisher, str | None]:
    """The publisher of a declaration, and the name of one that is not loaded (then the
    default publisher stands in, as in Tasker Core)."""
    if name is None:
        return _DEFAULT, None
    found = None
    if registry is not None:
        try:
            found = registry.resolve_publisher(name)
        except Exception as error:  # the publisher's constructor raised
            logger.warning("publisher %s could not be made: %s", name, readable(error))
    if found is None:
        logger.warning("publisher %s is not loaded: the default publisher is used", name)
        return _DEFAULT, name
    return found, None


def _name_of(publisher: BasePublisher) -> str:
    """The publisher's name, or its class's when ``publisher_name`` raises."""
    try:
        return str(publisher.publisher_name)
    except Exception:
        return type(publisher).__qualname__


def _context(
    declared: DeclaredEvent, attempt: Attempt, outcome: Outcome, expected: StepOutcome
) -> StepEventContext:
    envelope = outcome.envelope
    step = attempt.step
    return StepEventContext(
        task_uuid=str(step.task_uuid),
        step_uuid=str(step.step_uuid),
        step_name=step.name,
        namespace=step.namespace_name,
        correlation_id=step.task.correlation_id,
        result=envelope.get("result"),
        metadata=dict(envelope.get("metadata") or {}),
        event_name=declared.name,
        event_declaration=EventDeclaration.model_validate(
            declared.model_dump(mode="json", by_alias=True)
        ),
        success=outcome.success,
        outcome=expected.value,
        attempt=attempt.number,
        error=envelope.get("error"),
        task_context=step.task.context,
    )


def _schema_rejection(declared: DeclaredEvent, payload: Any) -> dict[str, Any] | None:
    try:
        check = compile_schema(declared.json_schema)
        problems = check(payload) if check is not None else []
    except SchemaUnusableError as error:
        return _rejection(SCHEMA_UNUSABLE, f"the event's schema cannot be applied: {error}")
    except Exception as error:
        return _rejection(
            SCHEMA_UNUSABLE, f"the event's schema cannot be applied: {readable(error)}"
        )
    if not problems:
        return None
    return _rejection(
        SCHEMA_VIOLATION,
        f"the payload does not match the schema of '{declared.name}': {problems[0]}",
        problems[:PROBLEM_LIMIT],
    )


def _rejection(code: str, message: str, problems: list[str] | None = None) -> dict[str, Any]:
    return {
        "code": code,
        "message": storable_text(message, MESSAGE_LIMIT),
        "problems": [storable_text(problem, MESSAGE_LIMIT) for problem in problems or []],
    }
