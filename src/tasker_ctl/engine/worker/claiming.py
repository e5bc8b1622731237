"""Claiming: the statements that lease a worker its next attempts, and the steps it holds.

Claiming uses ``FOR UPDATE SKIP LOCKED`` and a lease that the heartbeat renews while the
attempt waits its turn and runs; the attempt number is the fencing token, so a worker that
lost its lease cannot record a result over a newer attempt. The hot path is one statement:
it records the worker's previous successes and claims its next steps, reading everything
their handlers need (task, parents' results, template revision) in the same round trip.

A worker claims more than one step at once only while its handlers are quick: as many as its
recent handler times fit in ``batch_window`` seconds (``batch_size``).
"""

from __future__ import annotations

import logging
import uuid
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from tasker_ctl.engine.store.connection import Json, Store
from tasker_ctl.engine.worker.claimed_step import ClaimedStep
from tasker_ctl.engine.worker.heartbeat import Heartbeat
from tasker_ctl.engine.worker.options import WorkerOptions

logger = logging.getLogger("tasker_ctl.engine.worker")


@dataclass(frozen=True)
class Completion:
    """A success as ``complete_step`` and the claim statements record it."""

    step_uuid: uuid.UUID
    attempt: int
    results: Json
    metadata: Json

    def parameters(self) -> dict[str, Any]:
        return {
            "step_uuid": self.step_uuid,
            "attempt": self.attempt,
            "results": self.results,
            "metadata": self.metadata,
        }


# claim_attempt's parameters when it records no success
_NO_COMPLETION: dict[str, Any] = {
    "step_uuid": None,
    "attempt": None,
    "results": None,
    "metadata": None,
}


@dataclass(frozen=True)
class BatchClaim:
    """What ``claim_attempts`` returned: the steps claimed, and the successes it refused
    (their attempts were taken over)."""

    claimed: list[ClaimedStep]
    refused: set[uuid.UUID]


class Claims:
    """A worker's claims: the claim statements, the steps claimed and not yet run (in the
    order they were claimed), and the heartbeat that renews their leases."""

    def __init__(self, database_url: str, options: WorkerOptions) -> None:
        self._url, self._options = database_url, options
        self.in_hand: deque[ClaimedStep] = deque()
        self.heartbeat = Heartbeat(database_url, options)
        self._handler_seconds: float | None = None  # recent handler times (moving average)

    def renew_heartbeat(self) -> None:
        """Start over with a heartbeat of its own for a run of the worker."""
        self.heartbeat.close()
        self.heartbeat = Heartbeat(self._url, self._options)

    def timed(self, seconds: float) -> None:
        """A handler took ``seconds``: what the next batch's size is made of."""
        previous = self._handler_seconds
        self._handler_seconds = seconds if previous is None else 0.7 * previous + 0.3 * seconds

    def batch_size(self) -> int:
        """How many steps to claim: one until the worker has timed a handler, then as many
        as recent handler times fit in the batch window."""
        most, seconds = self._options.claim_batch, self._handler_seconds
        if most <= 1 or seconds is None:
            return 1
        return max(1, min(most, int(self._options.batch_window / max(seconds, 1e-6))))

    def claim(
        self, store: Store, completion: Completion | None = None, limit: int = 1
    ) -> list[ClaimedStep]:
        """Claim up to ``limit`` attempts; with ``completion``, record that success in the
        same transaction."""
        rows = store.fetch_all(
            "claim_attempt",
            **(_NO_COMPLETION if completion is None else completion.parameters()),
            worker=self._options.worker_id,
            namespaces=self._options.namespaces,
            lease_seconds=self._options.lease_seconds,
            task_uuid=self._options.task_uuid,
            limit=limit,
        )
        return [ClaimedStep.from_row(row) for row in rows]

    def claim_recording(
        self, store: Store, completions: list[Completion], limit: int
    ) -> BatchClaim:
        """Record several successes and claim up to ``limit`` attempts, in one statement."""
        rows = store.fetch_all(
            "claim_attempts",
            steps=[c.step_uuid for c in completions],
            attempts=[c.attempt for c in completions],
            results=[c.results for c in completions],
            metadata=[c.metadata for c in completions],
            worker=self._options.worker_id,
            namespaces=self._options.namespaces,
            lease_seconds=self._options.lease_seconds,
            task_uuid=self._options.task_uuid,
            limit=limit,
        )
        return BatchClaim(
            claimed=[ClaimedStep.from_row(row) for row in rows if row["refused_step"] is None],
            refused={row["refused_step"] for row in rows if row["refused_step"] is not None},
        )

    def take(self, steps: Iterable[ClaimedStep]) -> None:
        """Put claimed steps in hand; their leases are renewed until their outcomes are in."""
        steps = list(steps)
        self.in_hand.extend(steps)
        self.heartbeat.hold((step.step_uuid, step.attempt) for step in steps)

    def next(self) -> ClaimedStep | None:
        """The step to run next, out of the hand; None when the hand is empty."""
        return self.in_hand.popleft() if self.in_hand else None

    def give_back(self, store: Store) -> list[ClaimedStep]:
        """Undo the claims of the steps in hand, none of which has started: a worker that
        stops starts nothing more, and its claims made as the stop came are left as if never
        made (enqueued, the attempt not counted), for a resumed run or another worker. The
        steps given back (those still this worker's current attempts)."""
        steps = list(self.in_hand)
        if not steps:
            return []
        # one statement, safe to run again (Retrier): a second run finds nothing to undo
        rows = store.fetch_all(
            "release_unstarted_attempts",
            steps=[step.step_uuid for step in steps],
            attempts=[step.attempt for step in steps],
            worker=self._options.worker_id,
        )
        self.in_hand.clear()
        for step in steps:
            self.heartbeat.release(step.step_uuid)
        for namespace in sorted({row["namespace_name"] for row in rows}):
            store.execute("notify_steps_ready", namespace_name=namespace)
        released = {row["workflow_step_uuid"] for row in rows}
        return [step for step in steps if step.step_uuid in released]

    def release(self, step_uuid: uuid.UUID) -> None:
        """The step's outcome is recorded (or its attempt was lost): renew its lease no more."""
        self.heartbeat.release(step_uuid)

    def hold_of_task(self, task_uuid: uuid.UUID) -> bool:
        """Whether a step of the task waits in hand (its outcome has not finished the task)."""
        return any(step.task_uuid == task_uuid for step in self.in_hand)

    def take_back(self, store: Store) -> None:
        """Take back the attempts still leased to this worker that it does not hold: a claim
        that committed while the connection was lost, before its reply arrived. Left alone
        they would wait out their lease, and a step on its last attempt would then fail."""
        rows = store.fetch_all(
            "take_back_attempts",
            worker=self._options.worker_id,
            lease_seconds=self._options.lease_seconds,
            held=self.heartbeat.holds(),
        )
        taken = [ClaimedStep.from_row(row) for row in rows]
        if taken:
            logger.warning(
                "worker %s took back %d attempt(s) claimed as the connection was lost: %s",
                self._options.worker_id,
                len(taken),
                ", ".join(step.name for step in taken),
            )
            self.take(taken)
