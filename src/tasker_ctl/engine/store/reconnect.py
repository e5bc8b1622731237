"""Waiting out a database that went away: reconnect with backoff, for a bounded time.

Workers, their heartbeats and ``tasker-ctl run``'s watcher hold connections for as long as
they run. When PostgreSQL restarts (or the network drops) those connections break; what
broke them is told apart from other database errors by ``store.connection_lost``. A
``Reconnection`` then tries again after 0.2 s, doubling up to 5 s, less up to half of each
delay at random (so that workers that lost the database together do not all come back at
once), and logs every attempt. A database that stays away longer than the limit (300 s by
default; ``--reconnect-limit``, ``TASKER_RECONNECT_LIMIT``) ends the wait with
``DatabaseUnavailableError`` saying how long it tried. docs/engine.md, "When the database
goes away", says what is retried and why that cannot record anything twice.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

from tasker_ctl.engine.errors import ReconnectAbandoned
from tasker_ctl.engine.store.connection import connection_lost
from tasker_ctl.errors import DatabaseError, DatabaseUnavailableError

if TYPE_CHECKING:
    from tasker_ctl.engine.store.connection import Store

logger = logging.getLogger(__name__)

DEFAULT_RECONNECT_LIMIT = 300.0
RECONNECT_LIMIT_ENV = "TASKER_RECONNECT_LIMIT"
FIRST_DELAY_SECONDS = 0.2
MAX_DELAY_SECONDS = 5.0
# 0.2 s doubled this often is past the cap already; a bound keeps 2**n a small number
_DOUBLINGS = 16

T = TypeVar("T")


def reconnect_delay(attempt: int, draw: Callable[[], float] = random.random) -> float:
    """Seconds to wait before reconnection attempt ``attempt`` (1, 2, ...): 0.2 s doubling up
    to 5 s, less up to half of it (``draw()`` in [0, 1) says how much: the jitter)."""
    doublings = min(max(attempt, 1) - 1, _DOUBLINGS)
    nominal = min(MAX_DELAY_SECONDS, FIRST_DELAY_SECONDS * 2.0**doublings)
    return nominal * (1 - 0.5 * draw())


class Reconnection:
    """How one connection's owner (``who``, as logs name it) waits out a lost database.

    ``limit`` is the most seconds the database may stay away, counted from the error that
    found it gone; 0 gives up at once. ``sleep``, ``clock`` and ``draw`` are injectable so
    that tests can run the schedule without waiting.
    """

    def __init__(
        self,
        limit: float = DEFAULT_RECONNECT_LIMIT,
        *,
        who: str = "tasker-ctl",
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        draw: Callable[[], float] = random.random,
    ) -> None:
        if limit < 0:
            raise ValueError(f"the reconnect limit must be 0 or more seconds, not {limit}")
        self.limit = float(limit)
        self.who = who
        self._sleep, self._clock, self._draw = sleep, clock, draw

    def wait_out(
        self,
        error: DatabaseError,
        reopen: Callable[[], T],
        *,
        abandon: Callable[[], bool] | None = None,
    ) -> T:
        """After ``error`` (a lost connection), call ``reopen`` with backoff until it stops
        failing for a lost connection, and return what it returned.

        Raises ``DatabaseUnavailableError`` once the database has stayed away for ``limit``
        seconds, any other error ``reopen`` raises at once, and ``ReconnectAbandoned`` when
        ``abandon()`` turns true between attempts.
        """
        started = self._clock()
        attempt = 0
        while True:
            elapsed = self._clock() - started
            remaining = self.limit - elapsed
            if remaining <= 0:
                raise self._gave_up(error, elapsed, attempt)
            attempt += 1
            # the last attempt comes at the limit, not after it
            delay = min(reconnect_delay(attempt, self._draw), remaining)
            logger.warning(
                "%s lost the database (attempt %d): %s; reconnecting in %.1f s",
                self.who,
                attempt,
                error,
                delay,
            )
            self._sleep(delay)
            if abandon is not None and abandon():
                raise ReconnectAbandoned(error)
            try:
                reopened = reopen()
            except DatabaseError as again:
                if not connection_lost(again):
                    raise
                error = again
                continue
            logger.warning(
                "%s reconnected to the database after %.1f s (%d attempts)",
                self.who,
                self._clock() - started,
                attempt,
            )
            return reopened

    def call(
        self,
        store: Store,
        operation: Callable[[], T],
        *,
        abandon: Callable[[], bool] | None = None,
    ) -> T:
        """Run ``operation`` (statements on ``store``); when it loses the connection,
        reconnect ``store`` (``wait_out``) and run it again. Only for operations that are
        safe to run twice: reads, or writes fenced so that a second run changes nothing
        (docs/engine.md)."""
        while True:
            try:
                return operation()
            except DatabaseError as error:
                if not connection_lost(error):
                    raise
                self.wait_out(error, store.reconnect, abandon=abandon)

    def _gave_up(self, error: DatabaseError, elapsed: float, attempts: int) -> DatabaseError:
        if self.limit <= 0:
            message = f"{error} (reconnecting is off: the reconnect limit is 0)"
        else:
            message = (
                f"the database stayed unavailable for {elapsed:.0f} s, the reconnect limit "
                f"of {self.limit:g} s ({attempts} attempts to reconnect); last error: {error}"
            )
        return DatabaseUnavailableError(
            message,
            hint=(error.hint + "; " if error.hint else "")
            + f"--reconnect-limit SECONDS (or {RECONNECT_LIMIT_ENV}) sets how long to wait "
            "for the database",
            sqlstate=error.sqlstate,
            detail=error.detail,
        )
