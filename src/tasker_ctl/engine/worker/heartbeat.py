"""The heartbeat of a worker: it renews the leases of the attempts the worker holds."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from tasker_ctl.engine.store.connection import Store, connect, connection_lost
from tasker_ctl.engine.store.reconnect import reconnect_delay
from tasker_ctl.errors import DatabaseError

if TYPE_CHECKING:
    from tasker_ctl.engine.worker.options import WorkerOptions

# the worker's logger: its lease warnings are the worker's, wherever the code lives
logger = logging.getLogger("tasker_ctl.engine.worker")


class Heartbeat:
    """Renews the leases of the attempts a worker holds (the one it runs, and those claimed
    with it that wait their turn), from one thread with its own connection (opened the first
    time an attempt outlives a heartbeat interval).

    The thread wakes once per interval (a third of the lease) rather than at every attempt,
    which would cost two thread switches per step: it renews an attempt that has gone an
    interval without renewal, so at most two intervals pass between renewals, within the
    lease's three. Each renewal is its own transaction, holding one step row at a time.

    When the database goes away the heartbeat reconnects on its own, trying again after
    ``reconnect_delay`` (0.2 s doubling to 5 s) rather than a whole interval later, and then
    renews whatever it missed meanwhile. It never gives up: the worker decides how long the
    database may stay away. A lease that ran out during the outage may have been taken over
    by then; its renewal is refused and the worker's result will be too.
    """

    def __init__(self, url: str, options: WorkerOptions) -> None:
        self._url, self._options = url, options
        self._interval = max(options.lease_seconds / 3, 0.5)
        # step uuid -> (attempt number, monotonic time it was claimed): replaced whole by
        # the worker's thread, only read by the heartbeat thread
        self._held: dict[Any, tuple[int, float]] = {}
        self._closing = threading.Event()
        self._started = False
        self._store: Store | None = None
        self._lost: set[tuple[Any, int]] = set()  # renewal refused: stop trying for these
        self._outage_attempts = 0  # reconnection attempts since the database went away
        self._thread = threading.Thread(target=self._run, daemon=True, name="tasker-heartbeat")

    def close(self) -> None:
        self._closing.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)
        elif self._store is not None:
            self._store.close()

    def hold(self, attempts: Iterable[tuple[Any, int]]) -> None:
        """Renew these (step uuid, attempt number) from now on, until released."""
        if not self._started and not self._closing.is_set():
            self._started = True
            self._thread.start()
        now = time.monotonic()
        held = dict(self._held)
        for step_uuid, attempt in attempts:
            held[step_uuid] = (attempt, now)
        self._held = held

    def holds(self) -> list[Any]:
        """The steps whose attempts are held (and renewed) now."""
        return list(self._held)

    def release(self, step_uuid: Any) -> None:
        """The step's outcome is recorded (or its attempt was lost): renew it no more."""
        if step_uuid in self._held:
            held = dict(self._held)
            del held[step_uuid]
            self._held = held

    def _run(self) -> None:
        renewed: dict[tuple[Any, int], float] = {}  # attempt -> when it was renewed last
        try:
            wait = self._interval
            while not self._closing.wait(wait):
                wait = self._renew_due(renewed)
        finally:
            if self._store is not None:
                self._store.close()

    def _renew_due(self, renewed: dict[tuple[Any, int], float]) -> float:
        """Renew the held attempts an interval has passed for (keeping ``renewed`` up to
        date); the seconds to wait before the next round: an interval, or less while the
        database is away."""
        held = self._held
        current = {(step_uuid, attempt) for step_uuid, (attempt, _) in held.items()}
        for key in [key for key in renewed if key not in current]:
            del renewed[key]
        for step_uuid, (attempt, claimed_at) in held.items():
            key = (step_uuid, attempt)
            since = renewed.get(key, claimed_at)
            if time.monotonic() - since < self._interval or key in self._lost:
                continue
            try:
                extended = self._extend(step_uuid, attempt)
            except DatabaseError as error:
                if self._store is not None:
                    self._store.close()
                    self._store = None
                if not connection_lost(error):
                    # the attempt goes on; if renewals keep failing its lease runs out
                    logger.warning("cannot renew the lease of step %s: %s", step_uuid, error)
                    continue
                # the others wait for the database too: soon, not an interval later
                self._outage_attempts += 1
                delay = reconnect_delay(self._outage_attempts)
                logger.warning(
                    "heartbeat of %s lost the database (attempt %d): %s; renewing leases "
                    "again in %.1f s",
                    self._options.worker_id,
                    self._outage_attempts,
                    error,
                    delay,
                )
                return delay
            if extended:
                renewed[key] = time.monotonic()
        return self._interval

    def _extend(self, step_uuid: Any, attempt: int) -> bool:
        """Renew the attempt's lease; True when it was renewed (raises ``DatabaseError``)."""
        if self._store is None or self._store.closed:
            self._store = connect(self._url, application_name="tasker-ctl heartbeat")
        extended = self._store.fetch_value(
            "extend_lease",
            step_uuid=step_uuid,
            attempt=attempt,
            worker=self._options.worker_id,
            lease_seconds=self._options.lease_seconds,
        )
        if self._outage_attempts:
            logger.warning("heartbeat of %s is back on the database", self._options.worker_id)
            self._outage_attempts = 0
        if not extended:
            self._lost.add((step_uuid, attempt))
            logger.warning(
                "lease of step %s attempt %s was taken over; its result will be refused",
                step_uuid,
                attempt,
            )
        return bool(extended)
