"""When a worker cannot record an attempt's outcome: the failure naming why, recorded instead.

One bad step never takes its batch or its worker with it. The executor makes every outcome
storable, but the database may still refuse one row (a limit of its own, a trigger, a
constraint), and a bug may break the loop for one attempt. Such an attempt fails for good with
the real cause; the others of its batch are recorded, and the worker goes on. Only a database
that is away ends the loop (the worker's reconnect logic deals with that).
"""

from __future__ import annotations

from typing import Any

from tasker_ctl.engine.errors import ReconnectAbandoned
from tasker_ctl.engine.worker.attempt import Attempt, Outcome
from tasker_ctl.engine.worker.executor import failed_outcome
from tasker_ctl.engine.worker.stored_outcome import readable
from tasker_ctl.errors import DatabaseError, DatabaseUnavailableError, TransactionConflictError
from tasker_ctl.sdk.types import StepHandlerResult


def database_away(error: BaseException) -> bool:
    """Whether ``error`` is about the database rather than one attempt: it is left to the
    worker's run loop (a conflict that outlasted its retries, too, is the database's)."""
    return isinstance(
        error, DatabaseUnavailableError | ReconnectAbandoned | TransactionConflictError
    )


def refused_result(attempt: Attempt, error: Exception, worker_id: str) -> Outcome:
    """The failure recorded for a success whose result the database refused to store."""
    name = attempt.step.name
    return failed_outcome(
        attempt,
        StepHandlerResult.failure(
            f"the database refused to store the result of step '{name}': {describe(error)}",
            error_type="result_not_storable",
            retryable=False,
            error_code="RESULT_NOT_STORABLE",
        ),
        worker_id,
    )


def broken_attempt(attempt: Attempt, error: Exception, worker_id: str) -> Outcome:
    """The failure recorded for an attempt the worker could not finish: its outcome could not
    be recorded, or running it broke the worker's loop."""
    name = attempt.step.name
    return failed_outcome(
        attempt,
        StepHandlerResult.failure(
            f"the worker could not finish step '{name}' attempt {attempt.number}: "
            + describe(error),
            error_type="worker_error",
            retryable=False,
            error_code="WORKER_ERROR",
        ),
        worker_id,
    )


def describe(error: Exception) -> str:
    """The error's class and message, with the database's SQLSTATE and detail when it has them."""
    text = f"{type(error).__name__}: {readable(error)}"
    if isinstance(error, DatabaseError):
        extra: list[Any] = [part for part in (error.sqlstate, error.detail) if part]
        if extra:
            text += f" ({'; '.join(str(part) for part in extra)})"
    return text
