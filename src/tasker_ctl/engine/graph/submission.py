"""Registering templates and creating tasks: one transaction each, all or nothing.

A task is created with its initial steps (Tasker Core's rule: every step except batch workers,
deferred convergence steps when the template has no decision, and the branches behind
decisions), their edges and first transitions; the steps without parents are enqueued at once.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from tasker_ctl.engine.errors import (
    DependencyCycleError,
    DuplicateTaskError,
    IdempotencyKeyConflictError,
    InvalidContextError,
)
from tasker_ctl.engine.graph.chains import GivenLimits, join_chain
from tasker_ctl.engine.rules.budget import task_budget_limits
from tasker_ctl.engine.rules.decisions import NewStep, template_graph
from tasker_ctl.errors import UsageError
from tasker_ctl.sdk.contracts import violations
from tasker_ctl.template.model import StepDefinition, StepType, TaskTemplate

IDENTITY_STRATEGIES = ("strict", "always_unique")
# the widths of tasks.initiator and tasks.reason; the transition metadata keeps them whole
_INITIATOR_WIDTH = 128
_REASON_WIDTH = 128


class QueryRunner(Protocol):
    """The part of the store submission needs (see ``engine.store.Store``)."""

    def execute(self, name: str, /, **params: Any) -> None: ...

    def fetch_one(self, name: str, /, **params: Any) -> dict[str, Any] | None: ...

    def fetch_all(self, name: str, /, **params: Any) -> list[dict[str, Any]]: ...


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


def identity_hash(
    template: TaskTemplate,
    context: Any,
    strategy: str = "strict",
    idempotency_key: str | None = None,
) -> str:
    """Two submissions with the same hash are the same task (``strict``), or never are.

    An ``idempotency_key`` overrides the strategy, as in Tasker Core: the template and the
    key make the identity, whatever the context."""
    if idempotency_key is not None:
        keyed = json.dumps(
            [template.namespace_name, template.name, template.version, {"key": idempotency_key}],
            sort_keys=True,
            separators=(",", ":"),
        )
        return hashlib.sha256(keyed.encode()).hexdigest()
    if strategy not in IDENTITY_STRATEGIES:
        raise UsageError(
            f"unknown identity strategy '{strategy}'",
            hint=f"use one of: {', '.join(IDENTITY_STRATEGIES)}",
        )
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
    """The steps a task starts with (raises ``DependencyCycleError`` for a cyclic template)."""
    graph = template_graph(template)
    cycles = graph.cycles
    if cycles:
        shown = "; ".join(" -> ".join(cycle) for cycle in cycles[:3])
        raise DependencyCycleError(
            f"the steps of {template.identifier} depend on each other in a cycle: {shown}",
            cycles,
            hint="run `tasker-ctl validate` on the template and break the cycle",
        )
    decisions = [s.name for s in template.steps if s.step_type is StepType.DECISION]
    behind_decisions = set().union(*(graph.descendants(name) for name in decisions))
    # what follows a batch is created with its workers (Tasker Core creates it now, and a
    # step after the convergence then runs before the batch does)
    after_batches = set().union(
        *(graph.descendants(s.name) for s in template.steps if s.step_type is StepType.BATCH_WORKER)
    )
    # a planning step's convergence is created with the task, waiting for the planning step:
    # the fill's leaves are added as its parents when the fragment is written, so it runs
    # after every planned step, and a task cannot complete without planning
    planned_into = {
        s.planning.convergence
        for s in template.steps
        if s.step_type is StepType.PLANNING and s.planning is not None
    }
    created: list[StepDefinition] = []
    for step in template.steps:
        if (
            step.step_type is StepType.BATCH_WORKER
            or step.name in behind_decisions
            or step.name in after_batches
        ):
            continue
        if (
            step.step_type is StepType.DEFERRED_CONVERGENCE
            and not decisions
            and step.name not in planned_into
        ):
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
    trace_id: str | None = None,
    span_id: str | None = None,
    chain_limits: GivenLimits | None = None,
    idempotency_key: str | None = None,
) -> SubmittedTask:
    """Create a task and its initial steps. The caller holds the transaction.

    Raises ``InvalidContextError`` (nothing written) when the context is not a JSON object
    or breaks the template's ``input_schema``, ``DependencyCycleError`` (nothing written) for
    a cyclic template, and ``DuplicateTaskError`` when a task with the same identity exists,
    also when it was created by a concurrent submission. ``trace_id`` and ``span_id`` (hex,
    W3C sizes) are the task span's trace context; random ones are assigned by default.
    ``idempotency_key`` makes the identity (``identity_hash``); the task of the same key with
    another context is ``IdempotencyKeyConflictError``. ``initiator`` and ``reason`` (who
    submitted it and why) are kept on the task (cut to their columns) and whole in its first
    transition's metadata.

    A task that starts a delegation chain stores its limits: the template's ``chain`` block
    with ``chain_limits`` (the command's options) over it. A task whose
    ``parent_correlation_id`` joins a chain is checked against the limits of the chain's
    root, whose row stays locked until the caller commits: ``ChainLimitError`` (nothing
    written) when it would pass one (``engine.graph.chains``).
    """
    check_context(template, context)
    steps = initial_steps(template)
    digest = identity_hash(template, context, identity, idempotency_key)
    starts_chain = join_chain(store, template, parent_correlation_id, chain_limits)
    created = store.fetch_one(
        "insert_task",
        named_task_uuid=named_task_uuid,
        namespace_name=template.namespace_name,
        context=_json(context),
        identity_hash=digest,
        priority=priority,
        correlation_id=correlation_id or uuid.uuid4(),
        parent_correlation_id=parent_correlation_id,
        initiator=None if initiator is None else initiator[:_INITIATOR_WIDTH],
        source_system=source_system,
        reason=None if reason is None else reason[:_REASON_WIDTH],
        tags=_json(list(tags)),
        environment=environment,
        budget_limits=_json(task_budget_limits(template)),
        trace_id=trace_id or secrets.token_hex(16),
        span_id=span_id or secrets.token_hex(8),
    )
    if created is None:
        existing = store.fetch_one("find_task_by_identity", identity_hash=digest)
        if idempotency_key is not None and existing is not None:
            check_same_request(existing, context, idempotency_key)
        state = existing["current_state"] if existing else "being created"
        task = existing["task_uuid"] if existing else "unknown"
        raise DuplicateTaskError(
            f"a task with this template and context already exists: {task} ({state})",
            str(task),
            hint="use a different context, or identity 'always_unique' to allow duplicates",
        )
    task_uuid = created["task_uuid"]
    if starts_chain:
        store.execute("set_chain_limits", task_uuid=task_uuid, chain_limits=_json(starts_chain))
    store.execute(
        "insert_initial_task_transition",
        task_uuid=task_uuid,
        metadata=_json(
            _creation_metadata(environment, initiator, reason, idempotency_key),
        ),
    )
    _transition(store, task_uuid, "initializing")
    if not steps:
        _transition(store, task_uuid, "complete")
    else:
        step_uuids = insert_steps(
            store,
            template.namespace_name,
            [NewStep.of(step, "template") for step in steps],
            task_uuid,
        )
        edges = [
            (step_uuids[dependency], step_uuids[step.name])
            for step in steps
            for dependency in dict.fromkeys(step.dependencies)
            if dependency in step_uuids
        ]
        if edges:
            store.execute(
                "insert_step_edges",
                from_step_uuids=[parent for parent, _ in edges],
                to_step_uuids=[child for _, child in edges],
                names=["provides"] * len(edges),
            )
        # a dependency that is not created (a batch worker, a branch behind a decision)
        # does not hold its dependent back, as in Tasker Core
        roots = [
            step_uuids[step.name]
            for step in steps
            if not any(dependency in step_uuids for dependency in step.dependencies)
        ]
        _transition(store, task_uuid, "enqueuing_steps")
        store.execute("enqueue_steps", step_uuids=roots)
        _transition(store, task_uuid, "steps_in_process")
        store.execute("notify_steps_ready", namespace_name=template.namespace_name)
    return SubmittedTask(
        task_uuid=uuid.UUID(str(task_uuid)),
        correlation_id=uuid.UUID(str(created["correlation_id"])),
        identity_hash=digest,
        step_count=len(steps),
    )


def check_same_request(existing: dict[str, Any], context: Any, key: str) -> None:
    """The task ``existing`` (found by ``key``'s identity) was asked for with ``context``."""
    if existing["context"] != context:
        raise IdempotencyKeyConflictError(
            f"idempotency key {key!r} was used for task {existing['task_uuid']} with another "
            "context",
            str(existing["task_uuid"]),
            hint="a key stands for one request: use a new key for a new request",
        )


def _creation_metadata(
    environment: str | None, by: str | None, reason: str | None, key: str | None
) -> dict[str, Any]:
    """The first transition's metadata: the environment, and who submitted and why."""
    metadata: dict[str, Any] = {"environment": environment} if environment else {}
    if by is not None or reason is not None:
        metadata.update(action="submit_task", by=by, reason=reason)
    if key is not None:
        metadata["idempotency_key"] = key
    return metadata


def check_context(template: TaskTemplate, context: Any) -> None:
    if not isinstance(context, dict):
        # handlers read the context as a mapping (StepContext.input_data); so does Tasker Core
        raise InvalidContextError(
            f"the context of a task must be a JSON object, not {json_kind(context)}",
            [f"$: {json_kind(context)} is not of type 'object'"],
            hint='pass the task input as an object, e.g. {"order_id": "o-1"}',
        )
    problems = violations(context, template.input_schema)
    if problems:
        raise InvalidContextError(
            f"the context does not satisfy the input_schema of {template.identifier}: "
            + "; ".join(problems[:5]),
            problems,
            hint="fix the context (see input_schema in the template)",
        )


def insert_steps(
    store: QueryRunner,
    namespace_name: str,
    steps: Sequence[NewStep],
    task_uuid: Any,
    *,
    origin_step_uuid: Any = None,
) -> dict[str, Any]:
    """Create the steps in two statements, whatever their number; their uuids by name.

    ``origin_step_uuid`` names the step whose outcome creates them (None: the task's
    creation); a step with a ``composition`` is recorded as a grammar step."""
    named = _named_steps(store, [step.name for step in steps])
    rows = [
        {
            "named_step_uuid": str(named[step.name]),
            "name": step.name,
            "template_step_name": step.definition.name,
            "step_type": step.definition.step_type.value,
            "retryable": step.definition.retry.retryable,
            "max_attempts": step.definition.retry.max_attempts,
            "timeout_seconds": step.definition.timeout_seconds,
            "idempotency_key": idempotency_key(task_uuid, step.name),
            "inputs": step.inputs,
            "created_by": step.created_by,
            **_composition_provenance(step.definition),
            **step.provenance,
        }
        for step in steps
    ]
    where = {
        "task_uuid": task_uuid,
        "namespace_name": namespace_name,
        "origin_step_uuid": origin_step_uuid,
        "steps": _json(rows),
    }
    if any(step.provenance for step in steps):  # a planner's fill
        created = store.fetch_all("insert_planned_workflow_steps", **where)
    else:
        created = store.fetch_all("insert_workflow_steps", **where)
    return {row["name"]: row["workflow_step_uuid"] for row in created}


def _composition_provenance(definition: StepDefinition) -> dict[str, Any]:
    """A grammar step's provenance keys; none for an application step, the common case,
    whose row is then no larger than it needs to be (a batch may create thousands)."""
    composition = definition.composition
    if composition is None:
        return {}
    from tasker_ctl.grammar.compositions import written_out
    from tasker_ctl.grammar.errors import GrammarError

    try:
        # a pattern reference is stored expanded, so the spec shows what runs
        spec, source = written_out(composition)
    except GrammarError:  # validation reports it; the step fails when it runs
        spec = composition.model_dump(mode="json", exclude_none=True)
        source = composition.pattern or composition.name or "dynamic"
    return {"handler_type": "grammar", "composition_source": source, "composition_spec": spec}


def _named_steps(store: QueryRunner, names: list[str]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    missing = sorted(set(names))
    # a second round sees names that a concurrent submission committed meanwhile
    for _ in range(3):
        for row in store.fetch_all("upsert_named_steps", names=missing):
            found[row["name"]] = row["named_step_uuid"]
        missing = [name for name in missing if name not in found]
        if not missing:
            return found
    raise RuntimeError(f"named steps could not be created: {', '.join(missing)}")


def idempotency_key(task_uuid: Any, step_name: str) -> str:
    """The key every attempt of a step shares: stable for the step, unique across tasks."""
    return hashlib.sha256(f"{task_uuid}:{step_name}".encode()).hexdigest()[:32]


def _transition(store: QueryRunner, task_uuid: Any, to_state: str) -> None:
    store.fetch_one(
        "transition_task", task_uuid=task_uuid, to_state=to_state, metadata=_json({}), expected=None
    )


def json_kind(value: Any) -> str:
    """A value's JSON kind with its article, for messages: 'an array', 'a number', 'null'."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list | tuple):
        return "an array"
    return type(value).__name__


def _json(value: Any) -> Any:
    """Parameters for jsonb columns; the store adapts these wrappers."""
    from tasker_ctl.engine.store.connection import Json

    return Json(value)
