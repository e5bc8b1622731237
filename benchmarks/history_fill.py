"""The database history of ``bench_flat.py``'s history axis: a million steps of earlier tasks.

``fill_history`` runs one real task (a chain of ``SOURCE_STEPS`` no-op steps, by a worker of
the engine) and clones its rows with plain SQL until the database holds the steps asked for,
then checks that every cloned task and step is complete with one ``most_recent`` transition
in its state. Clones take keys as the engine's own rows do: time-ordered for steps, edges and
transitions, random for tasks.
"""

from __future__ import annotations

import math
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_engine import _registry, _submit, chain_template

from tasker_ctl.engine.store.connection import connect
from tasker_ctl.engine.worker.loop import Worker, WorkerOptions

SOURCE_STEPS = 500  # the task the fill clones
CLONES_PER_STATEMENT = 50

# What a clone of the source task writes: for each table, the rows read and the columns given
# new values, the others copied. ``c`` is a new task, ``m`` (and ``n``) a new step of it. The
# source is a template's plain chain: no step points at another (origin, planning step).
NEW_STEP = "JOIN clone_steps m ON m.old_step = s.workflow_step_uuid"
CLONES: dict[str, tuple[str, dict[str, str]]] = {
    "tasks": (
        "tasker.tasks s CROSS JOIN clone_tasks c WHERE s.task_uuid = %(source)s",
        {
            "task_uuid": "c.task_uuid",
            "correlation_id": "c.correlation_id",
            "identity_hash": "replace(c.task_uuid::text, '-', '')",  # as always_unique
            "trace_id": "md5(c.task_uuid::text)",
            "span_id": "left(md5(c.correlation_id::text), 16)",
        },
    ),
    "task_transitions": (
        "tasker.task_transitions s CROSS JOIN clone_tasks c WHERE s.task_uuid = %(source)s",
        {"task_transition_uuid": "tasker.uuid_v7()", "task_uuid": "c.task_uuid"},
    ),
    "workflow_steps": (
        f"tasker.workflow_steps s {NEW_STEP}",
        {
            "workflow_step_uuid": "m.new_step",
            "task_uuid": "m.new_task",
            # submission.idempotency_key: sha256 of 'task:step', 32 hex digits
            "idempotency_key": "left(encode(sha256(convert_to("
            "m.new_task::text || ':' || s.name, 'UTF8')), 'hex'), 32)",
        },
    ),
    "workflow_step_edges": (
        "tasker.workflow_step_edges s JOIN clone_steps m ON m.old_step = s.from_step_uuid "
        "JOIN clone_steps n ON n.old_step = s.to_step_uuid AND n.new_task = m.new_task",
        {
            "workflow_step_edge_uuid": "tasker.uuid_v7()",
            "from_step_uuid": "m.new_step",
            "to_step_uuid": "n.new_step",
        },
    ),
    "workflow_step_transitions": (
        f"tasker.workflow_step_transitions s {NEW_STEP}",
        {
            "workflow_step_transition_uuid": "tasker.uuid_v7()",
            "workflow_step_uuid": "m.new_step",
            "task_uuid": "m.new_task",
        },
    ),
    "step_parent_counts": (
        f"tasker.step_parent_counts s {NEW_STEP}",
        {"workflow_step_uuid": "m.new_step"},
    ),
}
# the other tables that can hold rows of a task (schema.sql): a source with any is refused
UNCLONED = """
SELECT (SELECT count(*) FROM tasker.tasks_dlq WHERE task_uuid = %(source)s)
     + (SELECT count(*) FROM tasker.task_budget_entries WHERE task_uuid = %(source)s)
     + (SELECT count(*) FROM tasker.planning_attempts WHERE task_uuid = %(source)s)
     + (SELECT count(*) FROM tasker.grammar_outbox WHERE task_uuid = %(source)s)
     + (SELECT count(*) FROM tasker.grammar_effects WHERE task_uuid = %(source)s)
     + (SELECT count(*) FROM tasker.batch_worker_slots b JOIN tasker.workflow_steps s
            ON s.workflow_step_uuid = b.worker_step_uuid WHERE s.task_uuid = %(source)s)
"""
# the new tasks of one statement, and the new uuid of each source step in each of them
CLONE_MAP = [
    "CREATE TEMP TABLE clone_tasks ON COMMIT DROP AS SELECT gen_random_uuid() AS task_uuid, "
    "gen_random_uuid() AS correlation_id FROM generate_series(1, %(count)s)",
    "CREATE TEMP TABLE clone_steps ON COMMIT DROP AS SELECT c.task_uuid AS new_task, "
    "s.workflow_step_uuid AS old_step, tasker.uuid_v7() AS new_step "
    "FROM clone_tasks c CROSS JOIN tasker.workflow_steps s WHERE s.task_uuid = %(source)s",
    "ANALYZE clone_steps",
]
# every task and step complete, with exactly one most_recent transition saying so
HISTORY_CHECK = """
SELECT (SELECT count(*) FROM tasker.tasks),
       (SELECT count(*) FROM tasker.workflow_steps),
       (SELECT count(*) FROM tasker.tasks WHERE current_state <> 'complete' OR NOT complete)
     + (SELECT count(*) FROM tasker.workflow_steps WHERE current_state <> 'complete'),
       (SELECT count(*) - count(DISTINCT correlation_id) FROM tasker.tasks),
       (SELECT count(*) FROM tasker.tasks t LEFT JOIN tasker.task_transitions r
            ON r.task_uuid = t.task_uuid AND r.most_recent
        WHERE r.to_state IS DISTINCT FROM t.current_state)
     + (SELECT count(*) FROM tasker.workflow_steps s LEFT JOIN tasker.workflow_step_transitions r
            ON r.workflow_step_uuid = s.workflow_step_uuid AND r.most_recent
        WHERE r.to_state IS DISTINCT FROM s.current_state)
"""
COLUMNS = """
SELECT attname FROM pg_attribute
WHERE attrelid = %(table)s::regclass AND attnum > 0 AND NOT attisdropped ORDER BY attnum
"""


def scalar(connection: psycopg.Connection[Any], query: Any, params: Any = None) -> Any:
    """The first column of the first row of ``query``."""
    row = connection.execute(query, params).fetchone()
    assert row is not None
    return row[0]


def run_source(url: str) -> uuid.UUID:
    """One real task: a chain of SOURCE_STEPS run to completion by a worker of the engine."""
    task = _submit(url, chain_template(SOURCE_STEPS))
    worker = Worker(url, _registry(), WorkerOptions(task_uuid=task))
    with connect(url) as store:
        while worker.run_once(store):
            pass
    return task


def clone_statement(
    connection: psycopg.Connection[Any], table: str, rows: str, replaced: dict[str, str]
) -> sql.Composed:
    """INSERT ... SELECT of every column of ``table``, copied unless ``replaced``."""
    columns = [r[0] for r in connection.execute(COLUMNS, {"table": f"tasker.{table}"})]
    if missing := set(replaced) - set(columns):
        raise SystemExit(f"tasker.{table} has no column {', '.join(sorted(missing))}")
    values = [
        sql.SQL(replaced[c]) if c in replaced else sql.SQL("s.{}").format(sql.Identifier(c))
        for c in columns
    ]
    return sql.SQL("INSERT INTO tasker.{} ({}) SELECT {} FROM {}").format(
        sql.Identifier(table),
        sql.SQL(", ").join(map(sql.Identifier, columns)),
        sql.SQL(", ").join(values),
        sql.SQL(rows),
    )


def fill_history(url: str, steps: int) -> None:
    """Bring the database to ``steps`` steps of completed tasks, clones of one real task."""
    start = time.perf_counter()
    source = run_source(url)
    with psycopg.connect(url, autocommit=True) as connection:
        if rows := scalar(connection, UNCLONED, {"source": source}):
            raise SystemExit(f"the source task has {rows} rows in tables the fill does not copy")
        statements: list[str | sql.Composed] = [*CLONE_MAP]
        statements += [clone_statement(connection, t, *clone) for t, clone in CLONES.items()]
        # no triggers: the rules the copied transitions met, and the foreign keys, are not
        # checked again (the server's user is a superuser); unique indexes still are
        connection.execute("SET session_replication_role = replica")
        have = scalar(connection, "SELECT count(*) FROM tasker.workflow_steps")
        clones = math.ceil(max(0, steps - have) / SOURCE_STEPS)
        for done in range(0, clones, CLONES_PER_STATEMENT):
            count = min(CLONES_PER_STATEMENT, clones - done)
            with connection.transaction():
                for statement in statements:
                    connection.execute(statement, {"count": count, "source": source})
        cloned = time.perf_counter()
        connection.execute("RESET session_replication_role")
        connection.execute("VACUUM ANALYZE")
        filled = time.perf_counter()
        found = connection.execute(HISTORY_CHECK).fetchone()
    assert found is not None
    tasks, total, unfinished, shared_ids, wrong_recent = found
    print(
        f"history fill: {total:,} steps in {tasks:,} tasks, {filled - start:.1f} s "
        f"(a {SOURCE_STEPS}-step task run and cloned {clones:,} times: {cloned - start:.1f} s; "
        f"VACUUM ANALYZE {filled - cloned:.1f} s)"
    )
    if unfinished or shared_ids or wrong_recent:
        raise SystemExit(
            f"history fill is inconsistent: {unfinished} tasks or steps not complete, "
            f"{shared_ids} shared correlation ids, {wrong_recent} without one most_recent "
            "transition in their state"
        )
