"""Lost connections on the shared server: a store reconnects and listens again, a worker whose
connections are cut (``pg_terminate_backend``, what a restart does to them) carries on, its
heartbeat renews leases over a new connection, and claims whose reply was lost are taken
back. Restarting a whole server is ``test_database_restart.py``'s."""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Callable
from datetime import datetime, timedelta

import pytest

from tasker_ctl.engine.store.connection import Json, Store, connect
from tasker_ctl.engine.worker.heartbeat import Heartbeat
from tasker_ctl.engine.worker.loop import Worker, WorkerOptions
from tasker_ctl.errors import DatabaseConnectionLostError, StaleAttemptError
from tests.integration.engine.conftest import Engine, claim, make_template, step
from tests.integration.engine.handlers import Recorder

PATIENCE_SECONDS = 60.0


def cut(engine: Engine, *application_names: str) -> int:
    """End the sessions of these applications on the test's database, as a restarting server
    ends them (admin_shutdown); how many were ended."""
    rows = engine.rows(
        "SELECT pg_terminate_backend(pid) AS ended FROM pg_stat_activity"
        " WHERE datname = current_database() AND application_name = ANY (%s)"
        " AND pid <> pg_backend_pid()",
        list(application_names),
    )
    return sum(1 for row in rows if row["ended"])


def wait_for(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + PATIENCE_SECONDS
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


def test_a_store_reconnects_and_listens_again(engine: Engine, database_url: str) -> None:
    store = connect(database_url, application_name="reconnect-test")
    with store:
        store.listen("reconnect_test")
        assert cut(engine, "reconnect-test") == 1
        with pytest.raises(DatabaseConnectionLostError) as raised:
            store.fetch_value("fetch_server_version")
        assert raised.value.code == "DATABASE_UNAVAILABLE"
        store.reconnect()
        assert store.fetch_value("fetch_server_version")
        engine.execute("SELECT pg_notify('reconnect_test', 'after')")
        received = store.wait_for_notifications(10)
        assert [note.payload for note in received] == ["after"]


def test_waiting_on_a_cut_connection_says_it_was_lost(engine: Engine, database_url: str) -> None:
    with connect(database_url, application_name="reconnect-test") as store:
        store.listen("reconnect_test")
        cut(engine, "reconnect-test")
        with pytest.raises(DatabaseConnectionLostError):
            store.wait_for_notifications(10)
        # and again on the closed connection, not "inside a transaction"
        with pytest.raises(DatabaseConnectionLostError):
            store.wait_for_notifications(0.1)


def test_a_worker_carries_on_when_its_connections_are_cut(
    engine: Engine, calls: Recorder, caplog: pytest.LogCaptureFixture
) -> None:
    template = make_template(
        [step("root", "ok.noop")]
        + [step(f"s{i:02d}", "ok.jitter", "root", config={"max_ms": 30}) for i in range(60)]
        + [step("join", "ok.noop", *[f"s{i:02d}" for i in range(60)])],
        name="cut_connections",
    )
    task = engine.submit(template, {})
    stop = threading.Event()
    failures: list[BaseException] = []
    workers = [
        Worker(
            engine.url,
            engine.registry,
            WorkerOptions(task_uuid=task.task_uuid, worker_id=f"cut-{i}"),
            stop,
        )
        for i in range(2)
    ]

    def work(worker: Worker) -> None:
        try:
            worker.run()
        except BaseException as error:
            failures.append(error)

    threads = [threading.Thread(target=work, args=(w,), daemon=True) for w in workers]
    with caplog.at_level(logging.WARNING):
        for thread in threads:
            thread.start()
        cuts = 0

        def complete() -> bool:
            return bool(engine.task(task.task_uuid)["current_state"] == "complete")

        try:
            # a cut after every few steps, while the workers are busy
            while not complete():
                assert not failures, failures
                busy = cuts < 6 and len(calls.calls) >= 8 * (cuts + 1)
                if busy and cut(engine, "tasker-ctl worker", "tasker-ctl heartbeat"):
                    cuts += 1
                time.sleep(0.01)
        finally:
            stop.set()
            for thread in threads:
                thread.join(timeout=PATIENCE_SECONDS)
    assert failures == []
    assert cuts >= 3
    assert "lost the database (attempt 1)" in caplog.text
    assert "reconnected to the database" in caplog.text
    # every step ran and completed once, at its first attempt
    assert Counter(call.step for call in calls.calls) == Counter(list(engine.steps(task.task_uuid)))
    assert {call.attempt for call in calls.calls} == {1}
    completions = Counter(
        row["name"]
        for row in engine.step_transitions(task.task_uuid)
        if row["to_state"] == "complete"
    )
    assert set(completions.values()) == {1}
    assert len(completions) == 62


def test_claims_whose_reply_was_lost_are_taken_back(engine: Engine, calls: Recorder) -> None:
    template = make_template(
        [step(name, "ok.noop") for name in ("lost", "expired", "others")], name="take_back"
    )
    task = engine.submit(template, {})
    worker_id = "taker"
    # a claim that committed while its reply was lost: leased to the worker, unknown to it
    lost = claim(engine.store, task.task_uuid, worker=worker_id, lease=30)
    assert lost is not None
    # one of the worker's claims whose lease has run out: not taken
    expired = claim(engine.store, task.task_uuid, worker=worker_id, lease=30)
    assert expired is not None
    engine.execute(
        "UPDATE tasker.workflow_steps SET lease_expires_at = %s, claimable_at = %s"
        " WHERE workflow_step_uuid = %s",
        *[engine.db_now() - timedelta(seconds=1)] * 2,
        expired["workflow_step_uuid"],
    )
    # and another worker's claim: not taken either
    others = claim(engine.store, task.task_uuid, worker="someone-else", lease=30)
    assert others is not None
    lease_before = engine.steps(task.task_uuid)[lost["name"]]["lease_expires_at"]

    worker = Worker(
        engine.url, engine.registry, WorkerOptions(task_uuid=task.task_uuid, worker_id=worker_id)
    )
    worker.take_back(engine.store)
    taken = list(worker.claims.in_hand)
    assert [step.name for step in taken] == [lost["name"]]
    assert taken[0].attempt == 1
    assert taken[0].task.payload["task_uuid"] == str(task.task_uuid)
    assert worker.claims.heartbeat.holds() == [lost["workflow_step_uuid"]]
    assert engine.steps(task.task_uuid)[lost["name"]]["lease_expires_at"] > lease_before
    # held attempts are not taken twice
    worker.take_back(engine.store)
    assert len(worker.claims.in_hand) == 1

    # the worker runs it as its own claim: one attempt, completed once
    assert worker.run_once(engine.store)
    worker.claims.heartbeat.close()
    assert [(call.step, call.attempt) for call in calls.calls] == [(lost["name"], 1)]
    row = engine.steps(task.task_uuid)[lost["name"]]
    assert (row["current_state"], row["attempts"]) == ("complete", 1)


def test_the_heartbeat_renews_leases_over_a_new_connection(
    engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    template = make_template([step("held", "ok.noop")], name="heartbeat_cut")
    task = engine.submit(template, {})
    options = WorkerOptions(task_uuid=task.task_uuid, worker_id="beating", lease_seconds=3)
    claimed = claim(engine.store, task.task_uuid, worker="beating", lease=3)
    assert claimed is not None

    def lease() -> datetime:
        value = engine.steps(task.task_uuid)["held"]["lease_expires_at"]
        assert isinstance(value, datetime)
        return value

    heartbeat = Heartbeat(engine.url, options)
    with caplog.at_level(logging.WARNING):
        try:
            heartbeat.hold([(claimed["workflow_step_uuid"], claimed["attempts"])])
            first = lease()
            wait_for(lambda: lease() != first, "a renewal")
            assert cut(engine, "tasker-ctl heartbeat") == 1
            renewed = lease()
            wait_for(lambda: lease() != renewed, "a renewal after the cut")
        finally:
            heartbeat.close()
    assert "heartbeat of beating lost the database (attempt 1)" in caplog.text
    assert "heartbeat of beating is back on the database" in caplog.text


def test_a_growing_outcome_run_again_after_it_committed_is_refused(
    engine: Engine, store: Store
) -> None:
    """The first statement of a transaction that adds steps fences the attempt, so a retry
    after a lost connection (when the first run did commit) adds nothing twice."""
    template = make_template([step("only", "ok.noop")], name="fenced_growth")
    task = engine.submit(template, {})
    claimed = claim(store, task.task_uuid, worker="w")
    assert claimed is not None
    step_uuid, attempt = claimed["workflow_step_uuid"], claimed["attempts"]
    store.fetch_one("lock_current_attempt", step_uuid=step_uuid, attempt=attempt)
    store.fetch_one(
        "complete_step", step_uuid=step_uuid, attempt=attempt, results=Json({}), metadata=Json({})
    )
    with pytest.raises(StaleAttemptError):
        store.fetch_one("lock_current_attempt", step_uuid=step_uuid, attempt=attempt)
