"""The world a composition reaches when the engine runs it: HTTP APIs, tables, the outbox.

Every effect is keyed: ``persist`` writes its rows and an entry in ``tasker.grammar_effects``
in one transaction, ``emit`` inserts into ``tasker.grammar_outbox`` with a unique key, so a
step retried after a crash between the effect and its checkpoint finds the earlier result
instead of writing twice. Tables are written with parameterized SQL; their names come from
the template's ``resources`` and are checked and quoted as identifiers.

The template is untrusted, and the checks ``tasker-ctl validate`` makes are made again here
(``tasker_ctl.grammar.reach``): persist writes only a table its resource declares, outside the
reserved schemas, within the operator's allow-list (``TrustPolicy.persist_tables``) and, with
``TrustPolicy.persist_role``, as that database role, so PostgreSQL refuses what the role was
not granted. emit writes the engine's outbox through one fixed statement, whatever the
template names. acquire goes through ``tasker_ctl.grammar.http`` with the operator's policy.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from tasker_ctl.engine.store.connection import Json, Store, connect
from tasker_ctl.errors import ConflictError, DatabaseError
from tasker_ctl.grammar.errors import FailureKind, InvocationError
from tasker_ctl.grammar.http import http_acquire
from tasker_ctl.grammar.reach import DEFAULT_EVENT_RESOURCE, kind_refusal, persist_table
from tasker_ctl.template.model import (
    HttpResource,
    OutboxResource,
    PostgresResource,
    ResourceDefinition,
)
from tasker_ctl.trust import TrustPolicy, is_identifier

# the SQLSTATE of a privilege PostgreSQL refused (the persist role's grants)
_INSUFFICIENT_PRIVILEGE = "42501"


class EngineOperations:
    """Operations for one attempt of one grammar step."""

    def __init__(
        self,
        *,
        resources: Mapping[str, ResourceDefinition],
        database_url: str | None,
        task_uuid: uuid.UUID | str | None,
        step_uuid: uuid.UUID | str | None,
        gates: Mapping[str, Any] | None = None,
        trust: TrustPolicy | None = None,
    ) -> None:
        """``trust`` is the operator's grant; without one, nothing beyond the template."""
        self._resources = resources
        self._trust = trust if trust is not None else TrustPolicy()
        self._database_url = database_url
        self._task_uuid = task_uuid
        self._step_uuid = step_uuid
        self._gates = dict(gates or {})
        self._store: Store | None = None

    def close(self) -> None:
        if self._store is not None:
            self._store.close()
            self._store = None

    # -- Operations ------------------------------------------------------------------------

    def acquire(
        self,
        resource: str,
        entity: str,
        params: Mapping[str, Any],
        constraints: Mapping[str, Any],
        *,
        invocation_index: int,
    ) -> dict[str, Any]:
        declared = self._resource(resource)
        if not isinstance(declared, HttpResource):
            raise _kind_error("acquire", resource, declared)
        return http_acquire(resource, declared, entity, params, constraints, self._trust)

    def persist(
        self,
        resource: str,
        entity: str,
        data: Any,
        constraints: Mapping[str, Any],
        idempotency_key: str,
        *,
        invocation_index: int,
    ) -> dict[str, Any]:
        declared = self._resource(resource)
        if not isinstance(declared, PostgresResource):
            raise _kind_error("persist", resource, declared)
        table = persist_table(resource, declared, entity)
        refusal = self._trust.table_refusal(*table)
        if refusal is not None:
            raise InvocationError(
                FailureKind.CONFIG_VALIDATION,
                f"persist to '{resource}.{entity}' may not write {'.'.join(table)}: {refusal}",
                hint="the operator allows tables with TASKER_PERSIST_TABLES (or --allow-table "
                "SCHEMA.TABLE on tasker-ctl worker and run); the engine's and PostgreSQL's "
                "schemas are never writable",
                retryable=False,
                details={"refusal": "PERSIST_TABLE_NOT_ALLOWED"},
            )
        role = self._trust.persist_role
        rows = data if isinstance(data, list) else [data]
        if not rows or not all(isinstance(row, dict) and row for row in rows):
            raise InvocationError(
                FailureKind.INPUT_VALIDATION,
                f"persist to '{resource}.{entity}': data must be an object (or a list of "
                "objects) with at least one field",
                retryable=False,
            )
        store = self._open()
        try:
            with store.transaction():
                earlier = store.fetch_value("fetch_grammar_effect", key=idempotency_key)
                if earlier is not None:
                    return dict(earlier)
                if role is not None:
                    # the rows are written with the role's privileges only ...
                    store.set_local_role(role)
                written = [
                    row for values in rows for row in self._write(store, table, values, constraints)
                ]
                if role is not None:
                    # ... and the effect is recorded as the worker, in the same transaction
                    store.set_local_role(None)
                result = {
                    "data": written[0]
                    if len(written) == 1 and not isinstance(data, list)
                    else written,
                    "affected_count": len(written),
                }
                store.execute(
                    "record_grammar_effect",
                    key=idempotency_key,
                    task_uuid=self._task_uuid,
                    step_uuid=self._step_uuid,
                    index=invocation_index,
                    capability="persist",
                    resource=resource,
                    entity=entity,
                    result=Json(_jsonable(result)),
                )
        except ConflictError as error:
            raise InvocationError(
                FailureKind.CONFLICT,
                f"persist to '{resource}.{entity}' conflicts with an existing row: {error}",
                hint="set constraints.on_conflict to 'update' or 'skip', or mode: upsert",
                retryable=False,
            ) from None
        except DatabaseError as error:
            as_role = f" as role '{role}'" if role is not None else ""
            refused = role is not None and error.sqlstate == _INSUFFICIENT_PRIVILEGE
            raise InvocationError(
                FailureKind.EXECUTION,
                f"persist to '{resource}.{entity}' ({'.'.join(table)}){as_role} failed: "
                f"{error.message}",
                hint=f"persist writes as role '{role}' (TASKER_PERSIST_ROLE): the operator "
                "grants it what this table needs, and the worker's role membership in it "
                "(docs/grammar.md, A role for persist)"
                if refused
                else error.hint,
                retryable=False,
                details={"refusal": "PERSIST_ROLE_REFUSED", "role": role} if refused else None,
            ) from None
        return _jsonable(result)  # type: ignore[no-any-return]

    def emit(
        self,
        resource: str,
        event_name: str,
        payload: Any,
        metadata: Mapping[str, Any],
        idempotency_key: str,
        *,
        invocation_index: int,
    ) -> dict[str, Any]:
        # whatever the template names, the event goes into the engine's outbox through one
        # fixed statement: the resource's name is only a column of the row
        declared = self._resources.get(resource)
        if declared is None and resource != DEFAULT_EVENT_RESOURCE:
            self._resource(resource)  # raises: undeclared
        if declared is not None and not isinstance(declared, OutboxResource):
            raise _kind_error("emit", resource, declared)
        store = self._open()
        extra = dict(metadata)
        try:
            row = store.fetch_one(
                "insert_outbox_event",
                key=idempotency_key,
                resource=resource,
                event_name=event_name,
                event_version=extra.pop("event_version", None),
                delivery_mode=extra.pop("delivery_mode", "async"),
                payload=Json(payload),
                metadata=Json(extra),
                task_uuid=self._task_uuid,
                step_uuid=self._step_uuid,
                index=invocation_index,
            )
        except DatabaseError as error:
            raise InvocationError(
                FailureKind.RESOURCE_UNAVAILABLE,
                f"emit of '{event_name}' into the outbox failed: {error.message}",
            ) from None
        assert row is not None
        return {
            "data": {
                # the id an event bus answers with, under the name Tasker Core compositions read
                "message_id": str(row["event_uuid"]),
                "event_name": event_name,
                "payload": payload,
                "created_at": row["created_at"].isoformat(),
                "duplicate": not row["inserted"],
            },
            "confirmed": True,
        }

    def gate_decision(self, invocation_index: int) -> Mapping[str, Any] | None:
        decision = self._gates.get(str(invocation_index))
        return decision if isinstance(decision, Mapping) else None

    # -- helpers ---------------------------------------------------------------------------

    def _resource(self, name: str) -> ResourceDefinition:
        declared = self._resources.get(name)
        if declared is None:
            known = ", ".join(sorted(self._resources)) or "none"
            raise InvocationError(
                FailureKind.RESOURCE_NOT_FOUND,
                f"resource '{name}' is not declared by the template (declared: {known})",
                hint=f"declare it under 'resources: {{{name}: {{kind: ...}}}}'",
                retryable=False,
            )
        return declared

    def _open(self) -> Store:
        # a connection of its own, opened only by a composition that writes: the worker's is
        # not lent out, since a step past its timeout keeps running in an abandoned thread
        if self._store is None:
            if self._database_url is None:
                raise InvocationError(
                    FailureKind.RESOURCE_UNAVAILABLE, "no database to write to", retryable=False
                )
            self._store = connect(self._database_url, application_name="tasker-ctl grammar")
        return self._store

    def _write(
        self,
        store: Store,
        table: tuple[str, str],
        values: dict[str, Any],
        constraints: Mapping[str, Any],
    ) -> list[dict[str, Any]]:
        mode = str(constraints.get("mode") or "insert").lower()
        conflict = str(constraints.get("on_conflict") or "reject").lower()
        columns = [_identifier(str(column), "column") for column in values]
        row = {column: _bindable(value) for column, value in values.items()}
        keys = list(constraints.get("identity_keys") or constraints.get("upsert_key") or [])
        if mode in ("update", "delete", "upsert") or conflict == "update":
            keys = [_identifier(key, "key column") for key in keys]
            missing = [key for key in keys if key not in row]
            if not keys or missing:
                raise InvocationError(
                    FailureKind.INPUT_VALIDATION,
                    f"{mode} into {'.'.join(table)} needs the key column(s) "
                    f"{', '.join(missing or ['(none declared)'])} in its data",
                    retryable=False,
                )
        found = self._run_write(store, mode, conflict, table, columns, keys, row)
        return [_jsonable(item) for item in found]

    @staticmethod
    def _run_write(
        store: Store,
        mode: str,
        conflict: str,
        table: tuple[str, str],
        columns: list[str],
        keys: list[str],
        row: dict[str, Any],
    ) -> list[dict[str, Any]]:
        shape: dict[str, Any] = {"table": table, "columns": columns, "keys": keys, "values": row}
        if mode == "update":
            return store.fetch_all_composed("persist_update", **shape)
        if mode == "delete":
            return store.fetch_all_composed("persist_delete", **shape)
        upsert = mode == "upsert" or conflict == "update"
        if upsert and conflict != "skip" and not set(columns) <= set(keys):
            return store.fetch_all_composed("persist_upsert", **shape)
        if upsert:  # skip on conflict, or nothing to update beyond the key
            return store.fetch_all_composed("persist_upsert_or_skip", **shape)
        if conflict == "skip":
            return store.fetch_all_composed("persist_insert_or_skip", **shape)
        return store.fetch_all_composed("persist_insert", **shape)


def _identifier(name: str, what: str) -> str:
    if not is_identifier(name):
        raise InvocationError(
            FailureKind.CONFIG_VALIDATION,
            f"{what} name {name!r} is not a plain SQL identifier ([A-Za-z_][A-Za-z0-9_]*, "
            "at most 63 characters)",
            hint="name the data's fields (and identity keys) as the table's columns",
            retryable=False,
        )
    return name


def _kind_error(capability: str, name: str, declared: ResourceDefinition) -> InvocationError:
    refusal = kind_refusal(capability, name, declared)
    assert refusal is not None, "called for a resource of another kind"
    return refusal.error()


def _bindable(value: Any) -> Any:
    return Json(value) if isinstance(value, dict | list) else value


def _jsonable(value: Any) -> Any:
    """Rows as JSON: timestamps, UUIDs and decimals become strings or numbers."""
    import datetime
    import decimal

    if isinstance(value, dict):
        return {str(key): _jsonable(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(item) for item in value]
    if isinstance(value, datetime.datetime | datetime.date | datetime.time):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, decimal.Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return value
