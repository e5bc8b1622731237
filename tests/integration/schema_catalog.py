"""What a database's ``tasker`` schema is made of, read from PostgreSQL's catalog.

Two databases have the same schema when their ``catalog`` snapshots are equal: tables with
their storage options, columns (position, type, default, nullability), constraints, indexes,
views, sequences, triggers, types, functions (identity arguments, result and the whole
``pg_get_functiondef`` text) and the rows of the state-rule tables, which are part of the
schema as much as the functions that read them. The migration ledger is the runner's, not
the schema's, and is left out.
"""

from __future__ import annotations

from typing import Any

import psycopg

# the ledger: written by the migration runner, whatever the schema holds
_LEDGER = "schema_migrations"

_QUERIES: dict[str, str] = {
    "tables": """
        SELECT c.relname, c.relkind, c.relpersistence, array_to_string(c.reloptions, ',') AS options
        FROM pg_class c
        WHERE c.relnamespace = 'tasker'::regnamespace AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
          AND c.relname <> %(ledger)s
        ORDER BY 1""",
    "columns": """
        SELECT c.relname, a.attnum, a.attname, format_type(a.atttypid, a.atttypmod) AS type,
               a.attnotnull, pg_get_expr(d.adbin, d.adrelid) AS default_value, a.attidentity,
               a.attgenerated, a.attcollation::regcollation::text AS collation
        FROM pg_attribute a
        JOIN pg_class c ON c.oid = a.attrelid
        LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
        WHERE c.relnamespace = 'tasker'::regnamespace AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
          AND c.relname <> %(ledger)s AND a.attnum > 0 AND NOT a.attisdropped
        ORDER BY 1, 2""",
    "constraints": """
        SELECT c.relname, k.conname, k.contype, pg_get_constraintdef(k.oid) AS definition
        FROM pg_constraint k
        JOIN pg_class c ON c.oid = k.conrelid
        WHERE k.connamespace = 'tasker'::regnamespace AND c.relname <> %(ledger)s
        ORDER BY 1, 2""",
    "indexes": """
        SELECT tablename, indexname, indexdef FROM pg_indexes
        WHERE schemaname = 'tasker' AND tablename <> %(ledger)s
        ORDER BY 1, 2""",
    "views": """
        SELECT viewname, definition FROM pg_views WHERE schemaname = 'tasker' ORDER BY 1""",
    "sequences": """
        SELECT sequencename, data_type::text, start_value, increment_by, max_value, cycle
        FROM pg_sequences WHERE schemaname = 'tasker' AND sequencename NOT LIKE %(ledger_like)s
        ORDER BY 1""",
    "triggers": """
        SELECT c.relname, t.tgname, pg_get_triggerdef(t.oid) AS definition
        FROM pg_trigger t
        JOIN pg_class c ON c.oid = t.tgrelid
        WHERE c.relnamespace = 'tasker'::regnamespace AND NOT t.tgisinternal
        ORDER BY 1, 2""",
    "types": """
        SELECT t.typname, t.typtype, format_type(t.typbasetype, t.typtypmod) AS base
        FROM pg_type t
        WHERE t.typnamespace = 'tasker'::regnamespace AND t.typtype IN ('d', 'e', 'r')
        ORDER BY 1""",
    "functions": """
        SELECT p.proname, pg_get_function_identity_arguments(p.oid) AS arguments,
               pg_get_function_result(p.oid) AS result, pg_get_functiondef(p.oid) AS definition
        FROM pg_proc p
        WHERE p.pronamespace = 'tasker'::regnamespace
        ORDER BY 1, 2""",
    "task_states": "SELECT * FROM tasker.task_states ORDER BY state",
    "step_states": "SELECT * FROM tasker.step_states ORDER BY state",
    "task_transition_rules": """
        SELECT * FROM tasker.task_transition_rules ORDER BY from_state NULLS FIRST, to_state""",
    "step_transition_rules": """
        SELECT * FROM tasker.step_transition_rules ORDER BY from_state NULLS FIRST, to_state""",
}


def catalog(url: str) -> dict[str, list[tuple[Any, ...]]]:
    """The ``tasker`` schema of the database at ``url``, one sorted list of rows per kind."""
    parameters = {"ledger": _LEDGER, "ledger_like": f"{_LEDGER}%"}
    with psycopg.connect(url, autocommit=True) as connection:
        return {
            kind: [tuple(row) for row in connection.execute(query, parameters).fetchall()]
            for kind, query in _QUERIES.items()
        }


def differences(
    left: dict[str, list[tuple[Any, ...]]], right: dict[str, list[tuple[Any, ...]]]
) -> list[str]:
    """Readable lines for every row one snapshot has and the other does not."""
    lines: list[str] = []
    for kind in _QUERIES:
        only_left = sorted(set(left[kind]) - set(right[kind]), key=repr)
        only_right = sorted(set(right[kind]) - set(left[kind]), key=repr)
        lines += [f"{kind}: only in the first: {_short(row)}" for row in only_left]
        lines += [f"{kind}: only in the second: {_short(row)}" for row in only_right]
        if not only_left and not only_right and left[kind] != right[kind]:
            lines.append(f"{kind}: same rows in another order")
    return lines


def _short(row: tuple[Any, ...]) -> str:
    text = repr(row)
    return text if len(text) <= 300 else text[:300] + "..."
