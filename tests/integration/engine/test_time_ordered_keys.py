"""New rows take time-ordered (version 7) uuids, so that indexes grow at their right edge;
a task's stays random, so that the first characters people name it by stay its own.

Checked on the rows a submitted task creates, and on the portable generator that servers
before PostgreSQL 18 use in place of its own ``uuidv7()``: version and variant bits, the
creation time in the first 48 bits, and order across milliseconds.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

from tests.integration.engine.conftest import Engine, make_template, step

TEMPLATE = make_template(
    [step("first", "keys.noop"), step("second", "keys.noop", "first")], name="time_keys"
)


def _milliseconds(key: Any) -> int:
    return uuid.UUID(str(key)).int >> 80


def _is_version_7(key: Any) -> bool:
    parsed = uuid.UUID(str(key))
    return parsed.version == 7 and parsed.variant == uuid.RFC_4122


def test_a_submitted_task_and_its_rows_have_time_ordered_keys(engine: Engine) -> None:
    before = int(time.time() * 1000)
    task = engine.submit(TEMPLATE, {})
    after = int(time.time() * 1000)
    steps = engine.steps(task.task_uuid)
    transitions = engine.rows(
        "SELECT workflow_step_transition_uuid FROM tasker.workflow_step_transitions "
        "WHERE task_uuid = %s",
        task.task_uuid,
    )
    edges = engine.rows(
        "SELECT workflow_step_edge_uuid FROM tasker.workflow_step_edges WHERE to_step_uuid = %s",
        steps["second"]["workflow_step_uuid"],
    )
    # a task's uuid stays random: people name a task by the first characters of it
    assert uuid.UUID(str(task.task_uuid)).version == 4
    keys = [
        *(row["workflow_step_uuid"] for row in steps.values()),
        *(row["workflow_step_transition_uuid"] for row in transitions),
        *(row["workflow_step_edge_uuid"] for row in edges),
    ]
    assert len(keys) >= 2 + 2 + 1  # the steps, their transitions, the edge
    assert all(_is_version_7(key) for key in keys)
    # the database's clock and this one agree to well within a second here
    assert all(before - 1000 <= _milliseconds(key) <= after + 1000 for key in keys)


def test_the_portable_generator_makes_version_7_keys_in_time_order(engine: Engine) -> None:
    first = engine.rows("SELECT tasker.uuid_v7_portable() AS key")[0]["key"]
    engine.rows("SELECT pg_sleep(0.005)")
    batch = engine.rows("SELECT tasker.uuid_v7_portable() AS key FROM generate_series(1, 500)")
    keys = [row["key"] for row in batch]
    assert _is_version_7(first)
    assert all(_is_version_7(key) for key in keys)
    assert len(set(keys)) == 500
    # a later millisecond sorts after an earlier one; within one, the rest is random
    assert all(_milliseconds(first) < _milliseconds(key) for key in keys)
    assert str(first) < min(str(key) for key in keys)
