"""A grammar step's attempt: its composition run as ONE step of the engine.

The step keeps the engine's state machine, leases and telemetry; the composition's
checkpoints go into ``workflow_steps.checkpoint`` as they happen (through the worker, fenced
by the attempt number), so a retry resumes after the last one. A gate without a decision ends
the attempt waiting: the worker parks the step until ``tasker-ctl task approve|reject``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from tasker_ctl.grammar.errors import GatePending, InvocationError
from tasker_ctl.sdk.types import StepHandlerResult
from tasker_ctl.template.model import ResourceDefinition
from tasker_ctl.trust import TrustPolicy

if TYPE_CHECKING:
    from tasker_ctl.engine.worker.claimed_step import ClaimedStep


@dataclass(frozen=True)
class GrammarServices:
    """What the worker lends a grammar step: where effects are written and how progress is kept.

    ``keep_checkpoint`` stores a checkpoint for the running attempt and returns False when the
    attempt is no longer this worker's (its result would be refused). ``trust`` is what the
    operator grants the composition beyond its template (nothing, by default)."""

    database_url: str | None
    keep_checkpoint: Callable[[dict[str, Any]], bool] | None = None
    trust: TrustPolicy | None = None


@dataclass(frozen=True)
class GrammarPlan:
    """A grammar step worked out once per template revision: the written-out spec."""

    spec: dict[str, Any]
    source: str
    resources: Mapping[str, ResourceDefinition]


@dataclass(frozen=True)
class GateWait:
    """The attempt stopped at a gate: the checkpoint to park the step with."""

    checkpoint: dict[str, Any]
    metadata: dict[str, Any]


# Beside its use, not in engine.errors: raised and caught inside run_grammar_step only, where
# it ends the run without recording anything.
class _TakenOver(Exception):
    """A checkpoint was refused: another worker owns the step now."""


def run_grammar_step(
    plan: GrammarPlan,
    step: ClaimedStep,
    dependencies: Mapping[str, Any],
    services: GrammarServices | None,
) -> StepHandlerResult | GateWait:
    """Run (or resume) the composition for one attempt."""
    from tasker_ctl.engine.worker.composition_operations import EngineOperations
    from tasker_ctl.grammar.runner import run_composition

    seed = f"{step.task_uuid}:{step.step_uuid}"
    resume = step.checkpoint if isinstance(step.checkpoint, Mapping) else None
    stored = resume.get("composition") if resume else None
    gates = stored.get("gates") if isinstance(stored, Mapping) else None
    operations = EngineOperations(
        resources=plan.resources,
        database_url=services.database_url if services else None,
        task_uuid=step.task_uuid,
        step_uuid=step.step_uuid,
        gates=gates if isinstance(gates, Mapping) else None,
        trust=services.trust if services else None,
    )

    def keep(checkpoint: dict[str, Any]) -> None:
        keeper = services.keep_checkpoint if services is not None else None
        if keeper is not None and not keeper(checkpoint):
            raise _TakenOver

    try:
        run = run_composition(
            plan.spec,
            context=step.task.context,
            deps=dependencies,
            step={
                "name": step.name,
                "uuid": str(step.step_uuid),
                "attempt": step.attempt,
                "max_attempts": step.max_attempts,
                "inputs": step.inputs,
            },
            operations=operations,
            resume=resume,
            on_checkpoint=keep,
            key_seed=seed,
        )
    except _TakenOver:
        return StepHandlerResult.failure(
            "the attempt was taken over by another worker while it ran",
            error_type="attempt_taken_over",
            retryable=True,
        )
    finally:
        operations.close()
    if isinstance(run.error, GatePending) and run.gate_checkpoint is not None:
        # stored with the step's parking, in one transaction
        return GateWait(
            checkpoint=run.gate_checkpoint,
            metadata={
                "gate": run.failed_index,
                "prompt": run.error.prompt,
                "approvers": run.error.approvers,
            },
        )
    trail = {
        "composition_source": plan.source,
        "invocations": [
            {
                "index": r.index,
                "capability": r.capability,
                "status": r.status,
                "duration_ms": r.duration_ms,
            }
            for r in run.records
        ],
        "resumed_from": run.resumed_from,
    }
    if isinstance(run.error, InvocationError):
        error = run.error
        return StepHandlerResult.failure(
            f"invocation[{run.failed_index}] ({run.failed_capability}) failed: {error.message}",
            error_type=f"grammar_{error.kind.value}",
            retryable=error.retryable,
            error_code=error.code,
            metadata={
                **trail,
                "invocation_index": run.failed_index,
                "capability": run.failed_capability,
                "failure_kind": error.kind.value,
                "hint": error.hint,
                **({"details": error.details} if error.details else {}),
            },
        )
    output = run.output
    result = output if isinstance(output, dict) else {"value": output}
    return StepHandlerResult.success(result, metadata=trail)


def dependency_results(names: list[str], ancestors: Mapping[str, Any]) -> dict[str, Any]:
    """``deps`` of the envelope: each declared dependency's result (its stored envelope's
    ``result``), or None when it has none."""
    found: dict[str, Any] = {}
    for name in names:
        envelope = ancestors.get(name)
        found[name] = envelope.get("result") if isinstance(envelope, Mapping) else None
    return found
