"""Registering templates and creating tasks: one transaction each, all or nothing.

A task is created with its initial steps (Tasker Core's rule: every step except batch workers,
deferred convergence steps when the template has no decision, and the branches behind
decisions), their edges and first transitions; the steps without parents are enqueued at once.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from tasker_ctl.engine.contracts import violations
from tasker_ctl.engine.errors import DuplicateTaskError, InvalidContextError
from tasker_ctl.template.graph import StepGraph
from tasker_ctl.template.model import StepDefinition, StepType, TaskTemplate

IDENTITY_STRATEGIES = ("strict", "always_unique")


class QueryRunner(Protocol):
    """The part of the store submission needs (see ``engine.store.Store``)."""

    def execute(self, name: str, /, **params: Any) -> None: ...

    def fetch_one(self, name: str, /, **params: Any) -> dict[str, Any] | None: ...


@dataclass(frozen=True)
class SubmittedTask:
    task_uuid: uuid.UUID
    correlation_id: uuid.UUID
    identity_hash: str
    step_count: int


def template_configuration(template: TaskTemplate) -> dict[str, Any]:
    """The template as stored with each registration (and read back by workers)."""
    return template.model_dump(mode="json", by_alias=True)


def register_template(store: QueryRunner, template: TaskTemplate, content_hash: str) -> uuid.UUID:
    namespace = store.fetch_one("upsert_namespace", name=template.namespace_name)
    assert namespace is not None
    named = store.fetch_one(
        "upsert_named_task",
        namespace_uuid=namespace["task_namespace_uuid"],
        name=template.name,
        version=template.version,
        description=template.description,
        configuration=_json(template_configuration(template)),
        content_hash=content_hash,
    )
    assert named is not None
    return uuid.UUID(str(named["named_task_uuid"]))


def identity_hash(template: TaskTemplate, context: Any, strategy: str = "strict") -> str:
    if strategy == "always_unique":
        return uuid.uuid4().hex
    canonical = json.dumps(
        [template.namespace_name, template.name, template.version, context],
        sort_keys=True,
        separators=(",", ":"),
        default=str,
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def initial_steps(template: TaskTemplate) -> list[StepDefinition]:
    graph = StepGraph([(step.name, step.dependencies) for step in template.steps])
    decisions = [s.name for s in template.steps if s.step_type is StepType.DECISION]
    behind_decisions = set().union(*(graph.descendants(name) for name in decisions))
    created: list[StepDefinition] = []
    for step in template.steps:
        if step.step_type is StepType.BATCH_WORKER or step.name in behind_decisions:
            continue
        if step.step_type is StepType.DEFERRED_CONVERGENCE and not decisions:
            continue
        created.append(step)
    return created


def submit_task(
    store: QueryRunner,
    template: TaskTemplate,
    named_task_uuid: uuid.UUID,
    context: Any,
    *,
    environment: str | None = None,
    priority: int = 0,
    correlation_id: uuid.UUID | None = None,
    parent_correlation_id: uuid.UUID | None = None,
    initiator: str | None = None,
    source_system: str | None = None,
    reason: str | None = None,
    tags: Sequence[str] = (),
    identity: str = "strict",
) -> SubmittedTask:
    """Create a task and its initial steps. The caller holds the transaction."""
    problems = violations(context, template.input_schema)
    if problems:
        raise InvalidContextError(
            f"the context does not satisfy the input_schema of {template.identifier}: "
            + "; ".join(problems[:5]),
            problems,
            hint="fix the context (see input_schema in the template)",
        )
    digest = identity_hash(template, context, identity)
    existing = store.fetch_one("find_task_by_identity", identity_hash=digest)
    if existing is not None:
        raise DuplicateTaskError(
            f"a task with this template and context already exists: {existing['task_uuid']} "
            f"({existing['current_state']})",
            str(existing["task_uuid"]),
            hint="use a different context, or identity 'always_unique' to allow duplicates",
        )
    steps = initial_steps(template)
    created = store.fetch_one(
        "insert_task",
        named_task_uuid=named_task_uuid,
        namespace_name=template.namespace_name,
        context=_json(context),
        identity_hash=digest,
        priority=priority,
        correlation_id=correlation_id or uuid.uuid4(),
        parent_correlation_id=parent_correlation_id,
        initiator=initiator,
        source_system=source_system,
        reason=reason,
        tags=_json(list(tags)),
        environment=environment,
        unfinished_steps=len(steps),
        budget_limits=_json({}),
    )
    assert created is not None
    task_uuid = created["task_uuid"]
    store.execute(
        "insert_initial_task_transition",
        task_uuid=task_uuid,
        metadata=_json({"environment": environment} if environment else {}),
    )
    _transition(store, task_uuid, "initializing")
    step_uuids = {step.name: _insert_step(store, template, step, task_uuid) for step in steps}
    for step in steps:
        for dependency in dict.fromkeys(step.dependencies):
            if dependency in step_uuids:
                store.execute(
                    "insert_step_edge",
                    from_step_uuid=step_uuids[dependency],
                    to_step_uuid=step_uuids[step.name],
                    name="provides",
                )
    if not steps:
        _transition(store, task_uuid, "complete")
    else:
        _transition(store, task_uuid, "enqueuing_steps")
        for step in steps:
            if not any(dependency in step_uuids for dependency in step.dependencies):
                store.execute("enqueue_step", step_uuid=step_uuids[step.name])
        _transition(store, task_uuid, "steps_in_process")
        store.execute("notify_steps_ready", namespace_name=template.namespace_name)
    return SubmittedTask(
        task_uuid=uuid.UUID(str(task_uuid)),
        correlation_id=uuid.UUID(str(created["correlation_id"])),
        identity_hash=digest,
        step_count=len(steps),
    )


def _insert_step(
    store: QueryRunner, template: TaskTemplate, step: StepDefinition, task_uuid: Any
) -> Any:
    named = store.fetch_one("upsert_named_step", name=step.name)
    assert named is not None
    key = hashlib.sha256(f"{task_uuid}:{step.name}".encode()).hexdigest()[:32]
    row = store.fetch_one(
        "insert_workflow_step",
        task_uuid=task_uuid,
        named_step_uuid=named["named_step_uuid"],
        name=step.name,
        template_step_name=step.name,
        step_type=step.step_type.value,
        namespace_name=template.namespace_name,
        retryable=step.retry.retryable,
        max_attempts=step.retry.max_attempts,
        timeout_seconds=step.timeout_seconds,
        idempotency_key=key,
        inputs=_json(dict(step.handler.initialization)),
        created_by="template",
    )
    assert row is not None
    store.execute(
        "insert_initial_step_transition", step_uuid=row["workflow_step_uuid"], task_uuid=task_uuid
    )
    return row["workflow_step_uuid"]


def _transition(store: QueryRunner, task_uuid: Any, to_state: str) -> None:
    store.fetch_one(
        "transition_task", task_uuid=task_uuid, to_state=to_state, metadata=_json({}), expected=None
    )


def _json(value: Any) -> Any:
    """Parameters for jsonb columns; the store adapts these wrappers."""
    from tasker_ctl.engine.store import Json

    return Json(value)
