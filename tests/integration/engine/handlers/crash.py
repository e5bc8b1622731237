"""The handler of the crash test. It runs in worker processes that the test kills, so it
records each call in the database (table ``crash_calls``, created by the test) through a
connection of its own, before it does its few milliseconds of work."""

from __future__ import annotations

import os
import random
import time
from typing import Any

import psycopg

from tasker_ctl.sdk.step_handler.functional import step_handler
from tasker_ctl.sdk.types import StepContext

DATABASE_ENV = "ENGINE_CRASH_DATABASE_URL"
_connection: psycopg.Connection[Any] | None = None


def _database() -> psycopg.Connection[Any]:
    global _connection
    if _connection is None or _connection.closed:
        _connection = psycopg.connect(os.environ[DATABASE_ENV], autocommit=True)
    return _connection


@step_handler("crash.work")
def work(context: StepContext) -> dict[str, Any]:
    name = context.event.task_sequence_step["workflow_step"]["name"]
    _database().execute(
        "INSERT INTO crash_calls (step, attempt, idempotency_key, pid) VALUES (%s, %s, %s, %s)",
        (name, context.retry_count + 1, context.idempotency_key, os.getpid()),
    )
    time.sleep(random.uniform(0.005, 0.04))
    parents = sorted(context.get_dependency_result_keys())
    return {"step": name, "pid": os.getpid(), "ancestors": len(parents)}
