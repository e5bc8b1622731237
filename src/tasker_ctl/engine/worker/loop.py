"""Workers: claim a ready step, run its handler, record the outcome; repeat.

Any number of workers, in threads or processes on any number of machines, share one database.
A worker's loop reads as its three pieces: ``claiming`` leases it steps (with the heartbeat
that renews their leases), this module runs one claimed attempt at a time, and ``recording``
writes each outcome, plain successes together with the next claim. Idle workers sleep until
NOTIFY ``tasker_steps_ready`` wakes them, or until the next retry falls due, polling as a
fallback.

A lost connection (the database restarted, say) is reopened with backoff and the work goes on
where it was: engine calls cut off are run again, which their fencing makes safe
(``retrying``), and claims whose reply was lost are taken back (``reconnect``; docs/engine.md,
"When the database goes away"). Only a database that stays away past ``reconnect_limit`` ends
the worker.

With telemetry on (``tasker_ctl.telemetry``), each attempt is a span, a child of its task's,
and the worker whose outcome finishes a task emits the task's span (``instrumentation``).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import Any

from tasker_ctl.engine.errors import ReconnectAbandoned
from tasker_ctl.engine.store.connection import Store, connect, connection_lost
from tasker_ctl.engine.store.reconnect import Reconnection
from tasker_ctl.engine.worker.ancestors import AncestorResults
from tasker_ctl.engine.worker.attempt import Attempt, Outcome, PreparedTemplate
from tasker_ctl.engine.worker.claimed_step import ClaimedStep
from tasker_ctl.engine.worker.claiming import Claims
from tasker_ctl.engine.worker.composition_step import GrammarServices
from tasker_ctl.engine.worker.executor import execute
from tasker_ctl.engine.worker.handler_process import HandlerProcess
from tasker_ctl.engine.worker.options import WorkerOptions
from tasker_ctl.engine.worker.planning_inputs import planned_inputs_resolved
from tasker_ctl.engine.worker.planning_step import PlanningRunner
from tasker_ctl.engine.worker.recording import Recorder
from tasker_ctl.engine.worker.retrying import Retrier
from tasker_ctl.engine.worker.unrecorded import broken_attempt, database_away
from tasker_ctl.errors import DatabaseError
from tasker_ctl.sdk.registry import HandlerRegistry
from tasker_ctl.telemetry import AttemptResult, AttemptSpan, Telemetry, current_telemetry
from tasker_ctl.template.model import StepType, TaskTemplate

__all__ = ["READY_CHANNEL", "Disposition", "Ran", "Worker", "WorkerOptions"]

logger = logging.getLogger("tasker_ctl.engine.worker")

READY_CHANNEL = "tasker_steps_ready"
# How often an idle worker looks at its stop event while it waits for a notification.
STOP_CHECK_SECONDS = 0.1


class Disposition(Enum):
    """What became of an attempt's outcome when its run returned."""

    KEPT = "kept"  # a success kept for the next claim: its span ends once it is recorded
    RECORDED = "recorded"
    REFUSED = "refused"  # the attempt was taken over: its outcome was refused
    TAKEN_OVER = "taken over"  # taken over before it had an outcome (a refused checkpoint)


@dataclass(frozen=True)
class Ran:
    """One attempt run: its outcome (None when it was taken over before it had one) and
    what became of it."""

    outcome: Outcome | None
    disposition: Disposition

    @property
    def recorded(self) -> bool:
        return self.disposition is Disposition.RECORDED


class Worker:
    """One claim-run-record loop on its own database connection."""

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
        self.telemetry = telemetry if telemetry is not None else current_telemetry()
        self.executed = 0
        self._templates: dict[str, PreparedTemplate] = {}
        self._retrying = Retrier(self._restore)
        self.claims = Claims(database_url, self.options)
        self.recorder = Recorder(
            self.options,
            self.claims,
            self._retrying,
            self.stop,
            on_outcome=on_outcome,
            telemetry=self.telemetry,
            registry=registry,
        )
        self._reconnection = Reconnection(
            self.options.reconnect_limit, who=f"worker {self.options.worker_id}"
        )
        # a connection was lost: claims whose reply it took may wait to be taken back
        self._claims_lost = False
        self._planning = PlanningRunner(self.options, registry, self.telemetry)
        # started on the first attempt that runs in a process of its own
        self._handler_process = HandlerProcess(
            registry, self.options.handlers, self.options.isolation, name="tasker-handlers"
        )

    @property
    def on_outcome(self) -> Callable[[Attempt, Outcome], None] | None:
        """Called after each outcome is recorded (the recorder calls it)."""
        return self.recorder.on_outcome

    @on_outcome.setter
    def on_outcome(self, hook: Callable[[Attempt, Outcome], None] | None) -> None:
        self.recorder.on_outcome = hook

    def run(self) -> None:
        """Work until ``stop`` is set: the attempt running then finishes and is recorded,
        nothing more starts, and steps claimed but not started are given back (``Claims``).

        A lost connection is reopened and the work goes on; a database that stays away past
        ``reconnect_limit`` ends this with ``DatabaseUnavailableError``. Asked to stop while
        it waits for the database, with nothing to record, the worker ends at once.
        """
        try:
            store = self._open()
        except ReconnectAbandoned:
            return
        with store:
            self.claims.renew_heartbeat()
            try:
                while not self.stop.is_set():
                    try:
                        if self._claims_lost:
                            self.take_back(store)
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
                    if not store.closed:
                        self._give_back(store)
                    if self.recorder.kept and not store.closed:
                        self.recorder.flush(store, claim=False)
                except DatabaseError as error:  # their steps are retried once leases expire
                    logger.warning("outcomes not recorded on the way out: %s", error)
                finally:
                    self.claims.heartbeat.close()
                    self._handler_process.close()

    def run_once(self, store: Store) -> bool:
        """Run one claimed attempt, claiming first when none is in hand; False when nothing
        was claimable or ``stop`` is set.

        Successes are recorded together with the next claim (none when ``stop`` is set);
        while steps claimed with them wait their turn, for at most ``batch_window`` seconds.
        When this returns with nothing in hand, every outcome is recorded.

        ``stop`` is looked at last just before an attempt starts: a stop that comes while a
        claim is on its way (the claim that records the previous success, say) finds the
        claimed steps in hand, and they are given back rather than started.
        """
        if not self.claims.in_hand:
            self.recorder.flush(store, claim=not self.stop.is_set())
        step = self.claims.next()
        if step is None:
            return False
        try:
            attempt = self._retrying(store, lambda: self._attempt(store, step))
        except DatabaseError:
            raise
        except Exception as error:  # the template cannot run this step: no handler can help
            self.recorder.record_unrunnable(store, step, error)
        else:
            if self.stop.is_set():
                self.claims.in_hand.appendleft(step)
                self._give_back(store)
                return False
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
                self.recorder.fail_instead(store, attempt, None, broken_attempt, error)
        self.recorder.settle(store)
        return True

    def _run(self, store: Store, attempt: Attempt, span: AttemptSpan | None = None) -> Ran:
        """Run the attempt, keeping the checkpoints its handler yields, and record its outcome
        (a plain success is kept for the next claim)."""
        current = attempt  # resumed from each checkpoint kept

        def keep_checkpoint(checkpoint: dict[str, Any]) -> bool:
            nonlocal current
            resumed = self.recorder.keep_checkpoint(store, current, checkpoint)
            if resumed is None:
                return False
            current = resumed
            return True

        if attempt.definition.step_type is StepType.PLANNING:
            template = self._template(
                store, str(attempt.step.named_task_uuid), attempt.step.template_revision
            )
            outcome = self._planning.run(store, attempt, template.template)
            self.executed += 1
            recorded = self.recorder.record_now(store, attempt, outcome)
            return Ran(outcome, Disposition.RECORDED if recorded else Disposition.REFUSED)
        services = None
        if attempt.prepared.grammar is not None:
            services = GrammarServices(self.database_url, keep_checkpoint, trust=self.options.trust)
        started = time.perf_counter()
        while True:
            outcome = execute(
                current,
                self.registry,
                self.options.worker_id,
                services,
                self._handler_process,
                max_result_bytes=self.options.trust.max_result_bytes,
            )
            if outcome.checkpoint is None:
                break
            if not keep_checkpoint(outcome.checkpoint):
                # the attempt was taken over: its result would be refused
                self.claims.release(attempt.step.step_uuid)
                return Ran(None, Disposition.TAKEN_OVER)
        self.claims.timed(time.perf_counter() - started)
        self.executed += 1
        # a success that publishes domain events is recorded with them now, in one transaction
        if outcome.success and not outcome.grows and not current.definition.publishes_events:
            self.recorder.keep(current, outcome, span)
            return Ran(outcome, Disposition.KEPT)
        recorded = self.recorder.record_now(store, current, outcome)
        return Ran(outcome, Disposition.RECORDED if recorded else Disposition.REFUSED)

    def _run_traced(self, store: Store, attempt: Attempt, telemetry: Telemetry) -> None:
        from tasker_ctl.engine.worker.instrumentation import attempt_result, end_span, info_of

        span = telemetry.start_attempt(info_of(attempt, self.options.worker_id))
        try:
            with span.activate():  # spans the handler starts are the attempt's children
                ran = self._run(store, attempt, span)
        except BaseException:
            span.end(AttemptResult(False, 0, error_type="worker_error", recorded=False))
            raise
        if ran.disposition is Disposition.KEPT:
            return  # its span ends when it is recorded
        # an outcome with a step of its task still in hand did not finish the task
        step = attempt.step
        done = ran.outcome is not None and (
            not ran.outcome.success or not self.claims.hold_of_task(step.task_uuid)
        )
        result = attempt_result(ran.outcome, recorded=ran.recorded)
        end_span(store, telemetry, span, result, step, may_finish=done)

    def _attempt(self, store: Store, step: ClaimedStep) -> Attempt:
        template = self._template(store, str(step.named_task_uuid), step.template_revision)

        def all_ancestors() -> dict[str, Any]:
            read = self._retrying(
                store, lambda: store.fetch_value("ancestor_results", step_uuid=step.step_uuid)
            )
            return read or {}

        ancestors = AncestorResults(
            step.parent_results, all_ancestors if step.has_more_ancestors else None
        )
        if step.step_definition is not None:  # a planned step: what it runs is in its row
            step = planned_inputs_resolved(step, ancestors)
            return Attempt(step=step, prepared=template.planned(step), ancestors=ancestors)
        return Attempt(
            step=step, prepared=template.step(step.template_step_name), ancestors=ancestors
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

    def _restore(self, store: Store, error: DatabaseError) -> None:
        """Reopen ``store`` after ``error`` lost its connection, waiting for the database for
        up to ``reconnect_limit`` seconds (then ``DatabaseUnavailableError``). Attempts in
        hand and successes not yet recorded stay: their leases are the heartbeat's to renew,
        and they are run and recorded as if nothing happened."""
        self._reconnection.wait_out(error, store.reconnect, abandon=self._needless)
        # taken back by the run loop, between attempts (this may run inside one)
        self._claims_lost = True

    def _give_back(self, store: Store) -> None:
        """Give back the steps in hand, claimed and not started (``Claims.give_back``)."""
        if not self.claims.in_hand:
            return
        given = self._retrying(store, lambda: self.claims.give_back(store))
        if given:
            logger.info(
                "worker %s stopping: gave back %d step(s) it had not started: %s",
                self.options.worker_id,
                len(given),
                ", ".join(step.name for step in given),
            )

    def _needless(self) -> bool:
        """Whether the database is no longer needed: stopping, with nothing to record."""
        return self.stop.is_set() and not self.claims.heartbeat.holds()

    def take_back(self, store: Store) -> None:
        """Take back the attempts claimed while the connection was lost (``Claims``)."""
        self.claims.take_back(store)
        self._claims_lost = False
