"""Workers: claim a ready step, run its handler, record the outcome; repeat.

Any number of workers, in threads or processes on any number of machines, share one database.
Claiming uses ``FOR UPDATE SKIP LOCKED`` and a lease that a heartbeat renews while the handler
runs; the attempt number is the fencing token, so a worker that lost its lease cannot record a
result over a newer attempt. Idle workers sleep until NOTIFY ``tasker_steps_ready`` wakes them,
or until the next retry falls due, polling as a fallback.

The hot path is one statement per attempt: it records the previous attempt's success and
claims the next step, reading everything its handler needs (task, parents' results, template
revision) in the same round trip. Other ancestors' results are read only when a handler asks.

A lost connection (the database restarted, say) is reopened with backoff and the work goes on
where it was: engine calls cut off are run again, which their fencing makes safe, and claims
whose reply was lost are taken back (``reconnect``; docs/engine.md, "When the database goes
away"). Only a database that stays away past ``reconnect_limit`` ends the worker.

With telemetry on (``tasker_ctl.telemetry``), each attempt is a span, a child of its task's,
and the worker whose outcome finishes a task emits the task's span (``instrumentation``).
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from contextlib import nullcontext, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar

from tasker_ctl.engine.graph.growth import grow_from_batch, grow_from_decision
from tasker_ctl.engine.rules.retry import backoff_seconds
from tasker_ctl.engine.store.connection import Json, Store, connect, connection_lost
from tasker_ctl.engine.store.reconnect import (
    DEFAULT_RECONNECT_LIMIT,
    ReconnectAbandoned,
    Reconnection,
)
from tasker_ctl.engine.worker.ancestors import AncestorResults
from tasker_ctl.engine.worker.composition_step import GateWait, GrammarServices
from tasker_ctl.engine.worker.executor import Attempt, Outcome, PreparedTemplate, execute
from tasker_ctl.engine.worker.handler_process import HandlerProcess, Isolation
from tasker_ctl.engine.worker.heartbeat import Heartbeat
from tasker_ctl.engine.worker.stored_outcome import (
    MESSAGE_LIMIT,
    NotStorableError,
    readable,
    stored_text,
)
from tasker_ctl.engine.worker.unrecorded import broken_attempt, database_away, refused_result
from tasker_ctl.errors import DatabaseError, StaleAttemptError, TransactionConflictError
from tasker_ctl.sdk.registry import HandlerRegistry
from tasker_ctl.storable import unstorable
from tasker_ctl.telemetry import AttemptResult, AttemptSpan, Telemetry, current_telemetry
from tasker_ctl.template.model import TaskTemplate
from tasker_ctl.trust import TrustPolicy

logger = logging.getLogger("tasker_ctl.engine.worker")

READY_CHANNEL = "tasker_steps_ready"
# How often an idle worker looks at its stop event while it waits for a notification.
STOP_CHECK_SECONDS = 0.1
_CONFLICT_RETRIES = 3

T = TypeVar("T")


def default_worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


@dataclass
class WorkerOptions:
    namespaces: list[str] | None = None
    task_uuid: uuid.UUID | None = None  # only this task's steps (tasker-ctl run)
    lease_seconds: int = 30
    poll_interval: float = 2.0
    worker_id: str = field(default_factory=default_worker_id)
    # Steps claimed at once, at most; a worker claims more than one only while its handlers
    # are quick: as many as its recent handler times fit in ``batch_window`` seconds.
    claim_batch: int = 16
    batch_window: float = 0.02
    # Seconds the database may stay away (a restart, say) before the worker gives up with
    # DatabaseUnavailableError; meanwhile it reconnects with backoff. 0: give up at once.
    reconnect_limit: float = DEFAULT_RECONNECT_LIMIT
    # Where handlers run: "thread" in the worker, "process" in a handler process of its own
    # (steps with ``isolation: process`` always do); ``handlers`` are the ``--handlers``
    # locations that process loads (docs/engine.md, handler isolation).
    isolation: Isolation = "thread"
    handlers: tuple[str, ...] = ()
    # what the operator grants compositions beyond their templates (TASKER_* variables)
    trust: TrustPolicy = field(default_factory=TrustPolicy.from_environment)


class Worker:
    """One claim-execute loop on its own database connection."""

    def __init__(
        self,
        database_url: str,
        registry: HandlerRegistry,
        options: WorkerOptions | None = None,
        stop: threading.Event | None = None,
        *,
        on_outcome: Callable[[Attempt, Outcome], None] | None = None,
        telemetry: Telemetry | None = None,
    ) -> None:
        """``on_outcome`` is called, on the worker's thread, after each outcome is recorded
        (also when it was refused as stale). ``telemetry`` defaults to the process's
        (``current_telemetry()``: off unless the OTEL_* variables ask for it)."""
        self.database_url = database_url
        self.registry = registry
        self.options = options or WorkerOptions()
        self.stop = stop or threading.Event()
        self.on_outcome = on_outcome
        self.telemetry = telemetry if telemetry is not None else current_telemetry()
        self.executed = 0
        self._templates: dict[str, PreparedTemplate] = {}
        # claimed and not yet run, in the order they were claimed
        self._in_hand: deque[dict[str, Any]] = deque()
        # successes run and not yet recorded: recorded together with the next claim
        self._successes: list[_Success] = []
        self._oldest_success = 0.0  # monotonic time the first of them was run
        self._handler_seconds: float | None = None  # recent handler times (moving average)
        self._heartbeat = Heartbeat(database_url, self.options)
        self._reconnection = Reconnection(
            self.options.reconnect_limit, who=f"worker {self.options.worker_id}"
        )
        # a connection was lost: claims whose reply it took may wait to be taken back
        self._claims_lost = False
        # started on the first attempt that runs in a process of its own
        self._handler_process = HandlerProcess(
            registry, self.options.handlers, self.options.isolation, name="tasker-handlers"
        )

    def run(self) -> None:
        """Work until ``stop`` is set; attempts in hand are finished first.

        A lost connection is reopened and the work goes on; a database that stays away past
        ``reconnect_limit`` ends this with ``DatabaseUnavailableError``. Asked to stop while
        it waits for the database, with nothing to record, the worker ends at once.
        """
        try:
            store = self._open()
        except ReconnectAbandoned:
            return
        with store:
            self._heartbeat.close()
            self._heartbeat = Heartbeat(self.database_url, self.options)
            try:
                while not self.stop.is_set() or self._in_hand:
                    try:
                        if self._claims_lost:
                            self._take_back(store)
                        if self.run_once(store):
                            continue
                        self._idle(store)
                    except DatabaseError as error:
                        if not connection_lost(error):
                            raise
                        self._restore(store, error)
            except ReconnectAbandoned:
                logger.warning("worker %s stopped without the database", self.options.worker_id)
            finally:
                try:
                    if self._successes and not store.closed:
                        self._flush(store, claim=False)
                except DatabaseError as error:  # their steps are retried once leases expire
                    logger.warning("successes not recorded on the way out: %s", error)
                finally:
                    self._heartbeat.close()
                    self._handler_process.close()

    def run_once(self, store: Store) -> bool:
        """Run one claimed attempt, claiming first when none is in hand; False when nothing
        was claimable.

        Successes are recorded together with the next claim (none when ``stop`` is set);
        while steps claimed with them wait their turn, for at most ``batch_window`` seconds.
        When this returns with nothing in hand, every outcome is recorded.
        """
        if not self._in_hand:
            self._flush(store, claim=True)
        if not self._in_hand:
            return False
        row = self._in_hand.popleft()
        try:
            attempt = self._retrying(store, lambda: self._attempt(store, row))
        except DatabaseError:
            raise
        except Exception as error:  # the template cannot run this step: no handler can help
            self._record_unrunnable(store, row, error)
            self._heartbeat.release(row["workflow_step_uuid"])
        else:
            try:
                if self.telemetry is None:
                    self._run(store, attempt)
                else:
                    self._run_traced(store, attempt, self.telemetry)
            except Exception as error:
                if database_away(error):
                    raise
                # this attempt's fault (a bug, a row the database refused): failed with the
                # cause, and the loop goes on
                self._fail_instead(store, attempt, None, broken_attempt, error)
        if self._successes:
            if not self._in_hand:
                self._flush(store, claim=not self.stop.is_set())
            elif self.stop.is_set() or (
                time.monotonic() - self._oldest_success > self.options.batch_window
            ):
                self._flush(store, claim=False)
        return True

    def _run(
        self, store: Store, attempt: Attempt, span: AttemptSpan | None = None
    ) -> tuple[Outcome | None, bool | None]:
        """Run the attempt and record its outcome: the outcome and whether it was recorded,
        None when it is a success kept for the next claim (no outcome when the attempt was
        taken over while it ran)."""
        step_uuid = attempt.step["workflow_step_uuid"]
        services = None
        if attempt.prepared.grammar is not None:
            services = GrammarServices(
                self.database_url,
                lambda saved: self._keep_checkpoint(store, attempt, saved),
                trust=self.options.trust,
            )
        started = time.perf_counter()
        limit = self.options.trust.max_result_bytes
        outcome = execute(
            attempt,
            self.registry,
            self.options.worker_id,
            services,
            self._handler_process,
            max_result_bytes=limit,
        )
        while outcome.checkpoint is not None:
            if not self._keep_checkpoint(store, attempt, outcome.checkpoint):
                self._heartbeat.release(step_uuid)
                return None, False  # the attempt was taken over: its result would be refused
            outcome = execute(
                attempt,
                self.registry,
                self.options.worker_id,
                services,
                self._handler_process,
                max_result_bytes=limit,
            )
        self._timed(time.perf_counter() - started)
        self.executed += 1
        if outcome.success and not outcome.grows:
            if not self._successes:
                self._oldest_success = time.monotonic()
            self._successes.append(_Success(attempt, outcome, span))
            return outcome, None
        self._flush(store, claim=False)  # outcomes are recorded in the order they came
        if outcome.awaiting is not None:
            recorded = self._park_at_gate(store, attempt, outcome.awaiting)
        else:
            recorded = self._record(store, attempt, outcome)
        self._heartbeat.release(step_uuid)
        if self.on_outcome is not None:
            self.on_outcome(attempt, outcome)
        return outcome, recorded

    def _timed(self, seconds: float) -> None:
        previous = self._handler_seconds
        self._handler_seconds = seconds if previous is None else 0.7 * previous + 0.3 * seconds

    def _batch_size(self) -> int:
        """How many steps to claim: one until the worker has timed a handler, then as many
        as recent handler times fit in the batch window."""
        most, seconds = self.options.claim_batch, self._handler_seconds
        if most <= 1 or seconds is None:
            return 1
        return max(1, min(most, int(self.options.batch_window / max(seconds, 1e-6))))

    def _flush(self, store: Store, *, claim: bool) -> None:
        """Record the successes kept so far and, with ``claim``, claim the next batch into
        the hand, in one statement."""
        successes, self._successes = self._successes, []
        limit = self._batch_size() if claim else 0
        if not successes and not limit:
            return
        if len(successes) <= 1:
            self._flush_one(store, successes[0] if successes else None, limit)
            return
        completions = [self._completion(s.attempt, s.outcome) for s in successes]
        try:
            rows = self._retrying(
                store,
                lambda: store.fetch_all(
                    "claim_attempts",
                    steps=[c["step_uuid"] for c in completions],
                    attempts=[c["attempt"] for c in completions],
                    results=[c["results"] for c in completions],
                    metadata=[c["metadata"] for c in completions],
                    worker=self.options.worker_id,
                    namespaces=self.options.namespaces,
                    lease_seconds=self.options.lease_seconds,
                    task_uuid=self.options.task_uuid,
                    limit=limit,
                ),
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
        refused = {row["refused_step"] for row in rows if row["refused_step"] is not None}
        claimed = [row for row in rows if row.pop("refused_step") is None]
        self._take(claimed)
        for i, success in enumerate(successes):
            self._recorded(
                store, success, recorded=success.step_uuid not in refused, later=successes[i + 1 :]
            )

    def _flush_one(self, store: Store, success: _Success | None, limit: int) -> None:
        """_flush for at most one success: the statement a chain takes, which hands the
        worker a child the success makes ready."""
        completion = None if success is None else self._completion(success.attempt, success.outcome)
        try:
            rows = self._retrying(store, lambda: self._claim(store, completion, limit))
        except StaleAttemptError:
            if success is None:
                raise
            self._recorded(store, success, recorded=False, later=[])
            return
        except Exception as error:
            if success is None or database_away(error):
                raise
            # the database refused this result: the step fails with the cause instead
            self._fail_instead(store, success.attempt, success.span, refused_result, error)
            if limit:
                self._take(self._retrying(store, lambda: self._claim(store, None, limit)))
            return
        self._take(rows)
        if success is not None:
            self._recorded(store, success, recorded=True, later=[])

    def _completion(self, attempt: Attempt, outcome: Outcome) -> dict[str, Any]:
        """A success as complete_step takes it."""
        return {
            "step_uuid": attempt.step["workflow_step_uuid"],
            "attempt": attempt.number,
            "results": Json(outcome.envelope),
            "metadata": Json(
                {"worker": self.options.worker_id, "duration_ms": outcome.duration_ms}
            ),
        }

    def _take(self, rows: list[dict[str, Any]]) -> None:
        """Put claimed rows in hand; their leases are renewed until their outcomes are in."""
        self._in_hand.extend(rows)
        self._heartbeat.hold((row["workflow_step_uuid"], row["attempts"]) for row in rows)

    def _recorded(
        self, store: Store, success: _Success, *, recorded: bool, later: list[_Success]
    ) -> None:
        """After a success was recorded (or refused), with ``later`` the successes recorded
        after it in the same transaction."""
        attempt, outcome = success.attempt, success.outcome
        self._heartbeat.release(success.step_uuid)
        if not recorded:
            # Our lease expired and another worker took the step over: its attempt wins.
            logger.warning(
                "result of %s attempt %s refused: the attempt was taken over",
                attempt.step["name"],
                attempt.number,
            )
        if success.span is not None and self.telemetry is not None:
            from tasker_ctl.engine.worker.instrumentation import attempt_result

            # a task is finished by the last of its successes in the transaction, and not
            # while a step of it is in hand
            task = attempt.step["task_uuid"]
            done = not any(row["task_uuid"] == task for row in self._in_hand) and not any(
                s.attempt.step["task_uuid"] == task for s in later
            )
            result = attempt_result(outcome, recorded=recorded)
            self._end_span(
                store, self.telemetry, success.span, result, attempt.step, may_finish=done
            )
        if self.on_outcome is not None:
            self.on_outcome(attempt, outcome)

    def _run_traced(self, store: Store, attempt: Attempt, telemetry: Telemetry) -> None:
        from tasker_ctl.engine.worker.instrumentation import attempt_result, info_of

        span = telemetry.start_attempt(info_of(attempt, self.options.worker_id))
        try:
            with span.activate():  # spans the handler starts are the attempt's children
                outcome, recorded = self._run(store, attempt, span)
        except BaseException:
            span.end(AttemptResult(False, 0, error_type="worker_error", recorded=False))
            raise
        if recorded is None:
            return  # a success kept for the next claim: its span ends when it is recorded
        # an outcome with a step of its task still in hand did not finish the task
        step = attempt.step
        done = outcome is not None and (
            not outcome.success
            or not any(row["task_uuid"] == step["task_uuid"] for row in self._in_hand)
        )
        result = attempt_result(outcome, recorded=recorded)
        self._end_span(store, telemetry, span, result, step, may_finish=done)

    def _claim(
        self, store: Store, completion: dict[str, Any] | None = None, limit: int = 1
    ) -> list[dict[str, Any]]:
        """Claim up to ``limit`` attempts; with ``completion`` (a success, as complete_step
        takes it), record that in the same transaction."""
        return store.fetch_all(
            "claim_attempt",
            **(completion or _NO_COMPLETION),
            worker=self.options.worker_id,
            namespaces=self.options.namespaces,
            lease_seconds=self.options.lease_seconds,
            task_uuid=self.options.task_uuid,
            limit=limit,
        )

    def _attempt(self, store: Store, row: dict[str, Any]) -> Attempt:
        template = self._template(store, str(row["named_task_uuid"]), row["template_revision"])
        step_uuid = row["workflow_step_uuid"]

        def all_ancestors() -> dict[str, Any]:
            read = self._retrying(
                store, lambda: store.fetch_value("ancestor_results", step_uuid=step_uuid)
            )
            return read or {}

        return Attempt(
            step=row,
            task=row["task"],
            prepared=template.step(str(row["template_step_name"])),
            ancestors=AncestorResults(
                row["parent_results"] or {}, all_ancestors if row["has_more_ancestors"] else None
            ),
        )

    def _template(self, store: Store, named_task_uuid: str, revision: int) -> PreparedTemplate:
        cached = self._templates.get(named_task_uuid)
        if cached is not None and cached.revision == revision:
            return cached
        found = store.fetch_one("fetch_template", named_task_uuid=named_task_uuid)
        if found is None:
            raise LookupError(f"template {named_task_uuid} is not registered")
        prepared = PreparedTemplate(
            TaskTemplate.model_validate(found["configuration"]), revision=found["revision"]
        )
        self._templates[named_task_uuid] = prepared
        return prepared

    def _keep_checkpoint(self, store: Store, attempt: Attempt, checkpoint: dict[str, Any]) -> bool:
        """Store a checkpoint_yield's progress for the handler's next dispatch (in this
        attempt, or a retry's); False when the attempt is no longer this worker's.
        A composition's checkpoint that cannot be stored fails the attempt (NotStorableError).
        """
        problem = unstorable(checkpoint)
        if problem is not None:
            raise NotStorableError(attempt.step["name"], problem)
        try:
            saved = self._retrying(
                store,
                lambda: store.fetch_value(
                    "record_checkpoint",
                    step_uuid=attempt.step["workflow_step_uuid"],
                    attempt=attempt.number,
                    worker=self.options.worker_id,
                    checkpoint=Json(checkpoint),
                    lease_seconds=self.options.lease_seconds,
                ),
            )
        except StaleAttemptError as error:
            logger.warning("checkpoint of %s refused: %s", attempt.step["name"], error)
            return False
        attempt.step["checkpoint"] = saved
        return True

    def _park_at_gate(self, store: Store, attempt: Attempt, waiting: GateWait) -> bool:
        """Leave the step waiting for an approver; False when the attempt was taken over."""
        try:
            self._retrying(
                store,
                lambda: store.fetch_value(
                    "await_gate",
                    step_uuid=attempt.step["workflow_step_uuid"],
                    attempt=attempt.number,
                    checkpoint=Json(waiting.checkpoint),
                    metadata=Json({"worker": self.options.worker_id, **waiting.metadata}),
                ),
            )
        except StaleAttemptError as error:
            logger.warning("gate of %s not parked: %s", attempt.step["name"], error)
            return False
        return True

    def _record(self, store: Store, attempt: Attempt, outcome: Outcome) -> bool:
        """Record the outcome; False when it was refused (the attempt was taken over)."""
        step_uuid, number = attempt.step["workflow_step_uuid"], attempt.number
        try:
            if outcome.success:
                completion = self._completion(attempt, outcome)
                self._take(
                    self._retrying(
                        store, lambda: self._complete(store, attempt, outcome, completion)
                    )
                )
            else:
                delay = backoff_seconds(
                    attempt.prepared.retry_policy, number, retry_after=outcome.retry_after
                )
                self._fail(store, step_uuid, number, outcome.envelope, outcome.retryable, delay)
        except StaleAttemptError as error:
            # Our lease expired and another worker took the step over: its attempt wins.
            logger.warning(
                "result of %s attempt %s refused: %s", attempt.step["name"], number, error
            )
            return False
        return True

    def _complete(
        self,
        store: Store,
        attempt: Attempt,
        outcome: Outcome,
        completion: dict[str, Any],
    ) -> list[dict[str, Any]]:
        """Record a success that adds steps and, unless the worker is stopping or has steps
        in hand, claim its next step. The steps a decision chose or a batchable step's
        workers are created in the same transaction: a crash or a refused result (a lost
        lease) leaves none of them."""
        with store.transaction() if outcome.grows else nullcontext():
            if outcome.grows:
                # first: run again after a lost connection, this finds a committed first run
                # (StaleAttemptError) before it writes the new steps a second time
                store.fetch_one(
                    "lock_current_attempt",
                    step_uuid=attempt.step["workflow_step_uuid"],
                    attempt=attempt.number,
                )
            if outcome.chosen:
                segments = attempt.prepared.segments
                if segments is None:  # only decision steps choose
                    raise RuntimeError(f"step {attempt.step['name']} is not a decision step")
                grow_from_decision(store, segments, attempt.step, outcome.chosen)
            if outcome.batch is not None:
                planner = attempt.prepared.batches
                if planner is None:  # only batchable steps create workers
                    raise RuntimeError(f"step {attempt.step['name']} is not a batchable step")
                grow_from_batch(store, planner, attempt.step, outcome.batch)
            if self.stop.is_set() or self._in_hand:  # enough work in hand
                store.fetch_one("complete_step", **completion)
                return []
            return self._claim(store, completion)

    def _fail(
        self,
        store: Store,
        step_uuid: Any,
        attempt: int,
        envelope: dict[str, Any],
        retryable: bool,
        backoff: float,
    ) -> None:
        self._retrying(
            store,
            lambda: store.fetch_one(
                "fail_step",
                step_uuid=step_uuid,
                attempt=attempt,
                results=Json(envelope),
                retryable=retryable,
                backoff_seconds=backoff,
                metadata=Json({"worker": self.options.worker_id}),
            ),
        )

    def _fail_instead(
        self,
        store: Store,
        attempt: Attempt,
        span: AttemptSpan | None,
        failure: Callable[[Attempt, Exception, str], Outcome],
        error: Exception,
    ) -> None:
        """Record ``failure``'s outcome, naming ``error``, for an attempt whose own outcome
        could not be recorded or whose run broke the loop."""
        logger.error("step %s attempt %s: %s", attempt.step["name"], attempt.number, error)
        outcome = failure(attempt, error, self.options.worker_id)
        recorded = self._record(store, attempt, outcome)
        self._heartbeat.release(attempt.step["workflow_step_uuid"])
        if span is not None and self.telemetry is not None:
            from tasker_ctl.engine.worker.instrumentation import attempt_result

            result = attempt_result(outcome, recorded=recorded)
            self._end_span(store, self.telemetry, span, result, attempt.step, may_finish=True)
        if self.on_outcome is not None:
            try:
                self.on_outcome(attempt, outcome)
            except Exception as hook_error:  # the hook may be what broke: it must not loop
                logger.error("outcome hook failed for %s: %s", attempt.step["name"], hook_error)

    def _record_unrunnable(self, store: Store, row: dict[str, Any], error: Exception) -> None:
        logger.error("step %s cannot run: %s", row["name"], error)
        message = stored_text(
            f"step '{row['name']}' cannot run: {error.__class__.__name__}: {readable(error)}",
            MESSAGE_LIMIT,
        )
        span = None
        if self.telemetry is not None:
            from tasker_ctl.engine.worker.instrumentation import attempt_info

            info = attempt_info(row, row["task"], None, self.options.worker_id)
            span = self.telemetry.start_attempt(info)
        envelope = {
            "step_uuid": str(row["workflow_step_uuid"]),
            "success": False,
            "result": None,
            "status": "permanent_error",
            "error": {"message": message, "error_type": "template_error", "retryable": False},
            "metadata": {
                "retryable": False,
                "error_type": "template_error",
                "attempt": row["attempts"],
                "worker_id": self.options.worker_id,
                "completed_at": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
            },
        }
        recorded = False
        with suppress(StaleAttemptError):
            self._fail(store, row["workflow_step_uuid"], row["attempts"], envelope, False, 0.0)
            recorded = True
        if span is not None and self.telemetry is not None:
            result = AttemptResult(False, 0, "template_error", message, recorded=recorded)
            self._end_span(store, self.telemetry, span, result, row, may_finish=True)

    def _end_span(
        self,
        store: Store,
        telemetry: Telemetry,
        span: AttemptSpan,
        result: AttemptResult,
        step: dict[str, Any],
        *,
        may_finish: bool,
    ) -> None:
        """End the span of an attempt of ``step`` (its claimed row); then, when its recorded
        outcome may have finished the task, emit the task's span if it did."""
        from tasker_ctl.engine.views.finished_tasks import report_if_finished

        span.end(result)
        if not (may_finish and result.recorded):
            return
        try:
            report_if_finished(store, telemetry, step["workflow_step_uuid"], step["attempts"])
        except DatabaseError as error:  # telemetry never stops the work
            logger.warning("cannot tell whether task %s finished: %s", step["task_uuid"], error)

    def _idle(self, store: Store) -> None:
        row = store.fetch_one(
            "next_claimable_at",
            namespaces=self.options.namespaces,
            task_uuid=self.options.task_uuid,
        )
        timeout = self.options.poll_interval
        if (
            row
            and isinstance(row.get("next_at"), datetime)
            and isinstance(row.get("now"), datetime)
        ):
            due = (row["next_at"] - row["now"]).total_seconds()
            timeout = max(0.0, min(timeout, due))
        deadline = time.monotonic() + timeout
        # in slices, so that a stop request is seen soon even with a long poll interval
        while not self.stop.is_set():
            remaining = deadline - time.monotonic()
            if remaining <= 0 or store.wait_for_notifications(min(remaining, STOP_CHECK_SECONDS)):
                return

    def _open(self) -> Store:
        """The worker's connection, listening for ready steps; waits for a database that is
        away (a restart) as ``_restore`` does."""

        def open_listening() -> Store:
            store = connect(self.database_url, application_name="tasker-ctl worker")
            try:
                store.listen(READY_CHANNEL)
            except BaseException:
                store.close()
                raise
            return store

        try:
            return open_listening()
        except DatabaseError as error:
            if not connection_lost(error):
                raise
            return self._reconnection.wait_out(error, open_listening, abandon=self._needless)

    def _retrying(self, store: Store, operation: Callable[[], T]) -> T:
        """Run an engine call on ``store`` (one statement or one transaction), again after a
        conflict and after reconnecting when the connection was lost: safe, because each is a
        read or an outcome fenced by its attempt number, which a second run cannot record
        twice (docs/engine.md, "When the database goes away")."""
        return _retrying(operation, restore=lambda error: self._restore(store, error))

    def _restore(self, store: Store, error: DatabaseError) -> None:
        """Reopen ``store`` after ``error`` lost its connection, waiting for the database for
        up to ``reconnect_limit`` seconds (then ``DatabaseUnavailableError``). Attempts in
        hand and successes not yet recorded stay: their leases are the heartbeat's to renew,
        and they are run and recorded as if nothing happened."""
        self._reconnection.wait_out(error, store.reconnect, abandon=self._needless)
        # taken back by the run loop, between attempts (this may run inside one)
        self._claims_lost = True

    def _needless(self) -> bool:
        """Whether the database is no longer needed: stopping, with nothing to record."""
        return self.stop.is_set() and not self._heartbeat.holds()

    def _take_back(self, store: Store) -> None:
        """Take back the attempts still leased to this worker that it does not hold: a claim
        that committed while the connection was lost, before its reply arrived. Left alone
        they would wait out their lease, and a step on its last attempt would then fail."""
        rows = store.fetch_all(
            "take_back_attempts",
            worker=self.options.worker_id,
            lease_seconds=self.options.lease_seconds,
            held=self._heartbeat.holds(),
        )
        self._claims_lost = False
        if rows:
            logger.warning(
                "worker %s took back %d attempt(s) claimed as the connection was lost: %s",
                self.options.worker_id,
                len(rows),
                ", ".join(str(row["name"]) for row in rows),
            )
            self._take(rows)


@dataclass
class _Success:
    """A success run and not yet recorded."""

    attempt: Attempt
    outcome: Outcome
    span: AttemptSpan | None  # ended once the success is recorded

    @property
    def step_uuid(self) -> Any:
        return self.attempt.step["workflow_step_uuid"]


_NO_COMPLETION: dict[str, Any] = {
    "step_uuid": None,
    "attempt": None,
    "results": None,
    "metadata": None,
}


def _retrying(
    operation: Callable[[], T], restore: Callable[[DatabaseError], None] | None = None
) -> T:
    """Run a one-statement engine call again when the server aborted it for a conflict and,
    with ``restore`` (which reopens the connection or raises), when the connection was lost."""
    conflicts = 0
    while True:
        try:
            return operation()
        except TransactionConflictError:
            conflicts += 1
            if conflicts == _CONFLICT_RETRIES:
                raise
            time.sleep(0.01 * conflicts)
        except DatabaseError as error:
            if restore is None or not connection_lost(error):
                raise
            restore(error)
