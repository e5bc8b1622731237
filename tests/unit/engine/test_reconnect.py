"""Which database errors mean "the database went away", and how long and how often a lost
connection is tried again (with an injected clock and sleep: nothing really waits)."""

from __future__ import annotations

import logging
import re
from typing import Any, cast

import psycopg
import pytest
from hypothesis import given
from hypothesis import strategies as st
from psycopg import errors as pg_errors

from tasker_ctl.engine.errors import ReconnectAbandoned
from tasker_ctl.engine.store.connection import Store, connection_lost, translate_error
from tasker_ctl.engine.store.reconnect import (
    DEFAULT_RECONNECT_LIMIT,
    MAX_DELAY_SECONDS,
    Reconnection,
    reconnect_delay,
)
from tasker_ctl.errors import (
    DatabaseConnectionLostError,
    DatabaseError,
    DatabaseUnavailableError,
    ExitCode,
    QueryError,
)

LOST_STATES = {"57P01", "57P02", "57P03", "57P05"}
# psycopg knows every SQLSTATE (its table is keyed by code and by name)
SQLSTATES = sorted(key for key in pg_errors._sqlcodes if re.fullmatch(r"[0-9A-Z]{5}", key))


def lost(message: str = "server closed the connection unexpectedly") -> DatabaseError:
    """The error a statement raises when the connection broke under it."""
    return translate_error(psycopg.OperationalError(message))


# -- classification ---------------------------------------------------------------------------


@given(st.sampled_from(SQLSTATES))
def test_a_server_error_means_the_database_went_away_only_for_connection_states(
    state: str,
) -> None:
    error = pg_errors.lookup(state)("message from the server")
    expected = state.startswith("08") or state in LOST_STATES
    assert connection_lost(error) is expected
    # the coded error the engine sees is classified the same way, by the same function
    translated = translate_error(error)
    assert connection_lost(translated) is expected
    assert isinstance(translated, DatabaseConnectionLostError) is expected
    if expected:
        assert translated.code == "DATABASE_UNAVAILABLE"


@pytest.mark.parametrize(
    "message",
    [
        "the connection is closed",
        "consuming input failed: server closed the connection unexpectedly",
        'connection failed: connection to server on socket "/tmp/.s.PGSQL.5432" failed: '
        "No such file or directory",
        "connection failed: FATAL:  the database system is shutting down",
        "sending query failed: Broken pipe",
    ],
)
def test_client_side_connection_failures_mean_the_database_went_away(message: str) -> None:
    error = psycopg.OperationalError(message)
    assert connection_lost(error)
    assert isinstance(translate_error(error), DatabaseConnectionLostError)


@pytest.mark.parametrize(
    "error",
    [
        psycopg.InterfaceError("cannot use a cursor after closing it"),
        psycopg.ProgrammingError("syntax error"),
        pg_errors.lookup("57P04")("database dropped"),  # it will not come back
        pg_errors.lookup("53300")("too many connections"),
        pg_errors.lookup("57014")("canceling statement due to statement timeout"),
        pg_errors.lookup("40001")("could not serialize access"),
        DatabaseUnavailableError("invalid database URL postgresql://x"),
        QueryError("column does not exist"),
        ValueError("not a database error"),
    ],
    ids=lambda error: type(error).__name__,
)
def test_other_errors_do_not(error: BaseException) -> None:
    assert not connection_lost(error)


def test_a_lost_connection_is_the_database_being_unavailable_to_users() -> None:
    error = lost()
    assert isinstance(error, DatabaseUnavailableError)
    assert error.code == "DATABASE_UNAVAILABLE"
    assert error.exit_code == ExitCode.USAGE


# -- the backoff schedule ---------------------------------------------------------------------


def test_delays_start_at_a_fifth_of_a_second_and_double_up_to_five_seconds() -> None:
    delays = [reconnect_delay(attempt, lambda: 0.0) for attempt in range(1, 9)]
    assert delays == pytest.approx([0.2, 0.4, 0.8, 1.6, 3.2, 5.0, 5.0, 5.0])


@given(st.integers(min_value=1, max_value=10**9), st.floats(min_value=0, max_value=0.999))
def test_jitter_takes_off_at_most_half_of_a_delay(attempt: int, draw: float) -> None:
    nominal = reconnect_delay(attempt, lambda: 0.0)
    delay = reconnect_delay(attempt, lambda: draw)
    assert 0.2 <= nominal <= MAX_DELAY_SECONDS
    assert nominal / 2 < delay <= nominal


class FakeTime:
    """A clock that moves only when something sleeps."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        assert seconds >= 0
        self.slept.append(seconds)
        self.now += seconds


class Reopen:
    """A reopen that fails ``failures`` times (lost connection), then returns ``value``."""

    def __init__(self, failures: int, value: Any = "connection", error: Any = None) -> None:
        self.failures, self.value, self.calls = failures, value, 0
        self.error = error

    def __call__(self) -> Any:
        self.calls += 1
        if self.calls <= self.failures:
            raise self.error or lost(f"refused {self.calls}")
        return self.value


def reconnection(limit: float, fake: FakeTime) -> Reconnection:
    return Reconnection(limit, who="worker w1", sleep=fake.sleep, clock=fake.clock, draw=lambda: 0)


def test_reconnects_after_backoff_logging_each_attempt(caplog: pytest.LogCaptureFixture) -> None:
    fake = FakeTime()
    reopen = Reopen(failures=3)
    with caplog.at_level(logging.WARNING, logger="tasker_ctl.engine.store.reconnect"):
        assert reconnection(60, fake).wait_out(lost("terminating connection"), reopen) == (
            "connection"
        )
    assert reopen.calls == 4
    assert fake.slept == pytest.approx([0.2, 0.4, 0.8, 1.6])
    messages = [record.getMessage() for record in caplog.records]
    assert all(record.levelno == logging.WARNING for record in caplog.records)
    assert messages[0].startswith("worker w1 lost the database (attempt 1): ")
    assert "terminating connection" in messages[0]
    assert messages[0].endswith("reconnecting in 0.2 s")
    # each attempt names the error that the one before it met
    assert "refused 1" in messages[1]
    assert "attempt 2" in messages[1]
    assert "attempt 4" in messages[3]
    assert messages[4] == "worker w1 reconnected to the database after 3.0 s (4 attempts)"


def test_a_database_away_past_the_limit_ends_the_wait_saying_how_long() -> None:
    fake = FakeTime()
    reopen = Reopen(failures=10**6)
    with pytest.raises(DatabaseUnavailableError) as raised:
        reconnection(30, fake).wait_out(lost(), reopen)
    error = raised.value
    # the last attempt comes at the limit, not after it
    assert sum(fake.slept) == pytest.approx(30)
    assert max(fake.slept) <= MAX_DELAY_SECONDS
    assert reopen.calls == len(fake.slept)
    assert error.code == "DATABASE_UNAVAILABLE"
    assert "stayed unavailable for 30 s, the reconnect limit of 30 s" in error.message
    assert f"({reopen.calls} attempts to reconnect)" in error.message
    assert f"refused {reopen.calls}" in error.message  # the last error
    assert error.hint is not None
    assert "--reconnect-limit" in error.hint
    assert "TASKER_RECONNECT_LIMIT" in error.hint
    # the final error is not itself "lost": nothing outside tries again
    assert not connection_lost(error)


def test_a_limit_of_zero_gives_up_at_once() -> None:
    fake = FakeTime()
    reopen = Reopen(failures=0)
    with pytest.raises(DatabaseUnavailableError, match="reconnecting is off"):
        reconnection(0, fake).wait_out(lost(), reopen)
    assert fake.slept == []
    assert reopen.calls == 0


def test_another_error_while_reconnecting_is_raised_at_once() -> None:
    fake = FakeTime()
    reopen = Reopen(failures=1, error=QueryError("permission denied for schema tasker"))
    with pytest.raises(QueryError):
        reconnection(60, fake).wait_out(lost(), reopen)
    assert reopen.calls == 1


def test_a_waiter_that_no_longer_needs_the_database_abandons() -> None:
    fake = FakeTime()
    reopen = Reopen(failures=10**6)
    first = lost("the first error")
    with pytest.raises(ReconnectAbandoned) as raised:
        reconnection(60, fake).wait_out(first, reopen, abandon=lambda: len(fake.slept) >= 2)
    assert raised.value.error is not first  # the latest error
    assert reopen.calls == 1
    assert len(fake.slept) == 2


def test_call_runs_an_operation_again_on_a_reconnected_store() -> None:
    fake = FakeTime()

    class FlakyStore:
        def __init__(self) -> None:
            self.reconnects = 0

        def reconnect(self) -> None:
            self.reconnects += 1
            if self.reconnects == 1:
                raise lost("still starting up")

    store = FlakyStore()
    runs: list[int] = []

    def operation() -> str:
        runs.append(len(runs))
        if len(runs) < 3:
            raise lost()
        return "rows"

    result = reconnection(60, fake).call(cast(Store, store), operation)
    assert result == "rows"
    assert len(runs) == 3
    assert store.reconnects == 3


def test_call_does_not_retry_other_errors() -> None:
    runs: list[int] = []

    def operation() -> None:
        runs.append(1)
        raise QueryError("syntax error")

    with pytest.raises(QueryError):
        reconnection(60, FakeTime()).call(cast(Store, object()), operation)
    assert runs == [1]


def test_limits_are_seconds_and_the_default_is_five_minutes() -> None:
    assert Reconnection().limit == DEFAULT_RECONNECT_LIMIT == 300.0
    with pytest.raises(ValueError, match="0 or more seconds"):
        Reconnection(-1)


def test_the_command_line_default_is_the_engine_default() -> None:
    from tasker_ctl.cli.options import DEFAULT_RECONNECT_LIMIT as CLI_DEFAULT

    assert CLI_DEFAULT == DEFAULT_RECONNECT_LIMIT
