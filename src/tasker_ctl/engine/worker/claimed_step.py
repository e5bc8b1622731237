"""A claimed step: what the claim statements return for one attempt, read once into types.

``claim_attempt``, ``claim_attempts`` and ``take_back_attempts`` return one row per claimed
attempt: the ``workflow_steps`` row after the claim, the task as JSON (``dispatch_task``), the
template's revision, the task's trace context and the results of the step's completed
parents. ``ClaimedStep.from_row`` reads that row once; the worker, the executor, the dispatch
payload and telemetry read the typed fields, so a renamed column fails here, at the claim,
and nowhere else.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from tasker_ctl.engine.graph.growth import StepOrigin


@dataclass(frozen=True, slots=True)
class ClaimedTask:
    """The task of a claimed step."""

    name: str
    version: str
    namespace: str
    correlation_id: str
    parent_correlation_id: str | None
    context: Any
    # the task as the database wrote it for the dispatch payload (``dispatch_task``), whose
    # fields a handler's payload carries as they are
    payload: Mapping[str, Any]

    @classmethod
    def from_json(cls, task: Mapping[str, Any]) -> ClaimedTask:
        return cls(
            name=str(task["task_name"]),
            version=str(task["task_version"]),
            namespace=str(task["namespace_name"]),
            correlation_id=str(task["correlation_id"]),
            parent_correlation_id=task.get("parent_correlation_id"),
            context=task.get("context"),
            payload=task,
        )


@dataclass(frozen=True, slots=True)
class Lease:
    """The claim's lease: the attempt is ``owner``'s until ``expires_at``, which the
    heartbeat moves on while the attempt runs."""

    owner: str
    expires_at: datetime
    claimable_at: datetime  # the lease's end while claimed: a dead worker's is reclaimed
    last_attempted_at: datetime


@dataclass(frozen=True, slots=True)
class Provenance:
    """Who put the step in the graph and what runs it (an attempt's span carries these)."""

    created_by: str | None = None
    handler_type: str | None = None
    planning_step_uuid: uuid.UUID | None = None
    fragment_id: str | None = None
    planning_phase: int | None = None
    composition_source: str | None = None


@dataclass(frozen=True, slots=True)
class ClaimedStep:
    """One claimed attempt of a step, with what its handler needs."""

    step_uuid: uuid.UUID
    task_uuid: uuid.UUID
    named_step_uuid: uuid.UUID
    name: str
    template_step_name: str
    namespace_name: str
    # the attempt number: the fencing token its outcome must carry
    attempt: int
    max_attempts: int
    retryable: bool
    inputs: Any
    idempotency_key: str
    task: ClaimedTask
    named_task_uuid: uuid.UUID
    template_revision: int
    state: str  # in_progress, as the claim left it
    in_process: bool
    lease: Lease
    results: Any = None
    # the progress a handler kept (checkpoint_yield) or a composition's, resumed from
    checkpoint: Any = None
    # the stored results of the completed parents; other ancestors' are read on demand
    parent_results: Mapping[str, Any] = field(default_factory=dict)
    has_more_ancestors: bool = False
    trace_id: str | None = None  # the task's trace context: the attempt span's parent
    span_id: str | None = None
    provenance: Provenance = field(default_factory=Provenance)
    # a planned step's definition (the template's format); None for the template's steps
    step_definition: Mapping[str, Any] | None = None

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> ClaimedStep:
        """The claimed step of one row of a claim statement (``claim_attempt``'s shape)."""
        return cls(
            step_uuid=row["workflow_step_uuid"],
            task_uuid=row["task_uuid"],
            named_step_uuid=row["named_step_uuid"],
            name=str(row["name"]),
            template_step_name=str(row["template_step_name"]),
            namespace_name=str(row["namespace_name"]),
            attempt=int(row["attempts"]),
            max_attempts=int(row["max_attempts"]),
            retryable=bool(row["retryable"]),
            inputs=row["inputs"],
            idempotency_key=str(row["idempotency_key"]),
            task=ClaimedTask.from_json(row["task"]),
            named_task_uuid=row["named_task_uuid"],
            template_revision=int(row["template_revision"]),
            state=str(row["current_state"]),
            in_process=bool(row["in_process"]),
            lease=Lease(
                owner=str(row["lease_owner"]),
                expires_at=row["lease_expires_at"],
                claimable_at=row["claimable_at"],
                last_attempted_at=row["last_attempted_at"],
            ),
            results=row["results"],
            checkpoint=row["checkpoint"],
            parent_results=row["parent_results"] or {},
            has_more_ancestors=bool(row["has_more_ancestors"]),
            trace_id=row["trace_id"],
            span_id=row["span_id"],
            provenance=Provenance(
                created_by=row["created_by"],
                handler_type=row["handler_type"],
                planning_step_uuid=row["planning_step_uuid"],
                fragment_id=row["fragment_id"],
                planning_phase=row["planning_phase"],
                composition_source=row["composition_source"],
            ),
            step_definition=row.get("step_definition"),
        )

    @property
    def origin(self) -> StepOrigin:
        """The step as the steps it creates (a decision's, a batch's) name their origin."""
        return StepOrigin(
            step_uuid=self.step_uuid,
            task_uuid=self.task_uuid,
            template_step_name=self.template_step_name,
            namespace_name=self.namespace_name,
        )

    def resumed_from(self, checkpoint: Any) -> ClaimedStep:
        """This attempt with ``checkpoint`` stored: what its handler resumes from next."""
        return replace(self, checkpoint=checkpoint)
