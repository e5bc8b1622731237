"""``schema.sql`` is the schema: a database migrated from empty equals one built from it.

Compared catalog for catalog (tests/integration/schema_catalog.py): tables, columns,
constraints, indexes, views, sequences, triggers, types, functions with their identity
arguments, results and bodies, and the state-rule rows. Also: no function keeps an old
overload, and the hand-inlined "demote most_recent, insert the next transition" copies all
do it the way record_step_transition does.
"""

from __future__ import annotations

import re

import psycopg
import pytest

from tasker_ctl.engine.store.connection import connect
from tasker_ctl.engine.store.migrations import migrate, packaged_schema
from tests.integration.schema_catalog import catalog, differences
from tests.postgres_plugin import CreateDatabase

# the functions that append a transition by hand, as the transitions section of schema.sql
# lists them (and says why they are not calls of record_step_transition)
DEMOTING = {
    "transition_task",
    "record_step_transition",
    "claim_step",
    "start_enqueued",
    "record_enqueued_taking",
    "record_completion",
    "record_completions",
    "record_operator_transitions",
}
_FUNCTION = re.compile(
    r"^CREATE FUNCTION tasker\.(?P<name>\w+)\(.*?\$\$\n(?P<body>.*?)^\$\$;",
    re.MULTILINE | re.DOTALL,
)
_DEMOTE = re.compile(
    r"UPDATE tasker\.(?P<table>task_transitions|workflow_step_transitions)(?: \w+)?"
    r" SET most_recent = false\n(?P<rest>.*?)RETURNING (?P<returning>[^\n;]*)",
    re.DOTALL,
)


def build_from_schema_sql(url: str, text: str | None = None) -> None:
    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute(text if text is not None else packaged_schema().read_text("utf-8"))


def test_a_migrated_database_equals_schema_sql(new_database: CreateDatabase) -> None:
    migrated, built = new_database(), new_database()
    with connect(migrated) as store:
        migrate(store)
    build_from_schema_sql(built)
    assert differences(catalog(migrated), catalog(built)) == []


def test_the_comparison_sees_a_changed_function_body(new_database: CreateDatabase) -> None:
    # the test above fails when schema.sql and the migrations part ways; here, one word
    # changed in one function body is enough
    text = packaged_schema().read_text("utf-8")
    changed = text.replace("RETURNING sort_key INTO v_sort;", "RETURNING sort_key INTO  v_sort;")
    assert changed != text
    original, edited = new_database(), new_database()
    build_from_schema_sql(original, text)
    build_from_schema_sql(edited, changed)
    found = differences(catalog(original), catalog(edited))
    assert [line.split(":")[0] for line in found] == ["functions", "functions"]
    assert all("transition_task" in line for line in found)


def test_no_function_keeps_an_old_overload(new_database: CreateDatabase) -> None:
    url = new_database()
    with connect(url) as store:
        migrate(store)
    functions = catalog(url)["functions"]
    names = [row[0] for row in functions]
    assert sorted({name for name in names if names.count(name) > 1}) == []
    assert ("complete_and_claim", 9) in {
        (row[0], row[1].count(",") + 1) for row in functions if row[0] == "complete_and_claim"
    }


def _bodies() -> dict[str, str]:
    text = packaged_schema().read_text("utf-8")
    return {match["name"]: match["body"] for match in _FUNCTION.finditer(text)}


def test_every_hand_inlined_transition_is_listed_and_alike() -> None:
    bodies = _bodies()
    assert len(bodies) > 40  # the pattern found the functions
    demoting = {name for name, body in bodies.items() if "SET most_recent = false" in body}
    assert demoting == DEMOTING
    section = packaged_schema().read_text("utf-8").split("-- Transitions\n", 1)[1]
    comment = section.split("CREATE TABLE", 1)[0]
    for name in DEMOTING - {"transition_task", "record_step_transition"}:
        assert name in comment, f"{name} is not named where the copies are explained"
    for name in sorted(DEMOTING):
        body = bodies[name]
        demotes = list(_DEMOTE.finditer(body))
        assert len(demotes) == 1, name
        demote = demotes[0]
        # the row demoted is the entity's most recent one, and its sort_key numbers the next
        assert re.search(r"\bmost_recent\b", demote["rest"].split("WHERE", 1)[1]), name
        assert "sort_key" in demote["returning"], name
        inserted = body[demote.end() :]
        assert f"INSERT INTO tasker.{demote['table']}" in inserted, name
        assert re.search(r"(sort_key|coalesce\(v_sort, 0\)) \+ 1\b", inserted), name


@pytest.mark.parametrize("name", sorted(DEMOTING - {"transition_task", "record_step_transition"}))
def test_a_fused_copy_inserts_only_after_the_state_it_expects(name: str) -> None:
    # record_step_transition raises when the row it demotes is not in the state the caller
    # names; a fused copy inserts only when the demoted row's to_state is the one expected
    # (and the call fails, or the claim falls back, when nothing was inserted)
    assert "IF v_last IS DISTINCT FROM p_from THEN" in _bodies()["record_step_transition"]
    assert re.search(r"\b\w\.to_state = ", _bodies()[name]), name
