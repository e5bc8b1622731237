"""persist and emit against a real database: modes, conflicts, idempotency, bad input."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest

from tasker_ctl.engine.worker.composition_operations import EngineOperations
from tasker_ctl.grammar.errors import FailureKind, InvocationError
from tasker_ctl.template.model import TaskTemplate

RESOURCES = TaskTemplate.model_validate(
    {
        "name": "t",
        "namespace_name": "n",
        "version": "1.0.0",
        "resources": {
            "db": {"kind": "postgres", "schema": "app", "tables": {"customer-list": "customers"}},
            "api": {"kind": "http", "base_url": "http://127.0.0.1:9"},
            "bus": {"kind": "outbox"},
        },
    }
).resources


@pytest.fixture
def operations(database_url: str) -> Any:
    with psycopg.connect(database_url, autocommit=True) as connection:
        connection.execute(
            "CREATE SCHEMA app; CREATE TABLE app.customers "
            "(id text PRIMARY KEY, name text NOT NULL, tags jsonb)"
        )
    found = EngineOperations(
        resources=RESOURCES, database_url=database_url, task_uuid=None, step_uuid=None
    )
    yield found
    found.close()


def rows(database_url: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(database_url) as connection:
        return connection.execute("SELECT id, name, tags FROM app.customers ORDER BY id").fetchall()


def persist(operations: EngineOperations, data: Any, key: str, **constraints: Any) -> Any:
    return operations.persist("db", "customer-list", data, constraints, key, invocation_index=2)


def test_insert_maps_the_entity_to_its_table_and_a_repeated_key_writes_nothing(
    operations: EngineOperations, database_url: str
) -> None:
    first = persist(operations, {"id": "c1", "name": "Ada", "tags": ["vip"]}, "k1")
    assert first == {"data": {"id": "c1", "name": "Ada", "tags": ["vip"]}, "affected_count": 1}
    again = persist(operations, {"id": "c1", "name": "Ada", "tags": ["vip"]}, "k1")
    assert again == first
    assert rows(database_url) == [("c1", "Ada", ["vip"])]
    with psycopg.connect(database_url) as connection:
        effects = connection.execute(
            "SELECT invocation_index, capability, resource, entity FROM tasker.grammar_effects"
        ).fetchall()
    assert effects == [(2, "persist", "db", "customer-list")]


def test_update_upsert_and_delete_match_on_the_identity(
    operations: EngineOperations, database_url: str
) -> None:
    persist(operations, [{"id": "c1", "name": "Ada"}, {"id": "c2", "name": "Bo"}], "k1")
    persist(operations, {"id": "c1", "name": "Ada L."}, "k2", mode="update", identity_keys=["id"])
    persist(operations, {"id": "c2", "name": "Bob"}, "k3", mode="upsert", identity_keys=["id"])
    persist(operations, {"id": "c3", "name": "Cy"}, "k4", mode="upsert", identity_keys=["id"])
    deleted = persist(operations, {"id": "c3"}, "k5", mode="delete", identity_keys=["id"])
    assert deleted["affected_count"] == 1
    assert rows(database_url) == [("c1", "Ada L.", None), ("c2", "Bob", None)]


def test_conflicts_are_rejected_skipped_or_updated(
    operations: EngineOperations, database_url: str
) -> None:
    persist(operations, {"id": "c1", "name": "Ada"}, "k1")
    with pytest.raises(InvocationError) as caught:
        persist(operations, {"id": "c1", "name": "Other"}, "k2")
    assert caught.value.kind is FailureKind.CONFLICT
    assert not caught.value.retryable
    skipped = persist(operations, {"id": "c1", "name": "Other"}, "k3", on_conflict="skip")
    assert skipped["affected_count"] == 0
    persist(operations, {"id": "c1", "name": "New"}, "k4", on_conflict="update", upsert_key=["id"])
    assert rows(database_url) == [("c1", "New", None)]


@pytest.mark.parametrize(
    ("resource", "entity", "data", "constraints", "kind", "words"),
    [
        ("nowhere", "x", {"a": 1}, {}, FailureKind.RESOURCE_NOT_FOUND, "not declared"),
        ("api", "x", {"a": 1}, {}, FailureKind.CONFIG_VALIDATION, "http resource"),
        ("db", "customers", {"a": 1}, {}, FailureKind.CONFIG_VALIDATION, "does not declare"),
        ("db", "customer-list", {"na me": 1}, {}, FailureKind.CONFIG_VALIDATION, "column name"),
        ("db", "customer-list", [], {}, FailureKind.INPUT_VALIDATION, "at least one field"),
        ("db", "customer-list", "text", {}, FailureKind.INPUT_VALIDATION, "must be an object"),
        (
            "db",
            "customer-list",
            {"name": "x"},
            {"mode": "update", "identity_keys": ["id"]},
            FailureKind.INPUT_VALIDATION,
            "key column(s) id",
        ),
        ("db", "customer-list", {"nope": 1}, {}, FailureKind.EXECUTION, "app.customers"),
    ],
)
def test_bad_input_is_a_coded_failure_naming_the_problem(
    operations: EngineOperations,
    resource: str,
    entity: str,
    data: Any,
    constraints: dict[str, Any],
    kind: FailureKind,
    words: str,
) -> None:
    with pytest.raises(InvocationError) as caught:
        operations.persist(resource, entity, data, constraints, "k", invocation_index=0)
    assert caught.value.kind is kind
    assert words in caught.value.message


def test_emit_writes_the_outbox_once_per_key(
    operations: EngineOperations, database_url: str
) -> None:
    def emit(resource: str) -> dict[str, Any]:
        return operations.emit(
            resource,
            "customer.joined",
            {"id": "c1"},
            {"correlation_id": "corr-1", "event_version": "2"},
            "key-1",
            invocation_index=4,
        )

    first = emit("bus")
    again = emit("bus")
    assert first["confirmed"] is True
    assert first["data"]["duplicate"] is False
    assert again["data"]["duplicate"] is True
    assert again["data"]["message_id"] == first["data"]["message_id"]
    with psycopg.connect(database_url) as connection:
        events = connection.execute(
            "SELECT resource, event_name, event_version, payload, metadata, invocation_index "
            "FROM tasker.grammar_outbox"
        ).fetchall()
    assert events == [
        ("bus", "customer.joined", "2", {"id": "c1"}, {"correlation_id": "corr-1"}, 4)
    ]
    with pytest.raises(InvocationError) as caught:
        emit("db")
    assert caught.value.kind is FailureKind.CONFIG_VALIDATION
