"""Engine calls a worker runs again: after a conflict the server aborted, and after the lost
connection is reopened.

Running them again is safe: each is a read or an outcome fenced by its attempt number, which
a second run cannot record twice (docs/engine.md, "When the database goes away").
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

from tasker_ctl.engine.store.connection import Store, connection_lost
from tasker_ctl.errors import DatabaseError, TransactionConflictError

CONFLICT_RETRIES = 3

T = TypeVar("T")


def retrying(
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
            if conflicts == CONFLICT_RETRIES:
                raise
            time.sleep(0.01 * conflicts)
        except DatabaseError as error:
            if restore is None or not connection_lost(error):
                raise
            restore(error)


class Retrier:
    """``retrying`` on a worker's connection, which ``restore`` reopens."""

    def __init__(self, restore: Callable[[Store, DatabaseError], None]) -> None:
        self._restore = restore

    def __call__(self, store: Store, operation: Callable[[], T]) -> T:
        """Run an engine call on ``store`` (one statement or one transaction), again after a
        conflict and after reconnecting when the connection was lost."""
        return retrying(operation, restore=lambda error: self._restore(store, error))
