"""State machines: the database enforces the same rules as ``states.py``, and the engine only
ever records legal transitions, one current state per entity."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import psycopg
import pytest

from tasker_ctl.engine.rules.states import (
    STEP_TRANSITIONS,
    TASK_TRANSITIONS,
    TERMINAL_STEP_STATES,
    TERMINAL_TASK_STATES,
    StepState,
    TaskState,
)
from tasker_ctl.engine.store.connection import Json, Store
from tasker_ctl.errors import EntityNotFoundError, InvalidTransitionError
from tests.integration.engine.conftest import Engine, claim, clocked_store, make_template, step

QUICK = {"backoff": "none", "max_attempts": 2}
MIXED = make_template(
    [
        step("start", "ok.noop"),
        step("flaky", "fail.flaky", "start", retry=QUICK, config={"fail_times": 1}),
        step("side", "ok.noop", "start"),
        step("end", "ok.noop", "flaky", "side"),
    ],
    name="mixed",
)
FAILING = make_template(
    [
        step("start", "ok.noop"),
        step("broken", "fail.flaky", "start", retry=QUICK, config={"fail_times": 9}),
        step("after", "ok.noop", "broken"),
    ],
    name="failing",
)


def _rules(engine: Engine, table: str) -> dict[tuple[str | None, str], str]:
    rows = engine.rows(f"SELECT from_state, to_state, event FROM tasker.{table}")
    return {(row["from_state"], row["to_state"]): row["event"] for row in rows}


def _python(table: dict[tuple[Any, Any], str]) -> dict[tuple[str | None, str], str]:
    return {
        (None if source is None else str(source), str(target)): event
        for (source, target), event in table.items()
    }


def test_python_rules_match_the_database(engine: Engine) -> None:
    assert _rules(engine, "task_transition_rules") == _python(TASK_TRANSITIONS)
    assert _rules(engine, "step_transition_rules") == _python(STEP_TRANSITIONS)
    task_states = engine.rows("SELECT state, is_terminal FROM tasker.task_states")
    assert {row["state"] for row in task_states} == {str(s) for s in TaskState}
    assert {row["state"] for row in task_states if row["is_terminal"]} == {
        str(s) for s in TERMINAL_TASK_STATES
    }
    step_states = engine.rows("SELECT state, is_terminal FROM tasker.step_states")
    assert {row["state"] for row in step_states} == {str(s) for s in StepState}
    assert {row["state"] for row in step_states if row["is_terminal"]} == {
        str(s) for s in TERMINAL_STEP_STATES
    }


def _lose_a_lease(engine: Engine, database_url: str) -> None:
    """One attempt claimed and abandoned; a later claim (30 min on) takes the step over."""
    task = engine.submit(make_template([step("only", "ok.noop")], name="lost"), {})
    now = engine.db_now()
    for minutes in (0, 30):
        with clocked_store(database_url, now + timedelta(minutes=minutes)) as store:
            claimed = claim(store, task.task_uuid, f"w{minutes}", 60)
            assert claimed is not None
            if minutes:
                store.fetch_one(
                    "complete_step",
                    step_uuid=claimed["workflow_step_uuid"],
                    attempt=claimed["attempts"],
                    results=Json({"success": True, "result": {}}),
                    metadata=Json({}),
                )


def test_every_recorded_transition_is_legal(engine: Engine, database_url: str) -> None:
    for template in (MIXED, FAILING):
        task = engine.submit(template, {})
        engine.run(task.task_uuid, workers=2)
    _lose_a_lease(engine, database_url)

    step_rows = engine.rows(
        "SELECT workflow_step_uuid AS id, from_state, to_state, event, sort_key, most_recent"
        " FROM tasker.workflow_step_transitions ORDER BY workflow_step_uuid, sort_key"
    )
    task_rows = engine.rows(
        "SELECT task_uuid AS id, from_state, to_state, event, sort_key, most_recent"
        " FROM tasker.task_transitions ORDER BY task_uuid, sort_key"
    )
    seen = _check_history(step_rows, _python(STEP_TRANSITIONS))
    # the runs went through retries, failures and a lost lease
    assert {
        ("in_progress", "waiting_for_retry"),
        ("waiting_for_retry", "enqueued"),
        ("in_progress", "error"),
        ("in_progress", "complete"),
    } <= seen
    assert ("evaluating_results", "blocked_by_failures") in _check_history(
        task_rows, _python(TASK_TRANSITIONS)
    )
    # the cached state is the most recent transition's
    stale = engine.rows(
        "SELECT s.name FROM tasker.workflow_steps s JOIN tasker.workflow_step_transitions t"
        " ON t.workflow_step_uuid = s.workflow_step_uuid AND t.most_recent"
        " WHERE t.to_state <> s.current_state"
        " UNION ALL SELECT k.task_uuid::text FROM tasker.tasks k JOIN tasker.task_transitions t"
        " ON t.task_uuid = k.task_uuid AND t.most_recent WHERE t.to_state <> k.current_state"
    )
    assert stale == []


def _check_history(
    rows: list[dict[str, Any]], rules: dict[tuple[str | None, str], str]
) -> set[tuple[str | None, str]]:
    """Each entity's transitions chain from NULL, follow the rules, and exactly the last one
    is most_recent. Returns the (from, to) pairs seen."""
    by_entity: dict[Any, list[dict[str, Any]]] = {}
    for row in rows:
        by_entity.setdefault(row["id"], []).append(row)
    seen: set[tuple[str | None, str]] = set()
    for history in by_entity.values():
        assert [row["sort_key"] for row in history] == list(range(1, len(history) + 1))
        assert [row["most_recent"] for row in history] == [False] * (len(history) - 1) + [True]
        previous = None
        for row in history:
            pair = (row["from_state"], row["to_state"])
            assert row["from_state"] == previous, history
            assert rules.get(pair) == row["event"], pair
            seen.add(pair)
            previous = row["to_state"]
    return seen


def test_one_most_recent_transition_per_entity(engine: Engine) -> None:
    task = engine.submit(MIXED, {})
    engine.run(task.task_uuid, workers=2)
    for table, key in (
        ("task_transitions", "task_uuid"),
        ("workflow_step_transitions", "workflow_step_uuid"),
    ):
        counts = engine.rows(
            f"SELECT {key}, count(*) FILTER (WHERE most_recent) AS n FROM tasker.{table}"
            f" GROUP BY {key}"
        )
        assert counts
        assert {row["n"] for row in counts} == {1}


def test_illegal_transitions_are_rejected(engine: Engine, store: Store) -> None:
    task = engine.submit(MIXED, {})
    step_uuid = engine.steps(task.task_uuid)["end"]["workflow_step_uuid"]

    with pytest.raises(InvalidTransitionError, match="cannot go from steps_in_process to pending"):
        store.fetch_one(
            "transition_task",
            task_uuid=task.task_uuid,
            to_state="pending",
            metadata=Json({}),
            expected=None,
        )
    with pytest.raises(InvalidTransitionError, match="is steps_in_process, not complete"):
        store.fetch_one(
            "transition_task",
            task_uuid=task.task_uuid,
            to_state="error",
            metadata=Json({}),
            expected="complete",
        )
    with pytest.raises(EntityNotFoundError):
        store.fetch_one(
            "transition_task",
            task_uuid=step_uuid,
            to_state="error",
            metadata=Json({}),
            expected=None,
        )
    # pending -> complete directly is fine (CompleteManually); pending -> waiting is too;
    # complete -> anything is not
    engine.execute("SELECT tasker.transition_step(%s, 'complete')", step_uuid)
    with pytest.raises(psycopg.Error) as caught:
        engine.execute("SELECT tasker.transition_step(%s, 'in_progress')", step_uuid)
    assert caught.value.sqlstate == "TK001"
    assert "cannot go from complete to in_progress" in str(caught.value)
    assert engine.path(task.task_uuid, "end") == ["pending", "complete"]


def test_the_trigger_guards_every_writer(engine: Engine) -> None:
    task = engine.submit(MIXED, {})
    insert = (
        "INSERT INTO tasker.task_transitions (task_uuid, from_state, to_state, event, sort_key,"
        " most_recent) VALUES (%s, %s, %s, %s, 99, false)"
    )
    with pytest.raises(psycopg.Error, match="cannot go from complete to pending"):
        engine.execute(insert, task.task_uuid, "complete", "pending", None)
    with pytest.raises(psycopg.Error, match="by event StepCompleted, not Oops"):
        engine.execute(insert, task.task_uuid, "steps_in_process", "evaluating_results", "Oops")
    # a legal row with no event gets the rule's
    engine.execute(insert, task.task_uuid, "steps_in_process", "evaluating_results", None)
    row = engine.one("SELECT event FROM tasker.task_transitions WHERE sort_key = 99")
    assert row["event"] == "StepCompleted"


def test_a_second_most_recent_row_is_impossible(engine: Engine) -> None:
    task = engine.submit(MIXED, {})
    with pytest.raises(psycopg.errors.UniqueViolation):
        engine.execute(
            "INSERT INTO tasker.task_transitions (task_uuid, from_state, to_state, sort_key,"
            " most_recent) VALUES (%s, 'steps_in_process', 'evaluating_results', 50, true)",
            task.task_uuid,
        )


def test_a_step_state_outside_the_machine_is_rejected(engine: Engine) -> None:
    task = engine.submit(MIXED, {})
    with pytest.raises(psycopg.errors.CheckViolation):
        engine.execute(
            "UPDATE tasker.workflow_steps SET current_state = 'finished' WHERE task_uuid = %s",
            task.task_uuid,
        )


def test_deleting_a_task_deletes_its_steps_transitions(engine: Engine) -> None:
    kept = engine.submit(MIXED, {})
    assert engine.run(kept.task_uuid) == "complete"
    gone = engine.submit(MIXED, {}, identity="always_unique")
    assert engine.run(gone.task_uuid) == "complete"
    count = "SELECT count(*) AS n FROM tasker.workflow_step_transitions WHERE task_uuid = %s"
    assert engine.one(count, gone.task_uuid)["n"] > 0
    engine.execute("DELETE FROM tasker.tasks WHERE task_uuid = %s", gone.task_uuid)
    assert engine.one(count, gone.task_uuid)["n"] == 0
    assert engine.one(count, kept.task_uuid)["n"] > 0
