"""A database made by the migrations that preceded the baseline is upgraded in place.

The legacy files (tests/fixtures/legacy_migrations, the set as it last was) build a database;
a task is left in flight on it (its first step claimed by a worker that then dies, the others
pending); ``migrate`` upgrades the database to the baseline in one transaction; the current
engine runs the task to completion. Nothing is lost: every step completes with its result,
and every transition written before the upgrade is still there, in an unbroken history. The
upgraded schema equals ``schema.sql``. A database from an older set is refused untouched.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import psycopg
import pytest

from tasker_ctl.engine.store.connection import Store, connect
from tasker_ctl.engine.store.migrations import load_migrations, migrate, migration_status
from tasker_ctl.errors import MigrationModifiedError
from tasker_ctl.sdk.registry import HandlerRegistry
from tests.conftest import FIXTURES
from tests.integration.engine.conftest import Engine, claim, make_template, step
from tests.integration.engine.handlers import Recorder
from tests.integration.schema_catalog import catalog, differences
from tests.integration.test_schema_canonical import build_from_schema_sql
from tests.postgres_plugin import CreateDatabase

LEGACY = FIXTURES / "legacy_migrations"
DIAMOND = make_template(
    [
        step("diamond_start", "diamond.start"),
        step("diamond_branch_b", "diamond.branch_b", "diamond_start"),
        step("diamond_branch_c", "diamond.branch_c", "diamond_start"),
        step("diamond_end", "diamond.end", "diamond_branch_b", "diamond_branch_c"),
    ],
    name="upgrade_diamond",
)
# short enough that the current engine takes over the dead worker's attempt soon
DEAD_WORKER_LEASE = 1


def _ledger(store: Store) -> list[tuple[int, str, str]]:
    return [
        (row["version"], row["name"], row["checksum"])
        for row in store.fetch_all("list_schema_migrations")
    ]


def _transitions(url: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(url) as connection:
        return connection.execute(
            "SELECT workflow_step_uuid, sort_key, from_state, to_state, event, attempt"
            " FROM tasker.workflow_step_transitions"
            " UNION ALL SELECT task_uuid, sort_key, from_state, to_state, event, NULL"
            " FROM tasker.task_transitions ORDER BY 1, 2"
        ).fetchall()


def _assert_unbroken(rows: list[tuple[Any, ...]], most_recent: dict[Any, int]) -> None:
    """Each entity's history runs 1..n from nothing, each row leaving the state the one
    before it reached, and only its last row is most_recent."""
    by_entity: dict[Any, list[tuple[Any, ...]]] = {}
    for row in rows:
        by_entity.setdefault(row[0], []).append(row)
    for entity, history in by_entity.items():
        assert [row[1] for row in history] == list(range(1, len(history) + 1)), history
        assert [row[2] for row in history] == [None, *[row[3] for row in history[:-1]]], history
        assert most_recent[entity] == len(history)


def _most_recent(url: str) -> dict[Any, int]:
    with psycopg.connect(url) as connection:
        rows = connection.execute(
            "SELECT workflow_step_uuid, sort_key FROM tasker.workflow_step_transitions"
            " WHERE most_recent UNION ALL SELECT task_uuid, sort_key"
            " FROM tasker.task_transitions WHERE most_recent"
        ).fetchall()
    found: dict[Any, int] = {}
    for entity, sort_key in rows:
        assert entity not in found, f"{entity} has two most recent transitions"
        found[entity] = sort_key
    return found


def test_a_task_in_flight_is_finished_after_the_upgrade(
    new_database: CreateDatabase, registry: HandlerRegistry, calls: Recorder
) -> None:
    url = new_database()
    with connect(url) as store:
        assert [m.filename for m in migrate(store, LEGACY)][-1] == "0007_claim_batches.sql"
        engine = Engine(url, store, registry)
        try:
            task = engine.submit(DIAMOND, {"even_number": 6})
            taken = claim(store, task.task_uuid, worker="legacy-worker", lease=DEAD_WORKER_LEASE)
            assert taken is not None
            assert taken["name"] == "diamond_start"
            states = {
                name: row["current_state"] for name, row in engine.steps(task.task_uuid).items()
            }
            assert states == {
                "diamond_start": "in_progress",
                "diamond_branch_b": "pending",
                "diamond_branch_c": "pending",
                "diamond_end": "pending",
            }
            before = _transitions(url)

            status = migration_status(store)
            assert status.legacy
            assert status.behind
            assert not status.up_to_date
            upgraded = migrate(store)

            baseline = load_migrations()[0]
            assert upgraded == [baseline, *load_migrations()[1:]]
            assert _ledger(store)[0] == (1, "baseline", baseline.checksum)
            assert migration_status(store).up_to_date
            assert _transitions(url) == before  # the upgrade touched no row

            # the dead worker's lease runs out; the current engine takes the attempt over
            assert engine.run(task.task_uuid, timeout=60) == "complete"
            steps = engine.steps(task.task_uuid)
        finally:
            engine.close()
    assert {row["current_state"] for row in steps.values()} == {"complete"}
    assert all(row["results"] is not None for row in steps.values())
    assert steps["diamond_end"]["results"]["result"] == {"result": 66.5}
    assert engine_path(url, steps["diamond_start"]["workflow_step_uuid"]) == [
        "pending",
        "enqueued",
        "in_progress",  # the legacy worker's attempt, lost with its lease
        "waiting_for_retry",
        "enqueued",
        "in_progress",
        "complete",
    ]
    after = _transitions(url)
    assert set(before) <= set(after)
    _assert_unbroken(after, _most_recent(url))


def engine_path(url: str, step_uuid: Any) -> list[str]:
    with psycopg.connect(url) as connection:
        rows = connection.execute(
            "SELECT to_state FROM tasker.workflow_step_transitions"
            " WHERE workflow_step_uuid = %s ORDER BY sort_key",
            [step_uuid],
        ).fetchall()
    return [row[0] for row in rows]


def test_an_upgraded_database_equals_schema_sql(new_database: CreateDatabase) -> None:
    upgraded, built = new_database(), new_database()
    with connect(upgraded) as store:
        migrate(store, LEGACY)
        migrate(store)
    build_from_schema_sql(built)
    assert differences(catalog(upgraded), catalog(built)) == []


def test_a_database_older_than_the_legacy_set_is_refused_untouched(
    new_database: CreateDatabase, tmp_path: Path
) -> None:
    older = tmp_path / "older"
    shutil.copytree(LEGACY, older)
    edited = older / "0007_claim_batches.sql"
    edited.write_text(edited.read_text("utf-8") + "-- as it was two commits before\n", "utf-8")
    url = new_database()
    with connect(url) as store:
        migrate(store, older)
        ledger = _ledger(store)
        with pytest.raises(MigrationModifiedError) as caught:
            migrate(store)
        assert _ledger(store) == ledger
        assert migration_status(store).pre_baseline
    assert caught.value.code == "MIGRATION_MODIFIED"
    assert "before the baseline" in caught.value.message
    assert caught.value.hint is not None
    assert "tasker-ctl db reset --yes" in caught.value.hint
    assert "DROP SCHEMA tasker CASCADE" in caught.value.hint
    assert "docs/database.md" in caught.value.hint
