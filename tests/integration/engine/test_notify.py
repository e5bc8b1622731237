"""Idle workers wake on NOTIFY at once, and still find work by polling when a notification
never reaches them."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from tasker_ctl.engine.worker import loop as worker_module
from tasker_ctl.engine.worker.loop import Worker, WorkerOptions
from tests.integration.engine.conftest import Engine, make_template, step
from tests.integration.engine.handlers import Recorder

TEMPLATE = make_template([step("only", "ok.noop")], name="notified")


@contextmanager
def idle_worker(engine: Engine, poll_interval: float) -> Iterator[Worker]:
    """A worker on every namespace, left idle long enough to be waiting."""
    stop = threading.Event()
    worker = Worker(engine.url, engine.registry, WorkerOptions(poll_interval=poll_interval), stop)
    thread = threading.Thread(target=worker.run, daemon=True)
    thread.start()
    time.sleep(0.5)
    try:
        yield worker
    finally:
        stop.set()
        thread.join(timeout=5)
        assert not thread.is_alive()


def _wait_for_call(calls: Recorder, limit: float) -> float:
    """Seconds until a handler call is recorded (fails after ``limit``)."""
    started = time.monotonic()
    while not calls.calls:
        if time.monotonic() - started > limit:
            pytest.fail(f"no handler ran within {limit} s")
        time.sleep(0.005)
    return calls.calls[0].started - started


def test_notify_wakes_an_idle_worker_at_once(engine: Engine, calls: Recorder) -> None:
    with idle_worker(engine, poll_interval=30):
        engine.submit(TEMPLATE, {})
        latency = _wait_for_call(calls, limit=10)
    # the poll interval is 30 s: only the notification can explain a quick start
    assert latency < 5
    assert engine.one("SELECT current_state FROM tasker.tasks")["current_state"] == "complete"


def test_polling_finds_work_when_notifications_are_missed(
    engine: Engine, calls: Recorder, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the worker listens on a channel nobody notifies
    monkeypatch.setattr(worker_module, "READY_CHANNEL", "tasker_nobody_notifies_this")
    with idle_worker(engine, poll_interval=0.5):
        engine.submit(TEMPLATE, {})
        latency = _wait_for_call(calls, limit=10)
    assert latency < 5


def test_an_idle_worker_stops_promptly(engine: Engine) -> None:
    stop = threading.Event()
    worker = Worker(engine.url, engine.registry, WorkerOptions(poll_interval=30), stop)
    thread = threading.Thread(target=worker.run, daemon=True)
    thread.start()
    time.sleep(0.3)
    asked = time.monotonic()
    stop.set()
    thread.join(timeout=5)
    assert not thread.is_alive()
    assert time.monotonic() - asked < 1
