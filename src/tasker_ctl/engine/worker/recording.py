"""Recording: what a worker writes of an attempt's outcome, and what follows once it is in.

An outcome is recorded along one of these paths:

- a plain success is kept and recorded together with the worker's next claim, in one
  statement (``flush``); several at once when steps claimed together ran one after another;
- a success that adds steps (a decision's choice, a batchable step's workers) is recorded in
  one transaction with the steps it creates (``record``);
- a failure is recorded with the retry policy's backoff (``record``);
- the domain events a step declares are written in the transaction of the outcome they
  describe (``record``; a success that publishes is never kept for the next claim), so a
  refused outcome leaves none (``worker.domain_events``, ``graph.domain_events``);
- a composition stopped at a gate parks its step for an approver (``record``);
- an attempt that broke the loop, whose result the database refused, or whose template cannot
  run it is failed with the cause instead (``fail_instead``, ``record_unrunnable``).

Every outcome is fenced by its attempt number: one whose attempt was taken over (the lease ran
out and another worker claimed the step) is refused, logged and otherwise dropped. Once an
outcome is in (or refused), its lease is released, its telemetry span ends and the worker's
``on_outcome`` hook is called.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from contextlib import nullcontext, suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from tasker_ctl.engine.errors import NotStorableError
from tasker_ctl.engine.graph.domain_events import PreparedEvent, write_step_events
from tasker_ctl.engine.graph.fragments import materialize_fill
from tasker_ctl.engine.graph.growth import grow_from_batch, grow_from_decision
from tasker_ctl.engine.rules.domain_events import StepOutcome, outcome_of_state
from tasker_ctl.engine.rules.retry import backoff_seconds
from tasker_ctl.engine.store.connection import Json, Store
from tasker_ctl.engine.worker.attempt import Attempt, Outcome
from tasker_ctl.engine.worker.claimed_step import ClaimedStep
from tasker_ctl.engine.worker.claiming import Claims, Completion
from tasker_ctl.engine.worker.composition_step import GateWait
from tasker_ctl.engine.worker.domain_events import announce, event_source, events_of
from tasker_ctl.engine.worker.failpoints import failpoint
from tasker_ctl.engine.worker.options import WorkerOptions
from tasker_ctl.engine.worker.retrying import Retrier
from tasker_ctl.engine.worker.stored_outcome import (
    MESSAGE_LIMIT,
    failure_note,
    readable,
    stored_text,
)
from tasker_ctl.engine.worker.unrecorded import database_away, refused_result
from tasker_ctl.errors import StaleAttemptError
from tasker_ctl.sdk.registry import HandlerRegistry
from tasker_ctl.storable import unstorable
from tasker_ctl.telemetry import AttemptResult, AttemptSpan, Telemetry

logger = logging.getLogger("tasker_ctl.engine.worker")


@dataclass
class KeptSuccess:
    """A success run and not yet recorded."""

    attempt: Attempt
    outcome: Outcome
    span: AttemptSpan | None  # ended once the success is recorded

    @property
    def step(self) -> ClaimedStep:
        return self.attempt.step


class Recorder:
    """Records a worker's outcomes on its connection (see the module's docstring)."""

    def __init__(
        self,
        options: WorkerOptions,
        claims: Claims,
        retrying: Retrier,
        stop: threading.Event,
        *,
        on_outcome: Callable[[Attempt, Outcome], None] | None,
        telemetry: Telemetry | None,
        registry: HandlerRegistry | None = None,
    ) -> None:
        """``registry`` holds the custom publishers of domain events (the default
        publisher stands in for any it lacks)."""
        self._options, self._claims, self._retrying = options, claims, retrying
        self._stop, self.on_outcome, self._telemetry = stop, on_outcome, telemetry
        self._registry = registry
        # successes run and not yet recorded: recorded together with the next claim
        self.kept: list[KeptSuccess] = []
        self._oldest_kept = 0.0  # monotonic time the first of them was run

    def keep(self, attempt: Attempt, outcome: Outcome, span: AttemptSpan | None) -> None:
        """Keep a success that adds no steps, to be recorded with the next claim."""
        if not self.kept:
            self._oldest_kept = time.monotonic()
        self.kept.append(KeptSuccess(attempt, outcome, span))

    def settle(self, store: Store) -> None:
        """After an attempt: record the kept successes once no step waits in hand (claiming
        the next steps with them unless the worker is stopping), or while steps claimed with
        them wait their turn, once stopping or once the first has waited ``batch_window``."""
        if not self.kept:
            return
        if not self._claims.in_hand:
            self.flush(store, claim=not self._stop.is_set())
        elif self._stop.is_set() or (
            time.monotonic() - self._oldest_kept > self._options.batch_window
        ):
            self.flush(store, claim=False)

    def flush(self, store: Store, *, claim: bool) -> None:
        """Record the successes kept so far and, with ``claim``, claim the next batch into
        the hand, in one statement."""
        successes, self.kept = self.kept, []
        limit = self._claims.batch_size() if claim else 0
        if not successes and not limit:
            return
        if len(successes) <= 1:
            self._flush_one(store, successes[0] if successes else None, limit)
            return
        completions = [self._completion(s.attempt, s.outcome) for s in successes]
        try:
            batch = self._retrying(
                store, lambda: self._claims.claim_recording(store, completions, limit)
            )
        except Exception as error:
            if database_away(error):
                raise
            # a row the database would not take: one by one, that one fails with the cause
            logger.warning("a batch of %d successes was refused: %s", len(successes), error)
            for success in successes:
                self._flush_one(store, success, 0)
            if limit:
                self._flush_one(store, None, limit)
            return
        self._claims.take(batch.claimed)
        for i, success in enumerate(successes):
            recorded = success.step.step_uuid not in batch.refused
            self._recorded(store, success, recorded=recorded, later=successes[i + 1 :])

    def _flush_one(self, store: Store, success: KeptSuccess | None, limit: int) -> None:
        """flush for at most one success: the statement a chain takes, which hands the
        worker a child the success makes ready."""
        completion = None if success is None else self._completion(success.attempt, success.outcome)
        try:
            claimed = self._retrying(store, lambda: self._claims.claim(store, completion, limit))
        except StaleAttemptError:
            if success is None:
                raise
            self._recorded(store, success, recorded=False, later=[])
            return
        except Exception as error:
            if success is None or database_away(error):
                raise
            # the database refused this result: the step fails with the cause instead
            self.fail_instead(store, success.attempt, success.span, refused_result, error)
            if limit:
                self._claims.take(
                    self._retrying(store, lambda: self._claims.claim(store, None, limit))
                )
            return
        self._claims.take(claimed)
        if success is not None:
            self._recorded(store, success, recorded=True, later=[])

    def _completion(self, attempt: Attempt, outcome: Outcome) -> Completion:
        return Completion(
            step_uuid=attempt.step.step_uuid,
            attempt=attempt.number,
            results=Json(outcome.envelope),
            metadata=Json({"worker": self._options.worker_id, "duration_ms": outcome.duration_ms}),
        )

    def _recorded(
        self, store: Store, success: KeptSuccess, *, recorded: bool, later: list[KeptSuccess]
    ) -> None:
        """After a success was recorded (or refused), with ``later`` the successes recorded
        after it in the same transaction."""
        attempt, outcome = success.attempt, success.outcome
        self._claims.release(success.step.step_uuid)
        if not recorded:
            # Our lease expired and another worker took the step over: its attempt wins.
            logger.warning(
                "result of %s attempt %s refused: the attempt was taken over",
                attempt.step.name,
                attempt.number,
            )
        if success.span is not None and self._telemetry is not None:
            from tasker_ctl.engine.worker.instrumentation import attempt_result, end_span

            # a task is finished by the last of its successes in the transaction, and not
            # while a step of it is in hand
            task = attempt.step.task_uuid
            done = not self._claims.hold_of_task(task) and not any(
                s.step.task_uuid == task for s in later
            )
            result = attempt_result(outcome, recorded=recorded)
            end_span(store, self._telemetry, success.span, result, attempt.step, may_finish=done)
        if self.on_outcome is not None:
            self.on_outcome(attempt, outcome)

    def record_now(self, store: Store, attempt: Attempt, outcome: Outcome) -> bool:
        """Record an outcome that is not kept for the next claim, after the successes kept
        before it (outcomes are recorded in the order they came); False when it was refused
        (the attempt was taken over)."""
        self.flush(store, claim=False)
        if outcome.awaiting is not None:
            recorded = self._park_at_gate(store, attempt, outcome.awaiting)
        else:
            recorded = self._record(store, attempt, outcome)
        self._claims.release(attempt.step.step_uuid)
        if self.on_outcome is not None:
            self.on_outcome(attempt, outcome)
        return recorded

    def _park_at_gate(self, store: Store, attempt: Attempt, waiting: GateWait) -> bool:
        """Leave the step waiting for an approver; False when the attempt was taken over."""
        try:
            self._retrying(
                store,
                lambda: store.fetch_value(
                    "await_gate",
                    step_uuid=attempt.step.step_uuid,
                    attempt=attempt.number,
                    checkpoint=Json(waiting.checkpoint),
                    metadata=Json({"worker": self._options.worker_id, **waiting.metadata}),
                ),
            )
        except StaleAttemptError as error:
            logger.warning("gate of %s not parked: %s", attempt.step.name, error)
            return False
        return True

    def _record(self, store: Store, attempt: Attempt, outcome: Outcome) -> bool:
        """Record the outcome; False when it was refused (the attempt was taken over)."""
        number = attempt.number
        events = events_of(attempt, outcome, self._registry, self._options.worker_id)
        try:
            if outcome.success:
                completion = self._completion(attempt, outcome)
                claimed, written = self._retrying(
                    store, lambda: self._complete(store, attempt, outcome, completion, events)
                )
                self._claims.take(claimed)
            else:
                delay = backoff_seconds(
                    attempt.prepared.retry_policy, number, retry_after=outcome.retry_after
                )
                written = self._fail(
                    store, attempt.step, outcome.envelope, outcome.retryable, delay, events
                )
        except StaleAttemptError as error:
            # Our lease expired and another worker took the step over: its attempt wins.
            logger.warning("result of %s attempt %s refused: %s", attempt.step.name, number, error)
            return False
        announce(written)
        return True

    def _complete(
        self,
        store: Store,
        attempt: Attempt,
        outcome: Outcome,
        completion: Completion,
        events: list[PreparedEvent],
    ) -> tuple[list[ClaimedStep], list[PreparedEvent]]:
        """Record a success that adds steps or publishes events and, unless the worker is
        stopping or has steps in hand, claim its next step; with the events written. The
        steps a decision chose, a batchable step's workers and the domain events are written
        in the same transaction: a crash or a refused result (a lost lease) leaves none."""
        step = attempt.step
        atomic = outcome.grows or bool(events)
        with store.transaction() if atomic else nullcontext():
            if atomic:
                # first: run again after a lost connection, this finds a committed first run
                # (StaleAttemptError) before it writes the new steps a second time
                store.fetch_one(
                    "lock_current_attempt", step_uuid=step.step_uuid, attempt=attempt.number
                )
            if outcome.chosen:
                segments = attempt.prepared.segments
                if segments is None:  # only decision steps choose
                    raise RuntimeError(f"step {step.name} is not a decision step")
                grow_from_decision(store, segments, step.origin, outcome.chosen)
            if outcome.batch is not None:
                planner = attempt.prepared.batches
                if planner is None:  # only batchable steps create workers
                    raise RuntimeError(f"step {step.name} is not a batchable step")
                grow_from_batch(store, planner, step.origin, outcome.batch)
            if outcome.fill is not None:
                materialize_fill(store, step.origin, outcome.fill)
                failpoint("planning.materializing")
            written = write_step_events(store, event_source(step), StepOutcome.SUCCESS, events)
            if self._stop.is_set() or self._claims.in_hand:  # enough work in hand
                store.fetch_one("complete_step", **completion.parameters())
                return [], written
            return self._claims.claim(store, completion), written

    def _fail(
        self,
        store: Store,
        step: ClaimedStep,
        envelope: dict[str, Any],
        retryable: bool,
        backoff: float,
        events: list[PreparedEvent] | None = None,
    ) -> list[PreparedEvent]:
        """Record the failure and, in its transaction, the domain events of the failure
        the database made of it (retryable or permanent); those written."""

        def fail() -> list[PreparedEvent]:
            with store.transaction() if events else nullcontext():
                row = store.fetch_one(
                    "fail_step",
                    step_uuid=step.step_uuid,
                    attempt=step.attempt,
                    results=Json(envelope),
                    retryable=retryable,
                    backoff_seconds=backoff,
                    metadata=Json({"worker": self._options.worker_id, **failure_note(envelope)}),
                )
                if not events or row is None:
                    return []
                outcome = outcome_of_state(str(row["step_state"]))
                return write_step_events(store, event_source(step), outcome, events)

        return self._retrying(store, fail)

    def fail_instead(
        self,
        store: Store,
        attempt: Attempt,
        span: AttemptSpan | None,
        failure: Callable[[Attempt, Exception, str], Outcome],
        error: Exception,
    ) -> None:
        """Record ``failure``'s outcome, naming ``error``, for an attempt whose own outcome
        could not be recorded or whose run broke the loop."""
        logger.error("step %s attempt %s: %s", attempt.step.name, attempt.number, error)
        outcome = failure(attempt, error, self._options.worker_id)
        recorded = self._record(store, attempt, outcome)
        self._claims.release(attempt.step.step_uuid)
        if span is not None and self._telemetry is not None:
            from tasker_ctl.engine.worker.instrumentation import attempt_result, end_span

            result = attempt_result(outcome, recorded=recorded)
            end_span(store, self._telemetry, span, result, attempt.step, may_finish=True)
        if self.on_outcome is not None:
            try:
                self.on_outcome(attempt, outcome)
            except Exception as hook_error:  # the hook may be what broke: it must not loop
                logger.error("outcome hook failed for %s: %s", attempt.step.name, hook_error)

    def record_unrunnable(self, store: Store, step: ClaimedStep, error: Exception) -> None:
        """Fail for good a step that its template cannot run: no handler can help."""
        logger.error("step %s cannot run: %s", step.name, error)
        message = stored_text(
            f"step '{step.name}' cannot run: {error.__class__.__name__}: {readable(error)}",
            MESSAGE_LIMIT,
        )
        span = None
        if self._telemetry is not None:
            from tasker_ctl.engine.worker.instrumentation import attempt_info

            span = self._telemetry.start_attempt(attempt_info(step, None, self._options.worker_id))
        envelope = {
            "step_uuid": str(step.step_uuid),
            "success": False,
            "result": None,
            "status": "permanent_error",
            "error": {"message": message, "error_type": "template_error", "retryable": False},
            "metadata": {
                "retryable": False,
                "error_type": "template_error",
                "attempt": step.attempt,
                "worker_id": self._options.worker_id,
                "completed_at": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
            },
        }
        recorded = False
        with suppress(StaleAttemptError):
            self._fail(store, step, envelope, False, 0.0)
            recorded = True
        if span is not None and self._telemetry is not None:
            from tasker_ctl.engine.worker.instrumentation import end_span

            result = AttemptResult(False, 0, "template_error", message, recorded=recorded)
            end_span(store, self._telemetry, span, result, step, may_finish=True)
        self._claims.release(step.step_uuid)

    def keep_checkpoint(
        self, store: Store, attempt: Attempt, checkpoint: dict[str, Any]
    ) -> Attempt | None:
        """Store a checkpoint_yield's progress for the handler's next dispatch (in this
        attempt, or a retry's): the attempt resumed from it, None when the attempt is no
        longer this worker's. A composition's checkpoint that cannot be stored fails the
        attempt (NotStorableError)."""
        problem = unstorable(checkpoint)
        if problem is not None:
            raise NotStorableError(attempt.step.name, problem)
        try:
            saved = self._retrying(
                store,
                lambda: store.fetch_value(
                    "record_checkpoint",
                    step_uuid=attempt.step.step_uuid,
                    attempt=attempt.number,
                    worker=self._options.worker_id,
                    checkpoint=Json(checkpoint),
                    lease_seconds=self._options.lease_seconds,
                ),
            )
        except StaleAttemptError as error:
            logger.warning("checkpoint of %s refused: %s", attempt.step.name, error)
            return None
        return attempt.resumed_from(saved)
