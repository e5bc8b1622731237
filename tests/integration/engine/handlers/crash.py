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


def _returning(context: StepContext) -> None:
    """Mark, just before the handler returns, that what follows is the engine's growth."""
    name = context.event.task_sequence_step["workflow_step"]["name"]
    _database().execute(
        "INSERT INTO crash_calls (step, attempt, idempotency_key, pid) VALUES (%s, %s, %s, %s)",
        (name, context.retry_count + 1, context.idempotency_key, os.getpid()),
    )


@step_handler("crash.fan_out")
def fan_out(context: StepContext) -> dict[str, Any]:
    """A batchable step asking for ``workers`` (context) workers of template ``part``."""
    count = int(context.get_input("workers"))
    _returning(context)
    return {
        "batch_processing_outcome": {
            "type": "create_batches",
            "worker_template_name": "part",
            "worker_count": count,
            "cursor_configs": [
                {"batch_id": f"{i:05d}", "start_cursor": i, "end_cursor": i + 1, "batch_size": 1}
                for i in range(count)
            ],
            "total_items": count,
        }
    }


@step_handler("crash.choose_all")
def choose_all(context: StepContext) -> dict[str, Any]:
    """A decision step choosing every step named in ``branches`` (context)."""
    branches = list(context.get_input("branches"))
    _returning(context)
    return {"decision_point_outcome": {"type": "create_steps", "step_names": branches}}
