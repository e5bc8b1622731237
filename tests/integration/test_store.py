"""The store against real PostgreSQL: named queries, transactions, errors, LISTEN/NOTIFY.

Rows are written to the migration ledger (``tasker.schema_migrations``) because it is the one
table whose queries belong to the store itself.
"""

from __future__ import annotations

import re
import secrets
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest

from tasker_ctl.engine.store.connection import Store, connect
from tasker_ctl.engine.store.migrations import migrate
from tasker_ctl.errors import (
    ConflictError,
    DatabaseUnavailableError,
    EngineStateError,
    EntityNotFoundError,
    ExitCode,
    InvalidTransitionError,
    QueryError,
    StaleAttemptError,
    TransactionConflictError,
    UnknownQueryError,
)
from tests.integration.conftest import CreateDatabase


@pytest.fixture
def other_store(database_url: str) -> Iterator[Store]:
    """A second connection to the same test database."""
    with connect(database_url) as opened:
        yield opened


def _versions(store: Store) -> list[int]:
    return [row["version"] for row in store.fetch_all("list_schema_migrations")]


def _record(store: Store, version: int) -> None:
    store.execute("insert_schema_migration", version=version, name="t", checksum="x")


def test_rows_are_dicts(store: Store) -> None:
    row = store.fetch_one("fetch_server_version")
    assert row is not None
    assert list(row) == ["server_version"]
    assert re.match(r"^\d+", row["server_version"])
    assert store.server_version() == row["server_version"]
    assert store.fetch_value("check_schema_migrations_table") is True


def test_no_row_is_none(new_database: CreateDatabase, tmp_path: Path) -> None:
    with connect(new_database()) as blank:
        migrate(blank, tmp_path)  # an empty migrations directory: just the ledger
        assert blank.fetch_one("list_schema_migrations") is None
        assert blank.fetch_value("list_schema_migrations") is None
        assert blank.fetch_all("list_schema_migrations") == []


def test_each_call_outside_a_transaction_commits(store: Store, other_store: Store) -> None:
    _record(store, 9001)
    assert not store.in_transaction
    assert 9001 in _versions(other_store)


def test_transaction_commits_together(store: Store, other_store: Store) -> None:
    with store.transaction():
        _record(store, 9001)
        _record(store, 9002)
        assert store.in_transaction
        assert 9001 not in _versions(other_store)
    assert {9001, 9002} <= set(_versions(other_store))


def test_transaction_rolls_back_on_error(store: Store) -> None:
    def fail() -> None:
        with store.transaction():
            _record(store, 9001)
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        fail()
    assert 9001 not in _versions(store)


def test_nested_transaction_is_a_savepoint(store: Store) -> None:
    def record_twice() -> None:
        with store.transaction():
            _record(store, 9002)
            _record(store, 9001)

    with store.transaction():
        _record(store, 9001)
        with pytest.raises(ConflictError):
            record_twice()
        _record(store, 9003)
    versions = set(_versions(store))
    assert {9001, 9003} <= versions
    assert 9002 not in versions


def test_unique_violation_names_the_constraint(store: Store) -> None:
    _record(store, 9001)
    with pytest.raises(ConflictError) as caught:
        _record(store, 9001)
    assert caught.value.constraint == "schema_migrations_pkey"
    assert caught.value.sqlstate == "23505"
    assert caught.value.code == "CONFLICT"
    assert "9001" in (caught.value.detail or "")


def test_execute_many(store: Store) -> None:
    rows = [{"version": v, "name": f"m{v}", "checksum": "x"} for v in (9001, 9002, 9003)]
    store.execute_many("insert_schema_migration", rows)
    assert {9001, 9002, 9003} <= set(_versions(store))


def test_execute_many_outside_a_transaction_is_all_or_nothing(store: Store) -> None:
    rows = [{"version": v, "name": f"m{v}", "checksum": "x"} for v in (9001, 9002, 9001)]
    with pytest.raises(ConflictError):
        store.execute_many("insert_schema_migration", rows)
    assert not {9001, 9002} & set(_versions(store))


def test_a_store_needs_an_autocommit_connection(database_url: str) -> None:
    with (
        psycopg.connect(database_url) as connection,
        pytest.raises(ValueError, match="autocommit"),
    ):
        Store(connection)


@pytest.mark.parametrize(
    ("sqlstate", "error_type", "code"),
    [
        ("TK001", InvalidTransitionError, "INVALID_TRANSITION"),
        ("TK002", StaleAttemptError, "STALE_ATTEMPT"),
        ("TK003", EntityNotFoundError, "ENTITY_NOT_FOUND"),
        ("TK999", EngineStateError, "ENGINE_STATE_ERROR"),
    ],
)
def test_custom_sqlstates_become_engine_errors(
    store: Store, sqlstate: str, error_type: type[EngineStateError], code: str
) -> None:
    raise_it = (
        f"DO $$ BEGIN RAISE EXCEPTION 'step % is done', 7 "
        f"USING ERRCODE = '{sqlstate}', HINT = 'ask for a fresh state'; END $$"
    )
    with pytest.raises(error_type) as caught:
        store.execute_script(raise_it)
    assert type(caught.value) is error_type
    assert caught.value.code == code
    assert caught.value.sqlstate == sqlstate
    assert caught.value.message == "step 7 is done"
    assert caught.value.hint == "ask for a fresh state"
    assert isinstance(caught.value.__cause__, psycopg.Error)
    assert not store.in_transaction


def test_serialization_failure_is_a_transaction_conflict(store: Store) -> None:
    with pytest.raises(TransactionConflictError) as caught:
        store.execute_script("DO $$ BEGIN RAISE EXCEPTION 'x' USING ERRCODE = '40001'; END $$")
    assert caught.value.code == "TRANSACTION_CONFLICT"
    assert caught.value.hint
    assert "retry" in caught.value.hint


def test_broken_sql_is_an_internal_error(store: Store) -> None:
    with pytest.raises(QueryError) as caught:
        store.execute_script("SELEC 1")
    assert caught.value.code == "DATABASE_QUERY_FAILED"
    assert caught.value.exit_code == ExitCode.INTERNAL
    assert caught.value.sqlstate == "42601"
    # the connection stays usable
    assert store.server_version()


def test_unknown_query_name_suggests_the_closest(store: Store) -> None:
    with pytest.raises(UnknownQueryError) as caught:
        store.fetch_one("fetch_server_versoin")
    assert caught.value.hint is not None
    assert "'fetch_server_version'" in caught.value.hint


def test_unreachable_server_is_unavailable_without_the_password() -> None:
    with pytest.raises(DatabaseUnavailableError) as caught:
        connect("postgresql://someone:s3cret@127.0.0.1:1/nothing", connect_timeout=2)
    assert caught.value.code == "DATABASE_UNAVAILABLE"
    assert caught.value.exit_code == ExitCode.USAGE
    assert "s3cret" not in caught.value.message
    assert "someone:***@127.0.0.1:1" in caught.value.message


def test_malformed_url_does_not_echo_it() -> None:
    with pytest.raises(DatabaseUnavailableError) as caught:
        connect("host=x password=s3cret nonsense")
    assert "s3cret" not in str(caught.value)
    assert caught.value.__cause__ is None


def test_terminated_session_is_unavailable(database_url: str) -> None:
    name = f"victim-{secrets.token_hex(4)}"
    with connect(database_url, application_name=name) as victim:
        assert victim.server_version()
        with psycopg.connect(database_url, autocommit=True) as admin:
            admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE application_name = %s",
                [name],
            )
        with pytest.raises(DatabaseUnavailableError) as caught:
            victim.server_version()
    assert caught.value.hint
    assert "running" in caught.value.hint


def test_repr_hides_the_password(database_url: str) -> None:
    parts = urlsplit(database_url)
    if parts.password is None:
        # the test server trusts local connections: any password is accepted and ignored
        host = parts.netloc.rpartition("@")[2]
        parts = parts._replace(netloc=f"{parts.username or 'postgres'}:hunter2@{host}")
    with connect(urlunsplit(parts)) as opened:
        assert (parts.password or "") not in repr(opened)
        assert "***" in repr(opened)


def test_notification_arrives_after_commit(store: Store, other_store: Store) -> None:
    store.listen("Steps Ready")
    with other_store.transaction():
        other_store.notify("Steps Ready", "task-1")
        assert store.wait_for_notifications(timeout=0.2) == []
    received = store.wait_for_notifications(timeout=5)
    assert [(n.channel, n.payload) for n in received] == [("Steps Ready", "task-1")]
    assert received[0].pid != 0


def test_wait_returns_every_queued_notification(store: Store, other_store: Store) -> None:
    store.listen("a", "b")
    other_store.notify("a", "1")
    other_store.notify("b", "2")
    other_store.notify("c", "ignored")
    time.sleep(0.1)
    store.server_version()  # notifications that arrive during a query are kept for later
    received = store.wait_for_notifications(timeout=5)
    assert sorted((n.channel, n.payload) for n in received) == [("a", "1"), ("b", "2")]


def test_wait_wakes_up_on_notify(store: Store, other_store: Store) -> None:
    store.listen("wake")
    timer = threading.Timer(0.3, lambda: other_store.notify("wake"))
    timer.start()
    started = time.monotonic()
    try:
        received = store.wait_for_notifications(timeout=10)
    finally:
        timer.join()
    assert [n.channel for n in received] == ["wake"]
    assert time.monotonic() - started < 5


def test_wait_times_out_empty(store: Store) -> None:
    store.listen("quiet")
    started = time.monotonic()
    assert store.wait_for_notifications(timeout=0.3) == []
    assert 0.25 <= time.monotonic() - started < 3


def test_unlisten_stops_delivery(store: Store, other_store: Store) -> None:
    store.listen("x", "y")
    store.unlisten("x")
    other_store.notify("x")
    other_store.notify("y")
    assert [n.channel for n in store.wait_for_notifications(timeout=5)] == ["y"]
    store.unlisten()
    other_store.notify("y")
    assert store.wait_for_notifications(timeout=0.2) == []


def test_wait_inside_a_transaction_is_refused(store: Store) -> None:
    with store.transaction(), pytest.raises(RuntimeError, match="inside a transaction"):
        store.wait_for_notifications(timeout=0)


def test_closing_inside_a_transaction_loses_it(database_url: str, other_store: Store) -> None:
    opened = connect(database_url)
    with opened.transaction():
        _record(opened, 9001)
        opened.close()
    assert opened.closed
    assert 9001 not in _versions(other_store)
