"""What persist reaches on a real server: declared tables only, never the engine's or
PostgreSQL's schemas, the operator's allow-list, and the operator's persist role.

The templates here are registered directly, as an older binary (or anything that skips
``tasker-ctl validate``) would: the engine must refuse them at run time just the same.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from psycopg import sql

from tasker_ctl.engine.worker.composition_operations import EngineOperations
from tasker_ctl.engine.worker.loop import Worker, WorkerOptions
from tasker_ctl.grammar.errors import FailureKind, InvocationError
from tasker_ctl.template.model import TaskTemplate
from tasker_ctl.trust import TrustPolicy
from tests.integration.engine.conftest import Engine


def resources(**declared: Any) -> Any:
    return TaskTemplate.model_validate(
        {"name": "t", "namespace_name": "n", "version": "1.0.0", "resources": declared}
    ).resources


def operations(
    database_url: str, declared: Any, trust: TrustPolicy | None = None
) -> EngineOperations:
    return EngineOperations(
        resources=declared, database_url=database_url, task_uuid=None, step_uuid=None, trust=trust
    )


def fingerprint(database_url: str) -> dict[str, Any]:
    """What the engine's own tables and a catalog hold, to compare before and after."""
    with psycopg.connect(database_url) as connection:
        return {
            table: connection.execute(
                sql.SQL(
                    "SELECT count(*), md5(coalesce(string_agg(t::text, ',' ORDER BY t::text), ''))"
                    " FROM {} t"
                ).format(sql.Identifier(*table.split(".")))
            ).fetchone()
            for table in (
                "tasker.tasks",
                "tasker.workflow_step_transitions",
                "tasker.schema_migrations",
                "tasker.grammar_effects",
                "pg_catalog.pg_description",
            )
        }  # fmt: skip


@pytest.fixture
def app_tables(database_url: str) -> str:
    with psycopg.connect(database_url, autocommit=True) as connection:
        connection.execute(
            "CREATE SCHEMA app;"
            "CREATE TABLE app.orders (id text PRIMARY KEY, total numeric);"
            "CREATE TABLE app.audit (id text PRIMARY KEY, note text)"
        )
    return database_url


BY_TASK = {"mode": "update", "identity_keys": ["task_uuid"]}
DELETE_BY_TASK = {"mode": "delete", "identity_keys": ["task_uuid"]}
MIGRATION = {"version": "9999", "name": "planted", "checksum": "x"}
COMMENT = {"objoid": 1, "classoid": 1259, "objsubid": 0, "description": "planted"}


@pytest.mark.parametrize(
    ("schema", "entity", "data", "constraints"),
    [
        # mark another task complete
        ("tasker", "tasks", {"task_uuid": str(uuid.uuid4()), "complete": True}, BY_TASK),
        # delete another task's transitions
        ("tasker", "workflow_step_transitions", {"task_uuid": str(uuid.uuid4())}, DELETE_BY_TASK),
        # plant a fake migration
        ("tasker", "schema_migrations", MIGRATION, {}),
        # write a catalog (one of this database, so harmless here even if it got through)
        ("pg_catalog", "pg_description", COMMENT, {}),
    ],
)
def test_the_reserved_schemas_are_never_written(
    database_url: str,
    schema: str,
    entity: str,
    data: dict[str, Any],
    constraints: dict[str, Any],
) -> None:
    before = fingerprint(database_url)
    declared = resources(db={"kind": "postgres", "schema": schema, "tables": [entity]})
    # even an operator's allow-list cannot name them
    for trust in (None, TrustPolicy(persist_tables=("app.*",), persist_role=None)):
        ops = operations(database_url, declared, trust)
        try:
            with pytest.raises(InvocationError) as refused:
                ops.persist("db", entity, data, constraints, "k", invocation_index=0)
        finally:
            ops.close()
        assert refused.value.kind is FailureKind.CONFIG_VALIDATION
        assert not refused.value.retryable
        assert f"schema '{schema}' belongs to the engine or to PostgreSQL" in refused.value.message
    assert fingerprint(database_url) == before


def test_an_undeclared_entity_is_not_written_as_a_table_of_its_name(app_tables: str) -> None:
    declared = resources(db={"kind": "postgres", "schema": "app", "tables": ["orders"]})
    ops = operations(app_tables, declared)
    try:
        with pytest.raises(InvocationError, match="does not declare entity 'audit'"):
            ops.persist("db", "audit", {"id": "a1", "note": "x"}, {}, "k", invocation_index=0)
        written = ops.persist(
            "db", "orders", {"id": "o1", "total": 5}, {}, "k2", invocation_index=1
        )
    finally:
        ops.close()
    assert written["affected_count"] == 1
    with psycopg.connect(app_tables) as connection:
        assert connection.execute("SELECT count(*) FROM app.audit").fetchone() == (0,)


def test_the_operators_allow_list_narrows_the_declared_tables(app_tables: str) -> None:
    declared = resources(db={"kind": "postgres", "schema": "app", "tables": ["orders", "audit"]})
    ops = operations(app_tables, declared, TrustPolicy(persist_tables=("app.orders",)))
    try:
        with pytest.raises(InvocationError) as refused:
            ops.persist("db", "audit", {"id": "a1"}, {}, "k1", invocation_index=0)
        ops.persist("db", "orders", {"id": "o1"}, {}, "k2", invocation_index=1)
    finally:
        ops.close()
    assert "app.audit is not in the operator's allow-list" in refused.value.message
    with psycopg.connect(app_tables) as connection:
        assert connection.execute("SELECT count(*) FROM app.audit").fetchone() == (0,)
        assert connection.execute("SELECT count(*) FROM app.orders").fetchone() == (1,)


@pytest.mark.parametrize("name", ["tasker.tasks", 'x"; DELETE FROM tasker.tasks; --', "events"])
def test_emit_writes_only_the_outbox_whatever_the_template_names(
    database_url: str, name: str
) -> None:
    before = fingerprint(database_url)
    declared = resources(**{name: {"kind": "outbox"}}) if name != "events" else resources()
    ops = operations(database_url, declared)
    try:
        emitted = ops.emit(name, "tasker.tasks", {"to": "pg_authid"}, {}, "k", invocation_index=0)
    finally:
        ops.close()
    assert emitted["confirmed"] is True
    assert fingerprint(database_url) == before
    with psycopg.connect(database_url) as connection:
        rows = connection.execute("SELECT resource, event_name FROM tasker.grammar_outbox")
        assert rows.fetchall() == [(name, "tasker.tasks")]


@pytest.fixture
def persist_role(app_tables: str) -> Iterator[str]:
    """A role that may write app.orders only (SELECT too: persist returns the written rows)."""
    role = f"tasker_persist_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(app_tables, autocommit=True) as connection:
        current = connection.execute("SELECT current_user").fetchone()
        assert current is not None
        statements = [
            sql.SQL("CREATE ROLE {} NOLOGIN").format(sql.Identifier(role)),
            sql.SQL("GRANT USAGE ON SCHEMA app TO {}").format(sql.Identifier(role)),
            sql.SQL("GRANT SELECT, INSERT ON app.orders TO {}").format(sql.Identifier(role)),
            sql.SQL("GRANT SELECT ON app.audit TO {}").format(sql.Identifier(role)),
            sql.SQL("GRANT {} TO {}").format(sql.Identifier(role), sql.Identifier(current[0])),
        ]
        for statement in statements:
            connection.execute(statement)
    try:
        yield role
    finally:
        # roles belong to the whole server, not to the test's database
        with psycopg.connect(app_tables, autocommit=True) as connection:
            connection.execute(sql.SQL("DROP OWNED BY {}").format(sql.Identifier(role)))
            connection.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(role)))


def test_persist_writes_as_the_operators_role_with_only_its_privileges(
    app_tables: str, persist_role: str
) -> None:
    declared = resources(db={"kind": "postgres", "schema": "app", "tables": ["orders", "audit"]})
    trust = TrustPolicy(persist_tables=("app.*",), persist_role=persist_role)
    ops = operations(app_tables, declared, trust)
    try:
        with pytest.raises(InvocationError) as refused:
            ops.persist("db", "audit", {"id": "a1", "note": "x"}, {}, "k1", invocation_index=0)
        order = {"id": "o1", "total": 5}
        written = ops.persist("db", "orders", order, {}, "k2", invocation_index=1)
        # the role lasted only as long as the write's transaction: the repeat reads
        # tasker.grammar_effects, which the role may not, as the worker
        again = ops.persist("db", "orders", order, {}, "k2", invocation_index=1)
    finally:
        ops.close()
    error = refused.value
    assert error.kind is FailureKind.EXECUTION
    assert not error.retryable
    assert f"as role '{persist_role}'" in error.message
    assert "permission denied" in error.message
    assert error.hint is not None
    assert "A role for persist" in error.hint
    assert error.details == {"refusal": "PERSIST_ROLE_REFUSED", "role": persist_role}
    assert written == again == {"data": {"id": "o1", "total": 5}, "affected_count": 1}
    with psycopg.connect(app_tables) as connection:
        assert connection.execute("SELECT count(*) FROM app.audit").fetchone() == (0,)
        # the effect was recorded as the worker: the role has no privilege on tasker.*
        effects = connection.execute(
            "SELECT entity FROM tasker.grammar_effects ORDER BY entity"
        ).fetchall()
    assert effects == [("orders",)]


def test_a_role_the_worker_cannot_take_is_a_coded_failure(app_tables: str) -> None:
    declared = resources(db={"kind": "postgres", "schema": "app", "tables": ["orders"]})
    missing = f"no_such_role_{uuid.uuid4().hex[:8]}"
    ops = operations(app_tables, declared, TrustPolicy(persist_role=missing))
    try:
        with pytest.raises(InvocationError) as refused:
            ops.persist("db", "orders", {"id": "o1"}, {}, "k", invocation_index=0)
    finally:
        ops.close()
    assert f"as role '{missing}'" in refused.value.message
    assert not refused.value.retryable


# -- the worker's policy ---------------------------------------------------------------------


def one_persist(ref: str, entity: str) -> TaskTemplate:
    """A template whose one step persists into ``ref``'s ``entity``."""
    return TaskTemplate.model_validate(
        {
            "name": f"reach_{ref}_{entity}",
            "namespace_name": "reach",
            "version": "1.0.0",
            "resources": {
                "engine": {"kind": "postgres", "schema": "tasker", "tables": ["tasks"]},
                "db": {"kind": "postgres", "schema": "app", "tables": ["orders", "audit"]},
            },
            "steps": [
                {
                    "name": "write",
                    "handler": {"callable": "grammar:write"},
                    "retry": {"retryable": True, "max_attempts": 3},
                    "composition": {
                        "outcome": {"description": "d", "output_schema": {"type": "object"}},
                        "invocations": [
                            {
                                "capability": "persist",
                                "checkpoint": True,
                                "config": {
                                    "resource": {"ref": ref, "entity": entity},
                                    "data": {"expression": '{id: "r1"}'},
                                    "output": {"type": "object"},
                                },
                            }
                        ],
                    },
                }
            ],
        }
    )


def run_with(engine: Engine, template: TaskTemplate, trust: TrustPolicy) -> dict[str, Any]:
    task = engine.submit(template, {})
    worker = Worker(
        engine.url, engine.registry, WorkerOptions(task_uuid=task.task_uuid, trust=trust)
    )
    while worker.run_once(engine.store):
        pass
    return engine.steps(task.task_uuid)["write"]


@pytest.mark.usefixtures("app_tables")
def test_the_workers_policy_reaches_the_composition(engine: Engine) -> None:
    narrow = TrustPolicy(persist_tables=("app.orders",))
    refused = run_with(engine, one_persist("db", "audit"), narrow)
    assert refused["current_state"] == "error"
    assert refused["attempts"] == 1  # permanent: not retried
    stored = str(refused["results"])
    assert "app.audit is not in the operator's allow-list" in stored
    assert "grammar_config_validation" in stored

    allowed = run_with(engine, one_persist("db", "orders"), narrow)
    assert allowed["current_state"] == "complete"


def test_a_registered_template_into_the_engines_schema_fails_its_step(engine: Engine) -> None:
    before = engine.one("SELECT count(*) AS n FROM tasker.tasks")["n"]
    step = run_with(engine, one_persist("engine", "tasks"), TrustPolicy())
    assert step["current_state"] == "error"
    assert step["attempts"] == 1
    assert "belongs to the engine or to PostgreSQL" in str(step["results"])
    # the step's own task is the one row added
    assert engine.one("SELECT count(*) AS n FROM tasker.tasks")["n"] == before + 1
